"""The dashboard's widgets and scopes (groupware/dashboard.py and each area's
dashboard.py): the figures of a sales rep, a manager and an administrator, checked
against the database row by row with the per-record access check, and never a figure
of a record the user may not see."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.access.policy import load_who
from groupware.accounts.models import User
from groupware.dashboard import Widget, default_scope, pick_scope, scopes_for
from groupware.i18n import today, use_language
from groupware.tasks.dashboard import due_tasks
from groupware.wiring import Area
from tests.dashboard_world import (
    World,
    args,
    expected_forecast,
    expected_pipeline,
    expected_tasks,
    figures,
    make_world,
    seen_deals,
    unread,
)
from tests.factories import Cast

D = decimal.Decimal


@pytest.fixture
def world(db: Session, cast: Cast) -> World:
    return make_world(db, cast)


def _pipeline(db: Session, user: User, scope: str = "") -> dict[tuple[str, str], tuple[int, D, D]]:
    data = figures(db, user, "deals-pipeline", scope)
    return {
        (p.name, row.name if row.name != "Without a phase" else ""): (
            row.count,
            row.amount,
            row.weighted,
        )
        for p in data["pipelines"]
        for row in p.rows
        if row.count
    }


def test_each_area_declares_its_widgets_once_in_order() -> None:
    names = [w.name for w in wiring.current().dashboard_widgets]
    assert names == [
        "deals-pipeline",
        "deals-forecast",
        "tasks-due",
        "calendar-meetings",
        "mail-unread",
        "notifications-unread",
        "announcements",
        "recent-changes",
    ]
    twice = Area("twice", dashboard_widgets=(wiring.current().dashboard_widgets[0],))
    with pytest.raises(ValueError, match="dashboard widget 'deals-pipeline'"):
        wiring.gather((*wiring.current().areas, twice))


def test_a_rep_a_manager_and_an_administrator_get_the_scopes_of_their_roles(
    db: Session, world: World
) -> None:
    cast = world.cast
    keys = {}
    for user in (cast.alice, cast.dave, cast.root, world.erin):
        scopes = scopes_for(db, load_who(db, user))
        keys[user.username] = ([s.key for s in scopes], default_scope(scopes).key)
    north, south = f"team-{cast.north.id}", f"team-{cast.south.id}"
    assert keys == {
        "alice": (["own"], "own"),
        "dave": (["own", north], north),
        "root": (["own", north, south, "all"], "all"),
        "erin": (["own", north], north),  # her role reaches her team's tasks
    }
    # a scope that is not one's own is refused, whatever it names
    dave = scopes_for(db, load_who(db, cast.dave))
    assert pick_scope(dave, "all") is None
    assert pick_scope(dave, south) is None
    assert pick_scope(dave, "team-x") is None


def test_a_reps_deal_figures_are_their_own_open_euro_deals(db: Session, world: World) -> None:
    alice = world.cast.alice
    found = _pipeline(db, alice)
    assert found == expected_pipeline(db, alice)
    assert found == {
        ("Retail sale", "Qualify"): (1, D("10000.00"), D("5000.00")),
        ("Retail sale", "Offer"): (1, D("8000.00"), D("2400.00")),
        ("Stock purchase", "Request"): (1, D("3000.00"), D("1500.00")),
    }
    [month, quarter] = figures(db, alice, "deals-forecast")["periods"]
    assert [(month.forecast, month.realised), (quarter.forecast, quarter.realised)] == (
        expected_forecast(db, alice)
    )
    assert (month.forecast, month.realised) == (D("7400.00"), D("5000.00"))


def test_a_managers_figures_are_those_of_their_team(db: Session, world: World) -> None:
    cast = world.cast
    team = f"team-{cast.north.id}"
    found = _pipeline(db, cast.dave, team)
    assert found == expected_pipeline(db, cast.dave, team)
    # alice's, bob's and dave's own; not charlie's (South) nor erin's, whom dave's
    # team scope reaches as a member of North
    owners = {d.owner.username for d in seen_deals(db, cast.dave, team) if d.status == "open"}
    assert owners == {"alice", "bob", "dave", "erin"}
    qualify = found[("Retail sale", "Qualify")]
    assert qualify[0] == 4  # alice 10000, bob 1500 (next year), dave 6000, erin 2500
    forecast = figures(db, cast.dave, "deals-forecast", team)["periods"]
    assert [(p.forecast, p.realised) for p in forecast] == expected_forecast(db, cast.dave, team)
    assert forecast[1].realised == D("12000.00")  # alice's 5000 and bob's 7000 this quarter


def test_an_administrators_figures_are_the_companys(db: Session, world: World) -> None:
    root = world.cast.root
    found = _pipeline(db, root)
    assert found == expected_pipeline(db, root)
    assert sum(count for count, _a, _w in found.values()) == 8  # every open euro deal
    periods = figures(db, root, "deals-forecast")["periods"]
    assert [(p.forecast, p.realised) for p in periods] == expected_forecast(db, root)
    south = f"team-{world.cast.south.id}"
    assert _pipeline(db, root, south) == {
        ("Retail sale", "Qualify"): (1, D("40000.00"), D("32000.00"))
    }


def test_a_team_scope_never_counts_what_its_user_may_not_see(db: Session, world: World) -> None:
    """erin's role reaches her team's tasks but only her own deals: her team's deal
    figures are hers alone, though alice, bob and dave own deals in team North."""
    erin, team = world.erin, f"team-{world.cast.north.id}"
    assert _pipeline(db, erin, team) == {
        ("Retail sale", "Qualify"): (1, D("2500.00"), D("1000.00"))
    }
    assert _pipeline(db, erin, team) == expected_pipeline(db, erin, team)
    periods = figures(db, erin, "deals-forecast", team)["periods"]
    assert [(p.forecast, p.realised) for p in periods] == expected_forecast(db, erin, team)
    # ...while her team's tasks she may see are all counted
    groups = figures(db, erin, "tasks-due", team)["groups"]
    titles = {g.due: [t.title for t in g.tasks] for g in groups}
    assert titles["overdue"] == expected_tasks(db, erin, "overdue", team)
    assert set(titles["overdue"]) == {"dave overdue", "alice overdue", "bob overdue"}


@pytest.mark.parametrize(
    ("username", "scope", "overdue", "today_"),
    [
        ("alice", "", ["alice overdue"], ["alice later today"]),
        (
            "dave",
            "north",
            ["dave overdue", "alice overdue", "bob overdue"],
            ["alice later today", "North later today"],
        ),
        (
            "root",
            "",
            ["dave overdue", "alice overdue", "bob overdue"],
            ["charlie later today", "alice later today", "North later today"],
        ),
    ],
)
def test_tasks_due_today_and_overdue_are_the_scopes_open_ones(
    db: Session, world: World, username: str, scope: str, overdue: list[str], today_: list[str]
) -> None:
    user = getattr(world.cast, username)
    key = f"team-{world.cast.north.id}" if scope == "north" else scope
    groups = {g.due: g for g in figures(db, user, "tasks-due", key)["groups"]}
    for due, titles in (("overdue", overdue), ("today", today_)):
        assert [t.title for t in groups[due].tasks] == expected_tasks(db, user, due, key)
        assert [t.title for t in groups[due].tasks] == titles
        assert groups[due].count == len(titles)


def test_a_task_due_in_an_hour_is_due_today_until_its_time_then_overdue(
    db: Session, world: World
) -> None:
    alice = world.cast.alice
    later = world.now + dt.timedelta(hours=3)  # alice's "later today" is due at now + 2 h
    a = args(db, alice, now=later)
    assert [t.title for t in due_tasks(a, "overdue", "").tasks] == [
        "alice overdue",
        "alice later today",
    ]
    assert due_tasks(a, "today", "").tasks == []
    assert expected_tasks(db, alice, "today", now=later) == []


def test_meetings_are_today_and_tomorrow_in_the_users_own_calendars(
    db: Session, world: World
) -> None:
    days = figures(db, world.cast.alice, "calendar-meetings")["days"]
    assert [d.day for d in days] == [today(), today() + dt.timedelta(days=1)]
    assert [[m.title for m in d.meetings] for d in days] == [
        ["Alice fair", "Alice stand-up"],
        ["Alice visit"],
    ]
    assert all(m.url for d in days for m in d.meetings)
    bob = figures(db, world.cast.bob, "calendar-meetings")["days"]
    assert [[m.title for m in d.meetings] for d in bob] == [["Bob today"], []]


def test_unread_mail_and_notifications_are_the_users_own(db: Session, world: World) -> None:
    for user in (world.cast.alice, world.cast.bob, world.cast.charlie):
        mail = figures(db, user, "mail-unread")
        notes = figures(db, user, "notifications-unread")
        assert (mail["count"], notes["count"]) == unread(db, user)
        assert {e.user_id for e in mail["entries"]} <= {user.id}
        assert {n.user_id for n in notes["notifications"]} <= {user.id}
    alice = figures(db, world.cast.alice, "mail-unread")
    assert [e.message.subject for e in alice["entries"]] == [
        "Narudžba papira",
        "Ponuda za blagajne",
    ]


def test_announcements_show_what_is_published(db: Session, world: World) -> None:
    shown = figures(db, world.cast.charlie, "announcements")["announcements"]
    assert [a.title for a in shown] == ["Inventura u petak"]


def test_amounts_are_written_the_local_way(db: Session, world: World) -> None:
    with use_language("hr"):
        data = figures(db, world.cast.alice, "deals-pipeline")
    qualify = data["pipelines"][0].chart.rects[0]
    assert qualify.title == "Qualify (1) · Vrijednost: 10.000,00\xa0€"
    texts = [t.text for t in data["pipelines"][0].chart.texts]
    assert {"10\xa0tis.\xa0€", "2,4\xa0tis.\xa0€"} <= set(texts)
    with use_language("en"):
        data = figures(db, world.cast.alice, "deals-pipeline")
    assert data["pipelines"][0].chart.rects[0].title == "Qualify (1) · Value: €10,000.00"


def test_every_figure_links_to_the_list_of_the_same_records(db: Session, world: World) -> None:
    alice, cast = world.cast.alice, world.cast
    data = figures(db, alice, "deals-pipeline")
    [sale] = [p for p in data["pipelines"] if p.name == "Retail sale"]
    offer = next(r for r in sale.rows if r.name == "Offer")
    assert offer.href.startswith("/deals?")
    assert f"owner_id={alice.id}" in offer.href and "status=open" in offer.href
    assert f"step_id={world.setup.sale.phases[1].id}" in offer.href and "currency=EUR" in offer.href
    team = figures(db, cast.dave, "tasks-due", f"team-{cast.north.id}")["groups"][0]
    assert team.href == f"/tasks?view=all&due=overdue&team_id={cast.north.id}"
    mine = figures(db, alice, "tasks-due")["groups"][1]
    assert mine.href == "/tasks?view=mine&due=today"


def test_a_widget_is_offered_to_those_who_may_view_its_module(db: Session, world: World) -> None:
    widget = Widget("x", "X", "x.html", lambda a: {}, module="deals")
    assert widget.offered_to(load_who(db, world.cast.alice))
    assert not Widget("y", "Y", "y.html", lambda a: {}, module="system").offered_to(
        load_who(db, world.cast.alice)
    )
    assert Widget("z", "Z", "z.html", lambda a: {}).offered_to(load_who(db, world.cast.alice))
