"""Campaign pages: the shaped list, a campaign's page (its phases on a timeline, moved
from there, finishing or cancelling it, history and sharing) and its form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import can, require
from groupware.accounts.models import Team
from groupware.accounts.users import active_user_choices
from groupware.activities.web import card as stream_card
from groupware.campaigns import results_web, service
from groupware.campaigns.lists import CAMPAIGNS, SHOWN
from groupware.campaigns.models import RECORD, STATUS_LABELS, TARGET_STATUS_LABELS, Campaign
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.crm.documents import CURRENCIES
from groupware.crm.models import Partner
from groupware.crm.partner360_web import Section
from groupware.errors import Invalid
from groupware.i18n import _, _l, format_number, today
from groupware.lists import web as lists_web
from groupware.phases import engine
from groupware.phases import types as phase_types
from groupware.stream import Target
from groupware.validation import parse_id, validate
from groupware.web import Ctx, NavItem, acted, page

MODULE = CAMPAIGN_TYPES.module
nav = [NavItem(_l("Campaigns"), "campaigns", module=MODULE, order=45, icon="megaphone")]

FORM_FIELDS = (
    "name",
    "type_id",
    "owner_id",
    "team_id",
    "status",
    "starts_on",
    "ends_on",
    "budget",
    "currency",
    "expected_responses",
    "expected_revenue",
    "description",
)


@page()
def campaigns(ctx: Ctx) -> Response:
    full = not lists_web.wants_results(ctx)
    found = lists_web.listing(ctx, CAMPAIGNS, full=full)
    return lists_web.render(
        ctx,
        "campaigns/list.html",
        found,
        shown=found.shape.filters.get("shown", ""),
        choices=SHOWN,
        may_create=ctx.acting.can(MODULE, "create"),
    )


def _detail(
    ctx: Ctx, campaign: Campaign, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    phases = service.phases_of(ctx.db, campaign)
    return ctx.render(
        "campaigns/detail.html",
        campaign=campaign,
        timeline=engine.timeline(phases, today()),
        stream=stream_card(ctx, Target(RECORD, campaign.id, campaign)),
        **results_web.context(ctx, campaign, phases),
        target_statuses=TARGET_STATUS_LABELS,
        statuses=STATUS_LABELS,
        errors=errors or {},
        today=today(),
        may_edit=can(ctx.db, ctx.acting, campaign, "edit"),
        status_code=status,
    )


@page()
def campaign(ctx: Ctx) -> Response:
    row = service.get_campaign_for_user(ctx.db, ctx.acting, ctx.int_param("campaign_id"))
    return _detail(ctx, row)


def _acted(ctx: Ctx, campaign_id: int, act: Callable[[], object], message: str) -> Response:
    def refused(errors: dict[str, str]) -> Response:
        row = service.get_campaign_for_user(ctx.db, ctx.acting, campaign_id)
        return _detail(ctx, row, errors=errors, status=422)

    return acted(ctx, act, message, f"/campaigns/{campaign_id}", refused)


@page()
def campaign_move(ctx: Ctx) -> Response:
    campaign_id = ctx.int_param("campaign_id")
    phase_id = parse_id(str(ctx.form_dict().get("phase_id", ""))) or 0
    return _acted(
        ctx,
        campaign_id,
        lambda: service.move_campaign(ctx.db, ctx.acting, campaign_id, phase_id),
        _("The campaign moved on."),
    )


@page()
def campaign_end(ctx: Ctx) -> Response:
    campaign_id = ctx.int_param("campaign_id")
    form = ctx.form_dict()

    def end() -> None:
        data = validate(service.EndIn, {"status": form.get("status", "")})
        service.end_campaign(ctx.db, ctx.acting, campaign_id, data)

    return _acted(ctx, campaign_id, end, _("The campaign has ended."))


# -- the partner's 360° page ----------------------------------------------------------


def _partner_campaigns(ctx: Ctx, partner: Partner) -> dict[str, Any]:
    """The campaigns that target the partner or that its deals live in, that the reader
    may see, with how many of those deals the reader may see and the partner's status
    as a target; nothing when there are none."""
    if not ctx.acting.can(MODULE, "view"):
        return {"campaigns": []}
    found = service.campaigns_of_partner(ctx.db, ctx.acting, partner.id)
    return {"campaigns": found, "statuses": TARGET_STATUS_LABELS}


PARTNER_SECTION = Section(
    "campaigns", "campaigns/partner_section.html", _partner_campaigns, order=15
)


# -- the form -------------------------------------------------------------------------


def _form(
    ctx: Ctx, row: Campaign | None, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    kinds = [
        t
        for t in phase_types.list_types(ctx.db, CAMPAIGN_TYPES)
        if t.is_active or (row is not None and t.id == row.type_id)
    ]
    teams = ctx.db.execute(select(Team.id, Team.name).order_by(Team.name)).all()
    return ctx.render(
        "campaigns/form.html",
        campaign=row,
        form=form,
        errors=errors,
        type_options=[(t.id, t.name) for t in kinds],
        owner_options=active_user_choices(ctx.db),
        team_options=[(team_id, name) for team_id, name in teams],
        status_options=[(s, STATUS_LABELS[s]) for s in ("planned", "active")],
        currency_options=[(c, c) for c in CURRENCIES],
        status_code=status,
    )


def _campaign_in(form: dict[str, Any]) -> service.CampaignIn:
    """The form's fields; one left empty takes its default (none for the owner, the
    team and the end)."""
    values = {name: form[name] for name in FORM_FIELDS if str(form.get(name, "")).strip()}
    return validate(service.CampaignIn, values)


@page()
def campaign_new(ctx: Ctx) -> Response:
    require(ctx.acting, MODULE, "create")
    defaults = {
        "status": "planned",
        "currency": "EUR",
        "starts_on": today().isoformat(),
        "owner_id": ctx.acting.id,
    }
    return _form(ctx, None, defaults, {})


@page()
def campaign_create(ctx: Ctx) -> Response:
    form = ctx.form_dict()
    try:
        row = service.create_campaign(ctx.db, ctx.acting, _campaign_in(form))
    except Invalid as exc:
        return _form(ctx, None, form, exc.errors, 422)
    ctx.flash(_("Campaign %(name)s is saved.", name=row.name))
    return ctx.redirect(f"/campaigns/{row.id}")


@page()
def campaign_edit(ctx: Ctx) -> Response:
    row = service.get_campaign_for_user(ctx.db, ctx.acting, ctx.int_param("campaign_id"), "edit")
    values: dict[str, Any] = {name: getattr(row, name) for name in FORM_FIELDS}
    # Shown the way the user types them back (12.500,50 in Croatian).
    for name in ("budget", "expected_revenue"):
        values[name] = format_number(getattr(row, name), 2)
    values["expected_responses"] = format_number(row.expected_responses)
    return _form(ctx, row, values, {})


@page()
def campaign_save(ctx: Ctx) -> Response:
    row = service.get_campaign_for_user(ctx.db, ctx.acting, ctx.int_param("campaign_id"), "edit")
    form = ctx.form_dict()
    try:
        service.update_campaign(ctx.db, ctx.acting, row.id, _campaign_in(form))
    except Invalid as exc:
        return _form(ctx, row, form, exc.errors, 422)
    ctx.flash(_("Campaign %(name)s is saved.", name=row.name))
    return ctx.redirect(f"/campaigns/{row.id}")


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    Route("/campaigns", campaigns, name="campaigns"),
    Route("/campaigns/new", campaign_new, name="campaign_new"),
    _post("/campaigns/new", campaign_create, "campaign_create"),
    Route("/campaigns/{campaign_id:int}", campaign, name="campaign"),
    Route("/campaigns/{campaign_id:int}/edit", campaign_edit, name="campaign_edit"),
    _post("/campaigns/{campaign_id:int}/edit", campaign_save, "campaign_save"),
    _post("/campaigns/{campaign_id:int}/move", campaign_move, "campaign_move"),
    _post("/campaigns/{campaign_id:int}/end", campaign_end, "campaign_end"),
]
