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

from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav import ics, store
from groupware.db import utcnow
from groupware.i18n import use_language


def vtodo(uid: str, summary: str, due: dt.date, url: str) -> str:
    return ics.todo(uid=uid, summary=summary, stamp=utcnow(), due=due, categories=("CRM",), url=url)


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


def deadline_template(due: dt.date) -> ics.TodoTemplate:
    """The deadline to-do of records due the same day (a bulk writer's)."""
    return ics.TodoTemplate(stamp=utcnow(), due=due, categories=("CRM",))


def deadline_item(
    prefix: str,
    record_id: int,
    summary: str,
    due: dt.date,
    url: str,
    template: ics.TodoTemplate | None = None,
) -> store.NewItem:
    """A new record's deadline as a to-do for :func:`groupware.caldav.store.insert_items`
    (a bulk writer's way; ``summary`` already in the owner's language; ``template``, when
    given, is :func:`deadline_template` of the same due date)."""
    uid = f"{prefix}-{record_id}@groupware"
    starts, ends = ics.todo_range(due=due)
    text = (
        template.render(uid, summary, url)
        if template is not None
        else vtodo(uid, summary, due, url)
    )
    return store.NewItem(
        f"{prefix}-{record_id}.ics", uid, text, starts, ends, f"{prefix}:{record_id}"
    )
