"""Which addresses a logged-in user may send as: the one rule for SMTP submission, the
web mail and the API.

A user may send as their own address, ``<username>@<mail domain>``, their aliases and
the addresses of the teams they belong to, also with a plus part (``ana+deal-12@…``
is ana). :func:`sendable` lists them, :func:`may_send_as` decides for one address.
The rule holds for the envelope (SMTP ``MAIL FROM``) and for the message's own
``From:`` and ``Sender:`` headers, which are what every reader sees and what goes out
through the smarthost: :func:`foreign_senders` names the header addresses a message
may not carry. Mail delivered without a login from the trusted networks (scanners,
other company servers) is not a user's and is not held to this rule.
"""

from __future__ import annotations

import email.utils
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts.models import TeamMember, User
from groupware.mail.models import MailAddress
from groupware.mail.parsing import header_values, sender_of


def sendable(session: Session, user: User, mail_domain: str) -> list[str]:
    """The addresses ``user`` may send as, lower case: their own first, then the rest
    in order."""
    domain = mail_domain.lower()
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    extra = select(MailAddress.local_part).where(
        (MailAddress.user_id == user.id) | MailAddress.team_id.in_(teams)
    )
    rest = {f"{user.username}@{domain}".lower()}
    rest.update(f"{local}@{domain}".lower() for local in session.scalars(extra))
    own = user.email.lower()
    return [own, *sorted(rest - {own})]


def may_send_as(own: Collection[str], address: str) -> bool:
    """Whether ``address`` is one of ``own`` (from :func:`sendable`), a plus part
    aside."""
    local, _at, domain = address.strip().strip("<>").rpartition("@")
    if not local or not domain:
        return False
    return f"{local.split('+', 1)[0]}@{domain}".lower() in own


@dataclass(frozen=True)
class Foreign:
    """A ``From:`` or ``Sender:`` address the sender may not use (``address`` empty:
    the message has no ``From:`` at all)."""

    header: str
    address: str


def foreign_senders(own: Collection[str], raw: bytes) -> list[Foreign]:
    """The ``From:`` and ``Sender:`` addresses of ``raw`` that are not in ``own``.

    Every such header counts, and every address in it, read both the way the web
    mail shows a sender and by the full address parser, so no way of writing a header
    shows one address and passes another."""
    headers = header_values(raw, ("from", "sender"))
    if not headers["from"]:
        return [Foreign("From", "")]
    found: list[Foreign] = []
    for name, values in (("From", headers["from"]), ("Sender", headers["sender"])):
        addresses = [sender_of(value)[1] for value in values]
        addresses += [a for _n, a in email.utils.getaddresses(values)]
        for address in dict.fromkeys(a.strip() for a in addresses):
            if not may_send_as(own, address):
                found.append(Foreign(name, address))
    return found


def smtp_refusal(foreign: list[Foreign]) -> str:
    """The reply at the end of DATA for a message with a header sender not the user's."""
    first = foreign[0]
    if not first.address:
        return "550 5.7.1 The message has no From: header; put one of your own addresses there"
    shown = "".join(c if " " < c < "\x7f" else "?" for c in first.address[:100])
    return (
        f"550 5.7.1 The {first.header}: header names {shown}, which is not "
        "one of your addresses: use your own, an alias of yours or your team's address"
    )
