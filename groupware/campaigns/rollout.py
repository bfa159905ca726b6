"""A campaign's rollout: one deal and/or one task per target for the rep responsible for
the partner (its primary rep, from the territory table), written in bulk.

First the **preview** (:func:`preview`): how many deals and tasks each rep gets, which
targets have no active rep (they go to the campaign team's queue: their task waits in
the team, their deal is the campaign owner's) and which already have an open deal in
this campaign (it is linked to the target, not made twice). Then :func:`start` records
a :class:`Rollout` (at most one runs per campaign: the database's unique index) and the
work runs in batches (:func:`run`), each its own transaction: deals with their phases
planned from the deal type, their deadline to-dos and history; tasks with their to-dos
in the reps' CalDAV task lists and history; the targets then name their deal and task.
A target with its deal and task is never done again, so running again only adds what is
new, and a rollout whose process died is picked up where it stopped by the rollout job
(its ``beat`` grows old). At the end: one history row on the campaign with the counts,
and one notice per rep.

Only targets whose partners the starter may see are rolled out (the preview says how
many are out of their sight); rows are written with ``COPY`` on PostgreSQL
(``groupware.db.copy_rows``), bypassing the ORM, as the import writes partners.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson
from pydantic import Field
from sqlalchemy import Select, event, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groupware.access.policy import Who, load_who, visible
from groupware.accounts.models import Team, User
from groupware.caldav import ics, store
from groupware.caldav.models import Calendar
from groupware.campaigns.models import RECORD, Campaign, CampaignTarget, Rollout
from groupware.campaigns.targets import editable_campaign
from groupware.crm.models import Partner
from groupware.db import (
    Database,
    bind_actor,
    copy_rows,
    may_skip_triggers,
    reserve_ids,
    sqlite_value,
    triggers_skipped,
    utcnow,
)
from groupware.deals import calendar as deal_calendar
from groupware.deals.models import Deal
from groupware.deals.types import DEAL_TYPES
from groupware.errors import Invalid
from groupware.history.models import Change
from groupware.i18n import _, _l, ngettext, today, use_language
from groupware.jobs import Job, defer
from groupware.notifications.service import notify
from groupware.phases.deadlines import deadline_item, deadline_template
from groupware.phases.models import Phase, ProcessType, TypePhase
from groupware.tasks import calendar as task_calendar
from groupware.tasks.models import Task
from groupware.validation import OptionalId, OptionalLocalDate, Schema

log = logging.getLogger(__name__)
BATCH = 10_000
STALE = dt.timedelta(minutes=2)  # a running rollout without a beat for this long died
SAMPLE = 20  # names listed in the preview

_DEAL_COLUMNS = tuple(c.key for c in Deal.__table__.columns)
_TASK_COLUMNS = tuple(c.key for c in Task.__table__.columns)
_PHASE_COLUMNS = tuple(c.key for c in Phase.__table__.columns)
_HISTORY_COLUMNS = ("at", "actor_id", "channel", "action", "record_type", "record_id", "label",
                    "changes")  # fmt: skip
# What a created record's history holds (as the history hook writes a create).
_NOT_IN_HISTORY = {"id", "created_at", "updated_at"}


class RolloutIn(Schema):
    """What a rollout makes: deals of a type and/or tasks (a title and a due date)."""

    deals: bool = True
    tasks: bool = True
    deal_type_id: OptionalId = None
    deal_title: str = Field(default="", max_length=200)
    task_title: str = Field(default="", max_length=200)
    task_due: OptionalLocalDate = None


def _deal_type(session: Session, data: RolloutIn) -> ProcessType | None:
    if not data.deals:
        return None
    if data.deal_type_id is None:
        raise Invalid({"deal_type_id": _l("Choose the type of the deals the rollout makes.")})
    kind = session.get(ProcessType, data.deal_type_id)
    if kind is None or kind.process != DEAL_TYPES.process or not kind.is_active:
        raise Invalid({"deal_type_id": _l("Choose a deal type in use.")})
    if not kind.phases:
        raise Invalid({"deal_type_id": _l("This deal type has no phases to plan deals by.")})
    return kind


def _checked(session: Session, who: Who, campaign_id: int, data: RolloutIn) -> Campaign:
    campaign = editable_campaign(session, who, campaign_id)
    if not data.deals and not data.tasks:
        raise Invalid({"deals": _l("Choose deals, tasks or both.")})
    if data.deals and not who.can("deals", "create"):
        raise Invalid({"deals": _l("You may not make deals.")})
    if data.tasks and not who.can("tasks", "create"):
        raise Invalid({"tasks": _l("You may not make tasks.")})
    return campaign


def _pending(who: Who, campaign_id: int, *, deals: bool, tasks: bool) -> Select[*tuple[Any, ...]]:
    """The targets of the campaign ``who`` may see that still lack what is asked."""
    lacking = []
    if deals:
        lacking.append(CampaignTarget.deal_id.is_(None))
    if tasks:
        lacking.append(CampaignTarget.task_id.is_(None))
    return (
        select(CampaignTarget.id)
        .join(Partner, Partner.id == CampaignTarget.partner_id)
        .where(CampaignTarget.campaign_id == campaign_id, visible(Partner, who), or_(*lacking))
    )


def running(session: Session, campaign_id: int) -> Rollout | None:
    return session.scalar(
        select(Rollout).where(Rollout.campaign_id == campaign_id, Rollout.status == "running")
    )


def latest(session: Session, campaign_id: int) -> Rollout | None:
    return session.scalar(
        select(Rollout).where(Rollout.campaign_id == campaign_id).order_by(Rollout.id.desc())
    )


# -- the preview ----------------------------------------------------------------------


@dataclass(frozen=True)
class RepLoad:
    user_id: int
    name: str
    deals: int
    tasks: int


@dataclass(frozen=True)
class Preview:
    """What a rollout would do (see the module's text)."""

    targets: int  # on the list, that the user may see
    hidden: int  # on the list, out of the user's sight: left out
    pending: int  # with something left to make
    reps: tuple[RepLoad, ...]
    queued: int  # without an active rep: to the team's queue
    queued_names: tuple[str, ...]
    queue: str  # where those go
    linked: int  # with an open deal in this campaign already: linked, not made again
    linked_names: tuple[str, ...]
    done: int  # with everything asked already

    @property
    def deals(self) -> int:
        return sum(r.deals for r in self.reps)

    @property
    def tasks(self) -> int:
        return sum(r.tasks for r in self.reps)


def _queue_name(session: Session, campaign: Campaign) -> str:
    if campaign.team_id is not None:
        team = session.get(Team, campaign.team_id)
        if team is not None:
            return _("the team %(team)s", team=team.name)
    owner = session.get(User, campaign.owner_id) if campaign.owner_id else None
    return owner.full_name if owner is not None else _("the campaign's owner")


def _open_deals(who: Who, campaign_id: int) -> Select[*tuple[Any, ...]]:
    """Open deals in the campaign not yet any target's: partner id and deal id."""
    linked = select(CampaignTarget.deal_id).where(
        CampaignTarget.campaign_id == campaign_id, CampaignTarget.deal_id.is_not(None)
    )
    found: Select[*tuple[Any, ...]] = (
        select(Deal.partner_id, func.min(Deal.id))
        .where(Deal.campaign_id == campaign_id, Deal.status == "open", Deal.id.not_in(linked))
        .group_by(Deal.partner_id)
    )
    return found


def preview(session: Session, who: Who, campaign_id: int, data: RolloutIn) -> Preview:
    """What :func:`start` would make, per rep (see :class:`Preview`)."""
    campaign = _checked(session, who, campaign_id, data)
    _deal_type(session, data)
    mine = CampaignTarget.campaign_id == campaign.id
    total = int(session.scalar(select(func.count()).where(mine)) or 0)
    seen = select(func.count()).select_from(
        select(CampaignTarget.id)
        .join(Partner, Partner.id == CampaignTarget.partner_id)
        .where(mine, visible(Partner, who))
        .subquery()
    )
    targets = int(session.scalar(seen) or 0)
    pending_ids = _pending(who, campaign.id, deals=data.deals, tasks=data.tasks).subquery()
    active = select(User.id).where(User.is_active)
    has_deal = {p for p, _d in session.execute(_open_deals(who, campaign.id))}
    rows = session.execute(
        select(
            Partner.owner_id,
            Partner.name,
            Partner.id,
            CampaignTarget.deal_id,
            CampaignTarget.task_id,
        )
        .join(CampaignTarget, CampaignTarget.partner_id == Partner.id)
        .where(CampaignTarget.id.in_(select(pending_ids.c.id)))
        .order_by(Partner.name_search)
    ).all()
    reps_active = set(session.scalars(active.where(User.id.in_({r[0] for r in rows if r[0]}))))
    loads: dict[int | None, list[int]] = {}
    queued_names: list[str] = []
    linked_names: list[str] = []
    linked = 0
    for owner_id, name, partner_id, deal_id, task_id in rows:
        rep = owner_id if owner_id in reps_active else None
        load = loads.setdefault(rep, [0, 0])
        if data.deals and deal_id is None:
            if partner_id in has_deal:
                linked += 1
                if len(linked_names) < SAMPLE:
                    linked_names.append(name)
            else:
                load[0] += 1
        if data.tasks and task_id is None:
            load[1] += 1
        if rep is None and len(queued_names) < SAMPLE:
            queued_names.append(name)
    names = dict(
        session.execute(select(User.id, User.full_name).where(User.id.in_(reps_active))).all()
    )
    reps = sorted(
        (RepLoad(user_id, names[user_id], d, t) for user_id, (d, t) in loads.items() if user_id),
        key=lambda r: (-r.deals - r.tasks, r.name),
    )
    queued = sum(1 for r in rows if r[0] not in reps_active)
    if None in loads:
        d, t = loads[None]
        reps.append(RepLoad(0, _queue_name(session, campaign), d, t))
    return Preview(
        targets=targets,
        hidden=total - targets,
        pending=len(rows),
        reps=tuple(reps),
        queued=queued,
        queued_names=tuple(queued_names),
        queue=_queue_name(session, campaign),
        linked=linked,
        linked_names=tuple(linked_names),
        done=targets - len(rows),
    )


# -- starting -------------------------------------------------------------------------


def start(session: Session, who: Who, campaign_id: int, data: RolloutIn) -> Rollout:
    """Record a rollout of the campaign, to be run (:func:`run`) once this transaction
    commits. Refused, naming the field, when it would make nothing, when the deal type
    is missing, or when a rollout of the campaign is running."""
    campaign = _checked(session, who, campaign_id, data)
    kind = _deal_type(session, data)
    if running(session, campaign.id) is not None:
        raise Invalid({"rollout": _l("A rollout of this campaign is running already.")})
    pending = select(func.count()).select_from(
        _pending(who, campaign.id, deals=data.deals, tasks=data.tasks).subquery()
    )
    total = int(session.scalar(pending) or 0)
    if not total:
        raise Invalid(
            {"rollout": _l("Every target has what was asked already: nothing to roll out.")}
        )
    row = Rollout(
        campaign_id=campaign.id,
        make_deals=data.deals,
        make_tasks=data.tasks,
        deal_type_id=kind.id if kind is not None else None,
        deal_title=(data.deal_title or campaign.name)[:200],
        task_title=(
            data.task_title or _("Contact the partner: %(campaign)s", campaign=campaign.name)
        )[:200],
        task_due=data.task_due or campaign.phase_due or today() + dt.timedelta(days=7),
        started_by_id=who.id,
        total=total,
        per_rep={},
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another request started one meanwhile
        raise Invalid({"rollout": _l("A rollout of this campaign is running already.")}) from None
    return row


# -- running --------------------------------------------------------------------------


@dataclass
class _Batch:
    """One batch of targets: the deals, phases and tasks decided for them (as values),
    and the rows written from those, made as ``COPY`` takes them (the database stores
    the first rows while the next are made)."""

    rollout: Rollout
    campaign: Campaign
    who: Who
    kind: ProcessType | None
    steps: list[TypePhase]
    sqlite: bool
    now: dt.datetime
    calendars: dict[int, tuple[int, User]]  # owner id -> (task list id, owner)
    deals: list[dict[str, Any]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    summaries: dict[str, str] = field(default_factory=dict)  # the deadlines', per language
    # What every deal, phase and task of the batch shares (all start today), worked out
    # once: reading the ORM's attributes per row cost more than writing the row.
    deal_base: dict[str, Any] = field(default_factory=dict)
    phase_bases: list[dict[str, Any]] = field(default_factory=list)
    task_base: dict[str, Any] = field(default_factory=dict)
    task_title: str = ""
    team_id: int | None = None
    queue_owner: int | None = None

    def __post_init__(self) -> None:
        day, campaign, rollout, kind = today(), self.campaign, self.rollout, self.kind
        if kind is not None:
            begins = day
            for position, step in enumerate(self.steps):
                ends = begins + dt.timedelta(days=step.planned_days)
                self.phase_bases.append({
                    "record_type": "deals", "type_phase_id": step.id, "position": position,
                    "name": step.name, "planned_days": step.planned_days,
                    "planned_start": begins, "planned_end": ends,
                    "actual_start": day if position == 0 else None, "actual_end": None,
                })  # fmt: skip
                begins = ends
            self.deal_base = {
                "direction": kind.direction or "sale", "title": rollout.deal_title,
                "person_id": None, "type_id": kind.id,
                "phase_due": self.phase_bases[0]["planned_end"],
                "step_id": self.steps[0].id, "campaign_id": campaign.id, "status": "open",
                "lost_reason": "", "priority": "normal", "source": "campaign", "amount": 0,
                "currency": campaign.currency, "probability": 10, "started_on": day,
                "expected_close": None, "closed_on": None, "description": "",
                "created_at": self.now,
            }  # fmt: skip
        due = dt.datetime.combine(rollout.task_due or day, dt.time(17), tzinfo=dt.UTC)
        self.task_base = {
            "description": "", "status": "open", "response": "accepted", "priority": "normal",
            "progress": 0, "starts_at": None, "due_at": due, "created_by_id": self.who.id,
            "completed_at": None, "created_at": self.now, "updated_at": self.now,
        }  # fmt: skip
        self.task_title = rollout.task_title
        # A task without a rep waits in the campaign's team, or goes to its owner.
        self.team_id = campaign.team_id
        self.queue_owner = None if self.team_id is not None else (campaign.owner_id or self.who.id)

    def rows(self, columns: Sequence[str], records: list[dict[str, Any]]) -> Iterator[Any]:
        get = operator.itemgetter(*columns)
        for values in records:
            row = get(values)
            yield tuple(map(sqlite_value, row)) if self.sqlite else row

    def history(self) -> Iterator[tuple[Any, ...]]:
        """A create row per deal and per task, as the history hook writes one: every
        field as ``[null, value]``. The fields the batch's records share are written
        to JSON once; each record adds its own."""
        stamp = sqlite_value(self.now) if self.sqlite else self.now
        dumps = orjson.dumps
        for kind, records, base in (
            ("deals", self.deals, self.deal_base),
            ("tasks", self.tasks, self.task_base),
        ):
            hidden = _NOT_IN_HISTORY | (Deal.__history_exclude__ if kind == "deals" else set())
            shared = {k: [None, v] for k, v in base.items() if k not in hidden}
            head = dumps(shared, default=str)[:-1]  # {...  without its closing brace
            for values in records:
                own = {k: [None, v] for k, v in values.items() if k not in base and k not in hidden}
                if not shared or not own:
                    text = dumps({**shared, **own}, default=str)
                else:
                    text = head + b"," + dumps(own, default=str)[1:]
                yield (stamp, self.who.id, "job", "create", kind, values["id"],
                       values["title"][:300], text.decode())  # fmt: skip

    def items(self) -> Iterator[tuple[int, store.NewItem]]:
        """The deals' deadline to-dos and the tasks' to-dos, for their owners' lists:
        what they share written once per batch (the deadlines' day, each owner's task
        to-do: ``ics.TodoTemplate``), each then joined with its own UID and title."""
        deadline = deadline_template(self.deal_base["phase_due"]) if self.deals else None
        for values in self.deals:
            owner = self.calendars[values["owner_id"]]
            yield owner[0], deadline_item(
                deal_calendar.PREFIX, values["id"], self._summary(owner[1], values),
                values["phase_due"], f"/deals/{values['id']}", deadline,
            )  # fmt: skip
        author = self.calendars[self.who.id][1] if self.who.id in self.calendars else None
        templates: dict[int, ics.TodoTemplate] = {}
        for values in self.tasks:
            if values["owner_id"] is None:
                continue  # in a team's queue: in nobody's list yet
            owner = self.calendars[values["owner_id"]]
            # The task's fields and people, without an ORM object (making 100,000 of
            # them cost a sixth of a rollout).
            task: Any = SimpleNamespace(**values, owner=owner[1], created_by=author)
            template = templates.get(values["owner_id"])
            if template is None:
                template = templates[values["owner_id"]] = task_calendar.template_for(task)
            yield owner[0], task_calendar.new_item(task, template)

    def _summary(self, owner: User, values: dict[str, Any]) -> str:
        """The deadline's title, the same for every deal of the batch in a language."""
        summary = self.summaries.get(owner.language)
        if summary is None:
            with use_language(owner.language):
                summary = deal_calendar.deadline_summary(self.steps[0].name, values["title"])
            self.summaries[owner.language] = summary
        return summary


def _calendars(session: Session, owner_ids: Iterable[int]) -> dict[int, tuple[int, User]]:
    """Each owner's CRM task list (made when they have none) and the owner."""
    found: dict[int, tuple[int, User]] = {}
    for user in session.scalars(select(User).where(User.id.in_(set(owner_ids)))):
        tasks_list = next(c for c in store.ensure_defaults(session, user) if c.kind == "tasks")
        found[user.id] = (tasks_list.id, user)
    return found


def run_batch(session: Session, rollout: Rollout, after: int = 0) -> int:
    """Roll out the next batch of the rollout's targets (those after the target id
    ``after``: the batches before left nothing behind them); the last target id handled,
    0 when none was left."""
    campaign = session.get_one(Campaign, rollout.campaign_id)
    starter = session.get(User, rollout.started_by_id) if rollout.started_by_id else None
    if starter is None or not starter.is_active:
        raise Invalid({"rollout": _l("Whoever started the rollout may no longer work.")})
    who = load_who(session, starter)
    deals_wanted, tasks_wanted = rollout.make_deals, rollout.make_tasks
    rows = session.execute(
        select(CampaignTarget.id, CampaignTarget.partner_id, CampaignTarget.deal_id,
               CampaignTarget.task_id, Partner.owner_id, Partner.name)
        .join(Partner, Partner.id == CampaignTarget.partner_id)
        .where(CampaignTarget.id.in_(
            _pending(who, campaign.id, deals=deals_wanted, tasks=tasks_wanted)),
            CampaignTarget.id > after)
        .order_by(CampaignTarget.id)
        .limit(BATCH)
        # A second runner of the same rollout waits here, then finds these done.
        .with_for_update(of=CampaignTarget.__table__)
    ).all()  # fmt: skip
    if not rows:
        return 0
    kind = (
        session.get(ProcessType, rollout.deal_type_id)
        if deals_wanted and rollout.deal_type_id
        else None
    )
    if deals_wanted and (kind is None or not kind.phases):
        raise Invalid({"deal_type_id": _l("Choose a deal type in use.")})
    owners = {r.owner_id for r in rows if r.owner_id}
    active = set(session.scalars(select(User.id).where(User.id.in_(owners), User.is_active)))
    assert who.id is not None  # a rollout is started by a user (checked above)
    campaign_owner: int = campaign.owner_id or who.id
    # The batch's partners by the range of its targets' ids: thousands of ids as
    # parameters cost more to send than the query takes.
    in_batch = select(CampaignTarget.partner_id).where(
        CampaignTarget.campaign_id == campaign.id,
        CampaignTarget.id.between(rows[0].id, rows[-1].id),
    )
    batch_deals = _open_deals(who, campaign.id).where(Deal.partner_id.in_(in_batch))
    open_deals: dict[int, int] = {p: d for p, d in session.execute(batch_deals)}
    need_deal = [
        r for r in rows if deals_wanted and r.deal_id is None and r.partner_id not in open_deals
    ]
    deal_ids = iter(reserve_ids(session, "deals", len(need_deal)))
    steps = len(kind.phases) if kind is not None else 0
    phase_ids = iter(reserve_ids(session, "phases", len(need_deal) * steps))
    need_task = [r for r in rows if tasks_wanted and r.task_id is None]
    task_ids = iter(reserve_ids(session, "tasks", len(need_task)))
    calendars = _calendars(session, {*active, campaign_owner, who.id})
    batch = _Batch(
        rollout, campaign, who, kind, list(kind.phases) if kind else [],
        session.get_bind().dialect.name == "sqlite", utcnow(), calendars,
    )  # fmt: skip
    per_rep: dict[str, list[int]] = {k: list(v) for k, v in rollout.per_rep.items()}
    linked: list[dict[str, Any]] = []
    made_deals = made_tasks = queued = 0
    for r in rows:
        rep = r.owner_id if r.owner_id in active else None
        queued += rep is None
        deal_id = r.deal_id
        counts = per_rep.setdefault(str(rep or 0), [0, 0])
        if deals_wanted and deal_id is None:
            if r.partner_id in open_deals:
                deal_id = open_deals[r.partner_id]
                rollout.deals_linked += 1
            else:
                deal_id = next(deal_ids)
                _deal(batch, deal_id, phase_ids, r.partner_id, rep or campaign_owner)
                made_deals += 1
                counts[0] += 1
        task_id = r.task_id
        if tasks_wanted and task_id is None:
            task_id = next(task_ids)
            _task(batch, task_id, r.partner_id, r.name, deal_id, rep)
            made_tasks += 1
            counts[1] += 1
        linked.append({"row_id": r.id, "rep": r.owner_id, "deal": deal_id, "task": task_id})
    skip = may_skip_triggers(session)
    if skip:
        _hold(session, batch, in_batch, calendars)
    with triggers_skipped(session, skip):
        # Phases first: a deal names its current phase.
        copy_rows(session, "phases", _PHASE_COLUMNS, batch.rows(_PHASE_COLUMNS, batch.phases))
        copy_rows(session, "deals", _DEAL_COLUMNS, batch.rows(_DEAL_COLUMNS, batch.deals))
        copy_rows(session, "tasks", _TASK_COLUMNS, batch.rows(_TASK_COLUMNS, batch.tasks))
        copy_rows(session, "history", _HISTORY_COLUMNS, batch.history())
        lists = {calendars[v["owner_id"]][0] for v in (*batch.deals, *batch.tasks)
                 if v["owner_id"] is not None}  # fmt: skip
        store.insert_items(session, lists, batch.items())
        _link(session, linked)
    rollout.deals_made += made_deals
    rollout.tasks_made += made_tasks
    rollout.queued += queued
    rollout.done += len(rows)
    rollout.per_rep = per_rep
    rollout.beat = utcnow()
    session.flush()
    return int(rows[-1].id)


def _hold(
    session: Session,
    batch: _Batch,
    partners: Select[*tuple[Any, ...]],
    calendars: dict[int, tuple[int, User]],
) -> None:
    """What the batch's rows refer to, held against deletion (``FOR KEY SHARE``) as the
    foreign-key triggers it skips would hold it: the partners, the people, the campaign
    and its team, the deal type and its phases, the task lists. (The deals, phases and
    tasks the rows name are the batch's own.)"""
    users = {batch.who.id, *calendars, batch.campaign.owner_id} - {None}
    held: list[tuple[Any, Any]] = [
        (Partner.id, partners),
        (User.id, sorted(users)),
        (Campaign.id, [batch.campaign.id]),
        (Calendar.id, [calendar_id for calendar_id, _user in calendars.values()]),
    ]
    if batch.campaign.team_id is not None:
        held.append((Team.id, [batch.campaign.team_id]))
    if batch.kind is not None:
        held.append((ProcessType.id, [batch.kind.id]))
        held.append((TypePhase.id, [step.id for step in batch.steps]))
    for column, ids in held:
        session.execute(select(column).where(column.in_(ids)).with_for_update(key_share=True))


def _deal(
    batch: _Batch, deal_id: int, phase_ids: Iterator[int], partner_id: int, owner_id: int
) -> None:
    """A new deal in the campaign, its phases planned from the type from today (and
    later its history and its deadline to-do in its owner's task list)."""
    phases = [{**base, "id": next(phase_ids), "record_id": deal_id} for base in batch.phase_bases]
    batch.phases.extend(phases)
    batch.deals.append(
        {**batch.deal_base, "id": deal_id, "partner_id": partner_id,
         "phase_id": phases[0]["id"], "owner_id": owner_id}
    )  # fmt: skip


def _task(
    batch: _Batch,
    task_id: int,
    partner_id: int,
    partner_name: str,
    deal_id: int | None,
    rep: int | None,
) -> None:
    """A new task for the rep (or the campaign team's queue; and later its history and
    its to-do in the rep's task list)."""
    batch.tasks.append(
        {**batch.task_base, "id": task_id, "title": f"{batch.task_title} – {partner_name}"[:200],
         "owner_id": rep if rep is not None else batch.queue_owner,
         "team_id": None if rep is not None else batch.team_id,
         "partner_id": partner_id, "deal_id": deal_id}
    )  # fmt: skip


def _link(session: Session, linked: list[dict[str, Any]]) -> None:
    """The targets name their deal and task, and their rep as it is now."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE campaign_targets AS t "
                "SET deal_id = v.deal, task_id = v.task, rep_id = v.rep "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:deals AS integer[]), "
                "CAST(:tasks AS integer[]), CAST(:reps AS integer[])) AS v(id, deal, task, rep) "
                "WHERE t.id = v.id"
            ),
            {
                "ids": [x["row_id"] for x in linked],
                "deals": [x["deal"] for x in linked],
                "tasks": [x["task"] for x in linked],
                "reps": [x["rep"] for x in linked],
            },
        )
        return
    session.execute(
        update(CampaignTarget),  # by primary key, one executemany
        [{"id": x["row_id"], "deal_id": x["deal"], "task_id": x["task"], "rep_id": x["rep"]}
         for x in linked],
    )  # fmt: skip


def finish(session: Session, rollout: Rollout) -> None:
    """A rollout with nothing left: done, one history row on the campaign with its
    counts, and a notice to each rep of what they got."""
    campaign = session.get_one(Campaign, rollout.campaign_id)
    rollout.status = "done"
    rollout.finished_at = utcnow()
    changes = {
        "rollout_deals": [None, rollout.deals_made],
        "rollout_tasks": [None, rollout.tasks_made],
        "rollout_linked": [None, rollout.deals_linked],
        "rollout_queued": [None, rollout.queued],
    }
    session.add(
        Change(
            actor_id=rollout.started_by_id,
            channel="job",
            action="update",
            record_type=RECORD,
            record_id=campaign.id,
            label=campaign.name[:300],
            changes=changes,
        )
    )
    name, link = campaign.name, f"/campaigns/{campaign.id}"
    for user_id, (deals, tasks) in rollout.per_rep.items():
        user = session.get(User, int(user_id)) if user_id != "0" else None
        if user is None or not user.is_active or not (deals or tasks):
            continue
        notify(
            session,
            user,
            title=_notice(name, deals, tasks),
            kind="info",
            link=link,
            record_type=RECORD,
            record_id=campaign.id,
            dedup_key=f"rollout-{rollout.id}-{user.id}",
        )
    session.flush()


def _notice(name: str, deals: int, tasks: int) -> Callable[[], str]:
    return lambda: _(
        "The campaign %(name)s gave you %(deals)s and %(tasks)s.",
        name=name,
        deals=ngettext("%(num)d deal", "%(num)d deals", deals),
        tasks=ngettext("%(num)d task", "%(num)d tasks", tasks),
    )


def _claim(database: Database, rollout_id: int, *, stale_only: bool) -> bool:
    """Take the rollout to run it: it is running, and (``stale_only``) nobody beat for
    it lately. The beat is set in the same statement, so two takers never both win."""
    now = utcnow()
    with database.transaction(actor_id=None, channel="job") as session:
        query = update(Rollout).where(Rollout.id == rollout_id, Rollout.status == "running")
        if stale_only:
            query = query.where(Rollout.beat < now - STALE)
        return bool(session.execute(query.values(beat=now)).rowcount)  # type: ignore[attr-defined]


def run(database: Database, rollout_id: int, *, stale_only: bool = False) -> None:
    """Run a rollout to its end, a batch per transaction; a failure is kept on it."""
    if not _claim(database, rollout_id, stale_only=stale_only):
        return
    after = 0
    try:
        while True:
            with database.transaction(actor_id=None, channel="job") as session:
                rollout = session.get_one(Rollout, rollout_id)
                if rollout.status != "running":
                    return
                # The rows are the starter's doing, through the job channel.
                bind_actor(session, actor_id=rollout.started_by_id, channel="job")
                after = run_batch(session, rollout, after)
                if not after:
                    finish(session, rollout)
                    return
    except Exception as exc:
        log.exception("rollout %s failed", rollout_id)
        message = str(getattr(exc, "message", "") or exc)[:2000]
        with database.transaction(actor_id=None, channel="job") as session:
            session.execute(
                update(Rollout)
                .where(Rollout.id == rollout_id)
                .values(status="failed", error=message, finished_at=utcnow())
            )


def run_all(session: Session, rollout: Rollout) -> None:
    """Run a rollout to its end in ``session`` (the tests' and the demo's way: one
    transaction)."""
    after = run_batch(session, rollout)
    while after:
        after = run_batch(session, rollout, after)
    finish(session, rollout)


def _resume(session: Session, database: Database) -> int:
    """The job: rollouts left running by a process that died are run again."""
    stale = list(
        session.scalars(
            select(Rollout.id).where(Rollout.status == "running", Rollout.beat < utcnow() - STALE)
        )
    )
    for rollout_id in stale:
        defer(session, functools.partial(run, database, rollout_id, stale_only=True))
    return len(stale)


RESUME_JOB = Job("resume-rollouts", _resume, "Resume campaign rollouts whose process died")


def run_after_commit(session: Session, database: Database, rollout_id: int) -> None:
    """Run the rollout in a thread of this process once the transaction that recorded
    it has committed (the web's and the API's way; if the process dies first, the
    rollout job picks it up)."""

    def begin(_session: Session) -> None:
        threading.Thread(
            target=run, args=(database, rollout_id), name=f"rollout-{rollout_id}", daemon=True
        ).start()

    event.listen(session, "after_commit", begin, once=True)
