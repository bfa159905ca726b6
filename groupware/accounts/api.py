"""API: ``/me``, ``/users`` and ``/teams``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from groupware.access.policy import Who
from groupware.accounts import teams as team_service
from groupware.accounts import users as user_service
from groupware.accounts.models import Team, User
from groupware.accounts.users import UserIn, UserUpdate
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.validation import Id, Schema, validate

api = Api("accounts")


class TeamRef(BaseModel):
    id: int
    name: str
    is_lead: bool


class UserOut(Out):
    id: int
    username: str
    full_name: str
    email: str
    language: str
    is_active: bool
    roles: list[str]
    teams: list[TeamRef]


class MeOut(UserOut):
    permissions: dict[str, dict[str, list[str]]] = Field(
        description="module -> action -> scopes the user's roles grant"
    )


class MemberOut(BaseModel):
    user_id: int
    full_name: str
    is_lead: bool


class TeamOut(Out):
    id: int
    name: str
    description: str
    members: list[MemberOut]


class UserQuery(PageQuery):
    q: str = ""
    team_id: Id | None = None
    role_id: Id | None = None
    active: bool | None = None


class UserCreateIn(UserIn):
    password: str | None = Field(default=None, max_length=256)


class MeIn(Schema):
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    language: Literal["hr", "en"] | None = None


class MemberIn(Schema):
    is_lead: bool = False


class TeamPatch(Schema):
    """A change to a team; fields left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)


def user_out(user: User) -> UserOut:
    return UserOut.of(
        user,
        roles=[r.name for r in user.roles],
        teams=[
            TeamRef(id=m.team_id, name=m.team.name, is_lead=m.is_lead) for m in user.memberships
        ],
    )


def team_out(team: Team) -> TeamOut:
    return TeamOut.of(
        team,
        members=[
            MemberOut(user_id=m.user_id, full_name=m.user.full_name, is_lead=m.is_lead)
            for m in sorted(team.members, key=lambda m: m.user.full_name)
        ],
    )


def _permissions(who: Who) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = {}
    for (module, action), scopes in sorted(who.grants.items()):
        result.setdefault(module, {})[action] = sorted(scopes)
    return result


@api.operation(
    "GET", "/me", summary="The user the token belongs to, with their rights", response=MeOut
)
def get_me(call: Call) -> MeOut:
    return _me(call)


def _me(call: Call) -> MeOut:
    base = user_out(call.user)
    return MeOut(**base.model_dump(), permissions=_permissions(call.who))


@api.operation("PATCH", "/me", summary="Change your name or language", response=MeOut, body=MeIn)
def patch_me(call: Call) -> MeOut:
    data: MeIn = call.body
    user_service.update_user(
        call.db,
        call.user,
        UserUpdate(**data.model_dump(exclude_unset=True)),
        mail_domain=call.gw.settings.mail_domain,
    )
    return _me(call)


@api.operation(
    "GET", "/users", summary="The user directory", response=UserOut, query=UserQuery, paginated=True
)
def list_users(call: Call) -> tuple[list[UserOut], str | None]:
    q: UserQuery = call.query
    rows = user_service.list_users(
        call.db,
        q=q.q,
        team_id=q.team_id,
        role_id=q.role_id,
        active=q.active,
        after_id=q.after_id(),
        limit=q.limit + 1,
    )
    page, cursor = page_of(rows, q.limit)
    return [user_out(u) for u in page], cursor


@api.operation(
    "POST",
    "/users",
    summary="Create a user (administrators)",
    response=UserOut,
    body=UserCreateIn,
    status=201,
    admin=True,
)
def create_user(call: Call) -> UserOut:
    data: UserCreateIn = call.body
    user = user_service.create_user(
        call.db,
        UserIn(**data.model_dump(exclude={"password"})),
        mail_domain=call.gw.settings.mail_domain,
        password=data.password,
    )
    call.db.refresh(user)
    return user_out(user)


@api.operation("GET", "/users/{user_id}", summary="One user", response=UserOut)
def get_user(call: Call) -> UserOut:
    return user_out(user_service.get_user(call.db, call.int_param("user_id")))


@api.operation(
    "PATCH",
    "/users/{user_id}",
    summary="Change a user (administrators)",
    response=UserOut,
    body=UserUpdate,
    admin=True,
)
def patch_user(call: Call) -> UserOut:
    user = user_service.get_user(call.db, call.int_param("user_id"))
    user_service.update_user(call.db, user, call.body, mail_domain=call.gw.settings.mail_domain)
    call.db.refresh(user)
    return user_out(user)


@api.operation(
    "GET",
    "/teams",
    summary="All teams with their members",
    response=TeamOut,
    query=PageQuery,
    paginated=True,
)
def list_teams(call: Call) -> tuple[list[TeamOut], str | None]:
    q: PageQuery = call.query
    after = q.after_id() or 0
    teams = sorted(
        (t for t, _n in team_service.list_teams(call.db) if t.id > after), key=lambda t: t.id
    )
    page, cursor = page_of(teams[: q.limit + 1], q.limit)
    return [team_out(team_service.get_team(call.db, t.id)) for t in page], cursor


@api.operation(
    "POST",
    "/teams",
    summary="Create a team (administrators)",
    response=TeamOut,
    body=team_service.TeamIn,
    status=201,
    admin=True,
)
def create_team(call: Call) -> TeamOut:
    team = team_service.create_team(call.db, call.body)
    return team_out(team_service.get_team(call.db, team.id))


@api.operation("GET", "/teams/{team_id}", summary="One team", response=TeamOut)
def get_team(call: Call) -> TeamOut:
    return team_out(team_service.get_team(call.db, call.int_param("team_id")))


@api.operation(
    "PATCH",
    "/teams/{team_id}",
    summary="Rename or describe a team (administrators)",
    response=TeamOut,
    body=TeamPatch,
    admin=True,
)
def patch_team(call: Call) -> TeamOut:
    team = team_service.get_team(call.db, call.int_param("team_id"))
    current = {"name": team.name, "description": team.description}
    merged = {**current, **call.body.model_dump(exclude_unset=True)}
    team_service.update_team(call.db, team, validate(team_service.TeamIn, merged))
    return team_out(team)


@api.operation(
    "DELETE", "/teams/{team_id}", summary="Delete a team (administrators)", status=204, admin=True
)
def delete_team(call: Call) -> None:
    team_service.delete_team(call.db, team_service.get_team(call.db, call.int_param("team_id")))


@api.operation(
    "PUT",
    "/teams/{team_id}/members/{user_id}",
    summary="Add a member or change their lead flag (administrators)",
    response=TeamOut,
    body=MemberIn,
    admin=True,
)
def put_member(call: Call) -> TeamOut:
    team = team_service.get_team(call.db, call.int_param("team_id"))
    user = user_service.get_user(call.db, call.int_param("user_id"))
    team_service.set_member(call.db, team, user, is_lead=call.body.is_lead)
    return team_out(team)


@api.operation(
    "DELETE",
    "/teams/{team_id}/members/{user_id}",
    summary="Remove a member (administrators)",
    status=204,
    admin=True,
)
def delete_member(call: Call) -> None:
    team = team_service.get_team(call.db, call.int_param("team_id"))
    team_service.remove_member(call.db, team, call.int_param("user_id"))
