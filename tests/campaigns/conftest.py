"""Fixtures of the campaign tests."""

from tests.api.conftest import api  # noqa: F401 - the API clients fixture
