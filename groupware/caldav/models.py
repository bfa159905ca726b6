"""Calendars and their items, kept in the shared database.

A calendar belongs to a user (``owner_id``) and is named in URLs by ``slug``:
``/dav/<username>/<slug>/``. Every user has a personal calendar (``kind="personal"``)
and a CRM task list (``kind="tasks"``), made when first needed.

An item is one iCalendar object (an event or a to-do with its overrides, one UID) as
the client sent it (``ics``), plus what the server looks things up by: its component,
the enclosing time range of all its occurrences as Unix seconds (``starts``/``ends``;
an endless recurrence ends at :data:`FOREVER`), so that a time-range query reads an
index instead of parsing every item.

A recurring item also lists its occurrences (``calendar_occurrences``), expanded when
it is stored, up to :data:`OCCURRENCES_KEPT` of them or :data:`HORIZON_YEARS` ahead;
``known_until`` says how far the list is complete. A time-range query then tells from
the index whether a recurring event falls in the range (an excluded date, a moved
occurrence), and leaves Radicale to parse only what lies beyond ``known_until``.

Sync: each calendar counts its changes (``revision``); an item remembers the revision
of its last change. A deleted item stays as a tombstone (``ics`` is NULL) so that a
client syncing from an older revision learns that it is gone. Tombstones older than
``oldest_revision`` may be pruned; a client holding an older token then syncs anew.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.access.policy import Module, RecordAccess
from groupware.accounts.models import User
from groupware.db import Base, utcnow
from groupware.i18n import _l
from groupware.records import RecordType

# A calendar is its owner's; sharing it (to read, or to read and write) is how others
# get more than its free/busy times, over CalDAV and in the web.
CALENDARS_MODULE = Module("calendars", _l("Calendars"))

FOREVER = 2**53  # the end of an endless recurrence, in Unix seconds
OCCURRENCES_KEPT = 2000
HORIZON_YEARS = 10
KINDS = ("personal", "tasks", "calendar")
COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")


class Calendar(Base):
    __tablename__ = "calendars"
    __access__ = RecordAccess(module="calendars", owner="owner_id", personal=True)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="calendar")
    # supported-calendar-component-set, comma separated
    components: Mapped[str] = mapped_column(String(40), default="VEVENT,VTODO")
    color: Mapped[str | None] = mapped_column(String(20), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # Other WebDAV properties a client set (calendar-order, time zone...), by name.
    props: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    oldest_revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("owner_id", "slug"),
        CheckConstraint("kind IN ('personal', 'tasks', 'calendar')", name="kind"),
    )

    def __str__(self) -> str:
        return self.name


class CalendarItem(Base):
    __tablename__ = "calendar_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    href: Mapped[str] = mapped_column(String(255))
    uid: Mapped[str] = mapped_column(String(255))
    component: Mapped[str] = mapped_column(String(10))
    etag: Mapped[str] = mapped_column(String(70))
    ics: Mapped[str | None] = mapped_column(Text, default=None)  # NULL: deleted
    starts: Mapped[int] = mapped_column(BigInteger, default=0)
    ends: Mapped[int] = mapped_column(BigInteger, default=FOREVER)
    revision: Mapped[int] = mapped_column(Integer)
    recurring: Mapped[bool] = mapped_column(default=False)
    known_until: Mapped[int] = mapped_column(BigInteger, default=FOREVER)
    # What in the CRM this item shows ("task:12", "phase:40"), when it is one of ours.
    source: Mapped[str | None] = mapped_column(String(40), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    calendar: Mapped[Calendar] = relationship()

    __table_args__ = (
        UniqueConstraint("calendar_id", "href"),
        Index("ix_calendar_items_range", "calendar_id", "component", "starts", "ends"),
        Index("ix_calendar_items_revision", "calendar_id", "revision"),
        Index("ix_calendar_items_uid", "calendar_id", "uid"),
        Index("ix_calendar_items_source", "source"),
        CheckConstraint("component IN ('VEVENT', 'VTODO', 'VJOURNAL')", name="component"),
    )


class CalendarOccurrence(Base):
    """One occurrence of a recurring item (see the module docstring)."""

    __tablename__ = "calendar_occurrences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("calendar_items.id", ondelete="CASCADE"))
    starts: Mapped[int] = mapped_column(BigInteger)
    ends: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_calendar_occurrences_item", "item_id", "starts", "ends"),)


class CalendarLink(Base):
    """An event linked to a CRM record (a meeting with a partner about a deal): it is
    in that record's activity stream. The link is on the organizer's copy; invited
    colleagues' copies (the same UID) are found through it."""

    __tablename__ = "calendar_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("calendar_items.id", ondelete="CASCADE"))
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    item: Mapped[CalendarItem] = relationship()

    __table_args__ = (
        UniqueConstraint("item_id", "record_type", "record_id"),
        Index("ix_calendar_links_record", "record_type", "record_id"),
    )


CALENDARS_RECORD = RecordType("calendars", _l("Calendar"), "/calendar")
