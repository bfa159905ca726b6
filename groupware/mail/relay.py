"""Mail for outside addresses: a persistent queue (``mail_outbox``) sent through the
configured smarthost.

:func:`enqueue` is called in the delivering transaction, so a message accepted with 250
is in the queue for every outside recipient before the client hears so.

:func:`send_due` (the ``relay-mail`` job) sends what is due. It claims rows in a short
transaction of its own (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never
claim the same row) and leases them by moving ``next_attempt_at`` past the run; it then
talks to the smarthost with no transaction open and records each recipient's outcome in
a new one. A worker that dies while sending leaves its rows due again when the lease
ends: a message may then, rarely, go out twice, but it is never lost. All recipients of
one message go in one SMTP transaction, carrying the stored bytes exactly as received.

- accepted (2xx): ``sent``;
- a temporary failure (4xx; no connection, a timeout, TLS or login trouble): tried again
  after 1, 2, 4 ... minutes (at most an hour apart) until ``relay_retry_hours`` after it
  was queued, then ``failed``;
- a permanent failure (5xx to the message): ``failed`` at once.

A recipient that failed earns the sender a bounce (:func:`bounce`): a delivery-status
report in their language, in their inbox, when the envelope sender is a local user and
the message was not automatic itself (a bounce is never bounced).

Finished rows (sent or failed) are the record of what became of each recipient; each
run deletes those finished more than ``relay_keep_days`` ago (:func:`prune`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.policy
import email.utils
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
from types import TracebackType

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.db import Database, utcnow
from groupware.i18n import _, ngettext, use_language
from groupware.jobs import Job
from groupware.mail import delivery
from groupware.mail.models import MailMessage, MailOutbox
from groupware.settings import Settings

BATCH = 500  # recipients claimed per run
LEASE = dt.timedelta(minutes=15)  # a claimed row is due again after this (a worker died)
TIMEOUT = 60.0  # seconds for each exchange with the smarthost
MAX_PAUSE_MINUTES = 60


def enqueue(
    session: Session, message_id: int, recipients: Sequence[str], sender: str
) -> list[MailOutbox]:
    """Queue message ``message_id`` for each outside recipient (sent by the relay
    job)."""
    rows = [
        MailOutbox(message_id=message_id, sender=sender[:320], recipient=recipient[:320])
        for recipient in dict.fromkeys(recipients)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def pause(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed try: 1, 2, 4 ... minutes, at
    most an hour."""
    return dt.timedelta(minutes=min(2 ** min(max(attempts - 1, 0), 6), MAX_PAUSE_MINUTES))


@dataclass(frozen=True)
class Reply:
    """What became of one recipient: the smarthost's reply, or (``code`` 0) why there
    was none."""

    code: int
    text: str
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code else self.text


ACCEPTED = Reply(250, "OK")


def _answer(code: int, text: bytes | str) -> Reply:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # 530 (log in first, or STARTTLS first) is about our settings, not the message: the
    # mail waits for them to be put right instead of bouncing.
    return Reply(code, " ".join(text.split()), permanent=500 <= code < 600 and code != 530)


# -- talking to the smarthost ----------------------------------------------------------


def connect(settings: Settings) -> smtplib.SMTP:
    """A connection to the smarthost, encrypted and logged in as the settings say (never
    falling back to plain text when STARTTLS is missing)."""
    context = ssl.create_default_context()
    if not settings.smarthost_verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    host, port = settings.smarthost_host, settings.smarthost_port
    # EHLO with our mail domain: smtplib would otherwise look up this machine's name.
    local = settings.mail_domain
    client: smtplib.SMTP
    if settings.smarthost_tls == "tls":
        client = smtplib.SMTP_SSL(
            host, port, local_hostname=local, timeout=TIMEOUT, context=context
        )
    else:
        client = smtplib.SMTP(host, port, local_hostname=local, timeout=TIMEOUT)
    try:
        client.ehlo()
        if settings.smarthost_tls == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if settings.smarthost_user:
            client.login(settings.smarthost_user, settings.smarthost_password)
    except BaseException:
        client.close()
        raise
    return client


def transaction(
    client: smtplib.SMTP, sender: str, recipients: Sequence[str], raw: bytes
) -> dict[str, Reply]:
    """Send ``raw`` to ``recipients`` in one SMTP transaction: the reply per recipient.
    A lost connection raises (:class:`smtplib.SMTPServerDisconnected`, ``OSError``)."""
    options = []
    if not raw.isascii() and client.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    if not (sender + "".join(recipients)).isascii():
        if not client.has_extn("smtputf8"):
            refused = Reply(0, "the smarthost does not take international addresses", True)
            return dict.fromkeys(recipients, refused)
        options.append("SMTPUTF8")
    try:
        refused_ones = client.sendmail(sender, list(recipients), raw, mail_options=options)
    except smtplib.SMTPRecipientsRefused as exc:
        refused_ones = exc.recipients
    except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused: everyone
        return dict.fromkeys(recipients, _answer(exc.smtp_code, exc.smtp_error))
    replies = dict.fromkeys(recipients, ACCEPTED)
    replies.update((r, _answer(code, text)) for r, (code, text) in refused_ones.items())
    return replies


class Smarthost:
    """The smarthost for one run: connected at the first message and kept for the
    others. When it cannot be reached, every message of the run gets that reason
    without trying again; trouble getting through (no answer, TLS, a refused greeting
    or login) is ours to fix, never the message's, so it is always temporary."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: smtplib.SMTP | None = None
        self.down: Reply | None = None
        if not settings.smarthost_host:
            self.down = Reply(0, "no smarthost is configured (GROUPWARE_SMARTHOST_HOST)")

    def __enter__(self) -> Smarthost:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.client.quit()
            self.client.close()
            self.client = None

    def _unreachable(self, exc: Exception) -> Reply:
        where = f"{self.settings.smarthost_host}:{self.settings.smarthost_port}"
        if isinstance(exc, smtplib.SMTPResponseException):
            reason = str(_answer(exc.smtp_code, exc.smtp_error))
        else:
            reason = str(exc) or type(exc).__name__
        return Reply(0, f"the smarthost {where} cannot be used: {reason}")

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> dict[str, Reply]:
        if self.down is None and self.client is None:
            try:
                self.client = connect(self.settings)
            except (smtplib.SMTPException, OSError) as exc:
                self.down = self._unreachable(exc)
        if self.client is None:
            assert self.down is not None
            return dict.fromkeys(recipients, self.down)
        try:
            replies = transaction(self.client, sender, recipients, raw)
        except (smtplib.SMTPException, OSError) as exc:  # a lost connection, mostly
            self.client.close()
            self.client = None  # the next message connects again
            return dict.fromkeys(recipients, self._unreachable(exc))
        if any(reply.code == 421 for reply in replies.values()):  # it is closing on us
            self.close()
        return replies


# -- the queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: int
    sender: str
    recipient: str


def claim(
    database: Database, *, now: dt.datetime, limit: int = BATCH
) -> dict[tuple[int, str], list[Claimed]]:
    """Take the due rows for this run, by message (and envelope sender), leased until
    ``now`` + :data:`LEASE`; committed before anything is sent."""
    with database.transaction(actor_id=None, channel="job") as session:
        query = (
            select(MailOutbox.id, MailOutbox.message_id, MailOutbox.sender, MailOutbox.recipient)
            .where(MailOutbox.state == "queued", MailOutbox.next_attempt_at <= now)
            .order_by(MailOutbox.message_id, MailOutbox.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [Claimed(*row) for row in session.execute(query)]
        if rows:
            session.execute(
                update(MailOutbox)
                .where(MailOutbox.id.in_([row.id for row in rows]))
                .values(next_attempt_at=now + LEASE)
            )
    groups: dict[tuple[int, str], list[Claimed]] = {}
    for row in rows:
        groups.setdefault((row.message_id, row.sender), []).append(row)
    return groups


def send_due(database: Database, settings: Settings, *, now: dt.datetime | None = None) -> int:
    """Send every due queued recipient through the smarthost of ``settings`` and record
    the outcomes (see the module docstring); returns how many recipients were tried."""
    now = now or utcnow()
    with database.transaction(actor_id=None, channel="job") as session:
        prune(session, settings, now=now)
    groups = claim(database, now=now)
    with Smarthost(settings) as smarthost:
        for (message_id, sender), items in groups.items():
            with database.transaction(actor_id=None, channel="job", write=False) as session:
                raw = session.scalar(select(MailMessage.raw).where(MailMessage.id == message_id))
            if raw is None:
                continue  # deleted meanwhile, and its queue rows with it
            replies = smarthost.send(sender, [item.recipient for item in items], raw)
            record(database, settings, items, replies, raw=raw, now=now)
    return sum(len(items) for items in groups.values())


@dataclass(frozen=True)
class Failure:
    recipient: str
    reply: Reply
    expired: bool  # temporary failures until the retry window closed


def record(
    database: Database,
    settings: Settings,
    items: Sequence[Claimed],
    replies: dict[str, Reply],
    *,
    raw: bytes,
    now: dt.datetime,
) -> list[Failure]:
    """Write what became of each claimed recipient, and bounce the final failures."""
    window = dt.timedelta(hours=settings.relay_retry_hours)
    failures: list[Failure] = []
    with database.transaction(actor_id=None, channel="job") as session:
        rows = session.scalars(
            select(MailOutbox).where(
                MailOutbox.id.in_([item.id for item in items]), MailOutbox.state == "queued"
            )
        )
        for row in rows:
            reply = replies[row.recipient]
            row.attempts += 1
            if reply.ok:
                row.state, row.done_at, row.last_error = "sent", now, ""
                continue
            row.last_error = str(reply)[:1000]
            expired = now >= row.created_at + window
            if reply.permanent or expired:
                row.state, row.done_at = "failed", now
                failures.append(Failure(row.recipient, reply, expired=not reply.permanent))
            else:
                row.next_attempt_at = now + pause(row.attempts)
        if failures:
            bounce(session, settings, raw=raw, sender=items[0].sender, failures=failures)
    return failures


def prune(session: Session, settings: Settings, *, now: dt.datetime) -> int:
    """Delete the rows that finished more than ``relay_keep_days`` before ``now``;
    how many."""
    cutoff = now - dt.timedelta(days=settings.relay_keep_days)
    result = session.execute(
        delete(MailOutbox).where(
            MailOutbox.state.in_(("sent", "failed")), MailOutbox.done_at < cutoff
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def queue(session: Session, *, limit: int = 200) -> list[MailOutbox]:
    """Recipients still queued and those that failed, newest first."""
    query = (
        select(MailOutbox)
        .where(MailOutbox.state.in_(("queued", "failed")))
        .order_by(MailOutbox.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def retry(session: Session, outbox_id: int, *, now: dt.datetime | None = None) -> bool:
    """Make a queued recipient due now; False when no queued row has this id."""
    row = session.get(MailOutbox, outbox_id)
    if row is None or row.state != "queued":
        return False
    row.next_attempt_at = now or utcnow()
    session.flush()
    return True


# -- bounces ---------------------------------------------------------------------------

STATUS = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


def header_block(raw: bytes) -> bytes:
    """The header section of a raw message (up to the first empty line)."""
    end = re.search(rb"\r?\n\r?\n", raw)
    return raw if end is None else raw[: end.start()] + b"\r\n"


def is_automatic(headers: EmailMessage) -> bool:
    """An automatic message (RFC 3834) or a delivery report: never answered with a bounce."""
    submitted = str(headers.get("Auto-Submitted", "") or "").strip().lower()
    return bool(submitted and submitted != "no") or headers.get_content_type() == (
        "multipart/report"
    )


def bounce(
    session: Session, settings: Settings, *, raw: bytes, sender: str, failures: Sequence[Failure]
) -> list[MailMessage]:
    """Tell ``sender`` (the envelope sender of ``raw``) which recipients will never get
    it, in their inbox and language; nothing for an outside or empty sender or an
    automatic message. Returns the reports delivered."""
    if not sender.strip("<> "):
        return []
    headers = header_block(raw)
    original = BytesHeaderParser(policy=email.policy.default).parsebytes(headers)
    assert isinstance(original, EmailMessage)
    if is_automatic(original):
        return []
    users = delivery.resolve(session, sender, settings.mail_domain)
    if not users:
        return []
    by_language: dict[str, list[User]] = {}
    for user in users:
        by_language.setdefault(user.language, []).append(user)
    delivered = []
    for language, people in by_language.items():
        with use_language(language):
            report = delivery_report(settings, original, headers, sender, failures)
        delivered.append(
            delivery.deliver(
                session,
                report,
                envelope_from="",
                envelope_to=[sender],
                recipients=people,
                sender=None,
                mail_domain=settings.mail_domain,
            )
        )
    return delivered


def _explain(failure: Failure, settings: Settings) -> str:
    if failure.expired:
        return ngettext(
            "%(recipient)s: not delivered within %(num)d hour. The last attempt ended "
            "with: %(reply)s",
            "%(recipient)s: not delivered within %(num)d hours. The last attempt ended "
            "with: %(reply)s",
            settings.relay_retry_hours,
            recipient=failure.recipient,
            reply=str(failure.reply),
        )
    return _(
        "%(recipient)s: the receiving mail server refused the message: %(reply)s",
        recipient=failure.recipient,
        reply=str(failure.reply),
    )


def _status_fields(failure: Failure, settings: Settings) -> EmailMessage:
    """The per-recipient fields of a delivery-status report (RFC 3464)."""
    reply = failure.reply
    found = STATUS.match(reply.text) if reply.code else None
    if found is not None:
        status = found[1]
    elif reply.code:
        status = f"{reply.code // 100}.0.0"
    else:
        status = "4.4.7" if failure.expired else "5.0.0"
    fields = EmailMessage(policy=email.policy.SMTP)
    fields["Final-Recipient"] = f"rfc822; {failure.recipient}"
    fields["Action"] = "failed"
    fields["Status"] = status
    if reply.code:
        fields["Remote-MTA"] = f"dns; {settings.smarthost_host}"
        fields["Diagnostic-Code"] = f"smtp; {reply}"
    return fields


def delivery_report(
    settings: Settings,
    original: EmailMessage,
    headers: bytes,
    sender: str,
    failures: Sequence[Failure],
) -> bytes:
    """A ``multipart/report`` (delivery-status) for ``failures`` of the message whose
    header section is ``headers``, written in the current language."""
    domain = settings.mail_domain
    subject = " ".join(str(original.get("Subject", "") or "").split())
    report = EmailMessage(policy=email.policy.SMTP)
    report["From"] = Address(_("Mail Delivery System"), "MAILER-DAEMON", domain)
    report["To"] = sender
    report["Subject"] = (
        _("Undelivered mail: %(subject)s", subject=subject) if subject else _("Undelivered mail")
    )
    report["Date"] = email.utils.formatdate(usegmt=True)
    report["Message-ID"] = email.utils.make_msgid(domain=domain)
    report["Auto-Submitted"] = "auto-replied"
    original_id = str(original.get("Message-ID", "") or "").strip()
    if original_id:  # the report joins the original's conversation
        report["In-Reply-To"] = original_id
        report["References"] = original_id
    report["MIME-Version"] = "1.0"
    report["Content-Type"] = "multipart/report; report-type=delivery-status"

    lines = [
        _("Your message could not be delivered to these recipients:"),
        "",
        *(_explain(failure, settings) for failure in failures),
        "",
    ]
    if subject:
        lines.append(_("Subject of your message: %(subject)s", subject=subject))
    lines.append(_("The headers of your message are attached."))
    human = MIMEPart(policy=email.policy.SMTP)
    human.set_content("\n".join(lines) + "\n")

    per_message = EmailMessage(policy=email.policy.SMTP)
    per_message["Reporting-MTA"] = f"dns; {domain}"
    status = MIMEPart(policy=email.policy.SMTP)
    status["Content-Type"] = "message/delivery-status"
    status.set_payload([per_message, *(_status_fields(f, settings) for f in failures)])

    attached = MIMEPart(policy=email.policy.SMTP)
    attached.set_content(headers.decode("utf-8", "replace"), subtype="rfc822-headers")
    report.set_payload([human, status, attached])
    return bytes(report)


# -- the job ---------------------------------------------------------------------------


def _relay_job(session: Session, database: Database) -> int:
    # The job's own transaction is left alone: send_due commits its claim before it
    # talks to the smarthost and records in a transaction of its own.
    return send_due(database, database.settings)


RELAY_JOB = Job(
    "relay-mail", _relay_job, "Send queued mail for outside addresses through the smarthost."
)
