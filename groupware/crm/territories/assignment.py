"""The assignment table at work: which reps a partner gets, and why.

When several rules fit a partner, the lowest priority wins, then a rule naming the
group over one for any group, then the older rule. The first rep of the winning rule
becomes the primary rep (``Partner.owner_id``), the others further reps
(``partner_reps`` rows marked ``rule``).

:class:`Matcher` holds the whole table in memory and answers in a dictionary lookup
for an address it has seen before, so assigning a million imported partners costs
little. Assignment runs on create, on import, when a partner's address or group
changes, and on demand for all (:func:`reassign_all`, with a dry run). A partner whose
reps were chosen by hand keeps them unless the caller forces re-assignment; its
territory still follows its address. Partners no rule covers get no primary rep and
show in the "unassigned" queue.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from groupware.access.policy import Who, visible
from groupware.accounts.models import User
from groupware.crm.models import (
    AssignmentRule,
    AssignmentRuleRep,
    Partner,
    PartnerRep,
    Territory,
    TerritoryArea,
)
from groupware.crm.normalize import clean_postal, search_text
from groupware.db import utcnow
from groupware.history.recorder import record

# -- matching -------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """What the table gives a partner: a territory, and a rule with its reps."""

    territory_id: int | None
    rule_id: int | None = None
    rep_ids: tuple[int, ...] = ()

    @property
    def owner_id(self) -> int | None:
        return self.rep_ids[0] if self.rep_ids else None


NOBODY = Assignment(None)


@dataclass(frozen=True)
class _Area:
    territory_id: int
    county_id: int | None
    city: str
    postal_from: str
    postal_to: str

    def covers(self, county_id: int | None, city: str, postal: str) -> bool:
        if self.county_id is not None and self.county_id != county_id:
            return False
        if self.city and self.city != city:
            return False
        if self.postal_from and (not postal or postal < self.postal_from):
            return False
        return not (self.postal_to and (not postal or postal > self.postal_to))


@dataclass
class Matcher:
    """The assignment table in memory. Build it with :func:`load_matcher`."""

    areas: dict[str, list[_Area]] = field(default_factory=dict)
    # territory -> [(priority, any group?, rule id, group id, rep ids)], best first
    rules: dict[int, list[tuple[int, bool, int, int | None, tuple[int, ...]]]] = field(
        default_factory=dict
    )
    # territory ids in name order: when areas of several territories cover an address,
    # the first territory by name wins (a stable, visible choice).
    territory_order: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.match = functools.lru_cache(maxsize=65536)(self._match)  # type: ignore[method-assign]

    def match(  # replaced by a cached version in __post_init__
        self, country: str, county_id: int | None, city: str, postal: str, group_id: int | None
    ) -> Assignment:
        return self._match(country, county_id, city, postal, group_id)

    def _match(
        self, country: str, county_id: int | None, city: str, postal: str, group_id: int | None
    ) -> Assignment:
        """``city`` is in :func:`search_text` form, ``postal`` without spaces.

        Of the rules of every territory that covers the address, the best by (priority,
        group before any group, age) wins, whichever territory it belongs to; without
        a fitting rule the partner is unassigned in the first such territory by name."""
        territories = sorted(
            {
                a.territory_id
                for a in self.areas.get(country, ())
                if a.covers(county_id, city, postal)
            },
            key=lambda t: self.territory_order.get(t, 0),
        )
        best: tuple[int, bool, int, int | None, tuple[int, ...]] | None = None
        best_territory = None
        for territory_id in territories:
            for entry in self.rules.get(territory_id, ()):
                rule_group = entry[3]
                if (rule_group is None or rule_group == group_id) and (
                    best is None or entry < best
                ):
                    best, best_territory = entry, territory_id
                    break  # entries are sorted: the first fitting one is this territory's best
        if best is not None:
            return Assignment(best_territory, best[2], best[4])
        return Assignment(territories[0] if territories else None)

    def for_partner(self, partner: Partner) -> Assignment:
        return self.match(
            partner.country,
            partner.county_id,
            search_text(partner.city),
            clean_postal(partner.postal_code),
            partner.group_id,
        )


def load_matcher(session: Session) -> Matcher:
    matcher = Matcher()
    names = session.execute(select(Territory.id).order_by(Territory.name, Territory.id))
    matcher.territory_order = {tid: index for index, (tid,) in enumerate(names)}
    for area in session.scalars(select(TerritoryArea)):
        matcher.areas.setdefault(area.country, []).append(
            _Area(
                area.territory_id,
                area.county_id,
                search_text(area.city),
                area.postal_from,
                area.postal_to,
            )
        )
    reps: dict[int, list[int]] = {}
    for rule_id, user_id in session.execute(
        select(AssignmentRuleRep.rule_id, AssignmentRuleRep.user_id)
        .join(User, User.id == AssignmentRuleRep.user_id)
        .where(User.is_active)
        .order_by(AssignmentRuleRep.rule_id, AssignmentRuleRep.position)
    ):
        reps.setdefault(rule_id, []).append(user_id)
    for rule in session.scalars(select(AssignmentRule).where(AssignmentRule.is_active)):
        rule_reps = tuple(reps.get(rule.id, ()))
        if not rule_reps:
            continue  # a rule whose reps all left gives nobody; the partner is unassigned
        matcher.rules.setdefault(rule.territory_id, []).append(
            (rule.priority, rule.group_id is None, rule.id, rule.group_id, rule_reps)
        )
    for entries in matcher.rules.values():
        entries.sort()
    return matcher


# -- applying ---------------------------------------------------------------------------


def apply(
    session: Session, partner: Partner, assignment: Assignment, *, force: bool = False
) -> bool:
    """Give ``partner`` what the table says (through the session: history records the
    rule); a hand-made choice of reps stays unless ``force``. True if anything changed."""
    changed = partner.territory_id != assignment.territory_id
    partner.territory_id = assignment.territory_id
    if partner.manual_assignment and not force:
        return changed
    partner.manual_assignment = False
    before = (partner.owner_id, partner.assignment_rule_id)
    partner.owner_id = assignment.owner_id
    partner.assignment_rule_id = assignment.rule_id
    changed = changed or before != (partner.owner_id, partner.assignment_rule_id)
    further = set(assignment.rep_ids[1:])
    for rep in list(partner.reps):
        replaced = (force or rep.source == "rule") and rep.user_id not in further
        if replaced or rep.user_id == partner.owner_id:
            partner.reps.remove(rep)
            changed = True
    present = {rep.user_id for rep in partner.reps}
    for user_id in assignment.rep_ids[1:]:
        if user_id not in present:
            partner.reps.append(
                PartnerRep(user_id=user_id, source="rule", user=session.get(User, user_id))
            )
            changed = True
    return changed


@dataclass(frozen=True)
class Change:
    """A partner whose reps the table would change, for the dry-run preview."""

    partner_id: int
    name: str
    old_owner_id: int | None
    new_owner_id: int | None
    old_territory_id: int | None
    new_territory_id: int | None
    rule_id: int | None
    old_rule_id: int | None


_SCAN_COLUMNS = (
    Partner.id,
    Partner.name,
    Partner.country,
    Partner.county_id,
    Partner.city,
    Partner.postal_code,
    Partner.group_id,
    Partner.owner_id,
    Partner.territory_id,
    Partner.assignment_rule_id,
    Partner.manual_assignment,
)


def _changes(
    session: Session, matcher: Matcher, *, force: bool, batch: int
) -> Iterator[list[Change]]:
    """Every partner the table would change, in batches of ``batch`` scanned rows."""
    last_id = 0
    while True:
        rows = session.execute(
            select(*_SCAN_COLUMNS)
            .where(Partner.id > last_id, Partner.status != "merged")
            .order_by(Partner.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        found: list[Change] = []
        for row in rows:
            new = matcher.match(
                row.country,
                row.county_id,
                search_text(row.city),
                clean_postal(row.postal_code),
                row.group_id,
            )
            keep_reps = row.manual_assignment and not force
            new_owner = row.owner_id if keep_reps else new.owner_id
            new_rule = row.assignment_rule_id if keep_reps else new.rule_id
            if (row.owner_id, row.territory_id, row.assignment_rule_id) != (
                new_owner,
                new.territory_id,
                new_rule,
            ):
                found.append(
                    Change(
                        row.id,
                        row.name,
                        row.owner_id,
                        new_owner,
                        row.territory_id,
                        new.territory_id,
                        new_rule,
                        row.assignment_rule_id,
                    )
                )
        yield found


def preview_reassignment(
    session: Session, matcher: Matcher, *, force: bool = False, limit: int = 200
) -> tuple[int, list[Change]]:
    """The dry run: how many partners would change, and the first ``limit`` of them."""
    total = 0
    sample: list[Change] = []
    for found in _changes(session, matcher, force=force, batch=5000):
        total += len(found)
        sample.extend(found[: max(0, limit - len(sample))])
    return total, sample


def reassign_all(session: Session, matcher: Matcher, *, force: bool = False) -> int:
    """Apply the table to every partner, in batches, with a history row per change
    naming the rule. Further reps from rules follow; hand-made reps stay unless
    ``force``. Returns the number of partners changed."""
    count = 0
    for found in _changes(session, matcher, force=force, batch=5000):
        if found:
            _apply_batch(session, matcher, found, force=force)
            count += len(found)
    return count


def _apply_batch(
    session: Session, matcher: Matcher, changes: Sequence[Change], *, force: bool
) -> None:
    ids = [c.partner_id for c in changes]
    # Partners that get the same thing are updated together: a few statements per batch
    # instead of one per partner.
    groups: dict[tuple[int | None, int | None, int | None], list[int]] = {}
    for c in changes:
        groups.setdefault((c.new_owner_id, c.new_territory_id, c.rule_id), []).append(c.partner_id)
    for (owner_id, territory_id, rule_id), partner_ids in groups.items():
        values: dict[str, Any] = {
            "owner_id": owner_id,
            "territory_id": territory_id,
            "assignment_rule_id": rule_id,
            "updated_at": utcnow(),
        }
        if force:
            values["manual_assignment"] = False
        session.execute(
            update(Partner)
            .where(Partner.id.in_(partner_ids))
            .values(values)
            .execution_options(synchronize_session=False)
        )
    rule_reps = _rule_reps(matcher)
    reassigned = [
        c for c in changes if c.rule_id != c.old_rule_id or c.new_owner_id != c.old_owner_id
    ]
    if reassigned:
        session.execute(
            delete(PartnerRep).where(
                PartnerRep.partner_id.in_([c.partner_id for c in reassigned]),
                PartnerRep.source == "rule"
                if not force
                else PartnerRep.source.in_(("rule", "manual")),
            )
        )
        rows = [
            {"partner_id": c.partner_id, "user_id": user_id, "source": "rule"}
            for c in reassigned
            if c.rule_id is not None
            for user_id in rule_reps.get(c.rule_id, ())[1:]
        ]
        if rows:
            session.execute(insert(PartnerRep), rows)
    record(session, (_history_row(c) for c in changes))
    # Objects of these partners in the session are now stale.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Partner) and obj.id in ids:
            session.expire(obj)


def _rule_reps(matcher: Matcher) -> dict[int, tuple[int, ...]]:
    return {
        rule_id: reps
        for entries in matcher.rules.values()
        for _priority, _any, rule_id, _group, reps in entries
    }


def _history_row(change: Change) -> dict[str, Any]:
    changes: dict[str, list[Any]] = {}
    for name, old, new in (
        ("owner_id", change.old_owner_id, change.new_owner_id),
        ("territory_id", change.old_territory_id, change.new_territory_id),
        ("assignment_rule_id", change.old_rule_id, change.rule_id),
    ):
        if old != new:
            changes[name] = [old, new]
    return {
        "action": "update",
        "record_type": "partners",
        "record_id": change.partner_id,
        "label": change.name[:300],
        "changes": changes,
    }


def unassigned_count(session: Session, who: Who | None = None) -> int:
    """Partners without a primary rep (of those ``who`` may see, when given)."""
    where = [Partner.owner_id.is_(None), Partner.status != "merged"]
    if who is not None:
        where.append(visible(Partner, who))
    return int(session.scalar(select(func.count()).select_from(Partner).where(*where)) or 0)


def covered_territories(session: Session, user_id: int) -> list[int]:
    """The territories a rep covers through active rules."""
    return list(
        session.scalars(
            select(AssignmentRule.territory_id)
            .join(AssignmentRuleRep, AssignmentRuleRep.rule_id == AssignmentRule.id)
            .where(AssignmentRuleRep.user_id == user_id, AssignmentRule.is_active)
            .distinct()
        )
    )
