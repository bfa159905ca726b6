"""A campaign's target pages: its list (shaped like every list, with statuses to set in
bulk) and the page that chooses targets: criteria with a live count while they are
edited, saved criteria, freezing and refreshing, a CSV list, another campaign's
targets. Partners are picked by hand on the partner list ("add to a campaign")."""

from __future__ import annotations

import shutil
import tempfile
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import can, visible
from groupware.campaigns import criteria as criteria_
from groupware.campaigns import service, targets
from groupware.campaigns.lists import TARGETS
from groupware.campaigns.models import (
    TARGET_SOURCE_LABELS,
    TARGET_STATUS_LABELS,
    Campaign,
    SavedCriteria,
)
from groupware.crm.documents import CURRENCIES
from groupware.crm.lists import PARTNER_KIND_LABELS, PARTNER_STATUS_LABELS
from groupware.crm.partner_list import filter_options
from groupware.deals.types import DEAL_TYPES
from groupware.errors import Invalid
from groupware.i18n import _, format_number, ngettext
from groupware.lists import web as lists_web
from groupware.phases import types as phase_types
from groupware.validation import parse_id, validate
from groupware.web import Ctx, page

FIELDS = tuple(criteria_.LABELS)
CHECKBOXES = ("unassigned", "consent")


def _typed(values: Mapping[str, Any]) -> dict[str, str]:
    """The criteria fields of a form or query string that are filled in."""
    return {name: str(values[name]) for name in FIELDS if str(values.get(name, "")).strip()}


def _criteria(values: Mapping[str, Any]) -> criteria_.Criteria:
    return validate(criteria_.Criteria, _typed(values))


def _shown(criteria: criteria_.Criteria) -> dict[str, str]:
    """Stored criteria as the form shows them (amounts the user's way)."""
    shown = {name: str(value) for name, value in criteria.stored().items()}
    if criteria.revenue_min is not None:
        shown["revenue_min"] = format_number(criteria.revenue_min, 2)
    for name in CHECKBOXES:
        if getattr(criteria, name):
            shown[name] = "1"
    return shown


def _added_message(added: targets.Added) -> str:
    text = ngettext("%(num)d partner added.", "%(num)d partners added.", added.added)
    if added.already:
        text += " " + ngettext(
            "%(num)d was on the list already.", "%(num)d were on the list already.", added.already
        )
    if added.dropped:
        text += " " + ngettext(
            "%(num)d no longer matching was taken off.",
            "%(num)d no longer matching were taken off.",
            added.dropped,
        )
    return (
        text
        + " "
        + ngettext("The list has %(num)d target.", "The list has %(num)d targets.", added.total)
    )


def _list_url(ctx: Ctx, campaign_id: int) -> str:
    return f"{ctx.url('campaign_targets')}?campaign_id={campaign_id}"


# -- the list -------------------------------------------------------------------------


@page()
def campaign_targets(ctx: Ctx) -> Response:
    campaign_id = parse_id(ctx.request.query_params.get("campaign_id", ""))
    if campaign_id is None:  # a list of targets is always one campaign's
        ctx.flash(_("Open the target list from its campaign."), "info")
        return ctx.redirect(ctx.url("campaigns"))
    campaign = service.get_campaign_for_user(ctx.db, ctx.acting, campaign_id)
    full = not lists_web.wants_results(ctx)
    found = lists_web.listing(ctx, TARGETS, full=full)
    return lists_web.render(
        ctx,
        "campaigns/targets.html",
        found,
        campaign=campaign,
        counts=targets.status_counts(ctx.db, ctx.acting, campaign),
        statuses=TARGET_STATUS_LABELS,
        sources=TARGET_SOURCE_LABELS,
        may_choose=campaign.is_open and can(ctx.db, ctx.acting, campaign, "edit"),
    )


# -- choosing targets -----------------------------------------------------------------


def _choose_page(
    ctx: Ctx,
    campaign: Campaign,
    form: Mapping[str, Any],
    errors: dict[str, str],
    *,
    problems: tuple[targets.RowProblem, ...] = (),
    unmatched: int = 0,
    status: int = 200,
) -> Response:
    others = ctx.db.execute(
        select(Campaign.id, Campaign.name)
        .where(Campaign.id != campaign.id, visible(Campaign, ctx.acting))
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(200)
    ).all()
    options = filter_options(ctx.db)
    deal_types = phase_types.list_types(ctx.db, DEAL_TYPES)
    return ctx.render(
        "campaigns/choose.html",
        campaign=campaign,
        form=form,
        errors=errors,
        count=_count_of(ctx, form) if not errors else None,
        saved=criteria_.saved(ctx.db),
        labels=criteria_.LABELS,
        group_options=[(i, n) for i, n, _x in options["group_options"]],
        county_options=[(i, n) for i, n, _x in options["county_options"]],
        territory_options=[(i, n) for i, n, _x in options["territory_options"]],
        rep_options=[(i, n) for i, n, inactive in options["rep_options"] if not inactive],
        status_options=list(PARTNER_STATUS_LABELS.items()),
        kind_options=list(PARTNER_KIND_LABELS.items()),
        currency_options=[(c, c) for c in CURRENCIES],
        open_deal_options=[("has", _("has one")), ("lacks", _("has none"))],
        deal_type_options=[(t.id, t.name) for t in deal_types],
        other_options=[(i, n) for i, n in others],
        target_statuses=TARGET_STATUS_LABELS,
        problems=problems,
        unmatched=unmatched,
        status_code=status,
    )


def _count_of(ctx: Ctx, values: Mapping[str, Any]) -> int | None:
    """How many partners the typed criteria match; None when none are typed (the whole
    list of partners is no target list)."""
    typed = _typed(values)
    if not typed:
        return None
    return criteria_.count(ctx.db, ctx.acting, _criteria(typed))


def _editable(ctx: Ctx) -> Campaign:
    return targets.editable_campaign(ctx.db, ctx.acting, ctx.int_param("campaign_id"))


@page()
def campaign_choose(ctx: Ctx) -> Response:
    campaign_id = ctx.int_param("campaign_id")
    campaign = service.get_campaign_for_user(ctx.db, ctx.acting, campaign_id, "edit")
    if not campaign.is_open:
        ctx.flash(_("This campaign has ended; its targets stay as they are."), "info")
        return ctx.redirect(_list_url(ctx, campaign_id))
    values: dict[str, Any] = dict(ctx.request.query_params)
    saved_id = parse_id(values.pop("saved_id", ""))
    if saved_id is not None:
        row = ctx.db.get(SavedCriteria, saved_id)
        if row is not None:
            values = _shown(criteria_.from_stored(row.criteria))
    elif not _typed(values) and campaign.criteria:
        values = _shown(criteria_.from_stored(campaign.criteria))
    try:
        return _choose_page(ctx, campaign, values, {})
    except Invalid as exc:
        return _choose_page(ctx, campaign, values, exc.errors, status=422)


@page()
def campaign_count(ctx: Ctx) -> Response:
    """The live count: the criteria of the query string, counted (a fragment; its
    address typed in shows the page it belongs to)."""
    campaign = _editable(ctx)
    if not ctx.wants_fragment:  # typed in, or a boosted link: the whole page
        query = ctx.request.url.query
        return ctx.redirect(
            ctx.url("campaign_choose", campaign_id=campaign.id) + (f"?{query}" if query else "")
        )
    values = dict(ctx.request.query_params)
    try:
        count, errors = _count_of(ctx, values), {}
    except Invalid as exc:
        count, errors = None, exc.errors
    return ctx.render(
        "campaigns/_count.html",
        campaign=campaign,
        count=count,
        errors=errors,
        labels=criteria_.LABELS,
        status_code=422 if errors else 200,
    )


def _adding(
    ctx: Ctx, campaign: Campaign, form: Mapping[str, Any], add: Callable[[], targets.Added]
) -> Response:
    """Change the list as ``add`` does: say what it did and show the list; refused, the
    choosing page again with the reasons."""
    try:
        added = add()
    except Invalid as exc:
        return _choose_page(ctx, campaign, form, exc.errors, status=422)
    ctx.flash(_added_message(added))
    return ctx.redirect(_list_url(ctx, campaign.id))


@page()
def campaign_freeze(ctx: Ctx) -> Response:
    campaign = _editable(ctx)
    form = ctx.form_dict()

    def add() -> targets.Added:
        return targets.freeze(ctx.db, ctx.acting, campaign.id, _criteria(form))

    return _adding(ctx, campaign, form, add)


@page()
def campaign_refresh(ctx: Ctx) -> Response:
    campaign = _editable(ctx)
    return _adding(ctx, campaign, {}, lambda: targets.refresh(ctx.db, ctx.acting, campaign.id))


@page()
def campaign_from_csv(ctx: Ctx) -> Response:
    campaign = _editable(ctx)
    upload = ctx.form.get("file") if ctx.form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _choose_page(ctx, campaign, {}, {"file": _("Choose a CSV file.")}, status=422)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "targets.csv"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1024 * 1024)
        try:
            added = targets.add_from_csv(ctx.db, ctx.acting, campaign.id, path)
        except Invalid as exc:
            return _choose_page(ctx, campaign, {}, exc.errors, status=422)
    if added.problems and not added.added and not added.already:
        errors = {"file": _("No row of the file names a partner you may see.")}
        return _choose_page(
            ctx,
            campaign,
            {},
            errors,
            problems=added.problems,
            unmatched=added.unmatched,
            status=422,
        )
    ctx.flash(_added_message(added))
    if not added.problems:
        return ctx.redirect(_list_url(ctx, campaign.id))
    # The rows that added nothing, by number, beside what was added.
    return _choose_page(ctx, campaign, {}, {}, problems=added.problems, unmatched=added.unmatched)


@page()
def campaign_from_campaign(ctx: Ctx) -> Response:
    campaign = _editable(ctx)
    form = ctx.form_dict(lists=("statuses",))
    other_id = parse_id(str(form.get("other_id", "")))
    statuses = [str(s) for s in form.get("statuses", [])]

    def add() -> targets.Added:
        if other_id is None:
            raise Invalid({"other_id": _("Choose a campaign.")})
        return targets.add_from_campaign(ctx.db, ctx.acting, campaign.id, other_id, statuses)

    return _adding(ctx, campaign, {}, add)


@page()
def criteria_save(ctx: Ctx) -> Response:
    campaign = _editable(ctx)
    form = ctx.form_dict()
    try:
        row = criteria_.save(ctx.db, ctx.acting, str(form.get("name", "")), _criteria(form))
    except Invalid as exc:
        return _choose_page(ctx, campaign, form, exc.errors, status=422)
    ctx.flash(_("The criteria are saved as “%(name)s”.", name=row.name))
    query = urllib.parse.urlencode({"saved_id": row.id})
    return ctx.redirect(f"{ctx.url('campaign_choose', campaign_id=campaign.id)}?{query}")


@page()
def criteria_delete(ctx: Ctx) -> Response:
    campaign = _editable(ctx)
    form = ctx.form_dict()
    try:
        criteria_.delete_saved(ctx.db, ctx.acting, parse_id(str(form.get("saved_id", ""))) or 0)
    except Invalid as exc:
        return _choose_page(ctx, campaign, {}, exc.errors, status=422)
    ctx.flash(_("The saved criteria are deleted."))
    return ctx.redirect(ctx.url("campaign_choose", campaign_id=campaign.id))


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


ROOT = "/campaigns/{campaign_id:int}"
routes = [
    Route("/campaigns/targets", campaign_targets, name="campaign_targets"),
    Route(f"{ROOT}/choose", campaign_choose, name="campaign_choose"),
    Route(f"{ROOT}/choose/count", campaign_count, name="campaign_count"),
    _post(f"{ROOT}/targets/freeze", campaign_freeze, "campaign_freeze"),
    _post(f"{ROOT}/targets/refresh", campaign_refresh, "campaign_refresh"),
    _post(f"{ROOT}/targets/csv", campaign_from_csv, "campaign_from_csv"),
    _post(f"{ROOT}/targets/from-campaign", campaign_from_campaign, "campaign_from_campaign"),
    _post(f"{ROOT}/criteria", criteria_save, "criteria_save"),
    _post(f"{ROOT}/criteria/delete", criteria_delete, "criteria_delete"),
]
