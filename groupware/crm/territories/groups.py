"""Partner groups: a classification an admin edits ("Retail", "Wholesale", ...) that
partners belong to and rules of the assignment table may name.

A group is deleted only when no partner and no rule uses it: deleting it under them
would silently move partners to "no group" or drop rules of the table.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, visible
from groupware.crm.models import AssignmentRule, Partner, PartnerGroup
from groupware.db import holder_of
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.validation import Schema


class GroupIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)


def get_group(session: Session, group_id: int) -> PartnerGroup:
    group = session.get(PartnerGroup, group_id)
    if group is None:
        raise NotFound(_l("There is no such partner group."))
    return group


def list_groups(session: Session, who: Who) -> list[tuple[PartnerGroup, int]]:
    """Every group by name, with the number of its partners ``who`` may see (merged
    ones left out): a count of partners out of sight would tell about them."""
    counts = (
        select(Partner.group_id, func.count().label("n"))
        .where(Partner.group_id.is_not(None), Partner.status != "merged", visible(Partner, who))
        .group_by(Partner.group_id)
        .subquery()
    )
    query = (
        select(PartnerGroup, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.group_id == PartnerGroup.id)
        .order_by(PartnerGroup.name, PartnerGroup.id)
    )
    return [(group, int(n)) for group, n in session.execute(query)]


def _check_name(session: Session, name: str, group_id: int | None) -> None:
    if holder_of(session, PartnerGroup.name, name) not in (None, group_id):
        raise Invalid({"name": _l("Another partner group has this name.")})


def create_group(session: Session, data: GroupIn) -> PartnerGroup:
    _check_name(session, data.name, None)
    group = PartnerGroup(name=data.name, description=data.description)
    session.add(group)
    session.flush()
    return group


def update_group(session: Session, group: PartnerGroup, data: GroupIn) -> PartnerGroup:
    _check_name(session, data.name, group.id)
    group.name = data.name
    group.description = data.description
    session.flush()
    return group


def delete_group(session: Session, group: PartnerGroup) -> None:
    """Delete an unused group; one that partners or rules use is refused."""
    # Merged partners count too: their rows still point at the group.
    if session.scalar(select(Partner.id).where(Partner.group_id == group.id).limit(1)):
        raise Invalid({"": _l("Partners are still in this group; move them to another first.")})
    if session.scalar(
        select(AssignmentRule.id).where(AssignmentRule.group_id == group.id).limit(1)
    ):
        raise Invalid(
            {"": _l("Rules of the assignment table name this group; change or delete them first.")}
        )
    session.delete(group)
    session.flush()
