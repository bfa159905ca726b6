"""A deal's current phase deadline as a to-do in its owner's CRM task list.

While a deal is open and its current phase has a planned end, the owner's task list
holds one VTODO for it (UID ``deal-<id>@groupware``, due that day, titled with the
phase and the deal in the owner's language); it follows the deal through moves, a new
owner, closing (it goes) and reopening (it comes back). Written through
:mod:`groupware.caldav.store`, so calendar clients see it on their next sync. A
client's own change to it stays until the deal changes again: the deal is moved on its
page, not by ticking a to-do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import vobject  # type: ignore[import-untyped]
from dateutil import tz  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav import store
from groupware.deals.models import Deal
from groupware.i18n import _, use_language

PREFIX = "deal"
_DEFERRED = "deals.calendar.deferred"  # Session.info: the deals whose push waits


def vtodo(deal: Deal, owner: User) -> str:
    assert deal.phase_due is not None
    with use_language(owner.language):
        phase = deal.phase.name if deal.phase is not None else ""
        summary = _("%(phase)s: %(title)s", phase=phase, title=deal.title)
    cal = vobject.iCalendar()
    todo = cal.add("vtodo")
    todo.add("uid").value = f"deal-{deal.id}@groupware"
    todo.add("dtstamp").value = dt.datetime.now(tz.UTC)
    todo.add("summary").value = summary
    todo.add("due").value = deal.phase_due
    todo.add("status").value = "NEEDS-ACTION"
    todo.add("categories").value = ["CRM"]
    todo.add("url").value = f"/deals/{deal.id}"
    return str(cal.serialize())


@contextmanager
def pushed_once(session: Session) -> Iterator[None]:
    """Within the block, each deal's to-do is put once, when the block ends: for a
    writer that takes a deal through several steps at once (the demo walks each deal
    through its phases; its to-do was rewritten at every move)."""
    pending: dict[int, Deal] = {}
    session.info[_DEFERRED] = pending
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    for deal in pending.values():
        push(session, deal)


def push(session: Session, deal: Deal) -> None:
    """Put the deal's deadline into its owner's task list, and out of anybody else's."""
    pending = session.info.get(_DEFERRED)
    if pending is not None:
        pending[deal.id] = deal
        return
    source = f"{PREFIX}:{deal.id}"
    wanted = deal.owner_id if deal.status == "open" and deal.phase_due is not None else None
    for row in store.item_by_source(session, source):
        if row.calendar.owner_id != wanted:
            store.delete_item(session, row.calendar, row.href)
    if wanted is None:
        return
    owner = session.get(User, wanted)
    if owner is None or not owner.is_active:
        return
    tasks_list = next(c for c in store.ensure_defaults(session, owner) if c.kind == "tasks")
    (item,) = store.parse_items(vtodo(deal, owner))
    store.put_item(session, tasks_list, f"deal-{deal.id}.ics", item, source=source)
