"""Fixtures of the task tests: the API clients of the CRM's API tests."""

from __future__ import annotations

from tests.crm.conftest import api  # noqa: F401 - the API clients fixture
