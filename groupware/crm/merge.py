"""Merging duplicate partners, and undoing a merge.

A merge keeps one partner and retires the other (status ``merged``, pointing at the
kept one). Everything that pointed at the retired partner moves to the kept one:
persons, branches, documents, reps, tags and shares, and whatever later modules
declare as a :class:`MergeLink` (deals, mail, tasks...). Empty fields of the kept
partner are filled from the retired one. A :class:`PartnerMerge` row remembers what
moved and what was filled, so :func:`undo_merge` puts every row back, provided the
kept partner was not merged away itself since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from groupware import wiring
from groupware.access.models import Share
from groupware.crm.models import (
    Branch,
    Document,
    Partner,
    PartnerMerge,
    PartnerRep,
    PartnerTag,
    Person,
)
from groupware.crm.normalize import city_key, dedup_key
from groupware.crm.partners import PARTNER_OPTIONS
from groupware.crm.territories import assignment
from groupware.db import utcnow
from groupware.errors import Invalid, NotFound
from groupware.history.recorder import record
from groupware.i18n import _l
from groupware.records import described


@dataclass(frozen=True)
class MergeLink:
    """Rows that name a partner and simply move to the kept one: ``column`` is their
    partner column, ``label`` names them in the merge preview. Areas declare theirs.

    A link table naming records of several types (``record_type``, ``record_id``) gives
    ``record_type`` the name of its type column and ``column`` its id column; ``unique``
    names the columns that may point at one partner only once together with it (a
    message filed on both partners stays filed once on the kept one: the retired
    partner's row stays where it was, and undo has nothing to put back for it)."""

    name: str
    column: InstrumentedAttribute[Any]
    label: Any
    record_type: InstrumentedAttribute[Any] | None = None
    unique: tuple[InstrumentedAttribute[Any], ...] = ()

    def rows(self, partner_id: int) -> ColumnElement[bool]:
        """The condition for this link's rows that name ``partner_id``."""
        condition: ColumnElement[bool] = self.column == partner_id
        if self.record_type is not None:
            condition = and_(self.record_type == "partners", condition)
        return condition

    def movable(self, src: int, dst: int) -> ColumnElement[bool]:
        """The rows naming ``src`` that may move to ``dst`` without a duplicate."""
        condition = self.rows(src)
        if self.unique:
            model = self.column.class_
            taken = aliased(model)
            same = [getattr(taken, c.key) == c for c in self.unique]
            theirs = select(taken.id).where(
                *same, getattr(taken, self.column.key) == dst, *self._type_of(taken)
            )
            condition = and_(condition, ~theirs.exists())
        return condition

    def _type_of(self, model: Any) -> list[ColumnElement[bool]]:
        if self.record_type is None:
            return []
        return [getattr(model, self.record_type.key) == "partners"]


PERSONS_LINK = MergeLink("persons", Person.partner_id, _l("Persons"))
BRANCHES_LINK = MergeLink("branches", Branch.partner_id, _l("Branches"))
DOCUMENTS_LINK = MergeLink("documents", Document.partner_id, _l("ERP documents"))
# Fields the kept partner takes from the other when its own is empty (declared on the
# columns: records.Described.fill_on_merge).
FILLED_FIELDS = tuple(name for name, d in described(Partner).items() if d.fill_on_merge)
_UNIQUE_FIELDS = ("oib", "external_id")


def links() -> tuple[MergeLink, ...]:
    """What follows a partner through a merge, as the areas declare it."""
    return wiring.current().merge_links


def moving(session: Session, link: MergeLink, src: int, dst: int) -> int:
    """How many of ``link``'s rows a merge of ``src`` into ``dst`` would move."""
    model = link.column.class_
    count = select(func.count()).select_from(model).where(link.movable(src, dst))
    return session.scalar(count) or 0


def _move(session: Session, link: MergeLink, src: int, dst: int) -> list[int]:
    column = link.column
    model = column.class_
    ids = list(session.scalars(select(model.id).where(link.movable(src, dst))))
    if ids:
        session.execute(update(model).where(model.id.in_(ids)).values({column.key: dst}))
        _remember(session, model, column.key, ids, src, dst)
    return ids


def _remember(session: Session, model: Any, key: str, ids: list[int], src: int, dst: int) -> None:
    """History rows for moved records of a tracked model (links have no history)."""
    if getattr(model, "__tracked__", False):
        record(
            session,
            [
                {
                    "action": "update",
                    "record_type": model.__tablename__,
                    "record_id": row_id,
                    "label": "",
                    "changes": {key: [src, dst]},
                }
                for row_id in ids
            ],
        )


def merge_partners(
    session: Session, kept: Partner, merged: Partner, *, by_user_id: int | None
) -> PartnerMerge:
    """Merge ``merged`` into ``kept`` (both loaded with the caller's access checked)."""
    if kept.id == merged.id:
        raise Invalid({"": _l("Choose two different partners.")})
    if merged.status == "merged" or kept.status == "merged":
        raise Invalid({"": _l("One of these partners was merged already.")})
    original = {
        "owner_id": kept.owner_id,
        "territory_id": kept.territory_id,
        "assignment_rule_id": kept.assignment_rule_id,
        "manual_assignment": kept.manual_assignment,
        "reps": [[r.user_id, r.source] for r in kept.reps],
    }
    moved: dict[str, Any] = {
        link.name: _move(session, link, merged.id, kept.id) for link in links()
    }
    moved["reps"] = _merge_reps(session, kept, merged)
    moved["tags"] = _merge_tags(session, kept.id, merged.id)
    moved["shares"] = _merge_shares(session, kept.id, merged.id)
    kept_before: dict[str, Any] = {}
    merged_before = {"status": merged.status, **{f: getattr(merged, f) for f in _UNIQUE_FIELDS}}
    for name in _UNIQUE_FIELDS:  # free unique values before the kept partner takes them
        setattr(merged, name, None)
    session.flush()
    for name in FILLED_FIELDS:
        mine = getattr(kept, name)
        theirs = merged_before.get(name, getattr(merged, name))
        if not mine and theirs:
            kept_before[name] = mine
            setattr(kept, name, theirs)
    moved["merged_before"] = merged_before
    if kept_before:
        kept.dedup_key = dedup_key(kept.name, kept.city)
        kept.city_search = city_key(kept.city)
        if {"country", "county_id", "city", "postal_code", "group_id"} & set(kept_before):
            # A new address re-assigns the kept partner; remember what it had, for undo.
            moved["assignment_before"] = original
            assignment.apply(session, kept, assignment.load_matcher(session).for_partner(kept))
    merged.status = "merged"
    merged.merged_into_id = kept.id
    row = PartnerMerge(
        kept_id=kept.id,
        merged_id=merged.id,
        merged_by_id=by_user_id,
        moved=moved,
        kept_before=kept_before,
    )
    session.add(row)
    session.flush()
    return row


def _merge_reps(session: Session, kept: Partner, merged: Partner) -> list[int]:
    """The retired partner's reps become further reps of the kept one."""
    present = {kept.owner_id, *(r.user_id for r in kept.reps)}
    added = []
    for user_id in (merged.owner_id, *(r.user_id for r in merged.reps)):
        if user_id is not None and user_id not in present:
            kept.reps.append(PartnerRep(user_id=user_id, source="manual"))
            present.add(user_id)
            added.append(user_id)
    return added


def _merge_tags(session: Session, kept_id: int, merged_id: int) -> list[int]:
    have = set(session.scalars(select(PartnerTag.tag_id).where(PartnerTag.partner_id == kept_id)))
    theirs = set(
        session.scalars(select(PartnerTag.tag_id).where(PartnerTag.partner_id == merged_id))
    )
    added = sorted(theirs - have)
    for tag_id in added:
        session.add(PartnerTag(tag_id=tag_id, partner_id=kept_id))
    return added


def _merge_shares(session: Session, kept_id: int, merged_id: int) -> list[int]:
    """Shares of the retired partner are copied to the kept one (where not present)."""
    existing = session.execute(
        select(Share.user_id, Share.team_id).where(
            Share.record_type == "partners", Share.record_id == kept_id
        )
    ).all()
    added = []
    for share in session.scalars(
        select(Share).where(Share.record_type == "partners", Share.record_id == merged_id)
    ):
        if (share.user_id, share.team_id) in existing:
            continue
        copy = Share(
            record_type="partners",
            record_id=kept_id,
            user_id=share.user_id,
            team_id=share.team_id,
            permission=share.permission,
            created_by_id=share.created_by_id,
        )
        session.add(copy)
        session.flush()
        added.append(copy.id)
    return added


# What moves besides the areas' merge links, as the preview names it.
MOVED_LABELS: dict[str, Any] = {
    "reps": _l("Reps"),
    "tags": _l("Tags"),
    "shares": _l("Shares"),
}


def moving_counts(session: Session, kept: Partner, other: Partner) -> list[tuple[Any, int]]:
    """How many rows of each kind (its label, the count) would move from ``other`` to
    ``kept``: the areas' merge links, then reps, tags and shares the kept one lacks."""
    counts: list[tuple[Any, int]] = []
    for link in links():
        counts.append((link.label, moving(session, link, other.id, kept.id)))
    kept_reps = {kept.owner_id, *(r.user_id for r in kept.reps)}
    reps = len({other.owner_id, *(r.user_id for r in other.reps)} - kept_reps - {None})
    kept_tags = select(PartnerTag.tag_id).where(PartnerTag.partner_id == kept.id)
    tags = (
        session.scalar(
            select(func.count()).where(
                PartnerTag.partner_id == other.id, PartnerTag.tag_id.not_in(kept_tags)
            )
        )
        or 0
    )
    grantees = select(Share.user_id, Share.team_id).where(Share.record_type == "partners")
    kept_grantees = {(u, t) for u, t in session.execute(grantees.where(Share.record_id == kept.id))}
    others = {(u, t) for u, t in session.execute(grantees.where(Share.record_id == other.id))}
    shares = len(others - kept_grantees)
    moved = {"reps": reps, "tags": tags, "shares": shares}
    return counts + [(MOVED_LABELS[name], n) for name, n in moved.items()]


def get_merge(session: Session, merge_id: int) -> PartnerMerge:
    row = session.get(PartnerMerge, merge_id)
    if row is None:
        raise NotFound(_l("There is no such merge."))
    return row


def merges_of(session: Session, partner_id: int) -> list[PartnerMerge]:
    return list(
        session.scalars(
            select(PartnerMerge)
            .where(PartnerMerge.kept_id == partner_id)
            .order_by(PartnerMerge.id.desc())
        )
    )


def merged_partner(session: Session, merge: PartnerMerge) -> Partner:
    """The partner ``merge`` retired. Reached through the merge row, which the kept
    partner's edit right covers; it may be outside the user's own sight."""
    merged = session.get(Partner, merge.merged_id, options=PARTNER_OPTIONS)
    assert merged is not None  # the merge row's foreign key cascades
    return merged


def undo_merge(session: Session, merge: PartnerMerge, kept: Partner, merged: Partner) -> None:
    """Put back what :func:`merge_partners` moved and filled."""
    if merge.undone_at is not None:
        raise Invalid({"": _l("This merge was undone already.")})
    if kept.status == "merged":
        raise Invalid({"": _l("The kept partner was merged into another since; undo that first.")})
    moved = merge.moved
    for merge_link in links():
        ids, column = moved.get(merge_link.name, []), merge_link.column
        model = column.class_
        if ids:
            session.execute(
                update(model)
                .where(model.id.in_(ids), merge_link.rows(kept.id))
                .values({column.key: merged.id})
            )
            _remember(session, model, column.key, ids, kept.id, merged.id)
    for rep in list(kept.reps):
        if rep.user_id in moved.get("reps", []):
            kept.reps.remove(rep)
    if moved.get("tags"):
        for link in session.scalars(
            select(PartnerTag).where(
                PartnerTag.partner_id == kept.id, PartnerTag.tag_id.in_(moved["tags"])
            )
        ):
            session.delete(link)
    for share in session.scalars(select(Share).where(Share.id.in_(moved.get("shares", [])))):
        session.delete(share)
    for name, value in merge.kept_before.items():
        setattr(kept, name, value)
    kept.dedup_key = dedup_key(kept.name, kept.city)
    kept.city_search = city_key(kept.city)
    assignment = moved.get("assignment_before")
    if assignment is not None:
        for name in ("owner_id", "territory_id", "assignment_rule_id", "manual_assignment"):
            setattr(kept, name, assignment[name])
        for rep in list(kept.reps):
            kept.reps.remove(rep)
        session.flush()
        for user_id, source in assignment["reps"]:
            kept.reps.append(PartnerRep(user_id=user_id, source=source))
    session.flush()
    before = moved.get("merged_before", {})
    merged.status = before.get("status", "active")
    merged.merged_into_id = None
    for name in _UNIQUE_FIELDS:
        setattr(merged, name, before.get(name))
    merge.undone_at = utcnow()
    session.flush()
