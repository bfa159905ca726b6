"""A user's dashboard layout (groupware/accounts/dashboard.py): hidden, shown and moved
widgets persist per user, new widgets show up, and nothing else is accepted."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts import dashboard as layout
from groupware.accounts.models import DashboardPreference
from groupware.dashboard import Widget
from groupware.errors import Invalid
from tests.factories import Cast


def _widget(name: str, order: int) -> Widget:
    return Widget(name, name.capitalize(), f"{name}.html", lambda args: {}, order=order)


WIDGETS = [_widget(n, i) for i, n in enumerate(("deals", "tasks", "mail", "news"))]


def _shown(db: Session, user_id: int, widgets: list[Widget] = WIDGETS) -> list[str]:
    return [p.widget.name for p in layout.arrange(db, user_id, widgets) if not p.hidden]


def _hidden(db: Session, user_id: int) -> list[str]:
    return [p.widget.name for p in layout.arrange(db, user_id, WIDGETS) if p.hidden]


def test_a_new_user_sees_every_widget_in_its_default_order(db: Session, cast: Cast) -> None:
    assert _shown(db, cast.alice.id) == ["deals", "tasks", "mail", "news"]
    assert db.scalars(select(DashboardPreference)).all() == []


def test_moving_and_hiding_persist_for_that_user_only(db: Session, cast: Cast) -> None:
    alice = cast.alice.id
    layout.move(db, alice, WIDGETS, "mail", "up")
    assert _shown(db, alice) == ["deals", "mail", "tasks", "news"]
    layout.move(db, alice, WIDGETS, "deals", "down")
    assert _shown(db, alice) == ["mail", "deals", "tasks", "news"]
    layout.move(db, alice, WIDGETS, "deals", "hide")
    assert _shown(db, alice) == ["mail", "tasks", "news"]
    assert _hidden(db, alice) == ["deals"]
    db.expire_all()  # read back from the database
    rows = db.scalars(select(DashboardPreference).order_by(DashboardPreference.position))
    assert [(r.user_id, r.widget, r.hidden) for r in rows] == [
        (alice, "mail", False),
        (alice, "deals", True),
        (alice, "tasks", False),
        (alice, "news", False),
    ]
    assert _shown(db, cast.bob.id) == ["deals", "tasks", "mail", "news"]
    layout.move(db, alice, WIDGETS, "deals", "show")
    assert _shown(db, alice) == ["mail", "deals", "tasks", "news"]


def test_moving_passes_hidden_widgets_and_stops_at_the_ends(db: Session, cast: Cast) -> None:
    alice = cast.alice.id
    layout.move(db, alice, WIDGETS, "tasks", "hide")
    layout.move(db, alice, WIDGETS, "mail", "up")  # past the hidden "tasks", before "deals"
    assert _shown(db, alice) == ["mail", "deals", "news"]
    layout.move(db, alice, WIDGETS, "mail", "up")
    layout.move(db, alice, WIDGETS, "news", "down")
    assert _shown(db, alice) == ["mail", "deals", "news"]


def test_the_customising_form_places_and_shows_widgets(db: Session, cast: Cast) -> None:
    alice = cast.alice.id
    positions = {"deals": 1, "tasks": 2, "mail": 3, "news": 1}  # "news" typed first
    layout.set_layout(db, alice, WIDGETS, positions, ["news", "deals", "mail"])
    assert _shown(db, alice) == ["news", "deals", "mail"]
    assert _hidden(db, alice) == ["tasks"]
    layout.set_layout(db, alice, WIDGETS, {"tasks": 4}, ["tasks"])
    assert [p.widget.name for p in layout.arrange(db, alice, WIDGETS)] == [
        "news",
        "deals",
        "mail",
        "tasks",
    ]
    assert _shown(db, alice) == ["tasks"]
    layout.reset(db, alice)
    assert _shown(db, alice) == ["deals", "tasks", "mail", "news"]


@pytest.mark.parametrize(
    ("positions", "shown", "field"),
    [
        ({"deals": 0}, [], "position"),
        ({"deals": 5}, [], "position"),
        ({"other": 1}, [], "widget"),
        ({}, ["other"], "widget"),
    ],
)
def test_the_form_refuses_what_is_not_a_place_or_a_widget(
    db: Session, cast: Cast, positions: dict[str, int], shown: list[str], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        layout.set_layout(db, cast.alice.id, WIDGETS, positions, shown)
    assert field in refused.value.errors
    with pytest.raises(Invalid):
        layout.move(db, cast.alice.id, WIDGETS, "other", "up")


def test_a_widget_added_later_comes_last_and_one_withdrawn_keeps_its_place(
    db: Session, cast: Cast
) -> None:
    alice = cast.alice.id
    layout.move(db, alice, WIDGETS, "news", "up")
    assert _shown(db, alice) == ["deals", "tasks", "news", "mail"]
    added = [*WIDGETS, _widget("calendar", -1)]  # first by default, but placed ones lead
    assert _shown(db, alice, added) == ["deals", "tasks", "news", "mail", "calendar"]
    without_tasks = [w for w in WIDGETS if w.name != "tasks"]  # no longer offered
    assert _shown(db, alice, without_tasks) == ["deals", "news", "mail"]
    assert _shown(db, alice) == ["deals", "tasks", "news", "mail"]


def test_a_users_layout_goes_with_the_user(db: Session, cast: Cast) -> None:
    layout.move(db, cast.alice.id, WIDGETS, "mail", "hide")
    db.delete(cast.alice)
    db.flush()
    assert db.scalars(select(DashboardPreference)).all() == []
