"""Fixtures of the activity tests: the API clients of the API tests."""

from __future__ import annotations

from tests.api.conftest import api  # noqa: F401 - the API clients fixture
