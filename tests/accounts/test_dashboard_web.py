"""The dashboard page over HTTP (groupware/accounts/dashboard_web.py): each user's
widgets and scopes, every figure a link to a list showing as many records, amounts
the local way, and the layout changed with and without htmx, with CSRF."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import select

from groupware.accounts.models import DashboardPreference
from groupware.db import Database
from tests.conftest import LiveServer, LoginAs
from tests.dashboard_world import World, commit_world
from tests.factories import Cast

ROWS = {
    "/deals": re.compile(r'class="lead"><a href="/deals/\d+">'),
    "/tasks": re.compile(r'class="lead"><a href="/tasks/\d+">'),
    "/mail": re.compile(r'data-testid="message-row"'),
    "/notifications": re.compile(r'<li class="unread '),
}
# a phase's label in a chart, with its count of deals: "Offer (1)"
LABEL_LINK = re.compile(
    r'<a href="([^"]+)" class="label-link"><text [^>]*>'
    r"(?:<title>[^<]*</title>)?[^<(]*\((\d+)\)</text>"
)
EVERY_WIDGET = [
    "deals-pipeline",
    "deals-forecast",
    "tasks-due",
    "calendar-meetings",
    "mail-unread",
    "notifications-unread",
    "announcements",
    "recent-changes",
]


@pytest.fixture
def world(live: LiveServer, committed: Cast, database: Database) -> World:
    return commit_world(database, committed)


def widgets(page: str) -> list[str]:
    return re.findall(r'<section class="card widget[^"]*" data-widget="([\w-]+)"', page)


def section(page: str, name: str) -> str:
    return page.split(f'data-widget="{name}"', 1)[1].split("</section>", 1)[0]


def rows_behind(client: httpx.Client, href: str) -> int:
    response = client.get(href)
    assert response.status_code == 200, href
    return len(ROWS[href.split("?")[0]].findall(response.text))


def figure_links(part: str) -> list[tuple[str, int]]:
    """Each big figure of a widget: (its link, its number)."""
    found = re.findall(
        r'<a class="figure[^"]*" href="([^"]+)"[^>]*><span class="figure-value">([\d.,]+)<', part
    )
    return [
        (html.unescape(href), int(value.replace(".", "").replace(",", ""))) for href, value in found
    ]


def test_a_rep_sees_every_widget_with_their_own_figures_and_no_scope_switch(
    world: World, login_as: LoginAs
) -> None:
    alice = login_as("alice")
    page = alice.get("/").text
    assert widgets(page) == EVERY_WIDGET
    assert 'class="scope-switch"' not in page and 'id="scope"' not in page
    pipeline = section(page, "deals-pipeline")
    assert "<svg" in pipeline and 'class="legend"' in pipeline
    assert "Retail sale</strong>: 2 open deals" in pipeline
    assert "€18,000.00" in pipeline  # 10,000 + 8,000, in English as alice reads
    assert "€7,400.00" in section(page, "deals-forecast")
    assert "Alice stand-up" in section(page, "calendar-meetings")
    assert "Bob today" not in page
    assert "For bob only" not in page and "Ponuda za blagajne" in section(page, "mail-unread")


def test_every_figure_and_bar_links_to_a_list_of_as_many_records(
    world: World, login_as: LoginAs
) -> None:
    for username in ("alice", "dave"):
        client = login_as(username)
        page = client.get("/").text
        figures = [
            f
            for name in ("tasks-due", "mail-unread", "notifications-unread")
            for f in figure_links(section(page, name))
        ]
        assert len(figures) == 4
        for href, number in figures:
            assert rows_behind(client, href) == number, (username, href)
        # each bar of the pipeline: the phase's count is in its label, "Offer (1)"
        pipeline = section(page, "deals-pipeline")
        labels = LABEL_LINK.findall(pipeline)
        assert labels
        for href, number in labels:
            assert rows_behind(client, html.unescape(href)) == int(number), (username, href)
        bars = set(re.findall(r'<a href="([^"]+)" class="bar-link"', pipeline))
        assert bars <= {href for href, _n in labels}


def narrowed(page: str) -> dict[str, tuple[str, str]]:
    """The filters a list names as applied: name -> (what it reads, the link dropping it)."""
    if 'data-testid="narrowed"' not in page:
        return {}
    part = page.split('data-testid="narrowed"', 1)[1].split("</p>", 1)[0]
    chips = re.findall(r'data-filter="(\w+)">([^<]*)<a href="([^"]+)"', part)
    return {name: (text.strip(), html.unescape(href)) for name, text, href in chips}


def test_a_list_behind_a_figure_names_the_filters_it_applies_and_keeps_them(
    world: World, login_as: LoginAs
) -> None:
    north = world.cast.north.id
    dave = login_as("dave")  # his team North's figures
    page = dave.get("/").text
    [overdue, _today] = [h for h, _n in figure_links(section(page, "tasks-due"))]
    tasks = dave.get(overdue).text
    applied = narrowed(tasks)
    assert {k: v[0] for k, v in applied.items()} == {"due": "Overdue", "team_id": "Team: North"}
    late = len(ROWS["/tasks"].findall(tasks))
    assert late and tasks.count('<span class="chip overdue') == late  # each says how late
    # dropping one keeps the other; the search form and the sort links carry both on
    assert "due=" not in applied["due"][1] and f"team_id={north}" in applied["due"][1]
    search = tasks.split('<form class="filters"', 1)[1].split("</form>", 1)[0]
    assert 'name="due" value="overdue"' in search and f'name="team_id" value="{north}"' in search
    sort = re.findall(r'<th[^>]*data-column="priority"><a href="([^"]+)"', tasks)
    assert sort and "due=overdue" in html.unescape(sort[0])
    # a phase's bar: the deals list names the phase, the team and the currency
    bar = re.findall(r'<a href="([^"]+)" class="bar-link"', section(page, "deals-pipeline"))[0]
    deals = narrowed(dave.get(html.unescape(bar)).text)
    assert deals["team_id"][0] == "Team: North" and deals["currency"][0] == "In EUR"
    assert deals["step_id"][0].startswith("Phase: ")
    # the unread mail: only the unread ones, on the next page too
    [(unread, count)] = figure_links(section(page, "mail-unread"))
    mail = dave.get(unread).text
    assert narrowed(mail)["unread"][0] == "Unread messages"
    assert len(ROWS["/mail"].findall(mail)) == count
    sort = re.findall(r'<th[^>]*data-column="subject"><a href="([^"]+)"', mail)
    assert sort and "unread=1" in html.unescape(sort[0])
    assert narrowed(dave.get("/tasks").text) == {}  # the list opened plainly names nothing


def test_the_forecast_links_to_the_deals_it_adds_up(world: World, login_as: LoginAs) -> None:
    dave = login_as("dave")
    part = section(dave.get("/").text, "deals-forecast")
    links = [
        html.unescape(h) for h in re.findall(r'<td class="num" [^>]*><a href="([^"]+)">', part)
    ]
    assert len(links) == 4
    month_forecast, month_realised, quarter_forecast, quarter_realised = (
        rows_behind(dave, h) for h in links
    )
    # team North's sales closing today: alice's two, bob's, dave's and erin's
    assert month_forecast == quarter_forecast == 5
    assert month_realised >= 1 and quarter_realised == 2  # alice's today, bob's this quarter


def test_a_manager_and_an_administrator_switch_scopes(world: World, login_as: LoginAs) -> None:
    cast = world.cast
    dave = login_as("dave")
    page = dave.get("/").text
    options = re.findall(r'<option value="([\w-]+)"( selected)?>', page)
    assert options == [("own", ""), (f"team-{cast.north.id}", " selected")]
    mine = dave.get("/?scope=own").text
    assert "Retail sale</strong>: 1 open deal<" in section(mine, "deals-pipeline")
    refused = dave.get("/?scope=all")
    assert refused.status_code == 200
    assert "Those figures are not among yours" in refused.text
    assert f'value="team-{cast.north.id}" selected' in refused.text
    root = login_as("root")  # an administrator, reading Croatian
    company = root.get("/").text
    assert '<option value="all" selected>' in company
    south = root.get(f"/?scope=team-{cast.south.id}").text
    assert "40.000,00\xa0€" in section(south, "deals-pipeline")
    assert "32.000,00\xa0€" in section(south, "deals-pipeline")  # weighted by 80 %
    fragment = root.get(f"/?scope=team-{cast.south.id}", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="board"') and "<html" not in fragment.text


def test_hiding_moving_and_showing_widgets_persists(
    world: World, login_as: LoginAs, database: Database
) -> None:
    alice = login_as("alice")
    hidden = alice.post("/dashboard/widgets/mail-unread", data={"move": "hide", "scope": "own"})
    assert hidden.status_code == 303 and hidden.headers["location"] == "/?scope=own"
    page = alice.get("/").text
    assert "mail-unread" not in widgets(page)
    assert 'name="shown" value="mail-unread" id="show-mail-unread">' in page  # not checked
    moved = alice.post(
        "/dashboard/widgets/tasks-due", data={"move": "up"}, headers={"HX-Request": "true"}
    )
    assert moved.status_code == 200 and "<html" not in moved.text
    assert widgets(moved.text)[:3] == ["deals-pipeline", "tasks-due", "deals-forecast"]
    assert widgets(alice.get("/").text)[:3] == ["deals-pipeline", "tasks-due", "deals-forecast"]
    # the customising form as the page fills it in, with one number changed
    page = alice.get("/").text
    positions = dict(re.findall(r'name="(position-[\w-]+)" value="(\d+)"', page))
    assert len(positions) == 8
    positions["position-announcements"] = "1"
    shown = [n for n in EVERY_WIDGET if n != "recent-changes"]
    saved = alice.post("/dashboard/layout", data={**positions, "shown": shown})
    assert saved.status_code == 303
    assert widgets(alice.get("/").text) == [
        "announcements",
        "deals-pipeline",
        "tasks-due",
        "deals-forecast",
        "calendar-meetings",
        "mail-unread",
        "notifications-unread",
    ]
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        rows = session.scalars(
            select(DashboardPreference).where(DashboardPreference.user_id == world.cast.alice.id)
        )
        assert {r.widget: r.hidden for r in rows}["recent-changes"] is True
    assert widgets(login_as("bob").get("/").text) == EVERY_WIDGET
    assert alice.post("/dashboard/layout", data={"reset": "1"}).status_code == 303
    assert widgets(alice.get("/").text) == EVERY_WIDGET


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/dashboard/widgets/nonsense", {"move": "up"}, "There is no such widget"),
        ("/dashboard/widgets/tasks-due", {"move": "sideways"}, "move the widget up or down"),
        ("/dashboard/layout", {"position-tasks-due": "99"}, "A position is a number from 1 to 8"),
        ("/dashboard/layout", {"position-tasks-due": "two"}, "A position is a whole number"),
    ],
)
def test_a_layout_change_that_makes_no_sense_is_refused_with_a_reason(
    world: World, login_as: LoginAs, path: str, data: dict[str, str], message: str
) -> None:
    alice = login_as("alice")
    refused = alice.post(path, data=data)
    assert refused.status_code == 422
    assert message in refused.text
    assert widgets(alice.get("/").text) == EVERY_WIDGET


def test_a_layout_change_needs_the_forms_token(
    world: World, login_as_without_token: LoginAs
) -> None:
    alice = login_as_without_token("alice")
    refused = alice.post("/dashboard/widgets/tasks-due", data={"move": "hide"})
    assert refused.status_code == 403
    page = alice.get("/").text
    assert "tasks-due" in widgets(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    done = alice.post("/dashboard/widgets/tasks-due", data={"move": "hide", "csrf_token": token})
    assert done.status_code == 303
    assert "tasks-due" not in widgets(alice.get("/").text)
