"""API: ``/branches`` and ``/persons`` of partners (operations of :data:`api`).

Both follow their partner's access: whoever sees the partner sees them, and adding,
changing or removing one is changing the partner (edit access).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from groupware.access.policy import visible
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.crm import persons as service
from groupware.crm.api import Ref
from groupware.crm.models import Branch, Person
from groupware.db import escape_like
from groupware.validation import OptionalId, Schema, validate

api = Api("crm")


class ContactQuery(PageQuery):
    partner_id: OptionalId = None
    q: str = Field(default="", max_length=100, description="Part of a name, city or e-mail")


class BranchOut(Out):
    id: int
    partner: Ref
    name: str
    street: str
    postal_code: str
    city: str
    county: Ref | None
    country: str
    phones: str
    email: str
    notes: str


class BranchPatch(Schema):
    """The fields to change; the branch is then checked as a whole."""

    partner_id: OptionalId = None
    name: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    county_id: OptionalId = None
    country: str | None = None
    phones: str | None = None
    email: str | None = None
    notes: str | None = None


class PersonOut(Out):
    id: int
    partner: Ref
    branch: Ref | None
    first_name: str
    last_name: str
    full_name: str
    function: str
    phones: str
    email: str
    external_id: str | None
    mailing_consent: bool
    opted_out_at: dt.datetime | None
    notes: str


class PersonPatch(Schema):
    """The fields to change; the person is then checked as a whole."""

    partner_id: OptionalId = None
    branch_id: OptionalId = None
    first_name: str | None = None
    last_name: str | None = None
    function: str | None = None
    phones: str | None = None
    email: str | None = None
    external_id: str | None = None
    mailing_consent: bool | None = None
    notes: str | None = None


def branch_out(branch: Branch) -> BranchOut:
    return BranchOut.of(branch)


def person_out(person: Person) -> PersonOut:
    return PersonOut.of(person)


# -- branches -------------------------------------------------------------------------


@api.operation(
    "GET",
    "/branches",
    summary="Branches of partners you may see, by id",
    response=BranchOut,
    query=ContactQuery,
    paginated=True,
)
def list_branches(call: Call) -> tuple[list[BranchOut], str | None]:
    q: ContactQuery = call.query
    query = select(Branch).where(visible(Branch, call.who))
    if q.partner_id is not None:
        query = query.where(Branch.partner_id == q.partner_id)
    if q.q.strip():
        pattern = f"%{escape_like(q.q.strip())}%"
        query = query.where(
            or_(
                Branch.name.ilike(pattern, escape="\\"),
                Branch.city.ilike(pattern, escape="\\"),
                Branch.email.ilike(pattern, escape="\\"),
            )
        )
    after = q.after_id()
    if after is not None:
        query = query.where(Branch.id > after)
    options = (joinedload(Branch.partner), joinedload(Branch.county))
    rows = list(call.db.scalars(query.options(*options).order_by(Branch.id).limit(q.limit + 1)))
    page, cursor = page_of(rows, q.limit)
    return [branch_out(b) for b in page], cursor


@api.operation(
    "POST",
    "/branches",
    summary="Add a branch to a partner",
    response=BranchOut,
    body=service.BranchIn,
    status=201,
)
def create_branch(call: Call) -> BranchOut:
    branch = service.save_branch(call.db, call.who, None, call.body)
    call.db.refresh(branch)
    return branch_out(branch)


@api.operation("GET", "/branches/{branch_id}", summary="One branch", response=BranchOut)
def get_branch(call: Call) -> BranchOut:
    return branch_out(service.get_branch_for_user(call.db, call.who, call.int_param("branch_id")))


@api.operation(
    "PATCH",
    "/branches/{branch_id}",
    summary="Change a branch",
    response=BranchOut,
    body=BranchPatch,
)
def patch_branch(call: Call) -> BranchOut:
    branch = service.get_branch_for_user(call.db, call.who, call.int_param("branch_id"), "edit")
    current = {name: getattr(branch, name) for name in service.BranchIn.model_fields}
    changes = call.body.model_dump(exclude_unset=True)
    moved = any(k in changes and changes[k] != current[k] for k in ("postal_code", "country"))
    if moved and "county_id" not in changes:
        changes["county_id"] = None  # derived again from the new address
    data = validate(service.BranchIn, {**current, **changes})
    service.save_branch(call.db, call.who, branch, data)
    call.db.refresh(branch)
    return branch_out(branch)


@api.operation("DELETE", "/branches/{branch_id}", summary="Remove a branch", status=204)
def delete_branch(call: Call) -> None:
    branch = service.get_branch_for_user(call.db, call.who, call.int_param("branch_id"), "edit")
    service.delete_branch(call.db, branch)


# -- persons --------------------------------------------------------------------------


@api.operation(
    "GET",
    "/persons",
    summary="Persons at partners you may see, by id",
    response=PersonOut,
    query=ContactQuery,
    paginated=True,
)
def list_persons(call: Call) -> tuple[list[PersonOut], str | None]:
    q: ContactQuery = call.query
    query = service.person_query(call.who, partner_id=q.partner_id, q=q.q)
    after = q.after_id()
    if after is not None:
        query = query.where(Person.id > after)
    options = (joinedload(Person.partner), joinedload(Person.branch))
    query = query.options(*options).order_by(None).order_by(Person.id).limit(q.limit + 1)
    page, cursor = page_of(list(call.db.scalars(query)), q.limit)
    return [person_out(p) for p in page], cursor


@api.operation(
    "POST",
    "/persons",
    summary="Add a person to a partner",
    response=PersonOut,
    body=service.PersonIn,
    status=201,
)
def create_person(call: Call) -> PersonOut:
    person = service.save_person(call.db, call.who, None, call.body)
    call.db.refresh(person)
    return person_out(person)


@api.operation("GET", "/persons/{person_id}", summary="One person", response=PersonOut)
def get_person(call: Call) -> PersonOut:
    return person_out(service.get_person_for_user(call.db, call.who, call.int_param("person_id")))


@api.operation(
    "PATCH", "/persons/{person_id}", summary="Change a person", response=PersonOut, body=PersonPatch
)
def patch_person(call: Call) -> PersonOut:
    person = service.get_person_for_user(call.db, call.who, call.int_param("person_id"), "edit")
    current = {name: getattr(person, name) for name in service.PersonIn.model_fields}
    current["external_id"] = person.external_id or ""
    data = validate(service.PersonIn, {**current, **call.body.model_dump(exclude_unset=True)})
    service.save_person(call.db, call.who, person, data)
    call.db.refresh(person)
    return person_out(person)


@api.operation("DELETE", "/persons/{person_id}", summary="Remove a person", status=204)
def delete_person(call: Call) -> None:
    person = service.get_person_for_user(call.db, call.who, call.int_param("person_id"), "edit")
    service.delete_person(call.db, person)
