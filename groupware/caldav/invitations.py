"""Inviting colleagues to an event the way calendar programs do: an iMIP message (a
``text/calendar`` REQUEST, or CANCEL for someone taken off) goes to them through the
internal mail (:func:`groupware.mail.routing.submit`), whose delivery hands it to
:mod:`groupware.caldav.imip`: the event lands in their personal calendar, where their
own programs find it, and their answers come back the same way. The message's text says
what, when and where for people reading it as mail.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import vobject  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav.event_form import Saved, attendees_of, master_of
from groupware.caldav.meetings import Planned
from groupware.caldav.models import CalendarItem
from groupware.i18n import _, format_date, format_datetime
from groupware.mail import routing
from groupware.settings import Settings


def _when(start: Any) -> str:
    """When the event starts, the reader's way (a floating time as it is written)."""
    if not isinstance(start, dt.datetime):
        return format_date(start)
    if start.tzinfo is None:
        return f"{format_date(start.date())} {start:%H:%M}"
    return format_datetime(start)


def _invitation(
    organizer: User, row: CalendarItem, method: str, recipients: Sequence[str], settings: Settings
) -> bytes:
    """The iMIP message of ``row``'s event: its text for people, its iCalendar with
    ``method`` for their calendars."""
    vcal = vobject.readOne(row.ics)
    vcal.add("method").value = method
    master = master_of(vcal)
    if method == "CANCEL":
        master.contents.pop("status", None)
        master.add("status").value = "CANCELLED"
    title = str(master.summary.value) if "summary" in master.contents else _("(no title)")
    when = _when(master.dtstart.value)
    message = EmailMessage()
    message["From"] = Address(organizer.full_name, addr_spec=organizer.email)
    message["To"] = [Address(addr_spec=a) for a in recipients]
    message["Subject"] = (
        _("Invitation: %(title)s (%(when)s)", title=title, when=when)
        if method == "REQUEST"
        else _("Cancelled: %(title)s (%(when)s)", title=title, when=when)
    )
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=settings.mail_domain)
    lines = [
        _("%(name)s invites you to %(title)s.", name=organizer.full_name, title=title)
        if method == "REQUEST"
        else _("%(name)s cancelled %(title)s.", name=organizer.full_name, title=title),
        _("When: %(when)s", when=when),
    ]
    if "location" in master.contents and str(master.location.value):
        lines.append(_("Where: %(place)s", place=str(master.location.value)))
    if "description" in master.contents and str(master.description.value):
        lines += ["", str(master.description.value)]
    message.set_content("\n".join(lines) + "\n")
    message.add_alternative(str(vcal.serialize()), subtype="calendar", params={"method": method})
    return message.as_bytes(policy=email.policy.SMTP)


def send_invitations(
    session: Session,
    organizer: User,
    row: CalendarItem,
    settings: Settings,
    *,
    invite: Sequence[str],
    cancel: Sequence[str] = (),
) -> None:
    """Send the event to the colleagues in ``invite`` (a REQUEST) and tell those in
    ``cancel`` it is off for them, through the internal mail."""
    if invite:
        raw = _invitation(organizer, row, "REQUEST", invite, settings)
        routing.submit(session, organizer, raw, list(invite), settings)
    if cancel:
        raw = _invitation(organizer, row, "CANCEL", cancel, settings)
        routing.submit(session, organizer, raw, list(cancel), settings)


def invite_changes(
    session: Session,
    organizer: User,
    saved: Saved,
    planned: Planned,
    settings: Settings,
    *,
    seen_changed: bool,
) -> None:
    """Send the invitations a save calls for: to everyone invited when what they see
    changed (or the event is new), else to those just added; a cancellation to those
    taken off."""
    master = master_of(vobject.readOne(saved.row.ics))
    chosen = {u.email.lower() for u in planned.attendees}
    current = [a for a in attendees_of(master) if a in chosen]
    invite = current if seen_changed else saved.added
    send_invitations(session, organizer, saved.row, settings, invite=invite, cancel=saved.removed)
