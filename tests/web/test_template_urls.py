"""Templates build internal addresses from route names (``url_for``), so a route that
moves or is renamed breaks a test rather than a link."""

from __future__ import annotations

import re

from groupware.app import WEB_DIR
from tests.conftest import LoginAs

TEMPLATES = WEB_DIR / "templates"
# An internal address spelled out in an attribute (static files are not routes).
SPELLED_OUT = re.compile(
    r"\b(?:href|action|formaction|hx-get|hx-post|hx-put|hx-patch|hx-delete|hx-push-url)"
    r'="/(?!static/)'
)
# Rendered without a request (no router to ask): the plain error page.
WITHOUT_REQUEST = {"error_plain.html"}


def test_templates_name_routes_instead_of_spelling_out_addresses() -> None:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in WITHOUT_REQUEST:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SPELLED_OUT.search(line):
                found.append(f"{name}:{number}")
    assert not found, "use url_for('route name', ...) in " + ", ".join(found)


def test_url_for_gives_paths(login_as: LoginAs) -> None:
    """A link is a path (as the tests, the CSP and a proxy's prefix expect), not an
    absolute URL with the host the request came in on."""
    html = login_as("root").get("/partners/new").text
    assert 'action="/partners/new"' in html
    assert 'hx-get="/partners/counties"' in html
