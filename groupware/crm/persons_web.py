"""Pages of persons (contacts at a partner) and of a partner's branches.

Both follow their partner's access: adding, changing or removing one takes edit
access to the partner (deleting takes its delete right).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import can
from groupware.activities.web import card as stream_card
from groupware.crm import persons as service
from groupware.crm.lists import PERSONS
from groupware.crm.models import Branch, Partner, Person
from groupware.crm.partners import counties, get_partner_for_user, partners_to_edit
from groupware.crm.reference import country_choices
from groupware.errors import Invalid
from groupware.i18n import _, _l, current_language
from groupware.lists import web as lists_web
from groupware.stream import Target
from groupware.validation import validate
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("Persons"), "persons", module="partners", order=30, icon="users")]
PERSON_FIELDS = (
    "first_name",
    "last_name",
    "function",
    "phones",
    "email",
    "branch_id",
    "external_id",
    "mailing_consent",
    "notes",
)
BRANCH_FIELDS = (
    "name",
    "street",
    "postal_code",
    "city",
    "county_id",
    "country",
    "phones",
    "email",
    "notes",
)


# -- persons --------------------------------------------------------------------------


@page()
def persons(ctx: Ctx) -> Response:
    # No module right needed: a user without one sees the persons shared with them.
    full = not lists_web.wants_results(ctx)
    return lists_web.render(ctx, "crm/person_list.html", lists_web.listing(ctx, PERSONS, full=full))


def _person_form(
    ctx: Ctx,
    partner: Partner,
    person: Person | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return ctx.render(
        "crm/person_form.html",
        partner=partner,
        person=person,
        form=form,
        errors=errors,
        branch_options=[(b.id, b.name) for b in service.branches_of(ctx.db, partner.id)],
        status_code=status,
    )


def _person_in(form: dict[str, Any], partner_id: int) -> service.PersonIn:
    # The partner comes from the path (checked for edit), never from the form.
    return validate(service.PersonIn, {**form, "partner_id": partner_id})


@page()
def person_pick(ctx: Ctx) -> Response:
    """A new person starts from their partner (the header's "+" menu): the partners the
    user may change that match what they type, each a link to the person's form."""
    q = ctx.query("q")[:100]
    rows = partners_to_edit(ctx.db, ctx.acting, q) if q else []
    return ctx.render("crm/person_pick.html", block="results", q=q, rows=rows)


@page()
def person_new(ctx: Ctx) -> Response:
    partner = get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    return _person_form(ctx, partner, None, {"branch_id": ctx.query_id("branch_id")}, {})


@page()
def person_create(ctx: Ctx) -> Response:
    partner = get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    form = ctx.form_dict(checkboxes=("mailing_consent",))
    try:
        data = _person_in(form, partner.id)
        row = service.save_person(ctx.db, ctx.acting, None, data)
    except Invalid as exc:
        return _person_form(ctx, partner, None, form, exc.errors, 422)
    ctx.flash(_("%(name)s is added.", name=row.full_name))
    return ctx.redirect(ctx.url("partner", partner_id=partner.id))


@page()
def person(ctx: Ctx) -> Response:
    row = service.get_person_for_user(ctx.db, ctx.acting, ctx.int_param("person_id"))
    return ctx.render(
        "crm/person_detail.html",
        person=row,
        may_edit=can(ctx.db, ctx.acting, row, "edit"),
        may_delete=can(ctx.db, ctx.acting, row, "delete"),
        stream=stream_card(ctx, Target("persons", row.id, row)),
    )


@page()
def person_edit(ctx: Ctx) -> Response:
    row = service.get_person_for_user(ctx.db, ctx.acting, ctx.int_param("person_id"), "edit")
    values = {name: getattr(row, name) for name in PERSON_FIELDS}
    values["external_id"] = row.external_id or ""
    return _person_form(ctx, row.partner, row, values, {})


@page()
def person_save(ctx: Ctx) -> Response:
    row = service.get_person_for_user(ctx.db, ctx.acting, ctx.int_param("person_id"), "edit")
    form = ctx.form_dict(checkboxes=("mailing_consent",))
    try:
        data = _person_in(form, row.partner_id)
        service.save_person(ctx.db, ctx.acting, row, data)
    except Invalid as exc:
        return _person_form(ctx, row.partner, row, form, exc.errors, 422)
    ctx.flash(_("The person is saved."))
    return ctx.redirect(ctx.url("person", person_id=row.id))


@page()
def person_delete(ctx: Ctx) -> Response:
    row = service.get_person_for_user(ctx.db, ctx.acting, ctx.int_param("person_id"), "delete")
    partner_id = row.partner_id
    service.delete_person(ctx.db, row)
    ctx.flash(_("The person is deleted."))
    return ctx.redirect(ctx.url("partner", partner_id=partner_id))


@page()
def person_opt_out(ctx: Ctx) -> Response:
    row = service.get_person_for_user(ctx.db, ctx.acting, ctx.int_param("person_id"), "edit")
    service.opt_out(ctx.db, row)
    ctx.flash(_("%(name)s will get no more mailings.", name=row.full_name))
    return ctx.redirect(ctx.url("person", person_id=row.id))


# -- branches -------------------------------------------------------------------------


def _branch_form(
    ctx: Ctx,
    partner: Partner,
    branch: Branch | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    country = str(form.get("country") or "HR")
    return ctx.render(
        "crm/branch_form.html",
        partner=partner,
        branch=branch,
        form=form,
        errors=errors,
        country_options=country_choices(current_language()),
        county_options=[(c.id, c.name) for c in counties(ctx.db, country)],
        status_code=status,
    )


def _branch_in(form: dict[str, Any], partner_id: int) -> service.BranchIn:
    return validate(service.BranchIn, {**form, "partner_id": partner_id})


@page()
def branch_new(ctx: Ctx) -> Response:
    partner = get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    return _branch_form(ctx, partner, None, {"country": partner.country}, {})


@page()
def branch_create(ctx: Ctx) -> Response:
    partner = get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    form = ctx.form_dict()
    try:
        data = _branch_in(form, partner.id)
        row = service.save_branch(ctx.db, ctx.acting, None, data)
    except Invalid as exc:
        return _branch_form(ctx, partner, None, form, exc.errors, 422)
    ctx.flash(_("The branch %(name)s is added.", name=row.name))
    return ctx.redirect(ctx.url("partner", partner_id=partner.id))


@page()
def branch(ctx: Ctx) -> Response:
    row = service.get_branch_for_user(ctx.db, ctx.acting, ctx.int_param("branch_id"))
    people = [p for p in service.persons_of(ctx.db, row.partner_id) if p.branch_id == row.id]
    return ctx.render(
        "crm/branch_detail.html",
        branch=row,
        persons=people,
        country_name=dict(country_choices(current_language())).get(row.country, row.country),
        may_edit=can(ctx.db, ctx.acting, row, "edit"),
        may_delete=can(ctx.db, ctx.acting, row, "delete"),
    )


@page()
def branch_edit(ctx: Ctx) -> Response:
    row = service.get_branch_for_user(ctx.db, ctx.acting, ctx.int_param("branch_id"), "edit")
    return _branch_form(ctx, row.partner, row, {n: getattr(row, n) for n in BRANCH_FIELDS}, {})


@page()
def branch_save(ctx: Ctx) -> Response:
    row = service.get_branch_for_user(ctx.db, ctx.acting, ctx.int_param("branch_id"), "edit")
    form = ctx.form_dict()
    try:
        data = _branch_in(form, row.partner_id)
        service.save_branch(ctx.db, ctx.acting, row, data)
    except Invalid as exc:
        return _branch_form(ctx, row.partner, row, form, exc.errors, 422)
    ctx.flash(_("The branch is saved."))
    return ctx.redirect(ctx.url("branch", branch_id=row.id))


@page()
def branch_delete(ctx: Ctx) -> Response:
    row = service.get_branch_for_user(ctx.db, ctx.acting, ctx.int_param("branch_id"), "delete")
    partner_id = row.partner_id
    service.delete_branch(ctx.db, row)
    ctx.flash(_("The branch is deleted; its persons stay with the partner."))
    return ctx.redirect(ctx.url("partner", partner_id=partner_id))


routes = [
    Route("/persons", persons, name="persons"),
    Route("/persons/new", person_pick, name="person_pick"),
    Route("/partners/{partner_id:int}/persons/new", person_new, name="person_new"),
    Route(
        "/partners/{partner_id:int}/persons/new",
        person_create,
        methods=["POST"],
        name="person_create",
    ),
    Route("/persons/{person_id:int}", person, name="person"),
    Route("/persons/{person_id:int}/edit", person_edit, name="person_edit"),
    Route("/persons/{person_id:int}/edit", person_save, methods=["POST"], name="person_save"),
    Route("/persons/{person_id:int}/delete", person_delete, methods=["POST"], name="person_delete"),
    Route(
        "/persons/{person_id:int}/opt-out",
        person_opt_out,
        methods=["POST"],
        name="person_opt_out",
    ),
    Route("/partners/{partner_id:int}/branches/new", branch_new, name="branch_new"),
    Route(
        "/partners/{partner_id:int}/branches/new",
        branch_create,
        methods=["POST"],
        name="branch_create",
    ),
    Route("/branches/{branch_id:int}", branch, name="branch"),
    Route("/branches/{branch_id:int}/edit", branch_edit, name="branch_edit"),
    Route("/branches/{branch_id:int}/edit", branch_save, methods=["POST"], name="branch_save"),
    Route(
        "/branches/{branch_id:int}/delete", branch_delete, methods=["POST"], name="branch_delete"
    ),
]
