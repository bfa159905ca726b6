"""The main navigation: each section with its icon, the one the page is in marked as
the current page (aria-current), and nothing marked where no section fits."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from groupware.app import active_section, collect_routes
from tests.conftest import LoginAs

URLS = ["/", "/partners", "/persons", "/deals", "/calendar", "/admin/users"]


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/", "/"),
        ("/partners", "/partners"),
        ("/partners/12/edit", "/partners"),
        ("/partners/12/persons/new", "/partners"),
        ("/persons/3", "/persons"),
        ("/deals/board", "/deals"),
        ("/calendar/week", "/calendar"),
        ("/admin/teams/2", "/admin/users"),
        ("/partner-groups", None),
        ("/profile", None),
    ],
)
def test_a_page_lies_in_the_section_it_is_under(path: str, section: str | None) -> None:
    assert active_section(path, URLS) == section


def _current(html: str) -> list[str]:
    nav = html[html.index('<nav id="mainnav"') : html.index("</nav>")]
    return re.findall(r'<a href="([^"]+)" aria-current="page">', nav)


def test_the_page_marks_its_section_and_only_that(login_as: LoginAs) -> None:
    root = login_as("root")
    pages = {
        "/": ["/"],
        "/partners": ["/partners"],
        "/deals/board": ["/deals"],
        "/deals/reports": ["/deals"],
        "/calendar/week": ["/calendar"],
        "/admin/teams": ["/admin/users"],
        "/profile": [],
    }
    for path, expected in pages.items():
        response = root.get(path)
        assert response.status_code == 200, path
        assert _current(response.text) == expected, path


def test_every_section_has_an_icon_of_the_sprite(login_as: LoginAs, repo_root: Path) -> None:
    sprite = (repo_root / "web/static/icons/icons.svg").read_text()
    symbols = set(re.findall(r'<symbol id="([^"]+)"', sprite))
    _web, _api, nav = collect_routes()
    assert all(item.icon in symbols for item in nav), [i.endpoint for i in nav]
    page = login_as("root").get("/").text
    nav_html = page[page.index('<nav id="mainnav"') : page.index("</nav>")]
    assert nav_html.count('<use href="/static/icons/icons.svg#') == len(nav)


def test_every_icon_a_template_names_is_in_the_sprite(repo_root: Path) -> None:
    sprite = (repo_root / "web/static/icons/icons.svg").read_text()
    symbols = set(re.findall(r'<symbol id="([^"]+)"', sprite))
    named: dict[str, set[str]] = {}
    for template in (repo_root / "web/templates").rglob("*.html"):
        for name in re.findall(r"""ui\.icon\(\s*["']([\w-]+)["']""", template.read_text()):
            named.setdefault(name, set()).add(template.name)
    assert named, "no template draws an icon"
    assert {n: t for n, t in named.items() if n not in symbols} == {}


def test_the_sprite_is_served_with_its_licence(login_as: LoginAs) -> None:
    client: httpx.Client = login_as("alice")
    sprite = client.get("/static/icons/icons.svg")
    assert sprite.status_code == 200
    assert sprite.headers["content-type"].startswith("image/svg+xml")
    licence = client.get("/static/icons/LICENSE")
    assert licence.status_code == 200 and "ISC License" in licence.text
