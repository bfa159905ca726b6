"""API of the CRM: ``/partners`` here; branches and persons (:mod:`.api_contacts`),
partner groups, territories and the assignment table (:mod:`groupware.crm.territories.api`) and ERP
documents (:mod:`.api_documents`) add their operations to the same :data:`api`.

Every operation goes through the CRM services and their access helpers, in the
request's one transaction (channel ``api``). Lists are paged by id (``id > cursor``),
a stable order whatever changes between two pages; the web list sorts by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, Field, create_model
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import require_share
from groupware.accounts.models import User
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.crm import partners as service
from groupware.crm.models import Partner, PartnerRep, PartnerTag, Tag
from groupware.errors import Forbidden
from groupware.i18n import _l
from groupware.records import described
from groupware.validation import Id, OptionalId, Schema, validate

api = Api("crm")


class Ref(Out):
    """Another record named by its id and name."""

    id: int
    name: str


class RepOut(BaseModel):
    id: int
    name: str
    primary: bool
    source: Literal["rule", "manual"] = Field(
        description="rule: given by the assignment table; manual: chosen by a person"
    )


def _partner_out_model() -> type[Out]:
    """The API's partner: its id, every column declared for the API (records.describe;
    a reference as the :class:`Ref` of its record), then its reps and tags."""
    columns = Partner.__table__.columns
    fields: dict[str, Any] = {"id": (int, ...)}
    for name, d in described(Partner).items():
        if d.api:
            column = columns[name]
            kind: Any = Ref if d.ref else column.type.python_type
            fields[d.ref or name] = (Optional[kind] if column.nullable else kind, ...)  # noqa: UP045
    fields["reps"] = (
        list[RepOut],
        Field(description="The primary rep first, then the further reps"),
    )
    fields["tags"] = (list[str], ...)
    return create_model("PartnerOut", __base__=Out, **fields)


PartnerOut = _partner_out_model()


class PartnerQuery(PageQuery):
    """The filters of the partner list (:class:`groupware.crm.partners.PartnerFilter`)."""

    q: str = Field(default="", max_length=100, description="Name, an OIB or an e-mail")
    city: str = Field(default="", max_length=100)
    county_id: OptionalId = None
    group_id: OptionalId = None
    territory_id: OptionalId = None
    rep_id: OptionalId = None
    tag: str = Field(default="", max_length=50)
    status: Literal["", "prospect", "active", "inactive"] = ""
    kind: Literal["", "company", "person"] = ""
    unassigned: bool = False

    def to_filter(self) -> service.PartnerFilter:
        return service.PartnerFilter(**self.model_dump(exclude={"limit", "cursor"}))


def _partner_patch() -> type[Schema]:
    """The fields of :class:`~groupware.crm.partners.PartnerIn`, each optional."""
    fields: dict[str, Any] = {}
    for name, field in service.PartnerIn.model_fields.items():
        kind: Any = Optional[field.annotation]  # noqa: UP045
        fields[name] = (Annotated[kind, *field.metadata] if field.metadata else kind, None)
    return create_model(
        "PartnerPatch",
        __base__=Schema,
        __doc__="The fields to change; the others keep their values and the partner is "
        "checked as a whole. A new postal code or country without a county re-derives "
        "the county.",
        **fields,
    )


PartnerPatch = _partner_patch()


class RepsIn(Schema):
    """Reps chosen by hand (the assignment table leaves them alone from then on), or
    ``automatic`` to hand the partner back to the table."""

    owner_id: OptionalId = None
    rep_ids: list[Id] = Field(default_factory=list, max_length=50)
    automatic: bool = False


class DuplicateQuery(BaseModel):
    exclude_id: OptionalId = Field(default=None, description="A partner not to report")


class DuplicateOut(BaseModel):
    reason: Literal["oib", "name_city", "email"]
    partner: Ref | None = Field(description="None when you may not see that partner")


class DuplicatesOut(BaseModel):
    items: list[DuplicateOut]


def partners_out(db: Session, partners: Sequence[Partner]) -> list[Out]:
    """Partners with their reps and tags, in three queries however many there are."""
    ids = [p.id for p in partners]
    tags: dict[int, list[str]] = {i: [] for i in ids}
    reps: dict[int, list[RepOut]] = {i: [] for i in ids}
    if ids:
        for partner_id, tag in db.execute(
            select(PartnerTag.partner_id, Tag.name)
            .join(Tag, Tag.id == PartnerTag.tag_id)
            .where(PartnerTag.partner_id.in_(ids))
            .order_by(Tag.name)
        ):
            tags[partner_id].append(tag)
        for partner_id, user_id, full_name, source in db.execute(
            select(PartnerRep.partner_id, User.id, User.full_name, PartnerRep.source)
            .join(User, User.id == PartnerRep.user_id)
            .where(PartnerRep.partner_id.in_(ids))
            .order_by(User.full_name, User.id)
        ):
            reps[partner_id].append(
                RepOut(id=user_id, name=full_name, primary=False, source=source)
            )
    return [_partner_out(p, reps[p.id], tags[p.id]) for p in partners]


def ref(record: Any) -> Ref | None:
    """A group, county, territory, partner… as a :class:`Ref` (its ``str`` is its name)."""
    return None if record is None else Ref(id=record.id, name=str(record))


def _partner_out(partner: Partner, further: list[RepOut], tags: list[str]) -> Out:
    reps = list(further)
    if partner.owner is not None:
        source: Literal["rule", "manual"] = "manual" if partner.manual_assignment else "rule"
        owner = RepOut(
            id=partner.owner.id, name=partner.owner.full_name, primary=True, source=source
        )
        reps.insert(0, owner)
    return PartnerOut.of(partner, reps=reps, tags=tags)


def _one_out(db: Session, partner: Partner) -> Out:
    """A partner just written: its related records are read again (a re-assignment
    changes the owner and territory under loaded relationships)."""
    db.flush()
    db.expire(partner)
    return partners_out(db, [partner])[0]


@api.operation(
    "GET",
    "/partners",
    summary="Partners you may see that match the filters, by id",
    response=PartnerOut,
    query=PartnerQuery,
    paginated=True,
)
def list_partners(call: Call) -> tuple[list[Out], str | None]:
    q: PartnerQuery = call.query
    query = service.partner_query(call.who, q.to_filter()).order_by(None).order_by(Partner.id)
    after = q.after_id()
    if after is not None:
        query = query.where(Partner.id > after)
    rows = list(call.db.scalars(query.options(*service.PARTNER_OPTIONS).limit(q.limit + 1)))
    page, cursor = page_of(rows, q.limit)
    return partners_out(call.db, page), cursor


@api.operation(
    "POST",
    "/partners",
    summary="Create a partner (its reps come from the assignment table)",
    response=PartnerOut,
    body=service.PartnerIn,
    status=201,
)
def create_partner(call: Call) -> Out:
    partner = service.create_partner(call.db, call.who, call.body)
    return _one_out(call.db, partner)


@api.operation("GET", "/partners/{partner_id}", summary="One partner", response=PartnerOut)
def get_partner(call: Call) -> Out:
    partner = service.get_partner_for_user(call.db, call.who, call.int_param("partner_id"))
    return partners_out(call.db, [partner])[0]


@api.operation(
    "PATCH",
    "/partners/{partner_id}",
    summary="Change a partner; a new address or group re-assigns its reps",
    response=PartnerOut,
    body=PartnerPatch,
)
def patch_partner(call: Call) -> Out:
    partner = service.get_partner_for_user(call.db, call.who, call.int_param("partner_id"), "edit")
    changes = call.body.model_dump(exclude_unset=True)
    current = service.values_of(call.db, partner)
    moved = any(k in changes and changes[k] != current[k] for k in ("postal_code", "country"))
    if moved and "county_id" not in changes:
        changes["county_id"] = None
    data = validate(service.PartnerIn, {**current, **changes})
    service.update_partner(call.db, partner, data, who=call.who)
    return _one_out(call.db, partner)


@api.operation("DELETE", "/partners/{partner_id}", summary="Delete a partner", status=204)
def delete_partner(call: Call) -> None:
    partner = service.get_partner_for_user(
        call.db, call.who, call.int_param("partner_id"), "delete"
    )
    service.delete_partner(call.db, partner)


@api.operation(
    "PUT",
    "/partners/{partner_id}/reps",
    summary="Choose a partner's reps by hand, or hand it back to the assignment table",
    response=PartnerOut,
    body=RepsIn,
)
def set_partner_reps(call: Call) -> Out:
    data: RepsIn = call.body
    partner = service.get_partner_for_user(call.db, call.who, call.int_param("partner_id"), "edit")
    require_share(call.db, call.who, partner)
    service.set_reps(
        call.db, partner, owner_id=data.owner_id, rep_ids=data.rep_ids, automatic=data.automatic
    )
    return _one_out(call.db, partner)


@api.operation(
    "POST",
    "/partners/duplicates",
    summary="Partners that look like this one: same OIB, name and city, or e-mail",
    response=DuplicatesOut,
    body=service.PartnerIn,
    query=DuplicateQuery,
)
def find_partner_duplicates(call: Call) -> DuplicatesOut:
    if not (call.who.can("partners", "create") or call.who.can("partners", "edit")):
        raise Forbidden(_l("You are not allowed to do this."))
    found = service.find_duplicates(call.db, call.who, call.body, exclude_id=call.query.exclude_id)
    return DuplicatesOut(
        items=[DuplicateOut(reason=d.reason, partner=ref(d.partner)) for d in found]
    )
