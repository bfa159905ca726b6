"""Fixtures of the campaign tests."""

from tests.api.conftest import api  # noqa: F401 - the API clients fixture
from tests.crm.conftest import sales  # noqa: F401 - partners in territories with their reps
