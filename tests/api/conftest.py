"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from groupware.db import Database
from tests.api.helpers import Api
from tests.conftest import LiveServer
from tests.factories import Cast


@pytest.fixture
def api(live: LiveServer, committed: Cast, database: Database) -> Iterator[Api]:
    """Clients with each cast member's own token (``api("alice")``), closed afterwards."""
    with Api(live.url, database, committed) as api:
        yield api
