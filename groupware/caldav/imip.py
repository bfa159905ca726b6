"""Calendar invitations by mail (iMIP, RFC 6047) for people inside the company.

The internal mail hands every ``text/calendar`` part addressed to internal recipients
to :func:`apply`, which does to their calendars what the METHOD says:

* ``REQUEST``: the event goes into each invited recipient's personal calendar (a newer
  SEQUENCE replaces an older copy; an older one is ignored), their PARTSTAT left as the
  organizer sent it, usually NEEDS-ACTION;
* ``REPLY``: on the organizer's copy, the replying attendee's PARTSTAT is set;
* ``CANCEL``: each recipient's copy is marked STATUS:CANCELLED (it stays, struck
  through in clients, and no longer counts as busy).

Everything is written through :mod:`groupware.caldav.store`, so clients see it on
their next sync. A part that is not valid iCalendar or has no METHOD is refused with
:class:`~groupware.errors.Invalid`; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import vobject  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav import store
from groupware.caldav.models import Calendar, CalendarItem
from groupware.errors import Invalid
from groupware.i18n import _

METHODS = ("REQUEST", "REPLY", "CANCEL")


@dataclass(frozen=True)
class Applied:
    user_id: int
    uid: str
    action: str  # added | updated | ignored | replied | cancelled | missing


def apply(session: Session, text: str, recipients: Sequence[User]) -> list[Applied]:
    """Apply one ``text/calendar`` part to the calendars of ``recipients``."""
    try:
        calendar = vobject.readOne(text)
    except Exception as exc:
        raise Invalid(
            {"ics": _("This is not valid iCalendar: %(reason)s", reason=str(exc))}
        ) from exc
    method = str((getattr(calendar, "method", None) and calendar.method.value) or "").upper()
    if method not in METHODS:
        raise Invalid({"ics": _("A calendar invitation needs METHOD REQUEST, REPLY or CANCEL.")})
    events = [c for c in calendar.getChildren() if c.name == "VEVENT"]
    if not events or not hasattr(events[0], "uid"):
        raise Invalid({"ics": _("The invitation holds no event with a UID.")})
    uid = str(events[0].uid.value)
    results = []
    for user in recipients:
        if method == "REQUEST":
            results.append(_request(session, user, calendar, uid))
        elif method == "REPLY":
            results.append(_reply(session, user, events, uid))
        else:
            results.append(_cancel(session, user, uid))
    return results


def _copy_of(session: Session, user: User, uid: str) -> tuple[Calendar, CalendarItem] | None:
    query = (
        select(Calendar, CalendarItem)
        .join(CalendarItem, CalendarItem.calendar_id == Calendar.id)
        .where(Calendar.owner_id == user.id, CalendarItem.uid == uid, CalendarItem.ics.is_not(None))
    )
    found = session.execute(query.limit(1)).first()
    return (found[0], found[1]) if found else None


def _sequence(component: Any) -> int:
    value = getattr(component, "sequence", None)
    try:
        return int(value.value) if value is not None else 0
    except ValueError:
        return 0


def _without_method(calendar: Any) -> str:
    text = str(calendar.serialize())
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("METHOD:")
    )


def _href(uid: str) -> str:
    safe = "".join(c for c in uid if c.isalnum() or c in "-_.@")[:200] or "invitation"
    return f"{safe}.ics"


def _request(session: Session, user: User, calendar: Any, uid: str) -> Applied:
    existing = _copy_of(session, user, uid)
    (item,) = store.parse_items(_without_method(calendar))
    if existing is not None:
        holder, row = existing
        old = vobject.readOne(row.ics or "")
        old_event = next((c for c in old.getChildren() if c.name == "VEVENT"), None)
        new_event = next(c for c in calendar.getChildren() if c.name == "VEVENT")
        if old_event is not None and _sequence(new_event) < _sequence(old_event):
            return Applied(user.id, uid, "ignored")
        store.put_item(session, holder, row.href, item)
        return Applied(user.id, uid, "updated")
    personal = next(c for c in store.ensure_defaults(session, user) if c.kind == "personal")
    store.put_item(session, personal, _href(uid), item)
    return Applied(user.id, uid, "added")


def _reply(session: Session, user: User, events: list[Any], uid: str) -> Applied:
    existing = _copy_of(session, user, uid)
    if existing is None:
        return Applied(user.id, uid, "missing")
    holder, row = existing
    answers = {
        str(a.value).lower(): a.params.get("PARTSTAT", ["NEEDS-ACTION"])[0]
        for a in events[0].contents.get("attendee", [])
    }
    copy = vobject.readOne(row.ics or "")
    changed = False
    for event in (c for c in copy.getChildren() if c.name == "VEVENT"):
        for attendee in event.contents.get("attendee", []):
            answer = answers.get(str(attendee.value).lower())
            if answer is not None:
                attendee.params["PARTSTAT"] = [answer]
                changed = True
    if not changed:
        return Applied(user.id, uid, "ignored")
    (item,) = store.parse_items(str(copy.serialize()))
    store.put_item(session, holder, row.href, item)
    return Applied(user.id, uid, "replied")


def _cancel(session: Session, user: User, uid: str) -> Applied:
    existing = _copy_of(session, user, uid)
    if existing is None:
        return Applied(user.id, uid, "missing")
    holder, row = existing
    copy = vobject.readOne(row.ics or "")
    for event in (c for c in copy.getChildren() if c.name == "VEVENT"):
        if hasattr(event, "status"):
            event.status.value = "CANCELLED"
        else:
            event.add("status").value = "CANCELLED"
    (item,) = store.parse_items(str(copy.serialize()))
    store.put_item(session, holder, row.href, item)
    return Applied(user.id, uid, "cancelled")
