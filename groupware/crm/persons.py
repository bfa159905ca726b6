"""Persons (contacts at a partner) and branches of a partner.

Both belong to a partner and follow its access: whoever may see the partner sees its
persons and branches, whoever may edit it may change them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import Select, literal_column, or_, select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, get_for_user, visible
from groupware.crm import fields
from groupware.crm.models import PERSONS_WORDS, Branch, County, Partner, Person
from groupware.crm.normalize import clean_postal
from groupware.crm.reference import county_for_postal
from groupware.db import escape_like, utcnow
from groupware.errors import Invalid
from groupware.i18n import _l
from groupware.search import Terms
from groupware.search.words import matching
from groupware.validation import Id, OptionalId, Schema


class PersonIn(Schema):
    partner_id: Id
    branch_id: OptionalId = None
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    function: str = Field(default="", max_length=100)
    phones: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    external_id: str = Field(default="", max_length=64)
    mailing_consent: bool = False
    notes: str = Field(default="", max_length=20000)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return fields.in_form(fields.check_email, value)


class BranchIn(Schema):
    partner_id: Id
    name: str = Field(min_length=1, max_length=200)
    street: str = Field(default="", max_length=200)
    postal_code: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=100)
    county_id: OptionalId = None
    country: str = Field(default="HR", min_length=2, max_length=2)
    phones: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    notes: str = Field(default="", max_length=20000)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return fields.in_form(fields.check_country, value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return fields.in_form(fields.check_email, value)


def get_person_for_user(session: Session, who: Who, person_id: int, action: str = "view") -> Person:
    options = [joinedload(Person.partner), joinedload(Person.branch)]
    return get_for_user(session, who, Person, person_id, action, options=options)


def get_branch_for_user(session: Session, who: Who, branch_id: int, action: str = "view") -> Branch:
    options = [joinedload(Branch.partner), joinedload(Branch.county)]
    return get_for_user(session, who, Branch, branch_id, action, options=options)


def _partner_for_edit(session: Session, who: Who, partner_id: int) -> Partner:
    """Adding a person or branch is changing the partner: it takes edit access."""
    partner = get_for_user(session, who, Partner, partner_id, "edit")
    if partner.status == "merged":
        raise Invalid({"partner_id": _l("This partner was merged into another.")})
    return partner


def _check_branch(session: Session, data: PersonIn) -> None:
    if data.branch_id is None:
        return
    branch = session.get(Branch, data.branch_id)
    if branch is None or branch.partner_id != data.partner_id:
        raise Invalid({"branch_id": _l("Choose a branch of this partner.")})


def _check_external_id(session: Session, external_id: str, person_id: int | None) -> None:
    if not external_id:
        return
    other = session.scalar(select(Person.id).where(Person.external_id == external_id))
    if other is not None and other != person_id:
        raise Invalid({"external_id": _l("Another person has this external id.")})


def save_person(session: Session, who: Who, person: Person | None, data: PersonIn) -> Person:
    """Create a person or change one (loaded for edit); moving a person to another
    partner needs edit access to both."""
    _partner_for_edit(session, who, data.partner_id)
    _check_branch(session, data)
    _check_external_id(session, data.external_id, person.id if person else None)
    if person is None:
        person = Person(last_name=data.last_name, partner_id=data.partner_id)
        session.add(person)
    consent_before = person.mailing_consent
    for name, value in data.model_dump().items():
        setattr(person, name, value)
    person.external_id = data.external_id or None
    if consent_before and not data.mailing_consent:
        person.opted_out_at = utcnow()
    elif data.mailing_consent:
        person.opted_out_at = None
    session.flush()
    return person


def opt_out(session: Session, person: Person) -> None:
    """The person asked for no more mailings (kept for the record)."""
    person.mailing_consent = False
    person.opted_out_at = utcnow()
    session.flush()


def delete_person(session: Session, person: Person) -> None:
    session.delete(person)
    session.flush()


def _branch_county(session: Session, data: BranchIn) -> int | None:
    if data.county_id is not None:
        county = session.get(County, data.county_id)
        if county is None or county.country != data.country:
            raise Invalid({"county_id": _l("Choose a county of that country.")})
        return data.county_id
    code = county_for_postal(clean_postal(data.postal_code)) if data.country == "HR" else None
    return session.scalar(select(County.id).where(County.code == code)) if code else None


def save_branch(session: Session, who: Who, branch: Branch | None, data: BranchIn) -> Branch:
    _partner_for_edit(session, who, data.partner_id)
    county_id = _branch_county(session, data)
    if branch is None:
        branch = Branch(name=data.name, partner_id=data.partner_id)
        session.add(branch)
    for name, value in data.model_dump().items():
        setattr(branch, name, value)
    branch.postal_code = clean_postal(data.postal_code)
    branch.county_id = county_id
    session.flush()
    return branch


def delete_branch(session: Session, branch: Branch) -> None:
    session.delete(branch)
    session.flush()


def person_query(
    who: Who, *, partner_id: int | None = None, q: str = "", action: str = "view"
) -> Select[Person]:
    query = select(Person).where(visible(Person, who, action))
    if partner_id is not None:
        query = query.where(Person.partner_id == partner_id)
    if q:
        pattern = f"%{escape_like(q.strip().lower())}%"
        query = query.where(
            or_(
                Person.last_name.ilike(pattern, escape="\\"),
                Person.first_name.ilike(pattern, escape="\\"),
                Person.email.ilike(pattern, escape="\\"),
            )
        )
    return query.order_by(Person.last_name, Person.first_name, Person.id)


def search_rows(session: Session, who: Who, terms: Terms) -> Select[Any]:
    """The persons the header's search finds (``groupware.search``) by the starts of
    the words of their names and e-mail: id, name, partner."""
    name = Person.first_name.op("||")(literal_column("' '")).op("||")(Person.last_name)
    query = (
        select(Person.id, name, Partner.name)
        .join(Partner, Partner.id == Person.partner_id)
        .where(visible(Person, who))
    )
    return matching(session, PERSONS_WORDS, Person, query, terms)


def persons_of(session: Session, partner_id: int) -> list[Person]:
    """The persons of a partner the caller already may see."""
    return list(
        session.scalars(
            select(Person)
            .where(Person.partner_id == partner_id)
            .options(joinedload(Person.branch))
            .order_by(Person.last_name, Person.first_name)
        )
    )


def branches_of(session: Session, partner_id: int) -> list[Branch]:
    return list(
        session.scalars(select(Branch).where(Branch.partner_id == partner_id).order_by(Branch.name))
    )
