"""Administration of the company's extra mail addresses (:mod:`groupware.mail.addresses`):
a team's shared addresses and a user's aliases. The team's and the user's pages include
``admin/_mail_addresses.html``, which loads its section from here with htmx (or links to
it without JavaScript); adding and removing go back to the team's or user's page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware.accounts import teams as team_service
from groupware.accounts import users as user_service
from groupware.accounts.models import Team, User
from groupware.i18n import _
from groupware.mail import addresses
from groupware.mail.models import MailAddress
from groupware.web import Ctx, acted, page


@dataclass(frozen=True)
class Owner:
    """Whose addresses a page shows: a team's or a user's."""

    record: Team | User
    kind: str  # "team" or "user"
    page_url: str  # the team's or user's administration page

    @property
    def name(self) -> str:
        return self.record.name if isinstance(self.record, Team) else self.record.full_name

    @property
    def key(self) -> dict[str, int]:
        return {f"{self.kind}_id": self.record.id}


def _team(ctx: Ctx) -> Owner:
    team = team_service.get_team(ctx.db, ctx.int_param("team_id"))
    url = ctx.url("admin_team", team_id=team.id)
    return Owner(team, "team", url)


def _user(ctx: Ctx) -> Owner:
    user = user_service.get_user(ctx.db, ctx.int_param("user_id"))
    url = ctx.url("admin_user", user_id=user.id)
    return Owner(user, "user", url)


def _section(
    ctx: Ctx,
    owner: Owner,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return ctx.render(
        "admin/mail_addresses.html",
        block="section",
        owner=owner,
        mail_owner_kind=owner.kind,
        mail_owner_key=owner.key,
        mail_addresses=addresses.list_addresses(ctx.db, **owner.key),
        address_form=form or {},
        address_errors=errors or {},
        status_code=status,
    )


def _add(ctx: Ctx, owner: Owner) -> Response:
    form = ctx.form_dict()
    local = str(form.get("local_part", ""))
    domain = ctx.gw.settings.mail_domain

    def add() -> MailAddress:
        if isinstance(owner.record, Team):
            return addresses.add_team_address(ctx.db, owner.record, local, mail_domain=domain)
        return addresses.add_alias(ctx.db, owner.record, local, mail_domain=domain)

    shown = local.strip().lower() + "@" + domain
    return acted(
        ctx,
        add,
        _("%(address)s is added.", address=shown),
        owner.page_url,
        lambda errors: _section(ctx, owner, form=form, errors=errors, status=422),
    )


def _remove(ctx: Ctx, owner: Owner) -> Response:
    address = addresses.get_address(ctx.db, ctx.int_param("address_id"), **owner.key)
    addresses.remove_address(ctx.db, address)
    shown = f"{address.local_part}@{ctx.gw.settings.mail_domain}"
    ctx.flash(_("%(address)s is removed.", address=shown))
    return ctx.redirect(owner.page_url)


@page(admin=True)
def team_addresses(ctx: Ctx) -> Response:
    return _section(ctx, _team(ctx))


@page(admin=True)
def team_address_add(ctx: Ctx) -> Response:
    return _add(ctx, _team(ctx))


@page(admin=True)
def team_address_remove(ctx: Ctx) -> Response:
    return _remove(ctx, _team(ctx))


@page(admin=True)
def user_addresses(ctx: Ctx) -> Response:
    return _section(ctx, _user(ctx))


@page(admin=True)
def user_address_add(ctx: Ctx) -> Response:
    return _add(ctx, _user(ctx))


@page(admin=True)
def user_address_remove(ctx: Ctx) -> Response:
    return _remove(ctx, _user(ctx))


_TEAM = "/admin/teams/{team_id:int}/mail-addresses"
_USER = "/admin/users/{user_id:int}/mail-addresses"
routes = [
    Route(_TEAM, team_addresses, name="admin_team_mail_addresses"),
    Route(_TEAM, team_address_add, methods=["POST"], name="admin_team_mail_address_add"),
    Route(
        _TEAM + "/{address_id:int}/remove",
        team_address_remove,
        methods=["POST"],
        name="admin_team_mail_address_remove",
    ),
    Route(_USER, user_addresses, name="admin_user_mail_addresses"),
    Route(_USER, user_address_add, methods=["POST"], name="admin_user_mail_address_add"),
    Route(
        _USER + "/{address_id:int}/remove",
        user_address_remove,
        methods=["POST"],
        name="admin_user_mail_address_remove",
    ),
]
