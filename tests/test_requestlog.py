"""The access log: one INFO line per request, over a real server, without query strings
or passwords."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tests import factories
from tests.conftest import LiveServer, LoginAs


def _lines(caplog: pytest.LogCaptureFixture, *, at_least: int, about: str = "") -> list[str]:
    """The access lines so far, once there are ``at_least``: a line is written when the
    answer has gone out, so the client may have it a moment before the log does."""
    deadline = time.monotonic() + 5
    while True:
        lines = [
            r.getMessage()
            for r in caplog.records
            if r.name == "groupware.access" and about in r.getMessage()
        ]
        if len(lines) >= at_least or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def test_it_logs_each_page_request_with_its_user_and_no_query(
    login_as: LoginAs, committed: factories.Cast, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="groupware.access")
    alice = login_as("alice")
    caplog.clear()
    assert alice.get("/partners", params={"q": "tajna-rijec"}).status_code == 200
    assert alice.get("/no-such-page").status_code == 404
    lines = _lines(caplog, at_least=1, about="/partners") + _lines(caplog, at_least=1, about="/no-")
    assert len(lines) == 2, lines
    method, path, status, duration, unit, user = lines[0].split()
    assert (method, path, status, unit) == ("GET", "/partners", "200", "ms")
    assert float(duration) > 0
    assert user == f"user={committed.alice.id}"
    assert lines[1].startswith("GET /no-such-page 404 ")
    assert all("tajna" not in line for line in lines)
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "groupware.access")


def test_a_login_is_logged_without_its_password(
    live: LiveServer, committed: factories.Cast, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="groupware.access")
    with factories.browser(live.url) as client:
        factories.login(client, "bob")
    lines = _lines(caplog, at_least=3)  # the form, the login, a page of the session
    assert any(line.startswith("POST /login 303 ") for line in lines), lines
    # the page after the login names the user who asked for it
    assert any(line.startswith("GET /profile 200 ") and "user=-" not in line for line in lines)
    assert all(factories.PASSWORD not in r.getMessage() for r in caplog.records)


def test_api_and_calendar_requests_name_their_user(
    live: LiveServer, committed: factories.Cast, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="groupware.access")
    token = factories.api_token(live.database, committed.bob)
    api = httpx.get(live.url + "/api/v1/partners", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    dav = httpx.request(
        "PROPFIND",
        live.url + "/dav/alice/",
        headers={"Depth": "0"},
        auth=("alice", factories.PASSWORD),
    )
    assert dav.status_code == 207
    anonymous = httpx.request("PROPFIND", live.url + "/dav/alice/", headers={"Depth": "0"})
    assert anonymous.status_code == 401
    lines = _lines(caplog, at_least=3)
    assert any(
        line.startswith("GET /api/v1/partners 200 ") and line.endswith(f"user={committed.bob.id}")
        for line in lines
    ), lines
    assert any(
        line.startswith("PROPFIND /dav/alice/ 207 ") and line.endswith(f"user={committed.alice.id}")
        for line in lines
    ), lines
    assert any(
        line.startswith("PROPFIND /dav/alice/ 401 ") and line.endswith("user=-") for line in lines
    )
    assert all(token not in line for line in lines)
