"""iCalendar text for the to-dos the CRM writes into task lists, written directly.

A task's VTODO and a phase deadline's were built with vobject and then parsed again by
Radicale to index them: 1.7 ms per to-do, three minutes for a campaign rolled out into
100,000 deals and tasks. :func:`todo` writes the same properties as text (RFC 5545:
escaped, folded at 75 octets, CRLF) in microseconds, and :func:`todo_range` works out
the time range Radicale's ``find_time_range`` gives such a to-do (RFC 4791 section 9.9),
so a row can be stored without parsing it (:func:`groupware.caldav.store.insert_items`);
``tests/caldav/test_ics.py`` holds both against Radicale's own reading.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable
from typing import Any, NamedTuple

from radicale.item.filter import TIMESTAMP_MAX, TIMESTAMP_MIN

from groupware.caldav.models import FOREVER
from groupware.caldav.parameters import text as parameter_text

PRODID = "-//groupware//CRM//EN"
SECOND = 1


_ESCAPED = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"})


def escape(value: str) -> str:
    """A TEXT value (RFC 5545 section 3.3.11)."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.translate(_ESCAPED)


def fold(line: str) -> str:
    """A content line folded at 75 octets, never inside a character."""
    if len(line) <= 75 and line.isascii():
        return line
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74  # a folded line begins with a space
    return "\r\n ".join(parts)


@functools.lru_cache(maxsize=512)  # a bulk writer's to-dos share their stamp and due dates
def _when(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _timed(name: str, value: dt.date | dt.datetime) -> str:
    kind = "" if isinstance(value, dt.datetime) else ";VALUE=DATE"
    return f"{name}{kind}:{_when(value)}"


class Person(NamedTuple):
    """An organizer or attendee: an address and a name (and an answer, for an
    attendee)."""

    email: str
    name: str
    partstat: str = ""


def todo(
    *,
    uid: str,
    summary: str,
    stamp: dt.datetime,
    due: dt.date | dt.datetime | None = None,
    start: dt.datetime | None = None,
    status: str = "NEEDS-ACTION",
    description: str = "",
    percent: int | None = None,
    priority: int | None = None,
    completed: dt.datetime | None = None,
    categories: Iterable[str] = (),
    organizer: Person | None = None,
    attendee: Person | None = None,
    url: str = "",
) -> str:
    """A VCALENDAR holding one VTODO with these properties."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "BEGIN:VTODO"]
    lines.append(f"UID:{escape(uid)}")
    lines.append(f"DTSTAMP:{_when(stamp.replace(microsecond=0))}")  # whole seconds
    lines.append(f"SUMMARY:{escape(summary)}")
    if description:
        lines.append(f"DESCRIPTION:{escape(description)}")
    if start is not None:
        lines.append(_timed("DTSTART", start))
    if due is not None:
        lines.append(_timed("DUE", due))
    lines.append(f"STATUS:{status}")
    if percent is not None:
        lines.append(f"PERCENT-COMPLETE:{percent}")
    if priority is not None:
        lines.append(f"PRIORITY:{priority}")
    if completed is not None:
        lines.append(f"COMPLETED:{_when(completed)}")
    listed = [escape(c) for c in categories]
    if listed:
        lines.append(f"CATEGORIES:{','.join(listed)}")
    if organizer is not None:
        lines.append(f'ORGANIZER;CN="{parameter_text(organizer.name)}":mailto:{organizer.email}')
    if attendee is not None:
        answer = f";PARTSTAT={attendee.partstat}" if attendee.partstat else ""
        name = parameter_text(attendee.name)
        lines.append(f'ATTENDEE;CN="{name}"{answer}:mailto:{attendee.email}')
    if url:
        lines.append(f"URL:{url}")
    lines += ["END:VTODO", "END:VCALENDAR"]
    # (most lines are short ASCII: checked here, without a call each)
    folded = [x if len(x) <= 75 and x.isascii() else fold(x) for x in lines]
    return "\r\n".join(folded) + "\r\n"


def _line(text: str) -> str:
    return (text if len(text) <= 75 and text.isascii() else fold(text)) + "\r\n"


# Stand-ins for what differs between the to-dos of a template: UID, summary, URL.
_MARKS = ("\x00", "\x01", "\x02")


class TodoTemplate:
    """Many to-dos that differ only in their UID, summary and URL (a bulk writer's:
    the same due date, status and people): :func:`todo` written once around marks, and
    each to-do joined from the parts between them (a fifth of the time). The text is
    the same as :func:`todo` gives (``tests/caldav/test_ics.py``)."""

    def __init__(self, **fields: Any) -> None:
        text = todo(uid=_MARKS[0], summary=_MARKS[1], url=_MARKS[2], **fields)
        head, rest = text.split(f"UID:{_MARKS[0]}\r\n")
        middle, rest = rest.split(f"SUMMARY:{_MARKS[1]}\r\n")
        before_url, tail = rest.split(f"URL:{_MARKS[2]}\r\n")
        self.parts = (head, middle, before_url, tail)

    def render(self, uid: str, summary: str, url: str) -> str:
        head, middle, before_url, tail = self.parts
        link = _line(f"URL:{url}") if url else ""
        return "".join((head, _line(f"UID:{escape(uid)}"), middle,
                        _line(f"SUMMARY:{escape(summary)}"), before_url, link, tail))  # fmt: skip


def _instant(value: dt.date | dt.datetime) -> float:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    return value.timestamp()


def todo_range(
    *,
    due: dt.date | dt.datetime | None = None,
    start: dt.datetime | None = None,
    completed: dt.datetime | None = None,
) -> tuple[int, int]:
    """The time range Radicale indexes a non-recurring VTODO by, as the store keeps it
    (whole seconds, within +-:data:`FOREVER`)."""
    if start is not None and due is not None:
        begin, end = _instant(start), _instant(due)
        low, high = min(begin, end - SECOND), max(end, begin + SECOND)
    elif start is not None:
        low = _instant(start)
        high = low + SECOND
    elif due is not None:
        high = _instant(due)
        low = high - SECOND
    elif completed is not None:
        middle = _instant(completed)
        low, high = middle - SECOND, middle + SECOND
    else:
        return TIMESTAMP_MIN, TIMESTAMP_MAX  # Radicale's "always"
    return max(math.floor(low), -FOREVER), min(math.ceil(high), FOREVER)
