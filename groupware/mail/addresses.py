"""The company's extra mail addresses: a person's aliases and a team's shared address.

An address is only its local part (``prodaja``); the domain is always the company's
(``settings.mail_domain``). Mail to a user's alias reaches that user, mail to a team's
address every active member, and each of them may send from it
(:func:`groupware.mail.delivery.resolve` and :mod:`groupware.mail.senders`).

A local part is refused when something else already answers to it: another extra
address, a user's username or the local part of a user's e-mail in the mail domain
(:func:`~groupware.mail.delivery.resolve` would find the user first and the new address
would never receive anything), a record's filing address (``deal-12``, ``partner-7``) or
a plus part (``ana+deal-12`` means "ana, filed on deal 12"). The changes are tracked
(``MailAddress.__tracked__``): history says who added or removed an address and where.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from groupware.accounts.models import Team, User
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.mail import filing
from groupware.mail.models import MailAddress
from groupware.records import RecordType

MAIL_ADDRESSES_RECORD = RecordType(
    "mail_addresses",
    _l("Mail address"),
    "",
    {"local_part": _l("Address"), "user_id": _l("User"), "team_id": _l("Team")},
    summary=("user_id", "team_id"),
)

MAX_LENGTH = 64  # RFC 5321's limit for a local part
# A subset of RFC 5321's dot-atom: what every mail program and server takes as it is.
_ATOM = r"[a-z0-9_-]+"
LOCAL_PART = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")


def clean_local_part(value: str) -> str:
    """``value`` as it is kept (lower case), or :class:`Invalid` saying what is wrong
    with it; says nothing yet of who else may use it (:func:`check_available`)."""
    local = value.strip().lower()
    if not local:
        raise Invalid({"local_part": _l("Enter the part of the address before the @.")})
    if len(local) > MAX_LENGTH:
        raise Invalid({"local_part": _l("An address has at most 64 characters before the @.")})
    if "+" in local:
        raise Invalid(
            {"local_part": _l("No plus sign: in our addresses it starts a sub-address (ana+x@).")}
        )
    if not LOCAL_PART.match(local):
        raise Invalid(
            {
                "local_part": _l(
                    "Use letters without diacritics, digits, dot, dash or underscore; "
                    "no dot at the start or end, nor two dots in a row."
                )
            }
        )
    if filing.reserved(local, filing.kinds()):
        raise Invalid(
            {"local_part": _l("Addresses like deal-12 and partner-7 file mail on records.")}
        )
    return local


def check_available(session: Session, local_part: str, *, mail_domain: str) -> None:
    """Refuse ``local_part`` when an extra address or a user already answers to it."""
    taken = session.scalar(select(MailAddress.id).where(MailAddress.local_part == local_part))
    if taken is not None:
        raise Invalid({"local_part": _l("This address is taken.")})
    address = f"{local_part}@{mail_domain.lower()}"
    user = session.scalar(
        select(User.id)
        .where((func.lower(User.username) == local_part) | (func.lower(User.email) == address))
        .limit(1)
    )
    if user is not None:
        raise Invalid({"local_part": _l("This is a user's own address.")})


def list_addresses(
    session: Session, *, user_id: int | None = None, team_id: int | None = None
) -> list[MailAddress]:
    """Extra addresses with their owner loaded, by local part; only a user's or a
    team's when ``user_id`` or ``team_id`` is given."""
    query = (
        select(MailAddress)
        .options(selectinload(MailAddress.user), selectinload(MailAddress.team))
        .order_by(MailAddress.local_part)
    )
    if user_id is not None:
        query = query.where(MailAddress.user_id == user_id)
    if team_id is not None:
        query = query.where(MailAddress.team_id == team_id)
    return list(session.scalars(query))


def _add(session: Session, local_part: str, mail_domain: str, **owner: int) -> MailAddress:
    local = clean_local_part(local_part)
    check_available(session, local, mail_domain=mail_domain)
    address = MailAddress(local_part=local, **owner)
    session.add(address)
    session.flush()
    return address


def add_alias(session: Session, user: User, local_part: str, *, mail_domain: str) -> MailAddress:
    """Give ``user`` a further address: ``<local_part>@<mail domain>``."""
    return _add(session, local_part, mail_domain, user_id=user.id)


def add_team_address(
    session: Session, team: Team, local_part: str, *, mail_domain: str
) -> MailAddress:
    """Give ``team`` a shared address: mail to it reaches every active member."""
    return _add(session, local_part, mail_domain, team_id=team.id)


def get_address(
    session: Session, address_id: int, *, user_id: int | None = None, team_id: int | None = None
) -> MailAddress:
    """The address ``address_id``, when it is ``user_id``'s or ``team_id``'s (if given)."""
    address = session.get(MailAddress, address_id)
    if (
        address is None
        or (user_id is not None and address.user_id != user_id)
        or (team_id is not None and address.team_id != team_id)
    ):
        raise NotFound(_l("There is no such address."))
    return address


def remove_address(session: Session, address: MailAddress) -> None:
    """Remove an address: mail to it is refused from now on (unknown mailbox)."""
    session.delete(address)
    session.flush()
