"""A deal's current phase deadline as a to-do in its owner's CRM task list.

While a deal is open and its current phase has a planned end, the owner's task list
holds one VTODO for it (UID ``deal-<id>@groupware``, due that day, titled with the
phase and the deal in the owner's language); it follows the deal through moves, a new
owner, closing (it goes) and reopening (it comes back). Written through
:mod:`groupware.caldav.store`, so calendar clients see it on their next sync. A
client's own change to it stays until the deal changes again: the deal is moved on its
page, not by ticking a to-do.

A meeting logged on a deal is an event in its author's calendar (an hour long); moving
it in a calendar program moves the logged meeting.
"""

from __future__ import annotations

import datetime as dt

import vobject  # type: ignore[import-untyped]
from dateutil import tz  # type: ignore[import-untyped]
from radicale import item as radicale_item
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav import store
from groupware.caldav.models import Calendar
from groupware.deals.models import Deal, DealActivity
from groupware.i18n import _, use_language

PREFIX = "deal"


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


def push(session: Session, deal: Deal) -> None:
    """Put the deal's deadline into its owner's task list, and out of anybody else's."""
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


MEETING = "meeting"
MEETING_LENGTH = dt.timedelta(hours=1)


def meeting_event(activity: DealActivity, deal: Deal) -> str:
    cal = vobject.iCalendar()
    event = cal.add("vevent")
    event.add("uid").value = f"meeting-{activity.id}@groupware"
    event.add("dtstamp").value = dt.datetime.now(tz.UTC)
    event.add("dtstart").value = activity.at.astimezone(tz.UTC)
    event.add("dtend").value = (activity.at + MEETING_LENGTH).astimezone(tz.UTC)
    first_line = activity.text.strip().splitlines()[0] if activity.text.strip() else ""
    event.add("summary").value = f"{deal.title}: {first_line}"[:300]
    event.add("description").value = activity.text
    event.add("url").value = f"/deals/{deal.id}"
    return str(cal.serialize())


def push_meeting(session: Session, activity: DealActivity, deal: Deal) -> None:
    """A meeting logged on a deal goes into its author's calendar."""
    if activity.kind != MEETING or activity.author_id is None:
        return
    author = session.get(User, activity.author_id)
    if author is None or not author.is_active:
        return
    personal = next(c for c in store.ensure_defaults(session, author) if c.kind == "personal")
    (item,) = store.parse_items(meeting_event(activity, deal))
    href = f"meeting-{activity.id}.ics"
    store.put_item(session, personal, href, item, source=f"{MEETING}:{activity.id}")


def meeting_moved(
    session: Session, ident: str, item: radicale_item.Item, calendar: Calendar
) -> None:
    """A client moved a CRM meeting: the deal's activity log follows."""
    activity = session.get(DealActivity, int(ident)) if ident.isdigit() else None
    if activity is None or activity.author_id != calendar.owner_id:
        return
    event = next((c for c in item.vobject_item.getChildren() if c.name == "VEVENT"), None)
    start = getattr(event, "dtstart", None) if event is not None else None
    if start is None or not isinstance(start.value, dt.datetime):
        return
    moved = start.value if start.value.tzinfo else start.value.replace(tzinfo=dt.UTC)
    if moved != activity.at:
        activity.at = moved.astimezone(dt.UTC)
        session.flush()
