"""A user's dashboard layout: which of the widgets offered to them it shows, and in
what order (one :class:`DashboardPreference` row per widget they placed).

Widgets the user never placed stand after the placed ones in their default order, so a
widget an area adds later shows up on everyone's dashboard. A row of a widget no longer
offered to the user (their rights changed) is kept: the widget comes back where it was.
Every function takes the user's id; nothing reads another user's layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groupware.accounts.models import DashboardPreference
from groupware.dashboard import Widget
from groupware.errors import Invalid
from groupware.i18n import _l

Move = Literal["up", "down", "hide", "show"]
MOVES: tuple[Move, ...] = ("up", "down", "hide", "show")


@dataclass(frozen=True)
class Placed:
    widget: Widget
    hidden: bool


def _rows(session: Session, user_id: int) -> dict[str, DashboardPreference]:
    query = select(DashboardPreference).where(DashboardPreference.user_id == user_id)
    return {row.widget: row for row in session.scalars(query)}


def arrange(session: Session, user_id: int, widgets: Sequence[Widget]) -> list[Placed]:
    """``widgets`` (those offered to the user, in default order) as the user placed
    them, hidden ones included."""
    rows = _rows(session, user_id)
    placed = sorted((w for w in widgets if w.name in rows), key=lambda w: rows[w.name].position)
    rest = [w for w in widgets if w.name not in rows]
    return [Placed(w, w.name in rows and rows[w.name].hidden) for w in placed + rest]


def _save(session: Session, user_id: int, layout: Sequence[tuple[str, bool]]) -> None:
    rows = _rows(session, user_id)
    for position, (name, hidden) in enumerate(layout):
        row = rows.get(name)
        if row is None:
            row = DashboardPreference(user_id=user_id, widget=name)
            session.add(row)
        row.position, row.hidden = position, hidden
    session.flush()


def _index(placed: Sequence[Placed], name: str) -> int:
    for index, item in enumerate(placed):
        if item.widget.name == name:
            return index
    raise Invalid({"widget": _l("There is no such widget on your dashboard.")})


def move(session: Session, user_id: int, widgets: Sequence[Widget], name: str, how: Move) -> None:
    """Move widget ``name`` before the shown widget above it (``up``) or after the one
    below it (``down``), or hide or show it."""
    placed = arrange(session, user_id, widgets)
    index = _index(placed, name)
    layout = [(p.widget.name, p.hidden) for p in placed]
    if how in ("hide", "show"):
        layout[index] = (name, how == "hide")
    else:
        step = -1 if how == "up" else 1
        other = index + step
        # Hidden widgets are not on the page: "up" passes them to the next shown one.
        while 0 <= other < len(layout) and layout[other][1]:
            other += step
        if 0 <= other < len(layout):
            layout.insert(other, layout.pop(index))
    _save(session, user_id, layout)


def set_layout(
    session: Session,
    user_id: int,
    widgets: Sequence[Widget],
    positions: Mapping[str, int],
    shown: Iterable[str],
) -> None:
    """Place the widgets as the customising form says: ``positions`` (1 = first) and
    the names of the ``shown`` ones. A widget whose number changed takes that place
    (the first free one from there); the others keep their order around it."""
    placed = arrange(session, user_id, widgets)
    known = {p.widget.name for p in placed}
    shown = set(shown)
    if not set(positions) <= known or not shown <= known:
        raise Invalid({"widget": _l("There is no such widget on your dashboard.")})
    if any(not 1 <= n <= len(placed) for n in positions.values()):
        raise Invalid(
            {"position": _l("A position is a number from 1 to %(count)s.", count=len(placed))}
        )
    names = [p.widget.name for p in placed]
    moved = sorted(
        (positions[name] - 1, index)
        for index, name in enumerate(names)
        if positions.get(name, index + 1) != index + 1
    )
    slots: list[str | None] = [None] * len(names)
    for wanted, index in moved:
        free = [i for i, taken in enumerate(slots) if taken is None]
        slot = next((i for i in free if i >= wanted), free[-1])
        slots[slot] = names[index]
    staying = iter(name for name in names if name not in slots)
    order = [name if name is not None else next(staying) for name in slots]
    _save(session, user_id, [(name, name not in shown) for name in order])


def reset(session: Session, user_id: int) -> None:
    """Back to the default dashboard: every widget shown, in its default order."""
    session.execute(delete(DashboardPreference).where(DashboardPreference.user_id == user_id))
