"""Bulk actions of the partner list: giving partners to another rep and tagging them,
each with its undo (see :mod:`groupware.lists.bulk`).

Giving partners to a rep is what choosing their reps by hand does for one partner
(:func:`groupware.crm.partners.set_reps`): the new primary rep, the further reps kept,
and the assignment table leaving them alone from then on. It takes the right to change
who a partner is shared with (:func:`~groupware.access.policy.require_share`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, require_share
from groupware.accounts.users import active_user_choices
from groupware.crm import fields
from groupware.crm.models import Partner, PartnerRep, PartnerTag, Tag
from groupware.crm.partners import get_partner_for_user, set_reps
from groupware.errors import Invalid
from groupware.i18n import _l
from groupware.validation import parse_id


def rep_choices(session: Session, who: Who) -> list[tuple[str, str]]:
    return [(str(user_id), name) for user_id, name in active_user_choices(session)]


def _reps(partner: Partner) -> list[list[Any]]:
    return [[rep.user_id, rep.source] for rep in partner.reps]


def reassign(session: Session, who: Who, ids: Sequence[int], value: str) -> dict[str, Any]:
    """Make the user ``value`` the primary rep of the partners ``ids`` (each loaded for
    edit, with the right to change its reps); what each had, for the undo."""
    owner_id = parse_id(value)
    if owner_id is None:
        raise Invalid({"value": _l("Choose an active user.")})
    old: dict[str, Any] = {}
    for partner_id in ids:
        partner = get_partner_for_user(session, who, partner_id, "edit")
        require_share(session, who, partner)
        old[str(partner.id)] = {
            "owner_id": partner.owner_id,
            "manual": partner.manual_assignment,
            "rule_id": partner.assignment_rule_id,
            "reps": _reps(partner),
        }
        further = [rep.user_id for rep in partner.reps if rep.user_id != owner_id]
        set_reps(session, partner, owner_id=owner_id, rep_ids=further)
    return {"new": owner_id, "old": old}


def take_back_reassign(session: Session, who: Who, payload: dict[str, Any]) -> int:
    """Give the partners their reps back, unless someone changed them since (their
    primary rep is no longer the one the bulk action chose). The run was the user's own
    and allowed, so a partner it took out of their sight comes back all the same."""
    restored = 0
    for partner_id, was in payload["old"].items():
        partner = session.get(Partner, int(partner_id))
        if partner is None or partner.owner_id != payload["new"]:
            continue
        partner.owner_id = was["owner_id"]
        partner.manual_assignment = was["manual"]
        partner.assignment_rule_id = was["rule_id"]
        wanted = {int(user_id): source for user_id, source in was["reps"]}
        for rep in list(partner.reps):
            if rep.user_id not in wanted:
                partner.reps.remove(rep)
            else:
                rep.source = wanted.pop(rep.user_id)
        for user_id, source in wanted.items():
            partner.reps.append(PartnerRep(user_id=user_id, source=source))
        restored += 1
    session.flush()
    return restored


def _tag_name(value: str) -> str:
    try:
        names = fields.check_tags([value])
    except fields.FieldProblem as problem:
        raise Invalid({"value": problem.message}) from None
    if len(names) != 1:
        raise Invalid({"value": _l("Give one tag.")})
    return names[0]


def tag(session: Session, who: Who, ids: Sequence[int], value: str) -> dict[str, Any]:
    """Give the partners ``ids`` (each loaded for edit) the tag ``value``; which of them
    did not have it, for the undo."""
    name = _tag_name(value)
    found = session.scalar(select(Tag).where(Tag.name == name))
    if found is None:
        found = Tag(name=name)
        session.add(found)
        session.flush()
    added: list[int] = []
    for partner_id in ids:
        partner = get_partner_for_user(session, who, partner_id, "edit")
        has = session.scalar(
            select(PartnerTag).where(
                PartnerTag.partner_id == partner.id, PartnerTag.tag_id == found.id
            )
        )
        if has is None:
            session.add(PartnerTag(partner_id=partner.id, tag_id=found.id, tag=found))
            added.append(partner.id)
    session.flush()
    return {"tag_id": found.id, "added": added}


def untag(session: Session, who: Who, payload: dict[str, Any]) -> int:
    """Take the tag off the partners that got it from the bulk action."""
    links = list(
        session.scalars(
            select(PartnerTag).where(
                PartnerTag.tag_id == payload["tag_id"], PartnerTag.partner_id.in_(payload["added"])
            )
        )
    )
    for link in links:
        session.delete(link)
    session.flush()
    return len(links)
