"""What mail is filed on, and the one statement that files it.

Areas declare the kinds of record mail is filed on, each a :class:`FilingKind` in their
``Area.filing_kinds``: deals (``deal-12@<domain>``, ``ana+deal-12@<domain>``, ``[D-12]``
in the subject), partners (``partner-7@<domain>`` and the addresses of the partner and
its persons). The mail code knows no kind by name, so a later area (campaigns,
inquiries) adds its own address, tag or contact rule in its declaration.

The decisions are plain functions over strings (:func:`target`, :func:`tagged`,
:func:`plan`); what they find is linked by one statement, :func:`link_insert`, which
the general path (``delivery.store``, in the writer's transaction) and PostgreSQL's fast
path (``fastfile``, inside its one autocommitted statement) both run. It checks in the
database that a named record exists, and gives each record one link: by ``address``
before ``tag`` before ``contact``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from groupware import wiring
from groupware.mail.models import MailLink

ADDRESS, TAG, CONTACT = 1, 2, 3  # a record named several ways keeps the first
HOW = {ADDRESS: "address", TAG: "tag", CONTACT: "contact"}
_LINKS = cast(Table, MailLink.__table__)


@dataclass(frozen=True)
class Contact:
    """Records found by an address of theirs: ``record_id`` of the rows whose
    ``email`` is one of a message's outside addresses (and ``where`` holds)."""

    record_id: Any  # a mapped column: Partner.id, Person.partner_id
    email: Any
    where: tuple[Any, ...] = ()


@dataclass(frozen=True)
class FilingKind:
    """A kind of record mail is filed on, declared by its area."""

    prefix: str  # the filing address: "deal" for deal-12@<domain>
    record_type: str  # mail_links.record_type, the records' table: "deals"
    id_column: Any  # the records' id (Deal.id): a named record must exist
    tag: str = ""  # the subject's tag: "D" for [D-12]; empty for none
    contacts: tuple[Contact, ...] = ()
    # How the web mail names the kind and its records ("Deal", Deal.title), and which
    # of them it offers to file a message on by hand: ``choices(who, text)`` is a
    # statement of (id, name) rows ``who`` may see, named like ``text`` (by default
    # the name contains it).
    label: Any = field(default="", compare=False)
    name: Any = field(default=None, compare=False)
    choices: Callable[[Any, str], Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z_]+", self.record_type):
            raise ValueError(f"a filed record type is a table's name: {self}")
        if not re.fullmatch(r"[a-z]+", self.prefix) or (
            self.tag and not re.fullmatch(r"[A-Z]+", self.tag)
        ):
            raise ValueError(f"a filing kind's prefix is lower case, its tag upper: {self}")


def kinds() -> tuple[FilingKind, ...]:
    """The filing kinds the installed areas declare."""
    return wiring.current().filing_kinds


Target = tuple[str, int]  # (record type, record id)


@cache
def _address_pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(sorted(prefixes, key=len, reverse=True))
    return re.compile(rf"^(?:.*\+)?({names})-(\d{{1,9}})$", re.IGNORECASE)


@cache
def _tag_pattern(tags: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(sorted(tags, key=len, reverse=True))
    return re.compile(rf"\[({names})-(\d{{1,9}})\]")


def _split(address: str) -> tuple[str, str]:
    local, _sep, domain = address.strip().strip("<>").rpartition("@")
    return local, domain.lower()


def target(address: str, mail_domain: str, known: Sequence[FilingKind]) -> Target | None:
    """The record a filing address names: ``deal-12@<domain>`` or with a plus part
    (``ana+deal-12@<domain>``), for each kind in ``known``; None for any other address."""
    local, domain = _split(address)
    if domain != mail_domain.lower() or not known:
        return None
    found = _address_pattern(tuple(k.prefix for k in known)).match(local)
    if found is None:
        return None
    by_prefix = {k.prefix: k for k in known}
    return by_prefix[found[1].lower()].record_type, int(found[2])


def reserved(local_part: str, known: Sequence[FilingKind]) -> bool:
    """Whether ``local_part`` reads as a filing address (``deal-<number>``, whatever the
    number's length): no alias or team address may take it."""
    names = "|".join(re.escape(k.prefix) for k in known)
    return bool(names) and re.fullmatch(rf"(?:{names})-\d+", local_part.lower()) is not None


def tagged(subject: str, known: Sequence[FilingKind]) -> list[Target]:
    """The records the subject's tags name (``[D-12]``), in order, each once."""
    tags = {k.tag: k.record_type for k in known if k.tag}
    if not tags:
        return []
    found = _tag_pattern(tuple(tags)).findall(subject)
    return list(dict.fromkeys((tags[tag], int(number)) for tag, number in found))


def outside_addresses(addresses: Iterable[str], mail_domain: str) -> list[str]:
    """The addresses not of the company's domain, lower case, sorted, each once (a
    record's contacts are looked up among them)."""
    domain = mail_domain.lower()
    return sorted(
        {
            address.strip().lower()
            for address in addresses
            if "@" in address and _split(address)[1] != domain
        }
    )


@dataclass(frozen=True)
class Links:
    """What a message names, by kind: ids by address, ids by tag, and the outside
    addresses its contacts are looked up by."""

    addressed: dict[str, list[int]] = field(default_factory=dict)
    tags: dict[str, list[int]] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.addressed or self.tags or self.outside)

    def params(self, known: Sequence[FilingKind]) -> dict[str, Any]:
        """The parameters of :func:`link_insert` for ``known``."""
        found: dict[str, Any] = {"outside": self.outside}
        for kind in known:
            found[f"{kind.prefix}_address"] = self.addressed.get(kind.record_type, [])
            if kind.tag:
                found[f"{kind.prefix}_tag"] = self.tags.get(kind.record_type, [])
        return found


def plan(
    *,
    subject: str,
    addresses: Iterable[str],
    filed: Iterable[Target],
    bounce: bool,
    mail_domain: str,
    known: Sequence[FilingKind],
) -> Links:
    """What to link a message to: the records its filing addresses name (``filed``,
    found at RCPT), its subject's tags, and the contacts among its ``addresses`` (From,
    To, Cc and outside recipients). A delivery report (``bounce``, no envelope sender)
    repeats the subject and the addresses of the mail it reports on: only its filing
    addresses count."""
    addressed: dict[str, list[int]] = {}
    for record_type, record_id in dict.fromkeys(filed):
        addressed.setdefault(record_type, []).append(record_id)
    tags: dict[str, list[int]] = {}
    outside: list[str] = []
    if not bounce:
        for record_type, record_id in tagged(subject, known):
            tags.setdefault(record_type, []).append(record_id)
        if any(k.contacts for k in known):
            outside = outside_addresses(addresses, mail_domain)
    return Links(addressed, tags, outside)


def _written(value: str | int) -> Any:
    """A constant of the statement written into its text (so the one prepared statement
    has it, and PostgreSQL plans with it): a declared name or a number only."""
    if isinstance(value, int):
        return literal_column(str(int(value)), Integer)
    if not re.fullmatch(r"[a-z_]+", value):
        raise ValueError(f"not a name to write into SQL: {value!r}")
    return literal_column(f"'{value}'", String)


def _ids(column: Any, name: str, arrays: bool) -> ColumnElement[bool]:
    if arrays:  # one prepared statement whatever the number of ids (PostgreSQL)
        return cast(ColumnElement[bool], column == any_(bindparam(name, type_=ARRAY(Integer))))
    return cast(ColumnElement[bool], column.in_(bindparam(name, expanding=True)))


def _emails(column: Any, arrays: bool) -> ColumnElement[bool]:
    if arrays:
        return cast(ColumnElement[bool], column == any_(bindparam("outside", type_=ARRAY(String))))
    return cast(ColumnElement[bool], column.in_(bindparam("outside", expanding=True)))


def link_insert(
    known: Sequence[FilingKind], message_id: Any, created_at: Any, *, arrays: bool
) -> Any:
    """The one statement that links a message to the records it names: an ``INSERT
    INTO mail_links ... SELECT`` over every kind's rules, each record once with its
    strongest reason. ``message_id`` and ``created_at`` are SQL expressions (bound
    parameters, or the fast path's inserted row); the ids and addresses are the
    parameters :meth:`Links.params` names, as arrays (``arrays``, PostgreSQL) or
    expanding lists."""
    parts = []
    for kind in known:

        def part(column: Any, rank: int, *where: Any, kind: FilingKind = kind) -> Any:
            return select(
                _written(kind.record_type).label("record_type"),
                column.label("record_id"),
                _written(rank).label("rank"),
            ).where(*where)

        parts.append(
            part(kind.id_column, ADDRESS, _ids(kind.id_column, f"{kind.prefix}_address", arrays))
        )
        if kind.tag:
            parts.append(
                part(kind.id_column, TAG, _ids(kind.id_column, f"{kind.prefix}_tag", arrays))
            )
        for contact in kind.contacts:
            parts.append(
                part(contact.record_id, CONTACT, _emails(contact.email, arrays), *contact.where)
            )
    found = union_all(*parts).subquery("found")
    record_type, record_id, rank = found.c
    each = (
        select(record_type, record_id, func.min(rank).label("rank"))
        .group_by(record_type, record_id)
        .subquery("each")
    )
    how = case(*((each.c.rank == _written(n), _written(name)) for n, name in HOW.items()))
    rows = select(message_id, each.c.record_type, each.c.record_id, how, created_at)
    return insert(_LINKS).from_select(
        ["message_id", "record_type", "record_id", "how", "created_at"], rows
    )


@cache
def _general(known: tuple[FilingKind, ...]) -> Any:
    return link_insert(
        known, bindparam("message_id", type_=Integer), bindparam("created_at"), arrays=False
    )


def link(session: Session, message_id: int, links: Links, created_at: Any) -> None:
    """Run :func:`link_insert` for a message in the session's transaction (the general
    path)."""
    if not links:
        return
    known = kinds()
    params = {"message_id": message_id, "created_at": created_at, **links.params(known)}
    session.execute(_general(known), params)


def exists(session: Session, found: Target, known: Sequence[FilingKind]) -> bool:
    """Whether the record a filing address names is there."""
    for kind in known:
        if kind.record_type == found[0]:
            column = kind.id_column
            return session.scalar(select(column).where(column == found[1])) is not None
    return False
