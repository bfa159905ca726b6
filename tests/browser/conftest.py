"""Browser tests: Debian's headless Chromium driven by Playwright, watched.

Every context a test opens through the ``chromium`` fixture reports console errors,
uncaught script errors and Content-Security-Policy violations of every page in it, and
the test fails on any that it did not announce with ``browser_problems.allow(...)``
or ``browser_problems.allow_status(422)`` (a test that sends a form with a mistake on
purpose: Chromium logs every 4xx answer as a console error, htmx too). So a page that
logs an error fails every browser test that passes through it, not only the one
written to look.

Tests elsewhere use the same fixture by importing ``chromium`` (from here or, as older
modules do, from ``tests.browser.test_shell``); it depends on no other fixture so that
the import is all they need.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    WebError,
    expect,
    sync_playwright,
)

from tests.conftest import Demo, LiveServer
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Chromium logs most violations itself; the event also catches the ones it words as
# warnings and names the directive, which makes the failure easy to read.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked `
    + `${event.blockedURI || "inline"} ${event.sample || ""}`.trim());
});
"""


@dataclass
class BrowserProblems:
    """What went wrong in the pages of one test, and what the test said to expect."""

    found: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect console errors matching ``pattern`` (a regular expression)."""
        self.allowed.append(re.compile(pattern))

    def allow_status(self, status: int) -> None:
        """Expect answers with this HTTP status (a form sent back with its problems is
        422): Chromium logs each such load, and htmx each it swaps in, as an error."""
        self.allow(rf"status of {status} |Response Status Error Code {status} ")

    def watch(self, context: BrowserContext) -> None:
        context.add_init_script(script=REPORT_CSP)
        context.on("console", self._console)
        context.on("weberror", self._web_error)

    def unexpected(self) -> list[str]:
        return [p for p in self.found if not any(a.search(p) for a in self.allowed)]

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.page.url if message.page else "?"
            self.found.append(f"console error on {where}: {message.text}")

    def _web_error(self, error: WebError) -> None:
        where = error.page.url if error.page else "?"
        self.found.append(f"script error on {where}: {error.error}")


_PROBLEMS = pytest.StashKey[BrowserProblems]()
_BROWSER = pytest.StashKey[Browser]()
_CLOSE = pytest.StashKey[Callable[[], None]]()


def _launched(request: pytest.FixtureRequest) -> Browser:
    """One Chromium for a run of test modules that use it (a launch costs about a
    second and a half; each test gets contexts of its own). It is closed before a test
    without it (``close_browser``): Playwright's loop would stop that test's own
    ``asyncio.run``."""
    session = request.session
    if _BROWSER not in session.stash:
        if shutil.which(CHROMIUM) is None:
            pytest.fail("Debian's chromium is not installed: run `make chromium` (make test does)")
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        session.stash[_BROWSER] = browser

        def close() -> None:
            browser.close()
            playwright.stop()

        session.stash[_CLOSE] = close
        request.config.add_cleanup(lambda: close_browser(session))
    return session.stash[_BROWSER]


def close_browser(session: pytest.Session) -> None:
    """Close the Chromium of ``session``, if one is open."""
    close = session.stash.get(_CLOSE, None)
    if close is not None:
        del session.stash[_CLOSE], session.stash[_BROWSER]
        close()


@pytest.fixture
def chromium(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """The browser; the test fails on any problem in a page of a context made with
    ``chromium.new_context``."""
    browser = _launched(request)
    problems = request.node.stash.setdefault(_PROBLEMS, BrowserProblems())
    opened: list[BrowserContext] = []
    new_context = browser.new_context

    def watched_new_context(**options: Any) -> BrowserContext:
        context = new_context(**options)
        problems.watch(context)
        opened.append(context)
        return context

    # Playwright has no event for a new context: wrap the one way tests make them, on
    # this object for this test (deleting the attribute brings the method back).
    browser.new_context = watched_new_context  # type: ignore[method-assign]
    try:
        yield browser
    finally:
        del browser.new_context
        for context in opened:
            context.close()  # also what a failed test left open; closing twice is harmless
    unexpected = problems.unexpected()
    if unexpected:
        pytest.fail("the browser reported problems:\n" + "\n".join(unexpected), pytrace=False)


@pytest.fixture
def demo_server(demo_company: Demo) -> Iterator[LiveServer]:
    """A server of its own on a copy of the demo company, for a walk through its pages
    (a walk commits: it logs in)."""
    with demo_company.copy() as database:
        server = LiveServer(database.settings, database)
        server.start()
        yield server
        server.stop()


@pytest.fixture
def browser_problems(request: pytest.FixtureRequest) -> BrowserProblems:
    """This test's problems, to ``allow`` the ones it provokes on purpose."""
    return request.node.stash.setdefault(_PROBLEMS, BrowserProblems())


def log_in(page: Page, live: LiveServer, username: str, *, password: str = PASSWORD) -> None:
    """Log in through the form; the page ends on the dashboard."""
    page.goto(f"{live.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/")
    # The address changes before the dashboard's deferred scripts run: a test that
    # typed at once could type before htmx listens (the header search then stayed
    # shut, seen once in a full run).
    page.wait_for_load_state("load")
