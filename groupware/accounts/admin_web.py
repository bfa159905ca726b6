"""Administration pages: users, teams, roles and their grants."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import ACTION_LABELS, SCOPE_LABELS, SCOPES, modules
from groupware.accounts import roles as role_service
from groupware.accounts import teams as team_service
from groupware.accounts import users as user_service
from groupware.accounts.models import User
from groupware.accounts.users import UserIn, UserUpdate
from groupware.errors import Invalid
from groupware.i18n import _, _l
from groupware.validation import parse_id, validate
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("Administration"), "admin_users", admin=True, order=130, icon="settings")]

_USER_LISTS = ("role_ids", "team_ids", "lead_team_ids")


def _choices(ctx: Ctx) -> dict[str, Any]:
    return {
        "all_roles": [role for role, _n in role_service.list_roles(ctx.db)],
        "all_teams": [team for team, _n in team_service.list_teams(ctx.db)],
        "role_labels": role_service.BUILTIN_LABELS,
    }


# -- users --------------------------------------------------------------------------


@page(admin=True)
def users_list(ctx: Ctx) -> Response:
    active = {"yes": True, "no": False}.get(ctx.query("active"))
    rows = user_service.list_users(
        ctx.db,
        q=ctx.query("q"),
        team_id=ctx.query_id("team"),
        role_id=ctx.query_id("role"),
        active=active,
        limit=500,
    )
    return ctx.render("admin/users.html", users=rows, block="results", **_choices(ctx))


def _user_form(
    ctx: Ctx, user: User | None, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return ctx.render(
        "admin/user_form.html",
        edited=user,
        form=form,
        errors=errors,
        status_code=status,
        **_choices(ctx),
    )


def _user_values(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "language": user.language,
        "is_active": user.is_active,
        "role_ids": [r.id for r in user.roles],
        "team_ids": [m.team_id for m in user.memberships],
        "lead_team_ids": [m.team_id for m in user.memberships if m.is_lead],
    }


@page(admin=True)
def user_new(ctx: Ctx) -> Response:
    form = {
        "language": ctx.gw.settings.default_language,
        "is_active": True,
        "role_ids": [],
        "team_ids": [],
        "lead_team_ids": [],
    }
    return _user_form(ctx, None, form, {})


def _int_lists(form: dict[str, Any]) -> dict[str, Any]:
    for name in _USER_LISTS:
        form[name] = [i for i in (parse_id(str(v)) for v in form.get(name, [])) if i is not None]
    return form


@page(admin=True)
def user_create(ctx: Ctx) -> Response:
    form = _int_lists(ctx.form_dict(lists=_USER_LISTS, checkboxes=("is_active",)))
    password = str(form.pop("password", "")) or None
    try:
        user = user_service.create_user(
            ctx.db,
            validate(UserIn, form),
            mail_domain=ctx.gw.settings.mail_domain,
            password=password,
        )
    except Invalid as exc:
        return _user_form(ctx, None, form, exc.errors, 422)
    ctx.flash(_("User %(name)s is created.", name=user.full_name))
    return ctx.redirect(ctx.url("admin_user", user_id=user.id))


@page(admin=True)
def user_edit(ctx: Ctx) -> Response:
    user = user_service.get_user(ctx.db, ctx.int_param("user_id"))
    return _user_form(ctx, user, _user_values(user), {})


@page(admin=True)
def user_save(ctx: Ctx) -> Response:
    user = user_service.get_user(ctx.db, ctx.int_param("user_id"))
    form = _int_lists(ctx.form_dict(lists=_USER_LISTS, checkboxes=("is_active",)))
    form.pop("username", None)
    if user.id == ctx.me.id and not form.get("is_active"):
        return _user_form(
            ctx,
            user,
            {**form, "username": user.username},
            {"is_active": _("You cannot disable yourself.")},
            422,
        )
    try:
        user_service.update_user(
            ctx.db, user, validate(UserUpdate, form), mail_domain=ctx.gw.settings.mail_domain
        )
    except Invalid as exc:
        return _user_form(ctx, user, {**form, "username": user.username}, exc.errors, 422)
    ctx.flash(_("User %(name)s is saved.", name=user.full_name))
    return ctx.redirect(ctx.url("admin_user", user_id=user.id))


@page(admin=True)
def user_password(ctx: Ctx) -> Response:
    user = user_service.get_user(ctx.db, ctx.int_param("user_id"))
    password = str(ctx.form_dict().get("password", ""))
    try:
        user_service.set_password(ctx.db, user, password)
    except Invalid as exc:
        return _user_form(ctx, user, _user_values(user), exc.errors, 422)
    ctx.flash(
        _("The password of %(name)s is set; their sessions are logged out.", name=user.full_name)
    )
    return ctx.redirect(ctx.url("admin_user", user_id=user.id))


# -- teams --------------------------------------------------------------------------


@page(admin=True)
def teams_list(ctx: Ctx) -> Response:
    return ctx.render("admin/teams.html", teams=team_service.list_teams(ctx.db), form={}, errors={})


@page(admin=True)
def team_create(ctx: Ctx) -> Response:
    form = ctx.form_dict()
    try:
        team = team_service.create_team(ctx.db, validate(team_service.TeamIn, form))
    except Invalid as exc:
        return ctx.render(
            "admin/teams.html",
            teams=team_service.list_teams(ctx.db),
            form=form,
            errors=exc.errors,
            status_code=422,
        )
    ctx.flash(_("Team %(name)s is created.", name=team.name))
    return ctx.redirect(ctx.url("admin_team", team_id=team.id))


def _team_page(
    ctx: Ctx,
    team_id: int,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    team = team_service.get_team(ctx.db, team_id)
    member_ids = {m.user_id for m in team.members}
    candidates = [
        u
        for u in user_service.list_users(ctx.db, active=True, limit=1000)
        if u.id not in member_ids
    ]
    return ctx.render(
        "admin/team_detail.html",
        team=team,
        candidates=candidates,
        form=form or {"name": team.name, "description": team.description},
        errors=errors or {},
        status_code=status,
    )


@page(admin=True)
def team_detail(ctx: Ctx) -> Response:
    return _team_page(ctx, ctx.int_param("team_id"))


@page(admin=True)
def team_save(ctx: Ctx) -> Response:
    team = team_service.get_team(ctx.db, ctx.int_param("team_id"))
    form = ctx.form_dict()
    try:
        team_service.update_team(ctx.db, team, validate(team_service.TeamIn, form))
    except Invalid as exc:
        return _team_page(ctx, team.id, form=form, errors=exc.errors, status=422)
    ctx.flash(_("Team %(name)s is saved.", name=team.name))
    return ctx.redirect(ctx.url("admin_team", team_id=team.id))


@page(admin=True)
def team_delete(ctx: Ctx) -> Response:
    team = team_service.get_team(ctx.db, ctx.int_param("team_id"))
    team_service.delete_team(ctx.db, team)
    ctx.flash(_("Team %(name)s is deleted.", name=team.name))
    return ctx.redirect(ctx.url("admin_teams"))


@page(admin=True)
def team_member_add(ctx: Ctx) -> Response:
    team = team_service.get_team(ctx.db, ctx.int_param("team_id"))
    form = ctx.form_dict(checkboxes=("is_lead",))
    user_id = parse_id(str(form.get("user_id", "")))
    if user_id is None:
        return _team_page(ctx, team.id, errors={"user_id": _("Choose a user.")}, status=422)
    user = user_service.get_user(ctx.db, user_id)
    team_service.set_member(ctx.db, team, user, is_lead=bool(form["is_lead"]))
    return ctx.redirect(ctx.url("admin_team", team_id=team.id))


@page(admin=True)
def team_member_remove(ctx: Ctx) -> Response:
    team = team_service.get_team(ctx.db, ctx.int_param("team_id"))
    team_service.remove_member(ctx.db, team, ctx.int_param("user_id"))
    return ctx.redirect(ctx.url("admin_team", team_id=team.id))


# -- roles --------------------------------------------------------------------------


def _role_form(
    ctx: Ctx, role_id: int | None, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    role = role_service.get_role(ctx.db, role_id) if role_id else None
    return ctx.render(
        "admin/role_form.html",
        role=role,
        form=form,
        errors=errors,
        modules=list(modules().values()),
        scopes=SCOPES,
        action_labels=ACTION_LABELS,
        scope_labels=SCOPE_LABELS,
        role_labels=role_service.BUILTIN_LABELS,
        status_code=status,
    )


def _role_values(role_id: int, ctx: Ctx) -> dict[str, Any]:
    role = role_service.get_role(ctx.db, role_id)
    return {
        "name": role.name,
        "description": role.description,
        "grants": {f"{g.module}:{g.action}:{g.scope}" for g in role.grants},
    }


@page(admin=True)
def roles_list(ctx: Ctx) -> Response:
    return ctx.render(
        "admin/roles.html",
        roles=role_service.list_roles(ctx.db),
        role_labels=role_service.BUILTIN_LABELS,
    )


@page(admin=True)
def role_new(ctx: Ctx) -> Response:
    copy = ctx.query_id("copy")
    form: dict[str, Any] = {"name": "", "description": "", "grants": set()}
    if copy is not None:
        form = {**_role_values(copy, ctx), "name": ""}
    return _role_form(ctx, None, form, {})


def _role_submitted(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.form_dict(lists=("grant",))
    return {
        "name": raw.get("name", ""),
        "description": raw.get("description", ""),
        "grants": set(raw["grant"]),
    }


def _role_data(form: dict[str, Any]) -> role_service.RoleIn:
    grants = [tuple(g.split(":", 2)) for g in form["grants"] if g.count(":") == 2]
    return validate(role_service.RoleIn, {**form, "grants": grants})


@page(admin=True)
def role_create(ctx: Ctx) -> Response:
    form = _role_submitted(ctx)
    try:
        role = role_service.create_role(ctx.db, _role_data(form))
    except Invalid as exc:
        return _role_form(ctx, None, form, exc.errors, 422)
    ctx.flash(_("Role %(name)s is created.", name=role.name))
    return ctx.redirect(ctx.url("admin_role", role_id=role.id))


@page(admin=True)
def role_edit(ctx: Ctx) -> Response:
    role_id = ctx.int_param("role_id")
    return _role_form(ctx, role_id, _role_values(role_id, ctx), {})


@page(admin=True)
def role_save(ctx: Ctx) -> Response:
    role = role_service.get_role(ctx.db, ctx.int_param("role_id"))
    form = _role_submitted(ctx)
    try:
        role_service.update_role(ctx.db, role, _role_data(form))
    except Invalid as exc:
        return _role_form(ctx, role.id, form, exc.errors, 422)
    ctx.flash(_("Role %(name)s is saved.", name=role.name))
    return ctx.redirect(ctx.url("admin_role", role_id=role.id))


@page(admin=True)
def role_delete(ctx: Ctx) -> Response:
    role = role_service.get_role(ctx.db, ctx.int_param("role_id"))
    role_service.delete_role(ctx.db, role)
    ctx.flash(_("Role %(name)s is deleted.", name=role.name))
    return ctx.redirect(ctx.url("admin_roles"))


routes = [
    Route("/admin/users", users_list, name="admin_users"),
    Route("/admin/users/new", user_new, name="admin_user_new"),
    Route("/admin/users/new", user_create, methods=["POST"], name="admin_user_create"),
    Route("/admin/users/{user_id:int}", user_edit, name="admin_user"),
    Route("/admin/users/{user_id:int}", user_save, methods=["POST"], name="admin_user_save"),
    Route(
        "/admin/users/{user_id:int}/password",
        user_password,
        methods=["POST"],
        name="admin_user_password",
    ),
    Route("/admin/teams", teams_list, name="admin_teams"),
    Route("/admin/teams", team_create, methods=["POST"], name="admin_team_create"),
    Route("/admin/teams/{team_id:int}", team_detail, name="admin_team"),
    Route("/admin/teams/{team_id:int}", team_save, methods=["POST"], name="admin_team_save"),
    Route(
        "/admin/teams/{team_id:int}/delete", team_delete, methods=["POST"], name="admin_team_delete"
    ),
    Route(
        "/admin/teams/{team_id:int}/members",
        team_member_add,
        methods=["POST"],
        name="admin_team_member_add",
    ),
    Route(
        "/admin/teams/{team_id:int}/members/{user_id:int}/remove",
        team_member_remove,
        methods=["POST"],
        name="admin_team_member_remove",
    ),
    Route("/admin/roles", roles_list, name="admin_roles"),
    Route("/admin/roles/new", role_new, name="admin_role_new"),
    Route("/admin/roles/new", role_create, methods=["POST"], name="admin_role_create"),
    Route("/admin/roles/{role_id:int}", role_edit, name="admin_role"),
    Route("/admin/roles/{role_id:int}", role_save, methods=["POST"], name="admin_role_save"),
    Route(
        "/admin/roles/{role_id:int}/delete", role_delete, methods=["POST"], name="admin_role_delete"
    ),
]
