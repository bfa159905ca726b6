"""Radicale says nothing when the server starts or serves a calendar: its settings and
requests are noise beside the app's own access log (warnings and errors still show)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from groupware.db import Database
from groupware.settings import Settings
from tests import factories
from tests.conftest import LiveServer


@pytest.fixture
def radicale_unset() -> Iterator[None]:
    """Radicale's logger as a fresh process has it: the app must quiet it itself."""
    radicale = logging.getLogger("radicale")
    before = radicale.level
    radicale.setLevel(logging.NOTSET)
    yield
    radicale.setLevel(before)


def test_radicale_is_quiet_at_start_and_while_serving(
    radicale_unset: None,
    settings: Settings,
    database: Database,
    committed: factories.Cast,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = LiveServer(settings, database)  # builds the app: Radicale's auth and app
    server.start()
    try:
        answer = httpx.request(
            "PROPFIND",
            server.url + "/dav/alice/",
            headers={"Depth": "1"},
            auth=("alice", factories.PASSWORD),
        )
        assert answer.status_code == 207
    finally:
        server.stop()
    assert any(r.name == "groupware.access" for r in caplog.records)  # the capture works
    said = [
        f"{r.levelname} {r.getMessage()}" for r in caplog.records if r.name.startswith("radicale")
    ]
    assert said == []
