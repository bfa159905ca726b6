"""API: ``/partner-groups``, ``/territories``, ``/assignment-rules`` and the re-assignment
of every partner by the table (operations of :data:`api`).

Anyone who may see partners reads these lists; changing them takes the "admin" right
of the partners module.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from groupware.access.policy import Who, require
from groupware.accounts.models import User
from groupware.api import Api, Call, Out
from groupware.crm import partners
from groupware.crm.api import Ref
from groupware.crm.models import AssignmentRule, PartnerGroup, Territory, TerritoryArea
from groupware.crm.territories import assignment, groups, service
from groupware.validation import Id, OptionalId, Schema, validate

api = Api("crm")

SAMPLE = 100  # changes listed by a re-assignment


class GroupOut(Out):
    id: int
    name: str
    description: str


class GroupPatch(Schema):
    name: str | None = None
    description: str | None = None


class AreaOut(Out):
    id: int
    country: str
    county: Ref | None
    city: str
    postal_from: str
    postal_to: str


class TerritoryOut(Out):
    id: int
    name: str
    description: str
    areas: list[AreaOut]


class TerritoryPatch(Schema):
    """The fields to change; ``areas``, when given, replace all areas."""

    name: str | None = None
    description: str | None = None
    areas: list[service.AreaIn] | None = None


class RuleOut(Out):
    id: int
    territory: Ref
    group: Ref | None = Field(description="None: partners of any group")
    priority: int
    is_active: bool
    note: str
    reps: list[Ref] = Field(description="The first becomes the primary rep")


class RulePatch(Schema):
    territory_id: OptionalId = None
    group_id: OptionalId = None
    priority: int | None = Field(default=None, ge=0, le=100000)
    rep_ids: list[Id] | None = None
    is_active: bool | None = None
    note: str | None = None


class ReassignIn(Schema):
    dry_run: bool = True
    force: bool = Field(default=False, description="Re-assign reps chosen by hand too")


class ChangeOut(BaseModel):
    partner: Ref
    old_owner: Ref | None
    new_owner: Ref | None
    old_territory: Ref | None
    new_territory: Ref | None
    old_rule_id: int | None
    new_rule_id: int | None


class ReassignOut(BaseModel):
    dry_run: bool
    force: bool
    changed: int = Field(description="Partners whose rep, territory or rule changes")
    changes: list[ChangeOut] = Field(description=f"The first {SAMPLE} of them, by id")
    unassigned: int = Field(description="Partners without a primary rep (after the run)")


def _require_admin(who: Who) -> None:
    require(who, "partners", "admin")


def _require_view(who: Who) -> None:
    require(who, "partners", "view")


# -- partner groups -----------------------------------------------------------------


def group_out(group: PartnerGroup) -> GroupOut:
    return GroupOut.of(group)


@api.operation(
    "GET", "/partner-groups", summary="Partner groups by name", response=GroupOut, paginated=True
)
def list_partner_groups(call: Call) -> tuple[list[GroupOut], None]:
    _require_view(call.who)
    return [group_out(g) for g in partners.groups(call.db)], None


@api.operation(
    "POST",
    "/partner-groups",
    summary="Add a partner group",
    response=GroupOut,
    body=groups.GroupIn,
    status=201,
)
def create_partner_group(call: Call) -> GroupOut:
    _require_admin(call.who)
    return group_out(groups.create_group(call.db, call.body))


@api.operation(
    "PATCH",
    "/partner-groups/{group_id}",
    summary="Rename or describe a partner group",
    response=GroupOut,
    body=GroupPatch,
)
def patch_partner_group(call: Call) -> GroupOut:
    _require_admin(call.who)
    group = groups.get_group(call.db, call.int_param("group_id"))
    current = {"name": group.name, "description": group.description}
    data = validate(groups.GroupIn, {**current, **call.body.model_dump(exclude_unset=True)})
    return group_out(groups.update_group(call.db, group, data))


@api.operation(
    "DELETE",
    "/partner-groups/{group_id}",
    summary="Delete a partner group no partner or rule uses",
    status=204,
)
def delete_partner_group(call: Call) -> None:
    _require_admin(call.who)
    groups.delete_group(call.db, groups.get_group(call.db, call.int_param("group_id")))


# -- territories ----------------------------------------------------------------------


def territory_out(territory: Territory) -> TerritoryOut:
    return TerritoryOut.of(territory)


def _territory(call: Call) -> Territory:
    return service.get_territory(call.db, call.int_param("territory_id"))


def _saved(db: Session) -> None:
    """Flush, and read everything again on the way out (new areas and reps were added
    without their related rows)."""
    db.flush()
    db.expire_all()


@api.operation(
    "GET",
    "/territories",
    summary="Territories with their areas, by name",
    response=TerritoryOut,
    paginated=True,
)
def list_territories(call: Call) -> tuple[list[TerritoryOut], None]:
    _require_view(call.who)
    query = (
        select(Territory)
        .options(selectinload(Territory.areas).joinedload(TerritoryArea.county))
        .order_by(Territory.name)
    )
    return [territory_out(t) for t in call.db.scalars(query)], None


@api.operation("GET", "/territories/{territory_id}", summary="One territory", response=TerritoryOut)
def get_territory(call: Call) -> TerritoryOut:
    _require_view(call.who)
    return territory_out(_territory(call))


@api.operation(
    "POST",
    "/territories",
    summary="Add a territory",
    response=TerritoryOut,
    body=service.TerritoryIn,
    status=201,
)
def create_territory(call: Call) -> TerritoryOut:
    _require_admin(call.who)
    territory = service.save_territory(call.db, None, call.body)
    _saved(call.db)
    return territory_out(territory)


@api.operation(
    "PATCH",
    "/territories/{territory_id}",
    summary="Change a territory (partners move when the table is applied again)",
    response=TerritoryOut,
    body=TerritoryPatch,
)
def patch_territory(call: Call) -> TerritoryOut:
    _require_admin(call.who)
    territory = _territory(call)
    current: dict[str, Any] = {
        "name": territory.name,
        "description": territory.description,
        "areas": [
            {
                "country": a.country,
                "county_id": a.county_id,
                "city": a.city,
                "postal_from": a.postal_from,
                "postal_to": a.postal_to,
            }
            for a in territory.areas
        ],
    }
    changes = call.body.model_dump(exclude_unset=True)
    data = validate(service.TerritoryIn, {**current, **changes})
    service.save_territory(call.db, territory, data)
    _saved(call.db)
    return territory_out(territory)


@api.operation(
    "DELETE",
    "/territories/{territory_id}",
    summary="Delete a territory no partner is in, with its rules",
    status=204,
)
def delete_territory(call: Call) -> None:
    _require_admin(call.who)
    service.delete_territory(call.db, _territory(call))


# -- the assignment table ---------------------------------------------------------------


def rule_out(rule: AssignmentRule) -> RuleOut:
    return RuleOut.of(rule, reps=[Ref(id=r.user_id, name=r.user.full_name) for r in rule.reps])


def _rule(call: Call) -> AssignmentRule:
    return service.get_rule(call.db, call.int_param("rule_id"))


@api.operation(
    "GET",
    "/assignment-rules",
    summary="The assignment table, best rules first",
    response=RuleOut,
    paginated=True,
)
def list_assignment_rules(call: Call) -> tuple[list[RuleOut], None]:
    _require_view(call.who)
    return [rule_out(r) for r in service.list_rules(call.db)], None


@api.operation(
    "GET", "/assignment-rules/{rule_id}", summary="One assignment rule", response=RuleOut
)
def get_assignment_rule(call: Call) -> RuleOut:
    _require_view(call.who)
    return rule_out(_rule(call))


@api.operation(
    "POST",
    "/assignment-rules",
    summary="Add a row to the assignment table",
    response=RuleOut,
    body=service.RuleIn,
    status=201,
)
def create_assignment_rule(call: Call) -> RuleOut:
    _require_admin(call.who)
    rule = service.save_rule(call.db, None, call.body)
    _saved(call.db)
    return rule_out(rule)


@api.operation(
    "PATCH",
    "/assignment-rules/{rule_id}",
    summary="Change a row of the assignment table",
    response=RuleOut,
    body=RulePatch,
)
def patch_assignment_rule(call: Call) -> RuleOut:
    _require_admin(call.who)
    rule = _rule(call)
    current = {
        "territory_id": rule.territory_id,
        "group_id": rule.group_id,
        "priority": rule.priority,
        "rep_ids": [r.user_id for r in rule.reps],
        "is_active": rule.is_active,
        "note": rule.note,
    }
    data = validate(service.RuleIn, {**current, **call.body.model_dump(exclude_unset=True)})
    service.save_rule(call.db, rule, data)
    _saved(call.db)
    return rule_out(rule)


@api.operation(
    "DELETE", "/assignment-rules/{rule_id}", summary="Delete an assignment rule", status=204
)
def delete_assignment_rule(call: Call) -> None:
    _require_admin(call.who)
    service.delete_rule(call.db, _rule(call))


@api.operation(
    "POST",
    "/territories/reassign",
    summary="Apply the assignment table to every partner, or only preview it (dry run)",
    response=ReassignOut,
    body=ReassignIn,
)
def reassign_partners(call: Call) -> ReassignOut:
    _require_admin(call.who)
    data: ReassignIn = call.body
    matcher = assignment.load_matcher(call.db)
    total, sample = assignment.preview_reassignment(
        call.db, matcher, force=data.force, limit=SAMPLE
    )
    if not data.dry_run:
        total = assignment.reassign_all(call.db, matcher, force=data.force)
    return ReassignOut(
        dry_run=data.dry_run,
        force=data.force,
        changed=total,
        changes=_changes_out(call.db, sample),
        unassigned=assignment.unassigned_count(call.db),
    )


def _changes_out(db: Session, changes: list[assignment.Change]) -> list[ChangeOut]:
    user_ids = {i for c in changes for i in (c.old_owner_id, c.new_owner_id) if i}
    territory_ids = {i for c in changes for i in (c.old_territory_id, c.new_territory_id) if i}
    users = {
        i: name
        for i, name in db.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))
    }
    names = {
        i: name
        for i, name in db.execute(
            select(Territory.id, Territory.name).where(Territory.id.in_(territory_ids))
        )
    }

    def named(table: dict[int, str], key: int | None) -> Ref | None:
        return None if key is None else Ref(id=key, name=table.get(key, ""))

    return [
        ChangeOut(
            partner=Ref(id=c.partner_id, name=c.name),
            old_owner=named(users, c.old_owner_id),
            new_owner=named(users, c.new_owner_id),
            old_territory=named(names, c.old_territory_id),
            new_territory=named(names, c.new_territory_id),
            old_rule_id=c.old_rule_id,
            new_rule_id=c.rule_id,
        )
        for c in changes
    ]
