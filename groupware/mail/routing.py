"""Where a recipient address goes, and sending a message: the one path for the SMTP
server and the web mail.

:func:`route` says what an address reaches: local users (a person, an alias, a team's
members), a record's filing address, or an outside address for the smarthost; or why it
cannot be reached (the lookups done, :func:`decide` is the decision). :func:`submit`
sends a message a logged-in user wrote to a list of addresses: local mailboxes, the
records it is filed on, the relay queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.errors import Invalid
from groupware.i18n import _
from groupware.mail import delivery, filing, senders
from groupware.mail.models import MailMessage
from groupware.settings import Settings


@dataclass(frozen=True)
class Route:
    users: list[User]
    target: tuple[str, int] | None = None  # a filing address's record
    outside: bool = False


class Unreachable(Exception):
    """An address nobody receives: ``code`` is the SMTP reply's, ``text`` says why."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


NO_MAILBOX = "5.1.1 No such mailbox here"
NO_SMARTHOST = "5.7.1 Outside addresses cannot be reached: no smarthost is configured"
NO_RELAY = "5.7.1 Relaying denied: log in to send outside the company"


def route(session: Session, address: str, settings: Settings, *, logged_in: bool) -> Route:
    """What ``address`` reaches (raises :class:`Unreachable`)."""
    domain = settings.mail_domain
    known = filing.kinds()
    target = filing.target(address, domain, known)
    if target is not None and not filing.exists(session, target, known):
        target = None
    users = delivery.resolve(session, address, domain)
    return decide(users, target, logged_in=logged_in, smarthost=bool(settings.smarthost_host))


def decide(
    users: list[User] | None,
    target: tuple[str, int] | None,
    *,
    logged_in: bool,
    smarthost: bool,
) -> Route:
    """The route of an address whose local ``users`` were looked up (None: an outside
    address) and whose filing ``target`` exists or is None; raises
    :class:`Unreachable`. Outside addresses only for a logged-in sender and through a
    smarthost; a local address must reach someone or file on something."""
    if users is None:
        if not logged_in:
            raise Unreachable(554, NO_RELAY)
        if not smarthost:
            raise Unreachable(550, NO_SMARTHOST)
        return Route(users=[], outside=True)
    if not users and target is None:
        raise Unreachable(550, NO_MAILBOX)
    return Route(users=users, target=target)


@dataclass
class Envelope:
    """The recipients of one message, gathered address by address."""

    addresses: list[str] = field(default_factory=list)
    users: dict[int, User] = field(default_factory=dict)
    filed: set[tuple[str, int]] = field(default_factory=set)
    outside: list[str] = field(default_factory=list)

    def add(self, address: str, found: Route) -> None:
        self.addresses.append(address)
        self.users.update((u.id, u) for u in found.users)
        if found.target is not None:
            self.filed.add(found.target)
        if found.outside:
            self.outside.append(address)


def submit(
    session: Session,
    sender: User,
    raw: bytes,
    recipients: Sequence[str],
    settings: Settings,
    *,
    envelope_from: str | None = None,
) -> MailMessage:
    """Send ``raw`` from ``sender`` (logged in) to ``recipients``: raises :class:`Invalid`
    naming every address that cannot be reached, or a ``From:``/``Sender:`` that is not
    the sender's (:mod:`.senders`, as for SMTP), before anything is kept."""
    foreign = senders.foreign_senders(senders.sendable(session, sender, settings.mail_domain), raw)
    if foreign:
        raise Invalid({"from_address": sender_refusal(foreign[0])})
    envelope = Envelope()
    problems: list[str] = []
    for address in recipients:
        try:
            envelope.add(address, route(session, address, settings, logged_in=True))
        except Unreachable as exc:
            if exc.text == NO_SMARTHOST:
                problems.append(
                    _(
                        "%(address)s is outside the company and no smarthost is set up.",
                        address=address,
                    )
                )
            else:
                problems.append(_("%(address)s: no such mailbox here.", address=address))
    if problems:
        raise Invalid({"to": " ".join(problems)})
    if not envelope.addresses:
        raise Invalid({"to": _("Enter at least one recipient.")})
    return delivery.deliver(
        session,
        raw,
        envelope_from=envelope_from or sender.email,
        envelope_to=envelope.addresses,
        recipients=list(envelope.users.values()),
        sender=sender,
        filed=sorted(envelope.filed),
        outside=envelope.outside,
        mail_domain=settings.mail_domain,
    )


def sender_refusal(foreign: senders.Foreign) -> str:
    """Why a message may not go out with this ``From:`` or ``Sender:``."""
    if not foreign.address:
        return _("The message has no sender (From).")
    return _(
        "You may not send as %(address)s: use your own address, an alias of yours or "
        "your team's address.",
        address=foreign.address,
    )
