"""Bulk actions: running one on the chosen rows of a list, keeping what its undo needs,
and taking it back.

An action (:class:`~groupware.lists.declare.BulkAction`) is the area's: it loads each
record through the access helpers and changes it through the area's services, so the
history, the calendars and the notifications follow as they do for one record. Here:
the generic parts, :func:`run` and :func:`undo`, which keep a
:class:`~groupware.lists.models.BulkChange` per undoable run, and two actions any list
can declare, :func:`field_action` (set one field, undo puts the old values back) and
:func:`delete_action` (delete, undo restores what was deleted, :mod:`.snapshot`).

A run is all or nothing: one record the user may not change refuses the whole run
(the request's transaction is rolled back), so nothing is half done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.access.policy import Who, get_for_user, record_key
from groupware.db import Base, utcnow
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.lists import snapshot
from groupware.lists.declare import BulkAction, Choices, ListDef
from groupware.lists.models import BulkChange

MAX_IDS = 500
# How long a bulk change can be taken back, and how long its list offers to.
UNDO_WINDOW = dt.timedelta(days=1)
OFFER_WINDOW = dt.timedelta(minutes=30)


def chosen_ids(values: Sequence[str]) -> list[int]:
    """The ids a bulk form sends (``ids``), each once, in order; anything else is
    refused."""
    ids: list[int] = []
    for value in values:
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 12:
            raise Invalid({"ids": _l("Choose the rows from the list.")})
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise Invalid({"ids": _l("Choose at least one row.")})
    if len(ids) > MAX_IDS:
        raise Invalid({"ids": _l("Choose at most %(max)d rows at once.", max=MAX_IDS)})
    return ids


def value_label(session: Session, who: Who, action: BulkAction, value: str) -> str:
    """The chosen value as the person saw it (a rep's name); refuses a value that is not
    one of the action's choices."""
    if action.choices is not None:
        labels = {str(v): str(label) for v, label in action.choices(session, who)}
        if value not in labels:
            raise Invalid({"value": _l("Choose one of the offered values.")})
        return labels[value]
    if action.typed is not None:
        value = value.strip()
        if not value:
            raise Invalid({"value": _l("Fill in the value.")})
        return value[:200]
    return ""


def run(
    session: Session, who: Who, listdef: ListDef, action: BulkAction, ids: Sequence[int], value: str
) -> BulkChange | None:
    """Run ``action`` on the records ``ids`` with ``value``; the change to take back,
    when the action can be undone."""
    assert who.id is not None
    label = value_label(session, who, action, value)
    if action.typed is not None:
        value = label
    payload = action.apply(session, who, ids, value)
    session.flush()
    if action.undo is None or payload is None:
        return None
    change = BulkChange(
        user_id=who.id,
        list_name=listdef.name,
        action=action.name,
        count=len(ids),
        value_label=label,
        payload={"undo": payload},
    )
    session.add(change)
    session.flush()
    return change


def _change(session: Session, who: Who, change_id: int) -> BulkChange:
    change = session.scalar(
        select(BulkChange).where(BulkChange.id == change_id, BulkChange.user_id == who.id)
    )
    if change is None:
        raise NotFound(_l("There is no such change of yours to take back."))
    return change


def undo(session: Session, who: Who, change_id: int) -> tuple[ListDef, BulkChange, int]:
    """Take back one of ``who``'s bulk changes (once, within :data:`UNDO_WINDOW`); how
    many records it put back (one changed again since is left as it is)."""
    change = _change(session, who, change_id)
    if change.undone_at is not None:
        raise Invalid({"": _l("This change was taken back already.")})
    if utcnow() - change.created_at > UNDO_WINDOW:
        raise Invalid({"": _l("This change is too old to take back.")})
    listdef = wiring.current().lists.get(change.list_name)
    action = listdef.action(change.action) if listdef is not None else None
    if listdef is None or action is None or action.undo is None:
        raise Invalid({"": _l("This change cannot be taken back.")})
    restored = action.undo(session, who, change.payload["undo"])
    change.undone_at = utcnow()
    session.flush()
    return listdef, change, restored


def latest(session: Session, who: Who, list_name: str) -> BulkChange | None:
    """``who``'s newest bulk change on the list that may still be taken back, if it is
    recent enough for the list to offer it."""
    change = session.scalar(
        select(BulkChange)
        .where(BulkChange.user_id == who.id, BulkChange.list_name == list_name)
        .order_by(BulkChange.id.desc())
        .limit(1)
    )
    if change is None or change.undone_at is not None:
        return None
    return change if utcnow() - change.created_at <= OFFER_WINDOW else None


# -- actions any list may declare ----------------------------------------------------

Load = Callable[[Session, Who, int], Any]
Check = Callable[[Session, Who, Any], None]
After = Callable[[Session, Any], None]


def loader(model: type[Base], action: str = "edit") -> Load:
    def load(session: Session, who: Who, record_id: int) -> Any:
        return get_for_user(session, who, model, record_id, action)

    return load


def field_action(
    name: str,
    label: Any,
    model: type[Base],
    field: str,
    *,
    choices: Choices,
    coerce: Callable[[str], Any] = str,
    value_label: Any = None,
    load: Load | None = None,
    check: Check | None = None,
    after: After | None = None,
) -> BulkAction:
    """Set ``field`` of each chosen record to the chosen value (one of ``choices``);
    undo sets the old values back. ``load`` reads a record for the change (by default
    through the access helper for "edit"), ``check`` may refuse one (raising),
    ``after`` runs after each change (a calendar to update)."""
    read = load or loader(model)

    def apply(session: Session, who: Who, ids: Sequence[int], value: str) -> Any:
        new, old = coerce(value), {}
        for record_id in ids:
            record = read(session, who, record_id)
            if check is not None:
                check(session, who, record)
            old[str(record_key(record))] = getattr(record, field)
            setattr(record, field, new)
            if after is not None:
                after(session, record)
        session.flush()
        return {"new": new, "old": old}

    def take_back(session: Session, who: Who, payload: Any) -> int:
        # The run was the user's own and allowed: its records are put back even when
        # the change took them out of the user's sight (a partner handed to a colleague);
        # one changed again since is left as it is.
        restored = 0
        for record_id, value in payload["old"].items():
            record = session.get(model, int(record_id))
            if record is None or getattr(record, field) != payload["new"]:
                continue
            setattr(record, field, value)
            if after is not None:
                after(session, record)
            restored += 1
        session.flush()
        return restored

    return BulkAction(
        name, label, apply, take_back, choices=choices, value_label=value_label or label
    )


def delete_action(
    label: Any,
    model: type[Base],
    delete: Callable[[Session, Any], None],
    *,
    load: Load | None = None,
) -> BulkAction:
    """Delete each chosen record with the area's ``delete``; undo puts back everything
    the deletion removed (:mod:`.snapshot`). Records other rows still need are named
    and nothing is deleted."""
    read = load or loader(model, "delete")

    def apply(session: Session, who: Who, ids: Sequence[int], value: str) -> Any:
        records = [read(session, who, record_id) for record_id in ids]
        needed = snapshot.blocked(session, model, [record_key(r) for r in records])
        if needed:
            names = ", ".join(str(r) for r in records if record_key(r) in needed)
            raise Invalid(
                {
                    "ids": _l(
                        "Other records still need these, so nothing was deleted: %(names)s",
                        names=names,
                    )
                }
            )
        kept = snapshot.take(session, model, [record_key(r) for r in records])
        for record in records:
            delete(session, record)
        session.flush()
        return kept

    def take_back(session: Session, who: Who, payload: Any) -> int:
        snapshot.restore(session, payload)
        return len(payload["rows"].get(model.__tablename__, []))

    return BulkAction("delete", label, apply, take_back, danger=True, right="delete")
