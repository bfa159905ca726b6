"""The web pages through a real server: what each user may see and do."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from groupware.access.models import Share
from groupware.announcements.models import Announcement
from groupware.db import Database
from groupware.history.models import Change
from groupware.notifications.service import notify
from tests.conftest import LiveServer, LoginAs
from tests.factories import Cast, browser, login


@pytest.fixture
def alice(login_as: LoginAs) -> httpx.Client:
    return login_as("alice")


def create_draft(client: httpx.Client, title: str = "Quarterly plan") -> int:
    response = client.post(
        "/announcements/new",
        data={
            "title": title,
            "body": "Line one\nLine two",
            "audience": "company",
            "team_id": "",
            "expires_on": "",
        },
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_every_shell_page_renders_for_an_admin(
    live: LiveServer, committed: Cast, login_as: LoginAs
) -> None:
    root = login_as("root")
    for path in (
        "/",
        "/profile",
        "/announcements",
        "/announcements/new",
        "/history",
        "/notifications",
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{committed.alice.id}",
        "/admin/teams",
        f"/admin/teams/{committed.north.id}",
        "/admin/roles",
        "/admin/roles/new",
    ):
        response = root.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert 'lang="hr"' in response.text  # root's language is Croatian


def test_admin_pages_are_for_admins_only(alice: httpx.Client) -> None:
    assert alice.get("/admin/users").status_code == 403
    assert alice.post("/admin/teams", data={"name": "Pirates"}).status_code == 403
    assert "/admin/users" not in alice.get("/").text


def test_a_draft_is_private_until_shared(
    live: LiveServer, alice: httpx.Client, committed: Cast, login_as: LoginAs
) -> None:
    draft = create_draft(alice)
    page = alice.get(f"/announcements/{draft}")
    assert page.status_code == 200 and "Line one" in page.text
    bob, charlie = login_as("bob"), login_as("charlie")
    assert bob.get(f"/announcements/{draft}").status_code == 404
    assert charlie.get(f"/announcements/{draft}").status_code == 404
    assert "Quarterly plan" not in charlie.get("/announcements").text
    assert bob.post(f"/announcements/{draft}/edit", data={"title": "Hacked"}).status_code == 404
    # Alice shares it with bob, read only.
    shared = alice.post(
        f"/records/announcements/{draft}/shares",
        data={"grantee": f"user:{committed.bob.id}", "permission": "read"},
    )
    assert shared.status_code == 303
    assert bob.get(f"/announcements/{draft}").status_code == 200
    refused = bob.post(
        f"/announcements/{draft}/edit", data={"title": "Hacked", "audience": "company"}
    )
    assert refused.status_code == 403
    why = bob.get(f"/records/announcements/{draft}/access").text
    assert "It is shared with you (read)." in why
    assert charlie.get(f"/records/announcements/{draft}/access").status_code == 404
    assert (
        bob.post(
            f"/records/announcements/{draft}/shares",
            data={"grantee": f"user:{committed.charlie.id}", "permission": "write"},
        ).status_code
        == 403
    )
    # The manager of alice's team sees it through the team scope, and says so.
    dave = login_as("dave")
    assert (
        "It belongs to your team (North)" in dave.get(f"/records/announcements/{draft}/access").text
    )


def test_publishing_reaches_the_audience_and_history_records_it(
    live: LiveServer, alice: httpx.Client, committed: Cast, database: Database, login_as: LoginAs
) -> None:
    draft = create_draft(alice, "Holiday hours")
    assert alice.post(f"/announcements/{draft}/publish", data={}).status_code == 303
    charlie = login_as("charlie")
    assert "Holiday hours" in charlie.get("/").text
    assert charlie.get(f"/announcements/{draft}").status_code == 200
    assert charlie.post(f"/announcements/{draft}/delete").status_code == 403
    history = alice.get(f"/records/announcements/{draft}/history").text
    assert "Holiday hours" in history and "published" in history
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        changes = session.scalars(
            select(Change)
            .where(Change.record_type == "announcements", Change.record_id == draft)
            .order_by(Change.id)
        ).all()
        assert [(c.action, c.channel, c.actor_id) for c in changes] == [
            ("create", "web", committed.alice.id),
            ("update", "web", committed.alice.id),
        ]
        assert changes[1].changes["status"] == ["draft", "published"]


def test_invalid_form_shows_messages_and_saves_nothing(
    alice: httpx.Client, database: Database
) -> None:
    response = alice.post(
        "/announcements/new",
        data={"title": "", "audience": "team", "team_id": "", "expires_on": "31.02.2026."},
    )
    assert response.status_code == 422
    text = response.text
    assert "This field is required." in text
    assert "Enter a date as dd.mm.yyyy." in text
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.scalars(select(Announcement)).all() == []


def test_a_nul_in_the_address_or_a_form_is_refused_not_a_server_error(
    alice: httpx.Client, database: Database
) -> None:
    """PostgreSQL cannot store or compare text holding NUL (it was a 500 on searches)."""
    for path in ("/announcements", "/partners", "/persons", "/deals", "/mail", "/history"):
        response = alice.get(path, params={"q": "a\x00b"})
        assert response.status_code == 400, (path, response.text[:300])
        assert "The address contains a character that is not allowed." in response.text
    response = alice.post(
        "/announcements/new",
        data={"title": "Plan\x00", "audience": "company", "team_id": "", "expires_on": ""},
    )
    assert response.status_code == 422
    assert "This text contains a character that cannot be stored." in response.text
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.scalars(select(Announcement)).all() == []


def test_local_date_formats_are_accepted_and_shown(
    alice: httpx.Client, live: LiveServer, login_as: LoginAs
) -> None:
    response = alice.post(
        "/announcements/new",
        data={"title": "Dated", "audience": "company", "team_id": "", "expires_on": "31.12.2099."},
    )
    assert response.status_code == 303
    root = login_as("root")
    page = root.get(response.headers["location"]).text
    assert "31.12.2099." in page  # Croatian format for root


def test_sharing_with_a_team_and_removing_the_share(
    live: LiveServer, alice: httpx.Client, committed: Cast, database: Database, login_as: LoginAs
) -> None:
    draft = create_draft(alice)
    panel = alice.post(
        f"/records/announcements/{draft}/shares",
        data={"grantee": f"team:{committed.south.id}", "permission": "write"},
        headers={"HX-Request": "true", "HX-Target": "record-panel"},
    )
    assert panel.status_code == 200 and "South" in panel.text
    assert "<html" not in panel.text  # an htmx fragment, not a page
    charlie = login_as("charlie")
    assert (
        charlie.post(
            f"/announcements/{draft}/edit", data={"title": "Edited by South", "audience": "company"}
        ).status_code
        == 303
    )
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        share_id = session.scalar(select(Share.id))
    alice.post(f"/records/announcements/{draft}/shares/{share_id}/remove")
    assert charlie.get(f"/announcements/{draft}").status_code == 404


def test_profile_tokens_and_app_passwords(alice: httpx.Client, live: LiveServer) -> None:
    created = alice.post("/profile/credentials", data={"kind": "app_password", "name": "Phone"})
    assert created.status_code == 201
    secret = re.search(r'data-testid="new-secret">([^<]+)<', created.text)
    assert secret and re.fullmatch(r"[a-z0-9]{5}(-[a-z0-9]{5}){4}", secret.group(1))
    assert secret.group(1) not in alice.get("/profile").text  # shown once only
    token = alice.post("/profile/credentials", data={"kind": "api_token", "name": "Script"})
    value = re.search(r'data-testid="new-secret">([^<]+)<', token.text).group(1)  # type: ignore[union-attr]
    api = httpx.get(f"{live.url}/api/v1/me", headers={"Authorization": f"Bearer {value}"})
    assert api.status_code == 200 and api.json()["username"] == "alice"
    credential_id = re.search(
        r"/profile/credentials/(\d+)/revoke", alice.get("/profile").text
    ).group(1)  # type: ignore[union-attr]
    assert alice.post(f"/profile/credentials/{credential_id}/revoke").status_code == 303
    bad = alice.post("/profile/credentials", data={"kind": "api_token", "name": ""})
    assert bad.status_code == 422


def test_changing_the_password_keeps_this_session_and_ends_others(
    live: LiveServer, committed: Cast, login_as: LoginAs
) -> None:
    first, second = login_as("alice"), login_as("alice")
    wrong = first.post(
        "/profile/password",
        data={
            "current_password": "nope",
            "new_password": "new password 1",
            "confirm_password": "new password 1",
        },
    )
    assert wrong.status_code == 422 and "This is not your current password." in wrong.text
    ok = first.post(
        "/profile/password",
        data={
            "current_password": "correct horse battery",
            "new_password": "new password 1",
            "confirm_password": "new password 1",
        },
    )
    assert ok.status_code == 303
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 303
    with browser(live.url) as again:
        login(again, "alice", "new password 1")


def test_language_switch_for_visitors_and_users(
    live: LiveServer, committed: Cast, request: pytest.FixtureRequest
) -> None:
    client = browser(live.url)
    request.addfinalizer(client.close)
    page = client.get("/login")
    assert "Log in" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/language", data={"language": "hr", "next": "/login", "csrf_token": token})
    assert "Prijava" in client.get("/login").text
    csrf = login(client, "alice")  # alice's own language (en) wins once she logs in
    assert "Dashboard" in client.get("/").text
    client.post("/language", data={"language": "hr", "next": "/", "csrf_token": csrf})
    assert "Nadzorna ploča" in client.get("/").text


def test_admin_creates_a_user_and_assigns_roles_and_teams(
    live: LiveServer, committed: Cast, login_as: LoginAs
) -> None:
    root = login_as("root")
    form = {
        "username": "zora",
        "full_name": "Zora Zorić",
        "email": "",
        "language": "hr",
        "password": "a fine password",
        "is_active": "1",
        "role_ids": [],
        "team_ids": [str(committed.north.id)],
        "lead_team_ids": [str(committed.north.id)],
    }
    created = root.post("/admin/users/new", data=form)
    assert created.status_code == 303, created.text
    duplicate = root.post("/admin/users/new", data=form)
    assert duplicate.status_code == 422
    outsider = root.post(
        "/admin/users/new", data={**form, "username": "zed", "email": "zed@gmail.com"}
    )
    assert outsider.status_code == 422
    with browser(live.url) as zora:
        login(zora, "zora", "a fine password")
    team_page = root.get(f"/admin/teams/{committed.north.id}").text
    assert "Zora Zorić" in team_page


def test_admin_cannot_change_builtin_roles_but_can_copy_them(
    live: LiveServer, committed: Cast, database: Database, login_as: LoginAs
) -> None:
    root = login_as("root")
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        from groupware.accounts.models import Role

        staff_id = session.scalar(select(Role.id).where(Role.name == "staff"))
    assert (
        root.post(f"/admin/roles/{staff_id}", data={"name": "staff", "grant": []}).status_code
        == 403
    )
    copy = root.get(f"/admin/roles/new?copy={staff_id}")
    assert 'value="announcements:view:own" aria-label' in copy.text and "checked" in copy.text
    created = root.post(
        "/admin/roles/new",
        data={
            "name": "reader",
            "description": "reads all",
            "grant": ["announcements:view:all", "announcements:export:all"],
        },
    )
    assert created.status_code == 303
    bad = root.post("/admin/roles/new", data={"name": "broken", "grant": ["announcements:fly:all"]})
    assert bad.status_code == 422


def test_notifications_bell_and_page(
    live: LiveServer, alice: httpx.Client, committed: Cast, database: Database, login_as: LoginAs
) -> None:
    with database.transaction(actor_id=None, channel="job") as session:
        from groupware.accounts.models import User

        user = session.get(User, committed.alice.id)
        assert user is not None
        notify(session, user, title="Phase is late", kind="alert", link="/announcements")
        notify(session, user, title="Second", kind="info")
    dashboard = alice.get("/").text
    assert 'data-testid="unread">2<' in dashboard
    bell = alice.get("/notifications/bell", headers={"HX-Request": "true"})
    assert "<html" not in bell.text and ">2<" in bell.text
    page = alice.get("/notifications").text
    note_id = re.search(r"/notifications/(\d+)/open", page).group(1)  # type: ignore[union-attr]
    opened = alice.post(f"/notifications/{note_id}/open")
    assert opened.status_code == 303
    bob = login_as("bob")
    assert bob.post(f"/notifications/{note_id}/open").status_code == 404
    alice.post("/notifications/read-all")
    assert 'data-testid="unread"' not in alice.get("/").text


def test_global_history_page_filters(
    live: LiveServer, alice: httpx.Client, login_as: LoginAs
) -> None:
    create_draft(alice, "Tracked")
    page = alice.get("/history?type=announcements&channel=web").text
    assert "Tracked" in page
    assert "Tracked" not in alice.get("/history?channel=api").text
    charlie = login_as("charlie")
    assert "Tracked" not in charlie.get("/history?type=announcements").text
    fragment = alice.get("/history?type=announcements", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "Tracked" in fragment.text


def test_boosted_navigation_gets_whole_pages(alice: httpx.Client) -> None:
    boosted = alice.get("/announcements", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text and "topbar" in boosted.text
    fragment = alice.get("/announcements", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in fragment.text


def test_a_write_share_may_change_the_record_but_not_its_sharing(
    alice: httpx.Client, committed: Cast, database: Database, login_as: LoginAs
) -> None:
    draft = create_draft(alice)
    alice.post(
        f"/records/announcements/{draft}/shares",
        data={"grantee": f"user:{committed.bob.id}", "permission": "write"},
    )
    bob = login_as("bob")
    panel = bob.get(f"/records/announcements/{draft}/access")
    assert panel.status_code == 200 and "Stop sharing" not in panel.text
    assert 'name="grantee"' not in panel.text
    resharing = bob.post(
        f"/records/announcements/{draft}/shares",
        data={"grantee": f"user:{committed.charlie.id}", "permission": "write"},
    )
    assert resharing.status_code == 403
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        share_id = session.scalar(select(Share.id))
    assert bob.post(f"/records/announcements/{draft}/shares/{share_id}/remove").status_code == 403
    assert login_as("charlie").get(f"/announcements/{draft}").status_code == 404
    assert "Stop sharing" in alice.get(f"/records/announcements/{draft}/access").text
