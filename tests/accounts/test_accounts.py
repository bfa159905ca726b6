from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from groupware.accounts import auth, credentials, sessions
from groupware.accounts.models import WebSession
from groupware.accounts.teams import TeamIn, create_team, leads_of, remove_member, set_member
from groupware.accounts.users import UserIn, UserUpdate, create_user, find_user, update_user
from groupware.db import Database, utcnow
from groupware.errors import Invalid
from groupware.settings import Settings
from tests.factories import PASSWORD, Cast


def test_usernames_and_addresses_are_unique_and_in_the_domain(db: Session, cast: Cast) -> None:
    with pytest.raises(Invalid) as taken:
        create_user(db, UserIn(username="alice", full_name="Other"), mail_domain="groupware.local")
    assert "username" in taken.value.errors
    with pytest.raises(Invalid) as outside:
        create_user(
            db,
            UserIn(username="eve", full_name="Eve", email="eve@gmail.com"),
            mail_domain="groupware.local",
        )
    assert "email" in outside.value.errors
    user = create_user(db, UserIn(username="eve", full_name="Eve"), mail_domain="groupware.local")
    assert user.email == "eve@groupware.local"
    assert find_user(db, "EVE@groupware.local") is user
    assert find_user(db, "Eve") is user


def test_a_lead_must_be_a_member(db: Session, cast: Cast) -> None:
    with pytest.raises(Invalid):
        update_user(db, cast.alice, UserUpdate(lead_team_ids=[cast.south.id]), mail_domain="x.hr")


def test_team_leads_are_found_for_escalation(db: Session, cast: Cast) -> None:
    assert [u.username for u in leads_of(db, cast.alice.id)] == ["dave"]
    assert leads_of(db, cast.charlie.id) == []
    set_member(db, cast.south, cast.root, is_lead=True)
    assert [u.username for u in leads_of(db, cast.charlie.id)] == ["root"]
    remove_member(db, cast.south, cast.root.id)
    with pytest.raises(Invalid):
        remove_member(db, cast.south, cast.root.id)
    with pytest.raises(Invalid):
        create_team(db, TeamIn(name="north"))  # names are unique regardless of case


def login(
    db: Session, settings: Settings, username: str, password: str, **kw: Any
) -> auth.PasswordCheck:
    attempt = auth.begin(db, settings, username=username, address="10.0.0.1")
    return auth.check_password(db, attempt, password, **kw)


def test_password_login_and_app_passwords(db: Session, cast: Cast, settings: Settings) -> None:
    ok = login(db, settings, "alice", PASSWORD)
    assert ok.ok and auth.record(db, ok) is cast.alice
    secret, row = credentials.create_credential(db, cast.alice, kind="app_password", name="Phone")
    assert not login(db, settings, "alice", secret).ok  # the web takes the account password only
    client = login(db, settings, "alice@groupware.local", secret, app_passwords=True)
    assert client.ok and client.credential_id == row.id
    assert auth.record(db, client) is cast.alice
    assert row.last_used_at is not None
    credentials.revoke(db, cast.alice.id, row.id)
    assert not login(db, settings, "alice", secret, app_passwords=True).ok


def test_the_password_check_only_reads(db: Session, cast: Cast, settings: Settings) -> None:
    attempt = auth.begin(db, settings, username="alice", address="10.0.0.1")
    db.flush()
    auth.check_password(db, attempt, PASSWORD)
    auth.check_password(db, attempt, "wrong")
    assert not db.new and not db.dirty and not db.deleted


def test_disabled_users_cannot_log_in_or_use_tokens(
    db: Session, cast: Cast, settings: Settings
) -> None:
    token, _row = credentials.create_credential(db, cast.bob, kind="api_token", name="ci")
    assert credentials.user_for_token(db, token)[0] is cast.bob
    update_user(db, cast.bob, UserUpdate(is_active=False), mail_domain="groupware.local")
    assert not login(db, settings, "bob", PASSWORD).ok
    assert credentials.user_for_token(db, token) == (None, None)
    assert credentials.user_for_token(db, "gwt_nothing_here") == (None, None)


def test_sessions_expire_when_idle_or_old(db: Session, cast: Cast, settings: Settings) -> None:
    token, row = sessions.start_session(db, cast.alice)
    found, maintenance = sessions.resume_session(db, settings, token)
    assert found is row and maintenance is None
    db.execute(update(WebSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=5)))
    db.expire_all()
    found, maintenance = sessions.resume_session(db, settings, token)
    assert found is not None and maintenance is not None  # activity is noted, separately
    db.execute(
        update(WebSession).values(
            last_seen_at=utcnow() - dt.timedelta(minutes=settings.session_idle_minutes + 1)
        )
    )
    db.expire_all()
    found, maintenance = sessions.resume_session(db, settings, token)
    assert found is None and maintenance is not None
    maintenance(db)
    assert sessions.list_sessions(db, cast.alice.id) == []


def test_jobs_run_and_report(database: Database) -> None:
    from groupware.jobs import run_jobs

    results = run_jobs(database)
    assert set(results) >= {"prune-sessions", "prune-login-attempts", "prune-notifications"}
    assert all(isinstance(v, int) for v in results.values())


def test_the_last_administrator_cannot_be_demoted_or_disabled(db: Session, cast: Cast) -> None:
    from groupware.accounts.roles import role_by_name

    for change in (UserUpdate(role_ids=[]), UserUpdate(is_active=False)):
        attempt = db.begin_nested()  # callers roll a refused change back; so does this test
        with pytest.raises(Invalid) as refused:
            update_user(db, cast.root, change, mail_domain="groupware.local")
        assert set(refused.value.errors) == {"role_ids"}
        attempt.rollback()
    admin = role_by_name(db, "admin")
    assert admin is not None
    update_user(db, cast.alice, UserUpdate(role_ids=[admin.id]), mail_domain="groupware.local")
    update_user(db, cast.root, UserUpdate(role_ids=[]), mail_domain="groupware.local")


def test_roles_cannot_be_changed_or_deleted_into_a_lockout(db: Session, cast: Cast) -> None:
    from groupware.accounts.roles import RoleIn, create_role, delete_role, update_role

    boss = create_role(db, RoleIn(name="boss", grants=[("system", "admin", "all")]))
    update_user(db, cast.root, UserUpdate(role_ids=[boss.id]), mail_domain="groupware.local")
    for attempt_change in (
        lambda: update_role(db, boss, RoleIn(name="boss", grants=[])),
        lambda: delete_role(db, boss),
    ):
        attempt = db.begin_nested()
        with pytest.raises(Invalid):
            attempt_change()
        attempt.rollback()


def test_deleting_a_role_shows_in_each_members_history(db: Session, cast: Cast) -> None:
    from groupware.accounts.roles import RoleIn, create_role, delete_role
    from groupware.history.service import record_changes

    temp = create_role(db, RoleIn(name="temp", grants=[("announcements", "view", "all")]))
    update_user(db, cast.bob, UserUpdate(role_ids=[temp.id]), mail_domain="groupware.local")
    delete_role(db, temp)
    assert record_changes(db, "users", cast.bob.id)[0].changes == {"role": ["temp", None]}


def test_a_team_still_in_use_cannot_be_deleted(db: Session, cast: Cast) -> None:
    from groupware.accounts.teams import delete_team
    from groupware.errors import Conflict
    from tests.factories import make_announcement

    make_announcement(db, cast.alice, audience="team", team_id=cast.north.id)
    with pytest.raises(Conflict):
        delete_team(db, cast.north)
    delete_team(db, cast.south)


def test_search_ignores_case_of_croatian_letters(db: Session, cast: Cast) -> None:
    from groupware.accounts.users import list_users
    from tests.factories import make_user

    make_user(db, "sime", full_name="Šime Čačić")
    assert [u.username for u in list_users(db, q="šime čačić")] == ["sime"]
    assert [u.username for u in list_users(db, q="ŠIME")] == ["sime"]
