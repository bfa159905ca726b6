"""Partners: creating, changing, finding and sharing them between reps.

Access: a partner's primary rep (``owner_id``) and further reps (``partner_reps``)
have it as their own; reps of its territory see it through the "territory" scope;
anyone may be given it by a share. :func:`get_partner_for_user` is the one way to load
a partner for a user.

Reps come from the assignment table (:mod:`groupware.crm.territories.service`) when a partner
is created and whenever its address or group changes, unless a person chose its reps
by hand (:func:`set_reps`), which the table then leaves alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.expression import ColumnClause

from groupware.access.policy import Who, can, get_for_user, require, visible
from groupware.accounts.models import User
from groupware.crm import fields
from groupware.crm.models import (
    AssignmentRule,
    County,
    Partner,
    PartnerGroup,
    PartnerRep,
    PartnerTag,
    Tag,
)
from groupware.crm.normalize import city_key, clean_oib, dedup_key, search_text
from groupware.crm.reference import county_for_postal
from groupware.crm.territories import assignment
from groupware.db import const, escape_like
from groupware.errors import Invalid
from groupware.i18n import _l
from groupware.search import MAX_WORDS, PAGE_LIMIT, Terms
from groupware.search.words import SIMPLE
from groupware.validation import OptionalId, Schema

PARTNER_OPTIONS = (
    joinedload(Partner.group),
    joinedload(Partner.county),
    joinedload(Partner.owner),
    joinedload(Partner.territory),
)


# The fields of a partner form checked by the rules the importer applies too.
_FORM_CHECKS: dict[str, Callable[..., Any]] = {
    "oib": fields.check_oib,
    "vat_id": fields.check_vat,
    "email": fields.check_email,
    "emails": fields.check_emails,
    "country": fields.check_country,
    "web": fields.check_web,
    "tags": fields.check_tags,
}


class PartnerIn(Schema):
    kind: Literal["company", "person"] = "company"
    name: str = Field(min_length=1, max_length=200)
    oib: str = Field(default="", max_length=20)
    vat_id: str = Field(default="", max_length=20)
    external_id: str = Field(default="", max_length=64)
    group_id: OptionalId = None
    status: Literal["prospect", "active", "inactive"] = "active"
    street: str = Field(default="", max_length=200)
    postal_code: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=100)
    county_id: OptionalId = None
    country: str = Field(default="HR", min_length=2, max_length=2)
    phones: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    emails: str = Field(default="", max_length=500)
    web: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=20000)
    tags: list[str] = Field(default_factory=list, max_length=30)

    @field_validator(*_FORM_CHECKS)
    @classmethod
    def _check(cls, value: Any, info: ValidationInfo) -> Any:
        return fields.in_form(_FORM_CHECKS[str(info.field_name)], value)

    @model_validator(mode="after")
    def _croatian_address(self) -> PartnerIn:
        self.postal_code = fields.in_form(fields.check_postal, self.postal_code, self.country)
        fields.in_form(fields.check_vat_matches_oib, self.vat_id, self.oib)
        return self


def get_partner_for_user(
    session: Session, who: Who, partner_id: int, action: str = "view"
) -> Partner:
    return get_for_user(session, who, Partner, partner_id, action, options=PARTNER_OPTIONS)


# -- duplicates ---------------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    partner: Partner | None  # None when the user may not see it
    reason: str  # oib | name_city | email


def find_duplicates(
    session: Session, who: Who, data: PartnerIn, *, exclude_id: int | None = None
) -> list[Duplicate]:
    """Partners that look like ``data``: the same OIB, the same name and city, or the same
    e-mail. Ones the user may not see are reported without their details."""
    checks: list[tuple[str, ColumnElement[bool]]] = []
    if data.oib:
        checks.append(("oib", Partner.oib == data.oib))
    checks.append(("name_city", Partner.dedup_key == dedup_key(data.name, data.city)))
    if data.email:
        checks.append(("email", Partner.email == data.email))
    found: dict[int, Duplicate] = {}
    for reason, condition in checks:
        query = select(Partner.id).where(condition, Partner.status != "merged").limit(20)
        if exclude_id is not None:
            query = query.where(Partner.id != exclude_id)
        for partner_id in session.scalars(query):
            if partner_id in found:
                continue
            partner = session.scalar(
                select(Partner)
                .where(Partner.id == partner_id, visible(Partner, who))
                .options(*PARTNER_OPTIONS)
            )
            found[partner_id] = Duplicate(partner, reason)
    return list(found.values())


# -- writing --------------------------------------------------------------------------


def _check_references(session: Session, data: PartnerIn) -> int | None:
    """Validate group and county; returns the county id (derived from a Croatian postal
    code when none was chosen)."""
    if data.group_id is not None and session.get(PartnerGroup, data.group_id) is None:
        raise Invalid({"group_id": _l("There is no such partner group.")})
    county_id = data.county_id
    if county_id is not None:
        county = session.get(County, county_id)
        if county is None or county.country != data.country:
            raise Invalid({"county_id": _l("Choose a county of the partner's country.")})
    elif data.country == "HR" and data.postal_code:
        code = county_for_postal(data.postal_code)
        if code is not None:
            county_id = session.scalar(select(County.id).where(County.code == code))
    return county_id


def taken_by(session: Session, who: Who, partner_ids: Sequence[int]) -> dict[int, Any]:
    """What to say about each of ``partner_ids`` that already holds a value another
    partner wants (an OIB, an external id): its name and number when ``who`` may see it,
    otherwise only that it is out of their sight, so that an error tells nothing of a
    record the user may not see."""
    query = select(Partner.id, Partner.name).where(
        Partner.id.in_(partner_ids), visible(Partner, who)
    )
    seen: dict[int, str] = {partner_id: name for partner_id, name in session.execute(query)}
    return {
        partner_id: (
            _l(
                "Another partner has this value: %(name)s (#%(id)s).",
                name=seen[partner_id],
                id=partner_id,
            )
            if partner_id in seen
            else _l(
                "This value is already in use by a partner you may not see; "
                "an administrator can find it."
            )
        )
        for partner_id in partner_ids
    }


def _check_unique(session: Session, who: Who, data: PartnerIn, partner_id: int | None) -> None:
    for column, value, field in (
        (Partner.oib, data.oib, "oib"),
        (Partner.external_id, data.external_id, "external_id"),
    ):
        if not value:
            continue
        other = session.scalar(select(Partner.id).where(column == value))
        if other is not None and other != partner_id:
            raise Invalid({field: taken_by(session, who, [other])[other]})


def _set_tags(session: Session, partner: Partner, names: Sequence[str]) -> None:
    have = {
        link.tag_id: link
        for link in session.scalars(select(PartnerTag).where(PartnerTag.partner_id == partner.id))
    }
    wanted: dict[int, Tag] = {}
    for name in names:
        tag = session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
        wanted[tag.id] = tag
    for tag_id, link in have.items():
        if tag_id not in wanted:
            session.delete(link)
    for tag_id, tag in wanted.items():
        if tag_id not in have:
            session.add(PartnerTag(tag_id=tag_id, partner_id=partner.id, tag=tag))


# The form's fields that are columns, and those of them stored as NULL when empty (an
# OIB or external id is unique when given, so "none" must not be a value).
_COLUMNS = Partner.__table__.columns
_STORED = tuple(n for n in PartnerIn.model_fields if n in _COLUMNS and n != "county_id")
NULL_WHEN_EMPTY = frozenset(
    n for n in _STORED if _COLUMNS[n].nullable and _COLUMNS[n].type.python_type is str
)


def _fill(partner: Partner, data: PartnerIn, county_id: int | None) -> None:
    for name in _STORED:
        value = getattr(data, name)
        setattr(partner, name, (value or None) if name in NULL_WHEN_EMPTY else value)
    partner.county_id = county_id
    partner.name_search = search_text(data.name)
    partner.city_search = city_key(data.city)
    partner.dedup_key = dedup_key(data.name, data.city)


def create_partner(
    session: Session,
    who: Who,
    data: PartnerIn,
    *,
    matcher: assignment.Matcher | None = None,
) -> Partner:
    """Create a partner and give it reps by the assignment table. When the table leaves
    its creator without access (no rule for them), the creator becomes a further rep:
    nobody loses sight of what they just made."""
    require(who, "partners", "create")
    county_id = _check_references(session, data)
    _check_unique(session, who, data, None)
    partner = Partner(name=data.name, name_search="", dedup_key="")
    _fill(partner, data, county_id)
    session.add(partner)
    session.flush()
    assignment.apply(
        session, partner, (matcher or assignment.load_matcher(session)).for_partner(partner)
    )
    _set_tags(session, partner, data.tags)
    session.flush()
    if who.id is not None and not can(session, who, partner, "edit"):
        partner.reps.append(
            PartnerRep(user_id=who.id, source="manual", user=session.get(User, who.id))
        )
        session.flush()
    return partner


def update_partner(
    session: Session,
    partner: Partner,
    data: PartnerIn,
    *,
    who: Who,
    matcher: assignment.Matcher | None = None,
) -> Partner:
    """Change a partner (loaded for edit by ``who``); a new address or group re-assigns its reps."""
    if partner.status == "merged":
        raise Invalid({"": _l("This partner was merged into another; change that one.")})
    county_id = _check_references(session, data)
    _check_unique(session, who, data, partner.id)
    placed = (
        partner.country,
        partner.county_id,
        partner.city,
        partner.postal_code,
        partner.group_id,
    )
    _fill(partner, data, county_id)
    if placed != (
        partner.country,
        partner.county_id,
        partner.city,
        partner.postal_code,
        partner.group_id,
    ):
        assignment.apply(
            session, partner, (matcher or assignment.load_matcher(session)).for_partner(partner)
        )
    _set_tags(session, partner, data.tags)
    session.flush()
    return partner


def set_reps(
    session: Session,
    partner: Partner,
    *,
    owner_id: int | None,
    rep_ids: Sequence[int],
    automatic: bool = False,
) -> Partner:
    """Choose a partner's reps by hand (the table leaves them alone from then on), or,
    with ``automatic``, hand them back to the assignment table."""
    if automatic:
        partner.manual_assignment = False
        assignment.apply(
            session, partner, assignment.load_matcher(session).for_partner(partner), force=True
        )
        session.flush()
        return partner
    ids = {i for i in (owner_id, *rep_ids) if i is not None}
    active = set(session.scalars(select(User.id).where(User.id.in_(ids), User.is_active)))
    if active != ids:
        raise Invalid({"rep_ids": _l("Choose active users.")})
    partner.owner_id = owner_id
    partner.manual_assignment = True
    partner.assignment_rule_id = None
    further = [i for i in dict.fromkeys(rep_ids) if i != owner_id]
    for rep in list(partner.reps):
        if rep.user_id not in further:
            partner.reps.remove(rep)
    present = {rep.user_id: rep for rep in partner.reps}
    for user_id in further:
        if user_id in present:
            present[user_id].source = "manual"
        else:
            partner.reps.append(
                PartnerRep(user_id=user_id, source="manual", user=session.get(User, user_id))
            )
    session.flush()
    return partner


def delete_partner(session: Session, partner: Partner) -> None:
    session.delete(partner)
    session.flush()


# -- lists ----------------------------------------------------------------------------

SORTS = {
    "name": (Partner.name_search, Partner.id),
    "-name": (Partner.name_search.desc(), Partner.id.desc()),
    "city": (Partner.city, Partner.name_search, Partner.id),
    "created": (Partner.created_at.desc(), Partner.id.desc()),
    "oib": (Partner.oib, Partner.id),
}


class PartnerFilter(Schema):
    """What a partner list shows; the same fields as the list page's query string."""

    q: str = Field(default="", max_length=100)
    city: str = Field(default="", max_length=100)
    county_id: OptionalId = None
    group_id: OptionalId = None
    territory_id: OptionalId = None
    rep_id: OptionalId = None
    tag: str = Field(default="", max_length=50)
    status: Literal["", "prospect", "active", "inactive"] = ""
    kind: Literal["", "company", "person"] = ""
    unassigned: bool = False
    sort: Literal["name", "-name", "city", "created", "oib"] = "name"


def text_match(typed: str) -> list[ColumnElement[bool]]:
    """What a search for ``typed`` asks of a partner (the list's ``q`` and the global
    search): an OIB (with or without "HR") its OIB, an e-mail address its address, and
    otherwise every typed word somewhere in its folded name ("cakov" and "čakov" find
    "Čakovečki mlinovi d.d.", "mlin cak" too)."""
    text = typed.strip()
    if not text:
        return []
    if not _is_name(text):
        digits = clean_oib(text)
        return [Partner.email == text.lower()] if "@" in text else [Partner.oib == digits]
    return [
        Partner.name_search.like(f"%{escape_like(word)}%", escape="\\")
        for word in search_text(text).split()[:MAX_WORDS]
    ]


def name_trigrams(typed: str) -> str:
    """The SQLite FTS5 query of the trigram table ``search_partners`` (migration 0022)
    for the words of ``typed`` that a trigram index can look up (three letters or
    more); empty when there are none, or when ``typed`` is an OIB or an address."""
    if not _is_name(typed):
        return ""
    words = [w for w in search_text(typed).split()[:MAX_WORDS] if len(w) >= 3]
    return " AND ".join(f'"{word}"' for word in words)


SEARCH_PARTNERS = table("search_partners", ColumnClause("rowid"))


# The words of the folded name, for the header's search on PostgreSQL (migration 0022).
NAME_WORDS = func.to_tsvector(SIMPLE, Partner.name_search)


def search_rows(session: Session, who: Who, terms: Terms) -> Select[Any]:
    """The partners the header's search finds (``groupware.search``): id, name, city.

    Like the other kinds of record, by the starts of the words of their names (an OIB
    or an address as the list finds them). Names that start with the first typed word
    come first, read in name order from the list's index (a range of it: a common word
    gives its first rows at once); then, only if those are not enough, the others, found
    unsorted so that the first ones the user may see are enough: on SQLite through the
    trigram table, each candidate's words then checked, on PostgreSQL through the
    full-text index of the folded name (its trigram index spent 10-15 ms on the bitmap of
    a word in 3% of a million names)."""
    hit: tuple[Any, ...] = (Partner.id, Partner.name, Partner.city)
    allowed = (visible(Partner, who), Partner.status != const("merged"))
    if not _is_name(terms.text):
        return select(*hit).where(*allowed, *text_match(terms.text))  # an OIB or an address
    first, *others = terms.words
    spaced = literal_column("' '").op("||")(Partner.name_search)
    starts = [spaced.like(f"% {word}%") for word in others]
    # Not LIKE 'word%': PostgreSQL would answer that from the trigram index, with a
    # guess of a few hundred rows and a sort of all fifteen thousand.
    beginning = func.substr(Partner.name_search, 1, len(first)) == first
    leading = (
        select(*hit)
        .where(*allowed, Partner.name_search >= first, Partner.name_search < _after(first))
        .where(beginning, *starts)
        .order_by(Partner.name_search, Partner.id)
    )
    rest = select(*hit).where(*allowed, ~beginning)
    if session.get_bind().dialect.name == "sqlite":
        rest = rest.where(spaced.like(f"% {first}%"), *starts)
        trigrams = name_trigrams(terms.text)
        if trigrams:
            fts = SEARCH_PARTNERS
            rest = rest.select_from(fts).join(Partner, Partner.id == fts.c.rowid)
            rest = rest.where(literal_column(fts.name).op("MATCH")(trigrams))
    else:
        prefixes = " & ".join(f"{word}:*" for word in terms.words)
        rest = rest.where(NAME_WORDS.op("@@")(func.to_tsquery(SIMPLE, prefixes)))
    # Each part limited (the service's limit comes on top): the second is read only when
    # the first gives too few.
    parts = [part.limit(_PART).subquery() for part in (leading, rest)]
    both = union_all(*(select(*part.c) for part in parts)).subquery()
    return select(*both.c)


# Hits a part of the partners' search reads at most: the results page's (and one more).
_PART = PAGE_LIMIT + 1


def _after(word: str) -> str:
    """The first string after every string that starts with ``word`` (folded words are
    ASCII letters and digits)."""
    return word[:-1] + chr(ord(word[-1]) + 1)


def _is_name(typed: str) -> bool:
    """Whether ``typed`` is searched among names (not an OIB or an e-mail address)."""
    text = typed.strip()
    digits = clean_oib(text)
    return "@" not in text and not (digits.isascii() and digits.isdigit() and len(digits) == 11)


def partner_query(
    who: Who, f: PartnerFilter, *, action: str = "view", whole: bool = False
) -> Select[Partner]:
    """The partners ``who`` may see (or export) that match ``f``, in ``f.sort`` order;
    ``whole`` when every match is read (a count), not a page (see ``visible``)."""
    shown = visible(Partner, who, action, whole=whole)
    query = select(Partner).where(shown, Partner.status != const("merged"))
    query = query.where(*text_match(f.q))
    if f.city:
        query = query.where(Partner.city_search == city_key(f.city))
    for column, value in (
        (Partner.county_id, f.county_id),
        (Partner.group_id, f.group_id),
        (Partner.territory_id, f.territory_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.rep_id is not None:
        co_reps = select(PartnerRep.partner_id).where(PartnerRep.user_id == f.rep_id)
        query = query.where(or_(Partner.owner_id == f.rep_id, Partner.id.in_(co_reps)))
    if f.tag:
        tagged = (
            select(PartnerTag.partner_id)
            .join(Tag, Tag.id == PartnerTag.tag_id)
            .where(Tag.name == f.tag.strip().lower())
        )
        query = query.where(Partner.id.in_(tagged))
    if f.status:
        query = query.where(Partner.status == f.status)
    if f.kind:
        query = query.where(Partner.kind == f.kind)
    if f.unassigned:
        query = query.where(Partner.owner_id.is_(None))
    return query.order_by(*SORTS[f.sort])


# What a partner picked by name shows: id, name, city.
PICKED: tuple[Any, ...] = (Partner.id, Partner.name, Partner.city)


def partners_to_edit(session: Session, who: Who, typed: str, *, limit: int = 20) -> list[Row[Any]]:
    """Up to ``limit`` partners ``who`` may change whose name (or OIB, or e-mail) matches
    ``typed``, by name: id, name, city."""
    query = partner_query(who, PartnerFilter(q=typed[:100]), action="edit")
    columns: Select[Any] = query.with_only_columns(*PICKED)
    return list(session.execute(columns.limit(limit)).all())


def list_partners(
    session: Session, who: Who, f: PartnerFilter, *, offset: int = 0, limit: int = 50
) -> list[Partner]:
    query = partner_query(who, f).options(*PARTNER_OPTIONS).offset(offset).limit(limit)
    return list(session.scalars(query))


def reps_of(session: Session, partner: Partner) -> list[tuple[User, str]]:
    """The primary rep and the further reps, with how each got there."""
    result: list[tuple[User, str]] = []
    if partner.owner is not None:
        result.append((partner.owner, "manual" if partner.manual_assignment else "rule"))
    rows = session.execute(
        select(User, PartnerRep.source)
        .join(PartnerRep, PartnerRep.user_id == User.id)
        .where(PartnerRep.partner_id == partner.id)
        .order_by(User.full_name)
    ).all()
    result.extend((user, source) for user, source in rows)
    return result


def assignment_rule_of(session: Session, partner: Partner) -> AssignmentRule | None:
    """The assignment rule that chose the partner's reps, if one did."""
    if partner.assignment_rule_id is None:
        return None
    return session.get(AssignmentRule, partner.assignment_rule_id)


def visible_names(session: Session, who: Who, ids: set[int]) -> dict[int, str]:
    """Names of the partners among ``ids`` that ``who`` may see."""
    if not ids:
        return {}
    rows = session.execute(
        select(Partner.id, Partner.name).where(Partner.id.in_(ids), visible(Partner, who))
    )
    return {partner_id: name for partner_id, name in rows}


def tags_of(session: Session, partner_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Tag.name)
            .join(PartnerTag, PartnerTag.tag_id == Tag.id)
            .where(PartnerTag.partner_id == partner_id)
            .order_by(Tag.name)
        )
    )


def values_of(session: Session, partner: Partner) -> dict[str, object]:
    """A partner as form values (the inverse of :class:`PartnerIn`)."""
    values: dict[str, object] = {name: getattr(partner, name) for name in _STORED}
    values.update((name, values[name] or "") for name in NULL_WHEN_EMPTY)
    return values | {"county_id": partner.county_id, "tags": tags_of(session, partner.id)}


def groups(session: Session) -> list[PartnerGroup]:
    return list(session.scalars(select(PartnerGroup).order_by(PartnerGroup.name)))


def counties(session: Session, country: str = "HR") -> list[County]:
    return list(
        session.scalars(select(County).where(County.country == country).order_by(County.name))
    )


def visible_partner_ids(who: Who) -> Select[int]:
    """For child lists (persons, documents): the ids of partners ``who`` may see."""
    return select(Partner.id).where(visible(Partner, who))


def filing_choices(who: Who, typed: str) -> Select[int, str]:
    """The partners a message may be filed on by hand, named like ``typed`` (any part
    of the folded name), that ``who`` may see: (id, name) in name order."""
    words = search_text(typed)
    named = Partner.name_search.like(f"%{escape_like(words)}%", escape="\\") if words else false()
    return (
        select(Partner.id, Partner.name)
        .where(named, Partner.status != "merged", visible(Partner, who))
        .order_by(Partner.name_search)
    )
