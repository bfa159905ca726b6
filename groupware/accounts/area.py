"""Accounts: users, teams, roles and their rights, sign-in, sessions, tokens."""

from groupware.access.policy import SYSTEM_MODULE
from groupware.accounts import admin_web, api, dashboard_web, sessions, throttle, web
from groupware.accounts.models import (
    Credential,
    DashboardPreference,
    Grant,
    LoginCounter,
    Role,
    Team,
    TeamMember,
    User,
    UserRole,
    WebSession,
)
from groupware.i18n import LANGUAGE_NAMES, _l
from groupware.records import RecordType, choice
from groupware.wiring import Area

USERS_RECORD = RecordType(
    "users",
    _l("User"),
    "/admin/users/{id}",
    {
        "username": _l("Username"),
        "full_name": _l("Full name"),
        "email": _l("E-mail"),
        "language": _l("Language"),
        "is_active": _l("Active"),
        "role": _l("Role"),
        "credential": _l("Token or app password"),
    },
    values={"language": choice(LANGUAGE_NAMES)},
    summary=("username", "email"),
)
TEAMS_RECORD = RecordType("teams", _l("Team"), "/admin/teams/{id}", {"member": _l("Member")})
ROLES_RECORD = RecordType(
    "roles", _l("Role"), "/admin/roles/{id}", {"is_builtin": _l("Built-in"), "grant": _l("Right")}
)

AREA = Area(
    "accounts",
    models=(
        User,
        Team,
        TeamMember,
        Role,
        Grant,
        UserRole,
        WebSession,
        Credential,
        LoginCounter,
        DashboardPreference,
    ),
    access_modules=(SYSTEM_MODULE,),
    record_types=(USERS_RECORD, TEAMS_RECORD, ROLES_RECORD),
    pages=(web, dashboard_web, admin_web),
    apis=(api.api,),
    jobs=(sessions.PRUNE_JOB, throttle.PRUNE_JOB),
)
