"""Territories and the assignment table's rules: saving, listing and deleting them.

A territory is a set of areas (a country, narrowed by county, city and/or a range of
postal codes). A rule of the assignment table says: partners in this territory (and of
this partner group, or of any group) go to these reps. Which reps a partner gets from
them is :mod:`groupware.crm.territories.assignment`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from groupware.access.policy import Who, visible
from groupware.accounts.models import User
from groupware.crm.models import (
    AssignmentRule,
    AssignmentRuleRep,
    County,
    Partner,
    PartnerGroup,
    Territory,
    TerritoryArea,
)
from groupware.crm.normalize import clean_postal
from groupware.crm.reference import is_country
from groupware.db import holder_of
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.validation import Id, LocalWhole, OptionalId, Schema, fail

# -- schemas ------------------------------------------------------------------------


class AreaIn(Schema):
    country: str = Field(default="HR", min_length=2, max_length=2)
    county_id: OptionalId = None
    city: str = Field(default="", max_length=100)
    postal_from: str = Field(default="", max_length=10)
    postal_to: str = Field(default="", max_length=10)

    @model_validator(mode="after")
    def _range(self) -> AreaIn:
        self.country = self.country.upper()
        if not is_country(self.country):
            raise fail(_l("Choose a country."))
        if self.postal_from and self.postal_to and self.postal_from > self.postal_to:
            raise fail(_l("The postal range ends before it starts."))
        return self


class TerritoryIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    areas: list[AreaIn] = Field(default_factory=list)


class RuleIn(Schema):
    territory_id: Id
    group_id: OptionalId = None
    priority: LocalWhole = Field(default=100, ge=0, le=100000)
    rep_ids: list[Id] = Field(min_length=1)
    is_active: bool = True
    note: str = Field(default="", max_length=300)


# -- territories and rules ----------------------------------------------------------


def get_territory(session: Session, territory_id: int) -> Territory:
    territory = session.get(Territory, territory_id, options=[selectinload(Territory.areas)])
    if territory is None:
        raise NotFound(_l("There is no such territory."))
    return territory


def list_territories(session: Session) -> list[Territory]:
    query = select(Territory).options(selectinload(Territory.areas)).order_by(Territory.name)
    return list(session.scalars(query))


def county_names(session: Session) -> dict[int, str]:
    return {county_id: name for county_id, name in session.execute(select(County.id, County.name))}


def county_choices(session: Session) -> list[tuple[int, str]]:
    """Every county as ``(id, name)``, by name: the options of an area's county select."""
    rows = session.execute(select(County.id, County.name).order_by(County.name))
    return [(county_id, name) for county_id, name in rows]


def county_countries(session: Session) -> dict[int, str]:
    """The country of each county, by county id."""
    return {i: country for i, country in session.execute(select(County.id, County.country))}


def partner_counts(session: Session, who: Who) -> dict[int, int]:
    """Partners per territory, of those ``who`` may see."""
    rows = session.execute(
        select(Partner.territory_id, func.count())
        .where(Partner.territory_id.is_not(None), Partner.status != "merged", visible(Partner, who))
        .group_by(Partner.territory_id)
    )
    return {territory_id: count for territory_id, count in rows if territory_id is not None}


def _check_counties(session: Session, areas: Sequence[AreaIn]) -> None:
    for index, area in enumerate(areas):
        if area.county_id is None:
            continue
        county = session.get(County, area.county_id)
        if county is None or county.country != area.country:
            raise Invalid({f"areas.{index}.county_id": _l("Choose a county of that country.")})


def save_territory(session: Session, territory: Territory | None, data: TerritoryIn) -> Territory:
    """Create a territory or replace its name, description and areas."""
    other = holder_of(session, Territory.name, data.name)
    if other is not None and (territory is None or other != territory.id):
        raise Invalid({"name": _l("Another territory has this name.")})
    _check_counties(session, data.areas)
    if territory is None:
        territory = Territory(name=data.name)
        session.add(territory)
    territory.name = data.name
    territory.description = data.description
    wanted = [
        (
            a.country,
            a.county_id,
            a.city.strip(),
            clean_postal(a.postal_from),
            clean_postal(a.postal_to),
        )
        for a in data.areas
    ]
    kept: list[TerritoryArea] = []
    for area in list(territory.areas):
        key = (area.country, area.county_id, area.city, area.postal_from, area.postal_to)
        if key in wanted:
            wanted.remove(key)
            kept.append(area)
        else:
            territory.areas.remove(area)
    for country, county_id, city, postal_from, postal_to in wanted:
        territory.areas.append(
            TerritoryArea(
                country=country,
                county_id=county_id,
                city=city,
                postal_from=postal_from,
                postal_to=postal_to,
            )
        )
    session.flush()
    return territory


def delete_territory(session: Session, territory: Territory) -> None:
    in_use = session.scalar(select(Partner.id).where(Partner.territory_id == territory.id).limit(1))
    if in_use is not None:
        raise Invalid({"": _l("Partners are still in this territory; re-assign them first.")})
    for rule in session.scalars(
        select(AssignmentRule).where(AssignmentRule.territory_id == territory.id)
    ):
        session.delete(rule)
    session.delete(territory)
    session.flush()


def list_rules(session: Session) -> list[AssignmentRule]:
    query = (
        select(AssignmentRule)
        .options(
            selectinload(AssignmentRule.reps).selectinload(AssignmentRuleRep.user),
            selectinload(AssignmentRule.territory),
            selectinload(AssignmentRule.group),
        )
        .order_by(AssignmentRule.priority, AssignmentRule.group_id.is_(None), AssignmentRule.id)
    )
    return list(session.scalars(query))


def get_rule(session: Session, rule_id: int) -> AssignmentRule:
    rule = session.get(AssignmentRule, rule_id, options=[selectinload(AssignmentRule.reps)])
    if rule is None:
        raise NotFound(_l("There is no such rule."))
    return rule


def save_rule(session: Session, rule: AssignmentRule | None, data: RuleIn) -> AssignmentRule:
    if session.get(Territory, data.territory_id) is None:
        raise Invalid({"territory_id": _l("There is no such territory.")})
    if data.group_id is not None and session.get(PartnerGroup, data.group_id) is None:
        raise Invalid({"group_id": _l("There is no such partner group.")})
    if len(set(data.rep_ids)) != len(data.rep_ids):
        raise Invalid({"rep_ids": _l("Each rep can be named once.")})
    active = set(session.scalars(select(User.id).where(User.id.in_(data.rep_ids), User.is_active)))
    if active != set(data.rep_ids):
        raise Invalid({"rep_ids": _l("Choose active users.")})
    if rule is None:
        rule = AssignmentRule()
        session.add(rule)
    rule.territory_id = data.territory_id
    rule.group_id = data.group_id
    rule.priority = data.priority
    rule.is_active = data.is_active
    rule.note = data.note
    current = {rep.user_id: rep for rep in rule.reps}
    for rep in list(rule.reps):
        if rep.user_id not in data.rep_ids:
            rule.reps.remove(rep)
    for position, user_id in enumerate(data.rep_ids):
        if user_id in current:
            current[user_id].position = position
        else:
            rule.reps.append(
                AssignmentRuleRep(
                    user_id=user_id, position=position, user=session.get(User, user_id)
                )
            )
    session.flush()
    return rule


def delete_rule(session: Session, rule: AssignmentRule) -> None:
    session.delete(rule)
    session.flush()
