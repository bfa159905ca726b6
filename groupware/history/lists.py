"""The history page as a list people shape (:mod:`groupware.lists`), declared in the
history's ``area.py``: the changes the user may see, newest first, each with what it
changed (the sentence and the fields of :mod:`groupware.history.display`) under its row.
The history has no module of its own to grant an export right on, so no export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.accounts.models import User
from groupware.db import CHANNELS
from groupware.history.display import ChangeView, describe
from groupware.history.models import Change
from groupware.history.service import ACTIONS, changes_by_id, changes_query
from groupware.i18n import _l, local_time, ngettext, parse_date
from groupware.lists.declare import Column, ListDef
from groupware.records import record_label, record_types
from groupware.validation import parse_id

ACTION_LABELS: dict[str, Any] = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
}
CHANNEL_LABELS: dict[str, Any] = {
    "web": _l("web"),
    "api": _l("API"),
    "cli": _l("command line"),
    "dav": _l("DAV"),
    "smtp": _l("SMTP"),
    "job": _l("job"),
}


class RecordTypeLabels(Mapping[str, str]):
    """The record types' labels, read when shown (the areas declare them)."""

    def __getitem__(self, key: str) -> str:
        if key not in record_types():
            raise KeyError(key)
        return record_label(key)

    def __iter__(self) -> Iterator[str]:
        return iter(record_types())

    def __len__(self) -> int:
        return len(record_types())


def _day_start(text: str, *, next_day: bool = False) -> dt.datetime | None:
    """The start of a day typed in the filter (the company's time zone)."""
    try:
        day = parse_date(text)
    except ValueError:
        return None
    if next_day:
        day += dt.timedelta(days=1)
    zone = local_time(dt.datetime.now(dt.UTC)).tzinfo
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def _rows(who: Who, filters: Mapping[str, str], action: str) -> Select[Any]:
    get = filters.get
    return changes_query(
        who,
        record_type=get("type") or None,
        record_id=parse_id(get("id")),
        actor_id=parse_id(get("actor")),
        channel=get("channel") if get("channel") in CHANNELS else None,
        action=get("action") if get("action") in ACTIONS else None,
        since=_day_start(get("since", "")) if get("since") else None,
        until=_day_start(get("until", ""), next_day=True) if get("until") else None,
    )


def _described(session: Session, who: Who, ids: Sequence[int]) -> dict[int, ChangeView]:
    return {
        view.change.id: view for view in describe(session, who, changes_by_id(session, list(ids)))
    }


HISTORY = ListDef(
    name="history",
    label=_l("History"),
    endpoint="history",
    model=Change,
    query=_rows,
    filters=("type", "id", "actor", "channel", "action", "since", "until"),
    columns=(
        Column("at", _l("When"), Change.at, show="datetime", sort=(Change.id,)),
        Column("actor", _l("Who"), User.full_name, join=("actor",)),
        Column("action", _l("Action"), Change.action, show="choice", choices=ACTION_LABELS),
        Column(
            "record_type",
            _l("Record type"),
            Change.record_type,
            show="choice",
            choices=RecordTypeLabels(),
        ),
        Column("record", _l("Record"), Change.label),
        Column("channel", _l("Channel"), Change.channel, show="choice", choices=CHANNEL_LABELS),
    ),
    joins={"actor": lambda q: q.outerjoin(User, User.id == Change.actor_id)},
    default_columns=("at", "actor", "action", "record_type", "record"),
    default_sort="-at",
    details=("history/_changes.html", _described),
    # The history of every record in sight, with who did what when: the
    # administrators' to export (an audit).
    exporter=lambda who: who.is_admin,
    count=lambda n: ngettext("%(num)d change", "%(num)d changes", n),
)
