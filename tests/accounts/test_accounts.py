from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from groupware.accounts import auth, credentials, sessions, throttle
from groupware.accounts.models import LoginAttempt, WebSession
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


def test_password_login_and_app_passwords(db: Session, cast: Cast, settings: Settings) -> None:
    ok = auth.login(db, settings, username="alice", password=PASSWORD, address="10.0.0.1")
    assert ok.user is cast.alice
    secret, _row = credentials.create_credential(db, cast.alice, kind="app_password", name="Phone")
    web = auth.login(db, settings, username="alice", password=secret, address="10.0.0.1")
    assert web.user is None  # the web takes the account password only
    client = auth.login(
        db, settings, username="alice", password=secret, address="10.0.0.1", app_passwords=True
    )
    assert client.user is cast.alice
    credentials.revoke(db, cast.alice.id, _row.id)
    revoked = auth.login(
        db, settings, username="alice", password=secret, address="10.0.0.1", app_passwords=True
    )
    assert revoked.user is None


def test_disabled_users_cannot_log_in_or_use_tokens(
    db: Session, cast: Cast, settings: Settings
) -> None:
    token, _row = credentials.create_credential(db, cast.bob, kind="api_token", name="ci")
    assert credentials.user_for_token(db, token) is cast.bob
    update_user(db, cast.bob, UserUpdate(is_active=False), mail_domain="groupware.local")
    assert auth.login(db, settings, username="bob", password=PASSWORD, address="x").user is None
    assert credentials.user_for_token(db, token) is None
    assert credentials.user_for_token(db, "gwt_nothing_here") is None


def test_throttle_locks_an_account_then_lets_it_go(
    db: Session, cast: Cast, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures_per_account):
        throttle.record_failure(db, username="alice", address="10.0.0.9")
    wait = throttle.retry_after(db, settings, username="alice", address="10.0.0.1")
    assert 0 < wait <= settings.login_throttle_minutes * 60
    # Even the right password is refused while locked, and says how long to wait.
    locked = auth.login(db, settings, username="alice", password=PASSWORD, address="10.0.0.1")
    assert locked.user is None and locked.retry_after > 0
    assert throttle.retry_after(db, settings, username="bob", address="10.0.0.1") == 0
    window = dt.timedelta(minutes=settings.login_throttle_minutes + 1)
    db.execute(update(LoginAttempt).values(at=utcnow() - window))
    assert throttle.retry_after(db, settings, username="alice", address="10.0.0.1") == 0
    assert throttle.prune(db, settings) == settings.login_max_failures_per_account


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
        with pytest.raises(Invalid, match="administration"):
            update_user(db, cast.root, change, mail_domain="groupware.local")
        attempt.rollback()
    admin = role_by_name(db, "admin")
    assert admin is not None
    update_user(db, cast.alice, UserUpdate(role_ids=[admin.id]), mail_domain="groupware.local")
    update_user(db, cast.root, UserUpdate(role_ids=[]), mail_domain="groupware.local")
