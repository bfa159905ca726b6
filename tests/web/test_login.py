"""Logging in and out, sessions, throttling, CSRF and the security headers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select, update

from groupware.accounts.models import WebSession
from groupware.db import Database
from groupware.settings import Settings
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Cast, browser, csrf_of, login


def test_anonymous_visitors_are_sent_to_login(live: LiveServer) -> None:
    with browser(live.url) as client:
        response = client.get("/announcements?q=x")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fannouncements%3Fq%3Dx"


def test_login_page_has_security_headers(live: LiveServer) -> None:
    with browser(live.url) as client:
        headers = client.get("/login").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_login_issues_a_new_session_id_and_logout_ends_it(
    live: LiveServer, committed: Cast
) -> None:
    with browser(live.url) as client:
        client.cookies.set("gw_session", "planted-by-an-attacker", domain="127.0.0.1")
        csrf = login(client, "alice")
        session_cookie = client.cookies.get("gw_session", domain="127.0.0.1")
        assert session_cookie != "planted-by-an-attacker"
        page = client.get("/")
        assert page.status_code == 200 and "Alice" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
        assert client.get("/").status_code == 303
    with browser(live.url) as thief:
        thief.cookies.set("gw_session", session_cookie or "", domain="127.0.0.1")
        assert thief.get("/").status_code == 303


def test_wrong_password_is_refused_with_a_message(live: LiveServer, committed: Cast) -> None:
    with browser(live.url) as client:
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login", data={"username": "alice", "password": "wrong", "csrf_token": token}
        )
    assert response.status_code == 401
    assert "Wrong username or password." in response.text


OFFICE, HOME = "192.0.2.10", "198.51.100.7"


@pytest.fixture
def slow(settings: Settings, database: Database, committed: Cast) -> Iterator[LiveServer]:
    """A server whose throttle waits ten minutes at first, so that no test outlasts a
    wait, and which takes the client's address from ``X-Forwarded-For`` (tries come
    "from" the office or from home)."""
    server = LiveServer(
        dataclasses.replace(
            settings, login_first_delay_seconds=600, trusted_proxies=("127.0.0.1/32",)
        ),
        database,
    )
    server.start()
    yield server
    server.stop()


def try_login(server: LiveServer, username: str, password: str, address: str) -> httpx.Response:
    with browser(server.url) as client:
        client.headers["X-Forwarded-For"] = address
        token = csrf_of(client.get("/login").text)
        form = {"username": username, "password": password, "csrf_token": token}
        return client.post("/login", data=form)


def test_wrong_passwords_make_that_address_wait_but_never_lock_the_account(
    slow: LiveServer, settings: Settings
) -> None:
    for _ in range(settings.login_free_failures):
        assert try_login(slow, "bob", "nope", HOME).status_code == 401
    waiting = try_login(slow, "bob", PASSWORD, HOME)
    assert waiting.status_code == 429
    assert "Too many failed logins. Try again in 10 minutes." in waiting.text
    assert 590 <= int(waiting.headers["retry-after"]) <= 600
    # bob at the office, with the right password, is not held up by the guesser at home
    assert try_login(slow, "bob", PASSWORD, OFFICE).status_code == 303
    assert try_login(slow, "alice", PASSWORD, HOME).status_code == 303


def test_an_address_full_of_failures_holds_up_new_logins_there_but_not_proven_ones(
    slow: LiveServer, settings: Settings
) -> None:
    assert try_login(slow, "dave", PASSWORD, OFFICE).status_code == 303  # dave works there
    for n in range(settings.login_free_failures_per_address):  # someone tries many names
        assert try_login(slow, f"guess{n}", "nope", OFFICE).status_code == 401
    assert try_login(slow, "alice", PASSWORD, OFFICE).status_code == 429  # new there
    assert try_login(slow, "dave", PASSWORD, OFFICE).status_code == 303  # known there
    assert try_login(slow, "alice", PASSWORD, HOME).status_code == 303


def test_guessing_the_current_password_on_the_profile_is_throttled_like_a_login(
    slow: LiveServer, settings: Settings
) -> None:
    """Whoever holds a session must not find out the password (good for SMTP and
    CalDAV too) by trying current passwords on the password form."""
    with browser(slow.url) as client:
        client.headers["X-Forwarded-For"] = HOME
        token = login(client, "alice")

        def change(current: str) -> httpx.Response:
            form = {"current_password": current, "new_password": "nova lozinka 1",
                    "confirm_password": "nova lozinka 1", "csrf_token": token}  # fmt: skip
            return client.post("/profile/password", data=form)

        for n in range(settings.login_free_failures):
            wrong = change(f"pokušaj {n}")
            assert wrong.status_code == 422 and "This is not your current password." in wrong.text
        waiting = change(PASSWORD)
        assert waiting.status_code == 422
        assert "Too many failed logins. Try again in 10 minutes." in waiting.text
    assert try_login(slow, "alice", PASSWORD, OFFICE).status_code == 303  # unchanged


def test_parallel_wrong_logins_check_no_more_passwords_than_the_free_failures(
    slow: LiveServer, settings: Settings
) -> None:
    """Twenty tries at once for one account from one address: each is counted before
    its password is checked, one after the other, so exactly the free failures are
    checked (401) and the rest wait (429)."""
    start = threading.Barrier(20)

    def wrong(_n: int) -> int:
        with browser(slow.url) as client:
            client.headers["X-Forwarded-For"] = HOME
            form = {"username": "bob", "password": "nope", "csrf_token": ""}
            form["csrf_token"] = csrf_of(client.get("/login").text)
            start.wait(30)
            return client.post("/login", data=form).status_code

    with ThreadPoolExecutor(20) as pool:
        answers = sorted(pool.map(wrong, range(20)))
    assert answers == [401] * settings.login_free_failures + [429] * (
        20 - settings.login_free_failures
    )
    assert try_login(slow, "bob", PASSWORD, OFFICE).status_code == 303


def test_idle_and_absolute_timeouts_end_a_session(
    live: LiveServer, committed: Cast, database: Database
) -> None:
    settings = database.settings
    for column, age in (
        (WebSession.last_seen_at, dt.timedelta(minutes=settings.session_idle_minutes + 1)),
        (WebSession.created_at, dt.timedelta(hours=settings.session_absolute_hours + 1)),
    ):
        with browser(live.url) as client:
            login(client, "alice")
            assert client.get("/").status_code == 200
            with database.transaction(actor_id=None, channel="cli") as session:
                session.execute(update(WebSession).values({column: dt.datetime.now(dt.UTC) - age}))
            assert client.get("/").status_code == 303
    with database.transaction(actor_id=None, channel="cli") as session:
        assert session.scalars(select(WebSession)).all() == []


def test_unsafe_requests_without_csrf_token_are_refused(live: LiveServer, committed: Cast) -> None:
    with browser(live.url) as client:
        csrf = login(client, "alice")
        missing = client.post("/profile", data={"full_name": "Mallory", "language": "en"})
        assert missing.status_code == 403
        forged = client.post(
            "/profile", data={"full_name": "Mallory", "language": "en", "csrf_token": "x" * 43}
        )
        assert forged.status_code == 403
        cross_site = client.post(
            "/profile",
            data={"full_name": "Mallory", "language": "en", "csrf_token": csrf},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403
        assert "Mallory" not in client.get("/profile").text
        # htmx sends the token in a header.
        ok = client.post(
            "/profile",
            data={"full_name": "Alice A.", "language": "en"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert ok.status_code == 204 and ok.headers["HX-Location"] == "/profile"


def test_login_form_needs_its_csrf_token(live: LiveServer, committed: Cast) -> None:
    with browser(live.url) as client:
        client.get("/login")
        response = client.post(
            "/login", data={"username": "alice", "password": "correct horse battery"}
        )
    assert response.status_code == 403


def test_next_never_leaves_the_site(live: LiveServer, committed: Cast) -> None:
    with browser(live.url) as client:
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={
                "username": "alice",
                "password": "correct horse battery",
                "csrf_token": token,
                "next": "//evil.example/",
            },
        )
    assert response.headers["location"] == "/"


def test_unknown_pages_get_a_404_page(live: LiveServer) -> None:
    with browser(live.url) as client:
        response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "There is no such page." in response.text


def test_an_oversized_body_is_refused_before_it_is_read(
    live: LiveServer, database: Database
) -> None:
    limit = database.settings.max_request_mb * 1024 * 1024
    with browser(live.url) as client:
        response = client.post(
            "/login",
            content=b"x" * (limit + 1),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert "The upload is too large." in response.text


def test_odd_tokens_and_numbers_are_refused_not_crashed(live: LiveServer, committed: Cast) -> None:
    with browser(live.url) as client:
        login(client, "alice")
        forged = client.post(
            "/profile", data={"full_name": "X", "language": "en", "csrf_token": "čšž" * 10}
        )
        assert forged.status_code == 403
        for path in ("/announcements/99999999999", "/history?before=²&actor=99999999999"):
            assert client.get(path).status_code in (200, 404), path
        head = client.head("/")
        assert head.status_code == 200


def test_origin_of_the_public_url_is_accepted_behind_a_proxy() -> None:
    from starlette.requests import Request

    from groupware.web import _same_origin

    def request(**headers: str) -> Request:
        raw = [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})

    public = "https://crm.example.com"
    behind_proxy = request(Host="127.0.0.1:8000", Origin="https://crm.example.com")
    assert _same_origin(behind_proxy, public)
    assert not _same_origin(behind_proxy, "")
    assert not _same_origin(request(Host="crm.example.com", Origin="https://evil.example"), public)
    assert not _same_origin(request(Host="x", Sec_Fetch_Site="cross-site"), public)
    assert _same_origin(request(Host="x"), public)  # no Origin: not a cross-site browser POST
