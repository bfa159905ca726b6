"""Partner pages: the list (its filters; columns, sorting, totals, bulk actions, saved
views and export come from :mod:`groupware.lists` by the list's declaration in
:mod:`groupware.crm.lists`), the export of every field, create and edit with the
duplicate warning, delete, and choosing a partner's reps.

The partner's own page (``/partners/{id}``) lives in :mod:`groupware.crm.partner360_web`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, Any

from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from groupware import wiring
from groupware.access.policy import can, require, require_share
from groupware.accounts.users import active_user_choices
from groupware.crm import partner_list
from groupware.crm import partners as service
from groupware.crm.lists import PARTNERS
from groupware.crm.models import Partner
from groupware.crm.normalize import clean_oib, email_is_valid, oib_is_valid
from groupware.crm.partner_export import write_partners_csv
from groupware.crm.partners import Duplicate, PartnerFilter, PartnerIn
from groupware.crm.reference import country_choices
from groupware.errors import Invalid
from groupware.i18n import _, _l, current_language, today
from groupware.lists import web as lists_web
from groupware.validation import parse_id, validate
from groupware.web import Ctx, NavItem, page

MODULE = "partners"
nav = [NavItem(_l("Partners"), "partners", module=MODULE, order=20, icon="building-2")]
UNASSIGNED_CAP = 1000  # counted no further: the list then says "more than 1,000"
FILTER_FIELDS = tuple(PartnerFilter.model_fields)
FORM_FIELDS = tuple(PartnerIn.model_fields)
# Fields that make two partners look alike: a change to one asks about duplicates again.
LOOKALIKE_FIELDS = ("name", "city", "oib", "email")


# -- the list -------------------------------------------------------------------------


def _filter_of(ctx: Ctx) -> PartnerFilter:
    params = ctx.request.query_params
    return validate(
        PartnerFilter, {k: params[k] for k in FILTER_FIELDS if params.get(k, "").strip()}
    )


def _lookups(ctx: Ctx) -> dict[str, Any]:
    """Options of the filter selects, inactive reps marked as such."""
    inactive = _("inactive")
    return {
        kind: [(i, f"{name} ({inactive})" if off else name) for i, name, off in options]
        for kind, options in partner_list.filter_options(ctx.db).items()
    }


def _unassigned(ctx: Ctx) -> int | None:
    """How many partners wait in the unassigned queue, for those who see all partners
    (they are the ones who can do something about it); counted up to a cap."""
    if "all" not in ctx.acting.scopes(MODULE, "view"):
        return None
    return partner_list.unassigned_waiting(ctx.db, cap=UNASSIGNED_CAP)


@page()
def partners(ctx: Ctx) -> Response:
    """The partner list as the user shapes it (:mod:`groupware.lists`); the small
    tables behind the filter selects are read only for the whole page, not for the
    results htmx asks for while the user types."""
    full = not lists_web.wants_results(ctx)
    # As the areas gathered it: another area may add bulk actions (add to a campaign).
    found = lists_web.listing(ctx, wiring.current().lists[PARTNERS.name], full=full)
    context: dict[str, Any] = {}
    if full:
        context = _lookups(ctx) | {
            "unassigned": _unassigned(ctx),
            "unassigned_cap": UNASSIGNED_CAP,
            "may_create": ctx.acting.can(MODULE, "create"),
        }
    return lists_web.render(ctx, "crm/partner_list.html", found, **context)


# -- CSV export -----------------------------------------------------------------------

SPOOL_BYTES = 4 * 1024 * 1024  # more than this goes to a temporary file on disk


def _stream(out: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := out.read(64 * 1024):
            yield chunk
    finally:
        out.close()


@page()
def partners_export(ctx: Ctx) -> Response:
    """The filtered list as CSV. Written to a spooled temporary file inside the request's
    transaction (rows fetched in batches, never all in memory), then streamed from it:
    the database session ends when the handler returns."""
    require(ctx.acting, MODULE, "export")
    f = _filter_of(ctx)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _stream
    try:
        write_partners_csv(ctx.db, ctx.acting, f, out)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    filename = f"partneri-{today().isoformat()}.csv"
    return StreamingResponse(
        _stream(out),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- create and edit ------------------------------------------------------------------


def _data_of(form: dict[str, Any]) -> dict[str, Any]:
    data = {k: form[k] for k in FORM_FIELDS if k in form}
    data["tags"] = [t for t in str(form.get("tags", "")).split(",") if t.strip()]
    return data


def _duplicates_context(duplicates: Sequence[Duplicate], *, asked: bool) -> dict[str, Any]:
    return {
        "dups_seen": [d for d in duplicates if d.partner is not None],
        "dups_hidden": sum(1 for d in duplicates if d.partner is None),
        "dups_asked": asked,
    }


def _form(
    ctx: Ctx,
    partner: Partner | None,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    duplicates: Sequence[Duplicate] = (),
    status: int = 200,
) -> Response:
    country = str(form.get("country") or "HR").upper()
    return ctx.render(
        "crm/partner_form.html",
        partner=partner,
        form=form,
        errors=errors,
        group_options=[(g.id, g.name) for g in service.groups(ctx.db)],
        county_options=[(c.id, c.name) for c in service.counties(ctx.db, country)],
        country_options=country_choices(current_language()),
        editing=partner is not None,
        may_delete=partner is not None and can(ctx.db, ctx.acting, partner, "delete"),
        status_code=status,
        **_duplicates_context(duplicates, asked=bool(duplicates)),
    )


def _values(db: Session, partner: Partner) -> dict[str, Any]:
    values = service.values_of(db, partner)
    values["tags"] = ", ".join(values["tags"])  # type: ignore[arg-type]
    return values


@page()
def partner_new(ctx: Ctx) -> Response:
    require(ctx.acting, MODULE, "create")
    return _form(ctx, None, {"kind": "company", "status": "active", "country": "HR"}, {})


@page()
def partner_create(ctx: Ctx) -> Response:
    require(ctx.acting, MODULE, "create")
    form = ctx.form_dict(checkboxes=("anyway",))
    try:
        data = validate(PartnerIn, _data_of(form))
        duplicates = [] if form["anyway"] else service.find_duplicates(ctx.db, ctx.acting, data)
        if duplicates:
            return _form(ctx, None, form, {}, duplicates=duplicates, status=409)
        partner = service.create_partner(ctx.db, ctx.acting, data)
    except Invalid as exc:
        return _form(ctx, None, form, exc.errors, status=422)
    ctx.flash(_("The partner is created."))
    return ctx.redirect(f"/partners/{partner.id}")


@page()
def partner_edit(ctx: Ctx) -> Response:
    partner = service.get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    return _form(ctx, partner, _values(ctx.db, partner), {})


@page()
def partner_save(ctx: Ctx) -> Response:
    partner = service.get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    form = ctx.form_dict(checkboxes=("anyway",))
    before = {"name": partner.name, "city": partner.city, "oib": partner.oib or ""}
    before["email"] = partner.email
    try:
        data = validate(PartnerIn, _data_of(form))
        lookalike = any(getattr(data, k) != before[k] for k in LOOKALIKE_FIELDS)
        duplicates = (
            service.find_duplicates(ctx.db, ctx.acting, data, exclude_id=partner.id)
            if lookalike and not form["anyway"]
            else []
        )
        if duplicates:
            return _form(ctx, partner, form, {}, duplicates=duplicates, status=409)
        service.update_partner(ctx.db, partner, data, who=ctx.acting)
    except Invalid as exc:
        return _form(ctx, partner, form, exc.errors, status=422)
    if not can(ctx.db, ctx.acting, partner, "view"):
        # A new address can move a partner to another rep's territory.
        ctx.flash(_("The partner is saved and now belongs to another territory."))
        return ctx.redirect(ctx.url("partners"))
    ctx.flash(_("The partner is saved."))
    return ctx.redirect(f"/partners/{partner.id}")


@page(write=False)
def partner_check_duplicates(ctx: Ctx) -> Response:
    """While the form is filled in: partners that look like it (reads only)."""
    form = ctx.form_dict()
    exclude = parse_id(str(form.get("partner_id", "")))
    if exclude is not None:  # the partner being edited; through the helper all the same
        exclude = service.get_partner_for_user(ctx.db, ctx.acting, exclude).id
    name, oib = str(form.get("name", "")).strip()[:200], clean_oib(str(form.get("oib", "")))
    email = str(form.get("email", "")).strip().lower()
    data = PartnerIn.model_construct(
        name=name,
        city=str(form.get("city", "")).strip()[:100],
        oib=oib if oib_is_valid(oib) else "",
        email=email if email_is_valid(email) else "",
    )
    duplicates: list[Duplicate] = []
    if name or data.oib or data.email:
        found = service.find_duplicates(ctx.db, ctx.acting, data, exclude_id=exclude)
        duplicates = [d for d in found if name or d.reason != "name_city"]
    return ctx.render(
        "crm/_duplicates.html",
        editing=exclude is not None,
        form=form,
        **_duplicates_context(duplicates, asked=False),
    )


@page()
def partner_counties(ctx: Ctx) -> Response:
    """The county select for the chosen country (the form asks when the country changes)."""
    if not ctx.wants_fragment:  # an address typed or boosted: the form it belongs to
        return ctx.redirect(ctx.url("partner_new"))
    country = ctx.query("country", "HR").upper()[:2]
    return ctx.render(
        "crm/partner_form.html",
        block="county",
        form={"country": country},
        errors={},
        county_options=[(c.id, c.name) for c in service.counties(ctx.db, country)],
    )


@page()
def partner_delete(ctx: Ctx) -> Response:
    partner = service.get_partner_for_user(
        ctx.db, ctx.acting, ctx.int_param("partner_id"), "delete"
    )
    name = partner.name
    service.delete_partner(ctx.db, partner)
    ctx.flash(_("The partner “%(name)s” is deleted.", name=name))
    return ctx.redirect(ctx.url("partners"))


# -- reps -------------------------------------------------------------------------------


def _reps_page(
    ctx: Ctx, partner: Partner, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return ctx.render(
        "crm/partner_reps.html",
        partner=partner,
        reps=service.reps_of(ctx.db, partner),
        rule=service.assignment_rule_of(ctx.db, partner),
        user_options=active_user_choices(ctx.db),
        form=form,
        errors=errors,
        status_code=status,
    )


@page()
def partner_reps(ctx: Ctx) -> Response:
    partner = service.get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    require_share(ctx.db, ctx.acting, partner)
    form = {"owner_id": partner.owner_id, "rep_ids": [r.user_id for r in partner.reps]}
    return _reps_page(ctx, partner, form, {})


@page()
def partner_reps_save(ctx: Ctx) -> Response:
    partner = service.get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    require_share(ctx.db, ctx.acting, partner)
    form = ctx.form_dict(lists=("rep_ids",))
    try:
        if form.get("automatic"):
            service.set_reps(ctx.db, partner, owner_id=None, rep_ids=(), automatic=True)
            ctx.flash(_("The assignment table chooses this partner's reps again."))
        else:
            owner_text = str(form.get("owner_id", "")).strip()
            owner_id = parse_id(owner_text)
            rep_ids = [parse_id(str(v)) for v in form["rep_ids"]]
            if owner_text and owner_id is None:
                raise Invalid({"owner_id": _l("Choose active users.")})
            if None in rep_ids:
                raise Invalid({"rep_ids": _l("Choose active users.")})
            service.set_reps(
                ctx.db, partner, owner_id=owner_id, rep_ids=[i for i in rep_ids if i is not None]
            )
            ctx.flash(_("The reps are saved; the assignment table leaves them alone."))
    except Invalid as exc:
        return _reps_page(ctx, partner, form, exc.errors, 422)
    if not can(ctx.db, ctx.acting, partner, "view"):
        return ctx.redirect(ctx.url("partners"))  # they handed it to others entirely
    return ctx.redirect(ctx.url("partner_reps", partner_id=partner.id))


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    Route("/partners", partners, name="partners"),
    Route("/partners/export.csv", partners_export, name="partners_export"),
    Route("/partners/new", partner_new, name="partner_new"),
    _post("/partners/new", partner_create, "partner_create"),
    _post("/partners/check-duplicates", partner_check_duplicates, "partner_check_duplicates"),
    Route("/partners/counties", partner_counties, name="partner_counties"),
    Route("/partners/{partner_id:int}/edit", partner_edit, name="partner_edit"),
    _post("/partners/{partner_id:int}/edit", partner_save, "partner_save"),
    _post("/partners/{partner_id:int}/delete", partner_delete, "partner_delete"),
    Route("/partners/{partner_id:int}/reps", partner_reps, name="partner_reps"),
    _post("/partners/{partner_id:int}/reps", partner_reps_save, "partner_reps_save"),
]
