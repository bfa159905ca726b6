"""A record's current phase deadline as a to-do in its owner's CRM task list (deals,
campaigns).

While the record is open and its current phase has a planned end, the owner's task
list holds one VTODO for it (UID ``<prefix>-<id>@groupware``, due that day, titled in
the owner's language); it follows the record through moves, a new owner, closing (it
goes) and reopening (it comes back). Written through :mod:`groupware.caldav.store`,
so calendar clients see it on their next sync. A client's own change to it stays
until the record changes again: the record is moved on its page, not by ticking a
to-do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import vobject  # type: ignore[import-untyped]
from dateutil import tz  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav import store
from groupware.i18n import use_language


def vtodo(uid: str, summary: str, due: dt.date, url: str) -> str:
    cal = vobject.iCalendar()
    todo = cal.add("vtodo")
    todo.add("uid").value = uid
    todo.add("dtstamp").value = dt.datetime.now(tz.UTC)
    todo.add("summary").value = summary
    todo.add("due").value = due
    todo.add("status").value = "NEEDS-ACTION"
    todo.add("categories").value = ["CRM"]
    todo.add("url").value = url
    return str(cal.serialize())


def put_deadline(
    session: Session,
    prefix: str,
    record_id: int,
    owner_id: int | None,
    due: dt.date | None,
    summary: Callable[[], str],
    url: str,
) -> None:
    """Put the record's deadline into its owner's task list (``owner_id``; None, or no
    ``due``, when the record has no open deadline), and out of anybody else's.
    ``summary`` is called in the owner's language."""
    source = f"{prefix}:{record_id}"
    wanted = owner_id if due is not None else None
    for row in store.item_by_source(session, source):
        if row.calendar.owner_id != wanted:
            store.delete_item(session, row.calendar, row.href)
    if wanted is None or due is None:
        return
    owner = session.get(User, wanted)
    if owner is None or not owner.is_active:
        return
    tasks_list = next(c for c in store.ensure_defaults(session, owner) if c.kind == "tasks")
    with use_language(owner.language):
        text = summary()
    (item,) = store.parse_items(vtodo(f"{prefix}-{record_id}@groupware", text, due, url))
    store.put_item(session, tasks_list, f"{prefix}-{record_id}.ics", item, source=source)
