"""The API of a campaign's targets and rollout: the target list, the live count of
criteria, freezing and refreshing, adding partners, a CSV list (sent as text) or
another campaign's targets, statuses; the rollout's preview, start (it runs in the
background: poll the rollout) and its runs."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from pydantic import Field
from sqlalchemy import select

from groupware.accounts.models import User
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.campaigns import criteria as criteria_
from groupware.campaigns import rollout, service, targets
from groupware.campaigns.models import CampaignTarget, Rollout
from groupware.crm.api import Ref
from groupware.crm.models import Partner
from groupware.deals.models import Deal
from groupware.errors import NotFound
from groupware.i18n import _l
from groupware.validation import Id, OptionalId, Schema

api = Api("campaign targets")


class TargetQuery(PageQuery):
    status: str | None = Field(default=None, max_length=16)
    rep_id: OptionalId = None


class TargetOut(Out):
    id: int
    partner: Ref
    rep: Ref | None
    status: str
    source: str
    deal: Ref | None
    task_id: int | None
    added_at: dt.datetime
    responded_at: dt.datetime | None


class CountOut(Out):
    count: int


class AddedOut(Out):
    added: int
    already: int
    dropped: int
    unmatched: int
    total: int
    problems: list[dict[str, object]]


class PartnersIn(Schema):
    partner_ids: list[Id] = Field(min_length=1, max_length=5000)


class FromCampaignIn(Schema):
    other_id: Id
    statuses: list[str] = Field(default_factory=list, max_length=8)


class CsvIn(Schema):
    text: str = Field(min_length=1, max_length=targets.MAX_CSV_BYTES)


class StatusIn(Schema):
    target_ids: list[Id] = Field(min_length=1, max_length=5000)
    status: str = Field(max_length=16)


class StatusOut(Out):
    changed: int


class RepLoadOut(Out):
    user_id: int | None
    name: str
    deals: int
    tasks: int


class PreviewOut(Out):
    targets: int
    hidden: int
    pending: int
    deals: int
    tasks: int
    reps: list[RepLoadOut]
    queued: int
    queued_names: list[str]
    queue: str
    linked: int
    linked_names: list[str]
    done: int


class RolloutOut(Out):
    id: int
    status: str
    make_deals: bool
    make_tasks: bool
    deal_type_id: int | None
    total: int
    done: int
    deals_made: int
    deals_linked: int
    tasks_made: int
    queued: int
    error: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


def _added(found: targets.Added) -> AddedOut:
    problems: list[dict[str, object]] = [
        {"row": p.row, "message": p.message} for p in found.problems
    ]
    return AddedOut(
        added=found.added,
        already=found.already,
        dropped=found.dropped,
        unmatched=found.unmatched,
        total=found.total,
        problems=problems,
    )


def _campaign_id(call: Call) -> int:
    return call.int_param("campaign_id")


@api.operation(
    "GET",
    "/campaigns/{campaign_id}/targets",
    summary="A campaign's targets whose partners you may see, by id",
    response=TargetOut,
    query=TargetQuery,
    paginated=True,
)
def list_targets(call: Call) -> tuple[list[TargetOut], str | None]:
    q: TargetQuery = call.query
    campaign = service.get_campaign_for_user(call.db, call.who, _campaign_id(call))
    query = targets.targets_query(call.who, campaign.id)
    if q.status:
        query = query.where(CampaignTarget.status == q.status)
    if q.rep_id is not None:
        query = query.where(CampaignTarget.rep_id == q.rep_id)
    after = q.after_id()
    if after is not None:
        query = query.where(CampaignTarget.id > after)
    rows = list(call.db.scalars(query.order_by(CampaignTarget.id).limit(q.limit + 1)))
    page, cursor = page_of(rows, q.limit)
    names = dict(call.db.execute(select(Partner.id, Partner.name).where(
        Partner.id.in_([t.partner_id for t in page]))).all())  # fmt: skip
    reps = dict(call.db.execute(select(User.id, User.full_name).where(
        User.id.in_({t.rep_id for t in page if t.rep_id}))).all())  # fmt: skip
    deals = dict(call.db.execute(select(Deal.id, Deal.title).where(
        Deal.id.in_({t.deal_id for t in page if t.deal_id}))).all())  # fmt: skip
    return [
        TargetOut(
            id=t.id,
            partner=Ref(id=t.partner_id, name=names.get(t.partner_id, "")),
            rep=Ref(id=t.rep_id, name=reps[t.rep_id]) if t.rep_id in reps else None,
            status=t.status,
            source=t.source,
            deal=Ref(id=t.deal_id, name=deals[t.deal_id]) if t.deal_id in deals else None,
            task_id=t.task_id,
            added_at=t.added_at,
            responded_at=t.responded_at,
        )
        for t in page
    ], cursor


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/targets/count",
    summary="How many partners you may see the criteria match (the live count)",
    body=criteria_.Criteria,
    response=CountOut,
)
def count_targets(call: Call) -> CountOut:
    targets.editable_campaign(call.db, call.who, _campaign_id(call))
    return CountOut(count=criteria_.count(call.db, call.who, call.body))


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/targets/freeze",
    summary="Add the partners the criteria match to the list, and keep the criteria for "
    "a refresh (criteria that match nobody are refused)",
    body=criteria_.Criteria,
    response=AddedOut,
)
def freeze_targets(call: Call) -> AddedOut:
    return _added(targets.freeze(call.db, call.who, _campaign_id(call), call.body))


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/targets/refresh",
    summary="Run the kept criteria again: add new matches, drop untouched targets that "
    "no longer match (never one with a deal, a task or a response)",
    response=AddedOut,
)
def refresh_targets(call: Call) -> AddedOut:
    return _added(targets.refresh(call.db, call.who, _campaign_id(call)))


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/targets",
    summary="Add partners by id (all of them you may see, or none)",
    body=PartnersIn,
    response=AddedOut,
)
def add_targets(call: Call) -> AddedOut:
    body: PartnersIn = call.body
    return _added(targets.add_partners(call.db, call.who, _campaign_id(call), body.partner_ids))


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/targets/csv",
    summary="Add the partners a CSV list names by OIB, external id or e-mail address "
    "(the file's text in `text`); rows that name nobody are listed by number",
    body=CsvIn,
    response=AddedOut,
)
def add_targets_from_csv(call: Call) -> AddedOut:
    body: CsvIn = call.body
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "targets.csv"
        path.write_text(body.text, encoding="utf-8")
        found = targets.add_from_csv(call.db, call.who, _campaign_id(call), path)
    return _added(found)


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/targets/from-campaign",
    summary="Add another campaign's targets (of the given statuses; any when none)",
    body=FromCampaignIn,
    response=AddedOut,
)
def add_targets_from_campaign(call: Call) -> AddedOut:
    body: FromCampaignIn = call.body
    found = targets.add_from_campaign(
        call.db, call.who, _campaign_id(call), body.other_id, body.statuses
    )
    return _added(found)


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/targets/status",
    summary="Give targets a status (a rep: the targets of their own partners)",
    body=StatusIn,
    response=StatusOut,
)
def set_target_status(call: Call) -> StatusOut:
    body: StatusIn = call.body
    before = targets.set_status(
        call.db, call.who, body.target_ids, body.status, campaign_id=_campaign_id(call)
    )
    return StatusOut(changed=len(before))


# -- the rollout ----------------------------------------------------------------------


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/rollout/preview",
    summary="What a rollout would make: deals and tasks per rep, targets without a rep "
    "(to the team's queue), targets with an open deal in the campaign (linked)",
    body=rollout.RolloutIn,
    response=PreviewOut,
)
def preview_rollout(call: Call) -> PreviewOut:
    seen = rollout.preview(call.db, call.who, _campaign_id(call), call.body)
    return PreviewOut(
        targets=seen.targets,
        hidden=seen.hidden,
        pending=seen.pending,
        deals=seen.deals,
        tasks=seen.tasks,
        reps=[RepLoadOut(user_id=r.user_id or None, name=r.name, deals=r.deals, tasks=r.tasks)
              for r in seen.reps],
        queued=seen.queued,
        queued_names=list(seen.queued_names),
        queue=seen.queue,
        linked=seen.linked,
        linked_names=list(seen.linked_names),
        done=seen.done,
    )  # fmt: skip


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/rollouts",
    summary="Start a rollout; it runs in the background (poll the rollout until it is "
    "done). Refused while one runs, or when there is nothing to roll out",
    body=rollout.RolloutIn,
    response=RolloutOut,
    status=202,
)
def start_rollout(call: Call) -> RolloutOut:
    row = rollout.start(call.db, call.who, _campaign_id(call), call.body)
    rollout.run_after_commit(call.db, call.gw.database, row.id)
    return RolloutOut.of(row)


@api.operation(
    "GET",
    "/campaigns/{campaign_id}/rollouts",
    summary="A campaign's rollouts, newest first",
    response=RolloutOut,
    query=PageQuery,
    paginated=True,
)
def list_rollouts(call: Call) -> tuple[list[RolloutOut], str | None]:
    q: PageQuery = call.query
    campaign = service.get_campaign_for_user(call.db, call.who, _campaign_id(call))
    query = select(Rollout).where(Rollout.campaign_id == campaign.id)
    after = q.after_id()
    if after is not None:
        query = query.where(Rollout.id < after)
    rows = list(call.db.scalars(query.order_by(Rollout.id.desc()).limit(q.limit + 1)))
    page, cursor = page_of(rows, q.limit)
    return [RolloutOut.of(r) for r in page], cursor


@api.operation(
    "GET",
    "/campaigns/{campaign_id}/rollouts/{rollout_id}",
    summary="One rollout: how far it is and what it made",
    response=RolloutOut,
)
def get_rollout(call: Call) -> RolloutOut:
    campaign = service.get_campaign_for_user(call.db, call.who, _campaign_id(call))
    row = call.db.scalar(
        select(Rollout).where(
            Rollout.id == call.int_param("rollout_id"), Rollout.campaign_id == campaign.id
        )
    )
    if row is None:
        raise NotFound(_l("There is no such rollout."))
    return RolloutOut.of(row)
