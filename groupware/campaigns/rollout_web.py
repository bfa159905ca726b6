"""The rollout page of a campaign: what to make (deals of a type, tasks with a title
and a due date), the preview per rep, starting it, and its progress bar while it runs
(htmx asks for the bar every second until the rollout is over)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import can
from groupware.campaigns import rollout, service
from groupware.campaigns.models import Campaign, Rollout
from groupware.deals.types import DEAL_TYPES
from groupware.errors import Invalid
from groupware.i18n import _
from groupware.phases import types as phase_types
from groupware.validation import validate
from groupware.web import Ctx, page

FIELDS = ("deal_type_id", "deal_title", "task_title", "task_due")


def _data(values: dict[str, Any]) -> rollout.RolloutIn:
    """The form's choices: the boxes ticked (``deals``, ``tasks``) and the fields."""
    chosen = {name: str(values[name]) for name in FIELDS if str(values.get(name, "")).strip()}
    chosen["deals"] = str(bool(values.get("deals"))).lower()
    chosen["tasks"] = str(bool(values.get("tasks"))).lower()
    return validate(rollout.RolloutIn, chosen)


def _page(
    ctx: Ctx,
    campaign: Campaign,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    preview: rollout.Preview | None = None,
    status: int = 200,
) -> Response:
    kinds = phase_types.list_types(ctx.db, DEAL_TYPES)
    return ctx.render(
        "campaigns/rollout.html",
        campaign=campaign,
        form=form,
        errors=errors,
        preview=preview,
        current=rollout.latest(ctx.db, campaign.id),
        type_options=[(t.id, t.name) for t in kinds if t.is_active],
        may_edit=campaign.is_open and can(ctx.db, ctx.acting, campaign, "edit"),
        status_code=status,
    )


def _campaign(ctx: Ctx) -> Campaign:
    return service.get_campaign_for_user(ctx.db, ctx.acting, ctx.int_param("campaign_id"))


@page()
def campaign_rollout(ctx: Ctx) -> Response:
    """The form, and with ``preview`` in the query, what it would do."""
    campaign = _campaign(ctx)
    values: dict[str, Any] = dict(ctx.request.query_params)
    if "preview" not in values:
        defaults = {"deals": "1", "tasks": "1", "deal_title": campaign.name}
        return _page(ctx, campaign, defaults, {})
    try:
        seen = rollout.preview(ctx.db, ctx.acting, campaign.id, _data(values))
    except Invalid as exc:
        return _page(ctx, campaign, values, exc.errors, status=422)
    return _page(ctx, campaign, values, {}, preview=seen)


@page()
def campaign_rollout_start(ctx: Ctx) -> Response:
    campaign = _campaign(ctx)
    form = ctx.form_dict()
    try:
        row = rollout.start(ctx.db, ctx.acting, campaign.id, _data(form))
    except Invalid as exc:
        return _page(ctx, campaign, form, exc.errors, status=422)
    rollout.run_after_commit(ctx.db, ctx.gw.database, row.id)
    ctx.flash(_("The rollout has started."))
    return ctx.redirect(ctx.url("campaign_rollout", campaign_id=campaign.id))


@page()
def campaign_rollout_progress(ctx: Ctx) -> Response:
    """The progress bar (a fragment htmx asks for; typed in, the page it belongs to)."""
    campaign = _campaign(ctx)
    if not ctx.wants_fragment:  # typed in, or a boosted link: the whole page
        return ctx.redirect(ctx.url("campaign_rollout", campaign_id=campaign.id))
    current: Rollout | None = rollout.latest(ctx.db, campaign.id)
    return ctx.render("campaigns/_rollout_progress.html", campaign=campaign, current=current)


ROOT = "/campaigns/{campaign_id:int}/rollout"
routes = [
    Route(ROOT, campaign_rollout, name="campaign_rollout"),
    Route(ROOT, campaign_rollout_start, methods=["POST"], name="campaign_rollout_start"),
    Route(f"{ROOT}/progress", campaign_rollout_progress, name="campaign_rollout_progress"),
]
