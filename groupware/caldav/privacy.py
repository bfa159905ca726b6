"""What those who are not a calendar's owner see of it.

A private item (``CLASS`` other than PUBLIC: :func:`is_private`) reaches everyone but
the calendar's owner as a copy with its times and repetition under a neutral title
(:func:`private_copy`): over CalDAV (:mod:`groupware.caldav.storage`), in the web
calendar (:mod:`groupware.caldav.events`) and in occupancy
(:mod:`groupware.caldav.occupancy`) alike. :func:`access_of` says how much of a
calendar a user may see: all of it, its items (shared), or free/busy only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import load_who, visible
from groupware.accounts.models import User
from groupware.caldav.models import COMPONENTS, Calendar

# What a copy of a private item keeps for those who are not its owner: when it takes
# place (and repeats), whether it takes time, and what a client needs to keep it apart
# from other items. Everything else (title, place, notes, attendees, alarms,
# attachments, properties we do not know) stays with the owner.
_KEPT_IN_COPY = frozenset(
    {
        "UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE",
        "EXDATE", "EXRULE", "RECURRENCE-ID", "SEQUENCE", "CLASS", "TRANSP", "STATUS",
        "CREATED", "LAST-MODIFIED",
    }
)  # fmt: skip
_KEPT_IN_CALENDAR = frozenset({"VERSION", "PRODID", "CALSCALE"})
_TIME_ZONE_PARTS = frozenset({"VTIMEZONE", "STANDARD", "DAYLIGHT"})
_FOLD = re.compile(r"\r?\n[ \t]")


def _lines(ics: str) -> list[str]:
    return _FOLD.sub("", ics).splitlines()


def _name_and_value(line: str) -> tuple[str, str]:
    head, _sep, value = line.partition(":")
    return head.split(";", 1)[0].strip().upper(), value


def is_private(ics: str | None) -> bool:
    """Whether any component of the item is classified other than PUBLIC: PRIVATE,
    CONFIDENTIAL, or a value we do not know, which RFC 5545 (3.8.1.3) says to treat
    as PRIVATE."""
    if not ics or "CLASS" not in ics.upper():
        return False
    for line in _lines(ics):
        name, value = _name_and_value(line)
        if name == "CLASS" and value.strip().upper() != "PUBLIC":
            return True
    return False


def private_copy(ics: str, summary: str) -> str:
    """What those who are not its owner see of a private item: its times and
    repetition under a neutral ``summary``, nothing else (see ``_KEPT_IN_COPY``)."""
    out: list[str] = []
    path: list[str] = []  # the components we are in
    skipping = 0  # depth inside a component left out (an alarm, something unknown)
    for line in _lines(ics):
        name, value = _name_and_value(line)
        if name not in ("BEGIN", "END"):
            if not skipping and path and _keeps(path[-1], name):
                out.append(line)
            continue
        component = value.strip().upper()
        if skipping:
            skipping += 1 if name == "BEGIN" else -1
        elif name == "BEGIN" and not _opens(path, component):
            skipping = 1
        elif name == "BEGIN":
            path.append(component)
            out.append(f"BEGIN:{component}")
        elif path:
            if path.pop() in COMPONENTS:
                out.append(f"SUMMARY:{_text(summary)}")
            out.append(f"END:{component}")
    return "".join(_folded(line) + "\r\n" for line in out)


def _opens(path: Sequence[str], component: str) -> bool:
    """Whether a copy keeps ``component`` met inside ``path``."""
    inside = path[-1] if path else ""
    if inside == "":
        return component == "VCALENDAR"
    if inside == "VCALENDAR":
        return component in COMPONENTS or component == "VTIMEZONE"
    return inside in _TIME_ZONE_PARTS and component in _TIME_ZONE_PARTS


def _keeps(inside: str, name: str) -> bool:
    """Whether a copy keeps the property ``name`` of the component ``inside``."""
    if inside in _TIME_ZONE_PARTS:
        return True
    if inside == "VCALENDAR":
        return name in _KEPT_IN_CALENDAR
    return inside in COMPONENTS and name in _KEPT_IN_COPY


def _text(value: str) -> str:
    """An iCalendar TEXT value (RFC 5545 3.3.11)."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _folded(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1), never inside a character."""
    if len(line.encode()) <= 75:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode())
        if size + width > (75 if not parts else 74):
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def access_of(
    session: Session, viewer_id: int | None, calendars: Sequence[Calendar]
) -> dict[int, str]:
    """What ``viewer_id`` may do with each calendar: "owner", "write" or "read" (as the
    access policy answers for it: shared with them or one of their teams, or a role
    reaching every calendar), or "freebusy" (a colleague's: when they are busy, nothing
    else). The one answer the web calendar, occupancy and CalDAV all ask."""
    found = {c.id: "owner" if c.owner_id == viewer_id else "freebusy" for c in calendars}
    others = [cid for cid, kind in found.items() if kind != "owner"]
    viewer = session.get(User, viewer_id) if viewer_id is not None else None
    if viewer is None or not viewer.is_active or not others:
        return found
    who = load_who(session, viewer)
    for action, kind in (("view", "read"), ("edit", "write")):
        allowed = select(Calendar.id).where(Calendar.id.in_(others), visible(Calendar, who, action))
        for calendar_id in session.scalars(allowed):
            found[calendar_id] = kind
    return found
