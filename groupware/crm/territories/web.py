"""Territories, partner groups and the assignment table: pages to see and edit them,
and the dry run and application of the table to every partner.

Everyone who may view partners sees the territories and the table (a rep knows their
territory); changing them, previewing and applying a re-assignment is for users with
the ``admin`` action on partners.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from groupware.access.policy import require
from groupware.accounts.users import list_users, user_names
from groupware.crm.models import (
    AssignmentRule,
    PartnerGroup,
    Territory,
    TerritoryArea,
)
from groupware.crm.reference import country_choices, is_country
from groupware.crm.territories import assignment, service
from groupware.crm.territories import groups as group_service
from groupware.errors import Invalid
from groupware.i18n import _, _l, current_language, ngettext
from groupware.validation import parse_id, validate
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("Territories"), "territories", module="partners", order=100, icon="map")]
Form = dict[str, Any]

AREA_FIELDS = ("country", "county_id", "city", "postal_from", "postal_to")
MAX_AREAS = 100
MAX_REPS = 20
PREVIEW_LIMIT = 200


def _may_edit(ctx: Ctx) -> bool:
    return ctx.acting.can("partners", "admin")


def _editor(ctx: Ctx) -> None:
    require(ctx.acting, "partners", "admin")


# -- reading --------------------------------------------------------------------------


def describe_area(area: TerritoryArea, countries: dict[str, str], counties: dict[int, str]) -> str:
    """An area as a person reads it: "Croatia · Grad Zagreb · postal codes 10000–10999"."""
    parts = [countries.get(area.country, area.country)]
    if area.county_id is not None:
        parts.append(counties.get(area.county_id, f"#{area.county_id}"))
    if area.city:
        parts.append(area.city.title())  # stored folded for matching
    if area.postal_from and area.postal_to:
        parts.append(
            _("postal codes %(first)s–%(last)s", first=area.postal_from, last=area.postal_to)
        )
    elif area.postal_from:
        parts.append(_("postal codes from %(first)s", first=area.postal_from))
    elif area.postal_to:
        parts.append(_("postal codes up to %(last)s", last=area.postal_to))
    if len(parts) == 1:
        parts.append(_("the whole country"))
    return " · ".join(parts)


def _described(ctx: Ctx, territories: Iterable[Territory]) -> dict[int, list[str]]:
    countries = dict(country_choices(current_language()))
    counties = service.county_names(ctx.db)
    return {t.id: [describe_area(a, countries, counties) for a in t.areas] for t in territories}


@page()
def territories(ctx: Ctx) -> Response:
    require(ctx.acting, "partners", "view")
    rows = service.list_territories(ctx.db)
    return ctx.render(
        "crm/territories.html",
        territories=rows,
        areas=_described(ctx, rows),
        counts=service.partner_counts(ctx.db, ctx.acting),
        rules=service.list_rules(ctx.db),
        unassigned=assignment.unassigned_count(ctx.db, ctx.acting),
        may_edit=_may_edit(ctx),
    )


@page()
def rule_table(ctx: Ctx) -> Response:
    """Where history links to rules: the table on the territories page."""
    return RedirectResponse(ctx.url("territories") + "#rules", status_code=303)


def _territory_page(
    ctx: Ctx, territory: Territory, errors: Form | None = None, status: int = 200
) -> Response:
    return ctx.render(
        "crm/territory.html",
        territory=territory,
        areas=_described(ctx, [territory])[territory.id],
        count=service.partner_counts(ctx.db, ctx.acting).get(territory.id, 0),
        rules=[r for r in service.list_rules(ctx.db) if r.territory_id == territory.id],
        may_edit=_may_edit(ctx),
        errors=errors or {},
        status_code=status,
    )


@page()
def territory(ctx: Ctx) -> Response:
    require(ctx.acting, "partners", "view")
    return _territory_page(ctx, service.get_territory(ctx.db, ctx.int_param("territory_id")))


# -- editing territories --------------------------------------------------------------


def _blank_area() -> Form:
    return {**dict.fromkeys(AREA_FIELDS, ""), "remove": False}


def _area_values(area: TerritoryArea) -> Form:
    return {
        "country": area.country,
        "county_id": area.county_id or "",
        "city": area.city.title(),
        "postal_from": area.postal_from,
        "postal_to": area.postal_to,
        "remove": False,
    }


def _posted_areas(form: Form) -> list[Form]:
    count = min(parse_id(str(form.get("area_rows", ""))) or 0, MAX_AREAS)
    return [
        {
            **{name: str(form.get(f"areas-{i}-{name}", "")).strip() for name in AREA_FIELDS},
            "remove": f"areas-{i}-remove" in form,
        }
        for i in range(count)
    ]


def _territory_form(
    ctx: Ctx,
    territory: Territory | None,
    form: Form,
    rows: list[Form],
    errors: Form,
    status: int = 200,
) -> Response:
    return ctx.render(
        "crm/territory_form.html",
        territory=territory,
        form=form,
        rows=rows,
        errors=errors,
        countries=country_choices(current_language()),
        county_options=service.county_choices(ctx.db),
        status_code=status,
    )


def _area_input(
    session: Session, rows: list[Form]
) -> tuple[list[dict[str, str]], list[int], dict[str, str]]:
    """The areas to save (blank and removed rows dropped), the form row of each, and
    errors the schema cannot see. A county chosen without a country implies its own."""
    county_country = service.county_countries(session)
    areas: list[dict[str, str]] = []
    index: list[int] = []
    errors: dict[str, str] = {}
    for i, row in enumerate(rows):
        values = {name: row[name] for name in AREA_FIELDS}
        if row["remove"] or not any(values.values()):
            continue
        county_id = parse_id(values["county_id"])
        if not values["country"] and county_id is not None:
            values["country"] = county_country.get(county_id, "")
        if not is_country(values["country"].upper()):
            errors[f"areas.{i}.country"] = _("Choose a country.")
        areas.append(values)
        index.append(i)
    return areas, index, errors


def _area_errors(errors: Form, index: list[int]) -> Form:
    """Errors of the n-th saved area, renamed to the form row it came from."""
    renamed: Form = {}
    for key, message in errors.items():
        parts = key.split(".")
        if len(parts) > 1 and parts[0] == "areas" and parts[1].isdigit():
            position = int(parts[1])
            if position < len(index):
                parts[1] = str(index[position])
        renamed[".".join(parts)] = message
    return renamed


def _save_territory(ctx: Ctx, territory: Territory | None) -> Response:
    _editor(ctx)
    form = ctx.form_dict()
    rows = _posted_areas(form)
    if "add_area" in form:
        rows.append(_blank_area())
        return _territory_form(ctx, territory, form, rows[:MAX_AREAS], {})
    areas, index, errors = _area_input(ctx.db, rows)
    payload = {
        "name": str(form.get("name", "")),
        "description": str(form.get("description", "")),
        "areas": areas,
    }
    try:
        data = validate(service.TerritoryIn, payload)
        if errors:
            raise Invalid({})
        saved = service.save_territory(ctx.db, territory, data)
    except Invalid as exc:
        all_errors = {**_area_errors(exc.errors, index), **errors}
        return _territory_form(ctx, territory, form, rows, all_errors, 422)
    ctx.flash(_("Territory %(name)s is saved.", name=saved.name))
    return ctx.redirect(ctx.url("territory", territory_id=saved.id))


@page()
def territory_new(ctx: Ctx) -> Response:
    _editor(ctx)
    return _territory_form(ctx, None, {}, [_blank_area() for _i in range(3)], {})


@page()
def territory_create(ctx: Ctx) -> Response:
    return _save_territory(ctx, None)


@page()
def territory_edit(ctx: Ctx) -> Response:
    _editor(ctx)
    row = service.get_territory(ctx.db, ctx.int_param("territory_id"))
    form = {"name": row.name, "description": row.description}
    return _territory_form(ctx, row, form, [*map(_area_values, row.areas), _blank_area()], {})


@page()
def territory_save(ctx: Ctx) -> Response:
    _editor(ctx)
    return _save_territory(ctx, service.get_territory(ctx.db, ctx.int_param("territory_id")))


@page()
def territory_delete(ctx: Ctx) -> Response:
    _editor(ctx)
    row = service.get_territory(ctx.db, ctx.int_param("territory_id"))
    try:
        service.delete_territory(ctx.db, row)
    except Invalid as exc:
        return _territory_page(ctx, row, exc.errors, 422)
    ctx.flash(_("Territory %(name)s is deleted.", name=row.name))
    return ctx.redirect(ctx.url("territories"))


# -- editing rules ----------------------------------------------------------------------


def _rule_form(
    ctx: Ctx,
    rule: AssignmentRule | None,
    form: Form,
    errors: Form,
    status: int = 200,
) -> Response:
    reps = [str(v) for v in form.get("rep_ids", [])]
    posted_rows = parse_id(str(form.get("rep_rows", ""))) or 0
    count = min(max(3, len(reps) + 1, posted_rows), MAX_REPS)
    users = {u.id: u for u in list_users(ctx.db, active=True, limit=1000)}
    if rule is not None:  # reps who left stay visible in the form, marked
        users.update({r.user_id: r.user for r in rule.reps if r.user_id not in users})
    return ctx.render(
        "crm/rule_form.html",
        rule=rule,
        form=form,
        errors=errors,
        rep_values=(reps + [""] * count)[:count],
        user_options=sorted(users.values(), key=lambda u: u.full_name.casefold()),
        territory_options=[(t.id, t.name) for t in service.list_territories(ctx.db)],
        group_options=[(g.id, g.name) for g, _n in group_service.list_groups(ctx.db, ctx.acting)],
        status_code=status,
    )


def _rule_values(rule: AssignmentRule) -> Form:
    return {
        "territory_id": rule.territory_id,
        "group_id": rule.group_id or "",
        "priority": rule.priority,
        "rep_ids": [rep.user_id for rep in rule.reps],
        "is_active": rule.is_active,
        "note": rule.note,
    }


def _save_rule(ctx: Ctx, rule: AssignmentRule | None) -> Response:
    _editor(ctx)
    form = ctx.form_dict(lists=("rep_ids",), checkboxes=("is_active",))
    if "add_rep" in form:
        form["rep_rows"] = (parse_id(str(form.get("rep_rows", ""))) or 0) + 1
        return _rule_form(ctx, rule, form, {})
    data = {name: form.get(name, "") for name in ("territory_id", "group_id", "priority", "note")}
    data = {name: value for name, value in data.items() if value != "" or name == "group_id"}
    data.update(rep_ids=form["rep_ids"], is_active=form["is_active"])
    try:
        if not form["rep_ids"]:
            raise Invalid({"rep_ids": _("Choose at least one rep.")})
        saved = service.save_rule(ctx.db, rule, validate(service.RuleIn, data))
    except Invalid as exc:
        # "rep_ids.1" (a bad id in the second select) shows at the reps.
        errors = {key.split(".")[0]: message for key, message in exc.errors.items()}
        return _rule_form(ctx, rule, form, errors, 422)
    ctx.flash(_("The rule is saved. Existing partners follow it when the table is applied."))
    return ctx.redirect(ctx.url("territories") + f"#rule-{saved.id}")


@page()
def rule_new(ctx: Ctx) -> Response:
    _editor(ctx)
    form = {"territory_id": ctx.query_id("territory") or "", "priority": 100, "is_active": True}
    return _rule_form(ctx, None, form, {})


@page()
def rule_create(ctx: Ctx) -> Response:
    return _save_rule(ctx, None)


@page()
def rule_edit(ctx: Ctx) -> Response:
    _editor(ctx)
    rule = service.get_rule(ctx.db, ctx.int_param("rule_id"))
    return _rule_form(ctx, rule, _rule_values(rule), {})


@page()
def rule_save(ctx: Ctx) -> Response:
    _editor(ctx)
    return _save_rule(ctx, service.get_rule(ctx.db, ctx.int_param("rule_id")))


@page()
def rule_delete(ctx: Ctx) -> Response:
    _editor(ctx)
    service.delete_rule(ctx.db, service.get_rule(ctx.db, ctx.int_param("rule_id")))
    ctx.flash(_("The rule is deleted. Its partners keep their reps until the table is applied."))
    return ctx.redirect(ctx.url("territories"))


# -- dry run and re-assignment ----------------------------------------------------------


@page()
def reassign(ctx: Ctx) -> Response:
    _editor(ctx)
    force = ctx.query("force") == "1"
    total, changes = assignment.preview_reassignment(
        ctx.db, assignment.load_matcher(ctx.db), force=force, limit=PREVIEW_LIMIT
    )
    return ctx.render(
        "crm/reassign.html",
        force=force,
        total=total,
        changes=changes,
        limit=PREVIEW_LIMIT,
        names=user_names(ctx.db, (i for c in changes for i in (c.old_owner_id, c.new_owner_id))),
        territory_names={t.id: t.name for t in service.list_territories(ctx.db)},
        rules={r.id: r for r in service.list_rules(ctx.db)},
    )


@page()
def reassign_apply(ctx: Ctx) -> Response:
    _editor(ctx)
    force = ctx.form_dict(checkboxes=("force",))["force"]
    count = assignment.reassign_all(ctx.db, assignment.load_matcher(ctx.db), force=force)
    ctx.flash(
        ngettext(
            "%(num)d partner got new reps or a new territory.",
            "%(num)d partners got new reps or a new territory.",
            count,
        )
    )
    return ctx.redirect(ctx.url("territories"))


# -- partner groups -----------------------------------------------------------------------


def _groups_page(ctx: Ctx, form: Form, errors: Form, status: int = 200) -> Response:
    groups = group_service.list_groups(ctx.db, ctx.acting)
    return ctx.render(
        "crm/groups.html",
        groups=groups,
        form=form,
        errors=errors,
        may_edit=_may_edit(ctx),
        status_code=status,
    )


@page()
def partner_groups(ctx: Ctx) -> Response:
    require(ctx.acting, "partners", "view")
    return _groups_page(ctx, {}, {})


@page()
def group_create(ctx: Ctx) -> Response:
    _editor(ctx)
    form = ctx.form_dict()
    try:
        group = group_service.create_group(ctx.db, validate(group_service.GroupIn, form))
    except Invalid as exc:
        return _groups_page(ctx, form, exc.errors, 422)
    ctx.flash(_("Partner group %(name)s is created.", name=group.name))
    return ctx.redirect(ctx.url("partner_groups"))


def _group_form(
    ctx: Ctx, group: PartnerGroup, form: Form | None, errors: Form, status: int = 200
) -> Response:
    count = dict((g.id, n) for g, n in group_service.list_groups(ctx.db, ctx.acting)).get(
        group.id, 0
    )
    form = form if form is not None else {"name": group.name, "description": group.description}
    return ctx.render(
        "crm/groups_form.html",
        group=group,
        count=count,
        form=form,
        errors=errors,
        status_code=status,
    )


@page()
def group_edit(ctx: Ctx) -> Response:
    _editor(ctx)
    return _group_form(ctx, group_service.get_group(ctx.db, ctx.int_param("group_id")), None, {})


@page()
def group_save(ctx: Ctx) -> Response:
    _editor(ctx)
    group = group_service.get_group(ctx.db, ctx.int_param("group_id"))
    form = ctx.form_dict()
    try:
        group_service.update_group(ctx.db, group, validate(group_service.GroupIn, form))
    except Invalid as exc:
        return _group_form(ctx, group, form, exc.errors, 422)
    ctx.flash(_("Partner group %(name)s is saved.", name=group.name))
    return ctx.redirect(ctx.url("partner_groups"))


@page()
def group_delete(ctx: Ctx) -> Response:
    _editor(ctx)
    group = group_service.get_group(ctx.db, ctx.int_param("group_id"))
    try:
        group_service.delete_group(ctx.db, group)
    except Invalid as exc:
        return _group_form(ctx, group, None, exc.errors, 422)
    ctx.flash(_("Partner group %(name)s is deleted.", name=group.name))
    return ctx.redirect(ctx.url("partner_groups"))


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    Route("/territories", territories, name="territories"),
    Route("/territories/new", territory_new, name="territory_new"),
    _post("/territories/new", territory_create, "territory_create"),
    Route("/territories/{territory_id:int}", territory, name="territory"),
    Route("/territories/{territory_id:int}/edit", territory_edit, name="territory_edit"),
    _post("/territories/{territory_id:int}/edit", territory_save, "territory_save"),
    _post("/territories/{territory_id:int}/delete", territory_delete, "territory_delete"),
    Route("/territories/rules", rule_table, name="rule_table"),
    Route("/territories/rules/new", rule_new, name="rule_new"),
    _post("/territories/rules/new", rule_create, "rule_create"),
    Route("/territories/rules/{rule_id:int}/edit", rule_edit, name="rule_edit"),
    _post("/territories/rules/{rule_id:int}/edit", rule_save, "rule_save"),
    _post("/territories/rules/{rule_id:int}/delete", rule_delete, "rule_delete"),
    Route("/territories/reassign", reassign, name="reassign"),
    _post("/territories/reassign", reassign_apply, "reassign_apply"),
    Route("/partner-groups", partner_groups, name="partner_groups"),
    _post("/partner-groups", group_create, "group_create"),
    Route("/partner-groups/{group_id:int}/edit", group_edit, name="group_edit"),
    _post("/partner-groups/{group_id:int}/edit", group_save, "group_save"),
    _post("/partner-groups/{group_id:int}/delete", group_delete, "group_delete"),
]
