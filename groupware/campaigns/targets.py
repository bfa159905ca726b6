"""A campaign's target list: partners added from criteria (frozen, then refreshed), a
CSV list, a pick from the partner list, or another campaign's targets; their statuses.

Adding is a change of the campaign (its "edit" right), and only partners the user may
see are ever added: criteria run through the access filter, a CSV row naming a partner
out of sight reads as one naming nobody. A partner is on a list once (the database's
unique constraint; every way of adding skips the ones already there). Each addition or
removal is one row of the campaign's history with the list's size before and after.

Refreshing runs the campaign's criteria again: new matches are added, and targets the
criteria brought that no longer match are dropped only while nothing happened to them
(still "new", no deal, no task); a target with a deal or a response always stays.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from groupware.access.policy import Who, can, visible
from groupware.campaigns import criteria as criteria_
from groupware.campaigns.models import (
    RECORD,
    RESPONSES,
    TARGET_STATUS_LABELS,
    Campaign,
    CampaignTarget,
)
from groupware.campaigns.service import get_campaign_for_user
from groupware.crm.importing import csvfile
from groupware.crm.models import Partner
from groupware.crm.normalize import clean_oib
from groupware.db import const, utcnow
from groupware.errors import Invalid
from groupware.history import recorder
from groupware.i18n import _l, gettext

# What a CSV list's rows are matched by, and the column names each is known by.
CSV_KEYS = {key: csvfile.PARTNER_FIELDS[key] for key in ("oib", "external_id", "email")}
MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_ROW_PROBLEMS = 1000  # listed; the rest are counted
_OIB = re.compile(r"[0-9]{11}")
BATCH = 5000


@dataclass(frozen=True)
class RowProblem:
    """A row of a CSV list that added nothing, and why."""

    row: int
    message: str


@dataclass(frozen=True)
class Added:
    """What a change of the list did: partners added, matched ones already on it,
    targets dropped (a refresh), and rows of a file that matched nobody."""

    added: int
    already: int = 0
    dropped: int = 0
    problems: tuple[RowProblem, ...] = ()
    unmatched: int = 0  # rows of a file that matched nobody (all, not only those listed)
    total: int = 0  # the list's size afterwards


def editable_campaign(session: Session, who: Who, campaign_id: int) -> Campaign:
    """The campaign, if ``who`` may change it and it has not ended."""
    campaign = get_campaign_for_user(session, who, campaign_id, "edit")
    if not campaign.is_open:
        raise Invalid({"campaign_id": _l("This campaign has ended; its targets stay as they are.")})
    return campaign


def target_count(session: Session, campaign_id: int) -> int:
    found = select(func.count()).where(CampaignTarget.campaign_id == campaign_id)
    return int(session.scalar(found) or 0)


def _log(session: Session, campaign: Campaign, before: int, after: int) -> None:
    """One history row on the campaign for a change of its list."""
    if before != after:
        row = {
            "action": "update",
            "record_type": RECORD,
            "record_id": campaign.id,
            "label": campaign.name[:300],
            "changes": {"targets": [before, after]},
        }
        recorder.record(session, [row])


def _add(
    session: Session, campaign: Campaign, found: Select[*tuple[Any, ...]], source: str
) -> None:
    """Insert the partners of ``found`` (their id and primary rep, in that order) that
    are not on the list yet. (The drivers do not all say how many rows an INSERT ...
    SELECT wrote: the callers count the list before and after.)"""
    rows = found.subquery("found")
    partner_id, rep_id = rows.c[0], rows.c[1]
    taken = select(CampaignTarget.partner_id).where(CampaignTarget.campaign_id == campaign.id)
    chosen = select(
        const(campaign.id),
        partner_id,
        rep_id,
        literal("new"),
        literal(source),
        literal(utcnow(), CampaignTarget.added_at.type),
    ).where(partner_id.not_in(taken))
    columns = ("campaign_id", "partner_id", "rep_id", "status", "source", "added_at")
    session.execute(insert(CampaignTarget).from_select(columns, chosen))


def _partners(who: Who, condition: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """The partners ``who`` may see that meet ``condition`` (merged ones never)."""
    found: Select[*tuple[Any, ...]] = select(Partner.id, Partner.owner_id).where(
        condition, visible(Partner, who), Partner.status != const("merged")
    )
    return found


def _adding(
    session: Session,
    campaign: Campaign,
    found: Iterable[Select[*tuple[Any, ...]]],
    source: str,
    matched: int,
) -> Added:
    before = target_count(session, campaign.id)
    for query in found:
        _add(session, campaign, query, source)
    after = target_count(session, campaign.id)
    _log(session, campaign, before, after)
    return Added(added=after - before, already=matched - (after - before), total=after)


# -- criteria -------------------------------------------------------------------------


def freeze(session: Session, who: Who, campaign_id: int, criteria: criteria_.Criteria) -> Added:
    """Add the partners the criteria match (see the module's text) and keep the criteria
    on the campaign for its refresh. Criteria that match nobody are refused."""
    campaign = editable_campaign(session, who, campaign_id)
    matched = criteria_.count(session, who, criteria)
    if not matched:
        raise Invalid({"criteria": _l("These criteria match no partner; nothing was added.")})
    campaign.criteria = criteria.stored()
    session.flush()
    found = criteria_.matching(who, criteria, session.get_bind().dialect.name)
    return _adding(session, campaign, [found], "criteria", matched)


def refresh(session: Session, who: Who, campaign_id: int) -> Added:
    """Run the campaign's criteria again: add the new matches, drop the untouched
    targets they brought that no longer match (see the module's text)."""
    campaign = editable_campaign(session, who, campaign_id)
    if campaign.criteria is None:
        raise Invalid(
            {"criteria": _l("The list was not frozen from criteria; there is nothing to refresh.")}
        )
    criteria = criteria_.from_stored(campaign.criteria)
    before = target_count(session, campaign.id)
    dialect = session.get_bind().dialect.name
    now_matching = criteria_.matching(who, criteria, dialect).with_only_columns(Partner.id)
    seen = select(Partner.id).where(visible(Partner, who))
    stale = delete(CampaignTarget).where(
        CampaignTarget.campaign_id == campaign.id,
        CampaignTarget.source == "criteria",
        CampaignTarget.status == "new",
        CampaignTarget.deal_id.is_(None),
        CampaignTarget.task_id.is_(None),
        CampaignTarget.partner_id.in_(seen),
        CampaignTarget.partner_id.not_in(now_matching),
    )
    session.execute(stale)
    kept = target_count(session, campaign.id)
    _add(session, campaign, criteria_.matching(who, criteria, dialect), "criteria")
    after = target_count(session, campaign.id)
    dropped, added = before - kept, after - kept
    _log(session, campaign, before, after)
    return Added(added=added, dropped=dropped, total=after)


# -- sources --------------------------------------------------------------------------


def add_partners(session: Session, who: Who, campaign_id: int, partner_ids: Sequence[int]) -> Added:
    """Add partners picked by hand (the partner list's bulk action). A partner ``who``
    may not see is refused, and then nothing is added."""
    campaign = editable_campaign(session, who, campaign_id)
    ids = sorted(set(partner_ids))
    seen = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        seen += int(
            session.scalar(
                select(func.count()).select_from(_partners(who, Partner.id.in_(chunk)).subquery())
            )
            or 0
        )
    if seen != len(ids):
        raise Invalid({"partner_ids": _l("Some of the chosen partners cannot be added.")})
    chunks = (_partners(who, Partner.id.in_(ids[s : s + BATCH])) for s in range(0, len(ids), BATCH))
    return _adding(session, campaign, chunks, "hand", len(ids))


def take_back_partners(
    session: Session, who: Who, campaign_id: int, partner_ids: Sequence[int]
) -> int:
    """Undo :func:`add_partners`: the partners picked by hand leave the list again while
    nothing has happened to them (still "new", no deal, no task)."""
    campaign = editable_campaign(session, who, campaign_id)
    before = target_count(session, campaign.id)
    gone = delete(CampaignTarget).where(
        CampaignTarget.campaign_id == campaign.id,
        CampaignTarget.partner_id.in_(list(partner_ids)),
        CampaignTarget.source == "hand",
        CampaignTarget.status == "new",
        CampaignTarget.deal_id.is_(None),
        CampaignTarget.task_id.is_(None),
    )
    session.execute(gone)
    after = target_count(session, campaign.id)
    _log(session, campaign, before, after)
    return before - after


def on_list(session: Session, campaign_id: int, partner_ids: Sequence[int]) -> set[int]:
    """Which of the partners are on the campaign's list already."""
    found = select(CampaignTarget.partner_id).where(
        CampaignTarget.campaign_id == campaign_id,
        CampaignTarget.partner_id.in_(list(partner_ids)),
    )
    return set(session.scalars(found))


def add_from_campaign(
    session: Session, who: Who, campaign_id: int, other_id: int, statuses: Sequence[str] = ()
) -> Added:
    """Add another campaign's targets (those ``who`` may see), of the given statuses
    (any when none are given)."""
    campaign = editable_campaign(session, who, campaign_id)
    if other_id == campaign_id:
        raise Invalid({"other_id": _l("Choose another campaign.")})
    unknown = set(statuses) - set(TARGET_STATUS_LABELS)
    if unknown:
        raise Invalid({"statuses": _l("Choose statuses from the list.")})
    other = get_campaign_for_user(session, who, other_id)
    theirs = select(CampaignTarget.partner_id).where(CampaignTarget.campaign_id == other.id)
    if statuses:
        theirs = theirs.where(CampaignTarget.status.in_(list(statuses)))
    found = _partners(who, Partner.id.in_(theirs))
    matched = int(session.scalar(select(func.count()).select_from(found.subquery())) or 0)
    if not matched:
        raise Invalid({"other_id": _l("That campaign has no such targets you may see.")})
    return _adding(session, campaign, [found], "campaign", matched)


# How a key's value is compared with the partners' (as they are stored).
_NORMAL: dict[str, Callable[[str], str]] = {
    "oib": clean_oib,
    "email": str.lower,
    "external_id": str,
}


def _key_of(value: str) -> tuple[str, str]:
    """What a lone cell names a partner by: an OIB, an e-mail address or else an
    external id."""
    if "@" in value:
        return "email", _NORMAL["email"](value)
    digits = clean_oib(value)
    return ("oib", digits) if _OIB.fullmatch(digits) else ("external_id", value)


def _csv_keys(path: Path) -> list[tuple[int, str, str]]:
    """``(row, key, value)`` of every row of the file: by the column of an OIB, an
    external id or an e-mail address its header names (the first filled one of them),
    or, without such a header, by the first cell, read as what it looks like."""
    try:
        dialect = csvfile.detect(path)
        mapping = csvfile.suggest_mapping(dialect.header, CSV_KEYS) if dialect.header else {}
        columns = csvfile.column_indexes(dialect.header, mapping) if mapping else {}
        found: list[tuple[int, str, str]] = []
        for row, cells in csvfile.rows(path, dialect):
            key = next(
                ((k, cells[i]) for k, i in columns.items() if i < len(cells) and cells[i]), None
            )
            if key is None and not columns:
                key = _key_of(cells[0]) if cells and cells[0] else None
            elif key is not None:
                key = (key[0], _NORMAL[key[0]](key[1]))
            found.append((row, *key) if key else (row, "", ""))
        return found
    except csvfile.CsvError as exc:
        raise Invalid({"file": _l("The file cannot be read: %(problem)s", problem=exc)}) from None
    except (LookupError, UnicodeError):
        raise Invalid({"file": _l("The file is not text in a known encoding.")}) from None


_KEY_COLUMNS = {"oib": Partner.oib, "external_id": Partner.external_id, "email": Partner.email}
_KEY_WORDS = {"oib": _l("OIB"), "external_id": _l("external id"), "email": _l("e-mail address")}


def add_from_csv(session: Session, who: Who, campaign_id: int, path: Path) -> Added:
    """Add the partners a CSV list names by OIB, external id or e-mail address (see
    :func:`_csv_keys`). A row that names no partner ``who`` may see adds nothing and is
    listed with its number; the others are added."""
    campaign = editable_campaign(session, who, campaign_id)
    if path.stat().st_size > MAX_CSV_BYTES:
        raise Invalid({"file": _l("The file is larger than 20 MB.")})
    rows = _csv_keys(path)
    if not rows:
        raise Invalid({"file": _l("The file has no rows.")})
    wanted: dict[str, set[str]] = {}
    for _row, key, value in rows:
        if key:
            wanted.setdefault(key, set()).add(value)
    ids_by: dict[tuple[str, str], int] = {}
    for key, values in wanted.items():
        column = _KEY_COLUMNS[key]
        listed = sorted(values)
        for start in range(0, len(listed), BATCH):
            chunk = listed[start : start + BATCH]
            query = select(column, Partner.id).where(
                column.in_(chunk), visible(Partner, who), Partner.status != const("merged")
            )
            for known, partner_id in session.execute(query):
                ids_by.setdefault((key, str(known)), partner_id)
    ids: set[int] = set()
    problems: list[RowProblem] = []
    unmatched = 0
    for row, key, value in rows:
        named = ids_by.get((key, value)) if key else None
        if named is not None:
            ids.add(named)
            continue
        unmatched += 1
        if len(problems) < MAX_ROW_PROBLEMS:
            if not key:
                text = gettext("Row %(row)d: no OIB, external id or e-mail address.", row=row)
            else:
                text = gettext(
                    "Row %(row)d: no partner has the %(key)s %(value)s.",
                    row=row,
                    key=_KEY_WORDS[key],
                    value=value[:100],
                )
            problems.append(RowProblem(row, text))
    found_ids = sorted(ids)
    chunks = (
        _partners(who, Partner.id.in_(found_ids[s : s + BATCH]))
        for s in range(0, len(found_ids), BATCH)
    )
    added = _adding(session, campaign, chunks, "csv", len(found_ids))
    return dataclasses.replace(added, problems=tuple(problems), unmatched=unmatched)


# -- the list -------------------------------------------------------------------------


def targets_query(who: Who, campaign_id: int, action: str = "view") -> Select[*tuple[Any, ...]]:
    """The campaign's targets whose partners ``who`` may see (or ``action``; the
    campaign itself is checked by the caller)."""
    return (
        select(CampaignTarget)
        .join(Partner, Partner.id == CampaignTarget.partner_id)
        .where(CampaignTarget.campaign_id == campaign_id, visible(Partner, who, action))
    )


def _mine(
    session: Session, who: Who, target_ids: Sequence[int], campaign_id: int | None = None
) -> tuple[Campaign, list[CampaignTarget]]:
    """The targets of ``target_ids`` (all of one campaign, ``campaign_id`` when given)
    that ``who`` may change: any of a campaign ``who`` may edit, else those ``who`` is
    the rep of. One that is not refuses the whole change."""
    wanted = sorted(set(target_ids))
    refused = Invalid({"target_ids": _l("Some of the chosen targets cannot be changed.")})
    owners = set(
        session.scalars(
            select(CampaignTarget.campaign_id).where(CampaignTarget.id.in_(wanted)).distinct()
        )
    )
    if len(owners) != 1 or (campaign_id is not None and owners != {campaign_id}):
        raise refused
    campaign = get_campaign_for_user(session, who, owners.pop())
    query = targets_query(who, campaign.id).where(CampaignTarget.id.in_(wanted))
    if not can(session, who, campaign, "edit"):
        query = query.where(CampaignTarget.rep_id == who.id)
    found = list(session.scalars(query))
    if len(found) != len(wanted):
        raise refused
    return campaign, found


def set_status(
    session: Session,
    who: Who,
    target_ids: Sequence[int],
    status: str,
    *,
    campaign_id: int | None = None,
) -> dict[int, str]:
    """Give the targets a status; returns their earlier statuses (what an undo puts
    back). The first response is remembered (``responded_at``) for the results."""
    if status not in TARGET_STATUS_LABELS:
        raise Invalid({"status": _l("Choose a status from the list.")})
    _campaign, found = _mine(session, who, target_ids, campaign_id)
    before = {t.id: t.status for t in found}
    now = utcnow()
    for target in found:
        target.status = status
        if status in RESPONSES and target.responded_at is None:
            target.responded_at = now
    session.flush()
    return before


def put_back_statuses(session: Session, who: Who, before: Mapping[str, str]) -> int:
    """Undo :func:`set_status` (``before`` as JSON kept it): each target still on the
    list gets its earlier status back."""
    wanted = {int(key): status for key, status in before.items()}
    still = list(
        session.scalars(select(CampaignTarget.id).where(CampaignTarget.id.in_(list(wanted))))
    )
    if not still:
        return 0
    _campaign, found = _mine(session, who, still)
    for target in found:
        target.status = wanted[target.id]
    session.flush()
    return len(found)


def remove_targets(
    session: Session, who: Who, target_ids: Sequence[int], *, campaign_id: int | None = None
) -> int:
    """Take targets off the list; one with a deal, a task or a response stays (the
    campaign's results count it), and refuses the removal."""
    campaign, found = _mine(session, who, target_ids, campaign_id)
    editable_campaign(session, who, campaign.id)
    if any(t.deal_id or t.task_id or t.status in RESPONSES for t in found):
        raise Invalid(
            {"target_ids": _l("Targets with a deal, a task or a response stay on the list.")}
        )
    before = target_count(session, campaign.id)
    session.execute(delete(CampaignTarget).where(CampaignTarget.id.in_([t.id for t in found])))
    _log(session, campaign, before, before - len(found))
    return len(found)


def status_counts(session: Session, who: Who, campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's targets ``who`` may see have each status."""
    query = targets_query(who, campaign.id).with_only_columns(CampaignTarget.status, func.count())
    rows = session.execute(query.group_by(CampaignTarget.status)).all()
    found = dict.fromkeys(TARGET_STATUS_LABELS, 0)
    found.update({status: int(n) for status, n in rows})
    return found
