"""The alert job: late phases and overdue deadlines become alerts, once each.

Each area with deadlines (deals, tasks...) declares an :class:`AlertSource`
(``Area.alert_sources``) that says, in SQL, which of its records are late as of a day:
rows of (record id, subject, due date, owner id). The job inserts an :class:`Alert` for
every late row that has none yet at that level, in one statement per source and level,
and tells the people concerned about the new ones only:

- level 1 (late phase, overdue close date): the responsible person and the leads of
  their teams;
- level 2, when the item is still late ``alert_grace_days`` after its due date (an
  escalation): the same people again, as an escalation, and the administrators when
  the responsible person has no team lead.

The unique key of ``alerts`` (record, subject, level) is what makes a second run, or a
second worker racing this one on PostgreSQL, raise nothing twice: the insert skips
existing keys, and only the rows a statement really inserted are delivered.

Delivery: an in-app notification to each recipient, in their language, and then every
:data:`AlertChannel` the areas declare (the internal mail's e-mail sender).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.accounts.models import Grant, TeamMember, User, UserRole
from groupware.db import Database, copy_rows, utcnow
from groupware.i18n import _, format_date, ngettext, today, use_language
from groupware.jobs import Job
from groupware.phases.models import Alert


@dataclass(frozen=True)
class Raised:
    """A new alert with what its message needs."""

    alert_id: int
    record_type: str
    record_id: int
    subject: str
    level: int
    due: dt.date
    owner_id: int | None


@dataclass(frozen=True)
class Message:
    """What recipients are told, built in each recipient's language."""

    title: Callable[[], str]
    body: Callable[[], str]
    link: str


def late_message(r: Raised, today: dt.date, link: str, said: Callable[[], str]) -> Message:
    """The message of a late item: ``said`` (what is late, in the recipient's language;
    an escalation says so first), then when it was due and how long ago."""
    due = r.due if isinstance(r.due, dt.date) else dt.date.fromisoformat(str(r.due)[:10])
    days = (today - due).days

    def headline() -> str:
        text = said()
        return _("Escalation: %(text)s", text=text) if r.level == 2 else text

    def body() -> str:
        return ngettext(
            "It was due on %(due)s, %(num)d day ago.",
            "It was due on %(due)s, %(num)d days ago.",
            days,
            due=format_date(due),
        )

    return Message(headline, body, link)


@dataclass(frozen=True)
class AlertSource:
    record_type: str
    # Late as of a day: (record_id, subject, due, owner_id) rows of open records.
    late: Callable[[dt.date], Select[Any]]
    # Messages for new alerts, read in one go: alert id -> message.
    messages: Callable[[Session, Sequence[Raised], dt.date], dict[int, Message]]


@dataclass(frozen=True)
class Delivery:
    """One new alert for one person (what a channel such as e-mail sends)."""

    raised: Raised
    user: User
    title: str
    body: str
    link: str


ANALYZE_AFTER = 1000  # new alerts in one run after which PostgreSQL re-reads the table
# A way to deliver alerts besides the in-app notification (the internal mail's e-mail).
AlertChannel = Callable[[Session, Sequence[Delivery]], None]


def raise_alerts(
    session: Session, today: dt.date, grace_days: int, *, channels: bool = True
) -> int:
    """Raise what is due as of ``today``; returns how many alerts were new. Without
    ``channels`` they are only notifications (the demo's past: no e-mail about it)."""
    count = 0
    for source in wiring.current().alert_sources:
        for level, before in ((1, today), (2, today - dt.timedelta(days=grace_days))):
            raised = _insert_new(session, source, level, before)
            if raised:
                _deliver(session, source, raised, today, channels=channels)
            count += len(raised)
    if count >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # The next run looks up every late item among these: with statistics that still
        # say "empty", PostgreSQL planned that lookup as a scan per item (155 s at a
        # million deals instead of half a second). Autovacuum would catch up later.
        session.execute(text("ANALYZE alerts"))
    return count


def _insert_new(session: Session, source: AlertSource, level: int, before: dt.date) -> list[Raised]:
    late = source.late(before).subquery()
    already = select(Alert.id).where(
        Alert.record_type == source.record_type,
        Alert.record_id == late.c.record_id,
        Alert.subject == late.c.subject,
        Alert.level == level,
    )
    rows = select(
        literal(source.record_type),
        late.c.record_id,
        late.c.subject,
        literal(level),
        late.c.due,
        late.c.owner_id,
    ).where(~already.exists())
    columns = ["record_type", "record_id", "subject", "level", "due", "owner_id"]
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        make(Alert)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["record_type", "record_id", "subject", "level"])
        .returning(Alert.id, Alert.record_id, Alert.subject, Alert.level, Alert.due, Alert.owner_id)
    )
    return [
        Raised(r.id, source.record_type, r.record_id, r.subject, r.level, r.due, r.owner_id)
        for r in session.execute(statement)
    ]


def _leads_of(session: Session, owner_ids: set[int]) -> dict[int, set[int]]:
    """The leads of each owner's teams (not the owner themselves)."""
    mine = TeamMember.__table__.alias("mine")
    lead = TeamMember.__table__.alias("lead")
    rows = session.execute(
        select(mine.c.user_id, lead.c.user_id)
        .join(lead, lead.c.team_id == mine.c.team_id)
        .where(mine.c.user_id.in_(owner_ids), lead.c.is_lead, lead.c.user_id != mine.c.user_id)
    )
    leads: dict[int, set[int]] = defaultdict(set)
    for owner_id, lead_id in rows:
        leads[owner_id].add(lead_id)
    return leads


def _admins(session: Session) -> set[int]:
    return set(
        session.scalars(
            select(UserRole.user_id)
            .join(Grant, Grant.role_id == UserRole.role_id)
            .where(Grant.module == "system", Grant.action == "admin")
        )
    )


def _recipients(session: Session, raised: Sequence[Raised]) -> dict[int, list[int]]:
    owners = {r.owner_id for r in raised if r.owner_id is not None}
    leads = _leads_of(session, owners) if owners else {}
    admins: set[int] | None = None
    result: dict[int, list[int]] = {}
    for r in raised:
        people: set[int] = set()
        if r.owner_id is not None:
            people.add(r.owner_id)
            people |= leads.get(r.owner_id, set())
        if r.level == 2 and not leads.get(r.owner_id or 0):
            admins = _admins(session) if admins is None else admins
            people |= admins
        result[r.alert_id] = sorted(people)
    return result


def _deliver(
    session: Session,
    source: AlertSource,
    raised: Sequence[Raised],
    today: dt.date,
    *,
    channels: bool = True,
) -> None:
    messages = source.messages(session, raised, today)
    others = wiring.current().alert_channels if channels else ()
    recipients = _recipients(session, raised)
    user_ids = {u for people in recipients.values() for u in people}
    users = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids), User.is_active))
    }
    # Each alert's text is written once per language, not once per recipient.
    texts: dict[tuple[int, str], tuple[str, str]] = {}
    for language in {u.language for u in users.values()}:
        with use_language(language):
            for r in raised:
                message = messages.get(r.alert_id)
                if message is not None:
                    texts[r.alert_id, language] = message.title()[:300], message.body()
    deliveries: list[Delivery] = []
    rows: list[tuple[Any, ...]] = []
    stamp = _stamp(session)
    for r in raised:
        message = messages.get(r.alert_id)
        for user_id in recipients[r.alert_id] if message is not None else ():
            user = users.get(user_id)
            if user is None or message is None:
                continue
            title, body = texts[r.alert_id, user.language]
            if others:
                deliveries.append(Delivery(r, user, title, body, message.link))
            kind = "escalation" if r.level == 2 else "alert"
            rows.append(
                (user.id, stamp, kind, title, body, message.link, r.record_type, r.record_id,
                 f"alert:{r.alert_id}")
            )  # fmt: skip
    copy_rows(session, "notifications", _NOTIFICATION_COLUMNS, rows)
    for channel in others:
        channel(session, deliveries)


_NOTIFICATION_COLUMNS = (
    "user_id", "created_at", "kind", "title", "body", "link", "record_type", "record_id",
    "dedup_key",
)  # fmt: skip


def _stamp(session: Session) -> Any:
    """Now, as the notifications' ``created_at`` column stores it (rows go in raw)."""
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        return now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return now


def _alert_job(session: Session, database: Database) -> int:
    """Late phases and overdue deadlines become alerts."""
    return raise_alerts(session, today(), database.settings.alert_grace_days)


ALERT_JOB = Job("raise-alerts", _alert_job, "Alert on late phases and overdue deals, escalate.")
