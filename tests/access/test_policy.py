from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.access.policy import can, explain, get_for_user, visible
from groupware.accounts.models import Role
from groupware.accounts.roles import RoleIn, create_role
from groupware.accounts.users import UserUpdate, update_user
from groupware.announcements.models import Announcement
from groupware.errors import Forbidden, NotFound
from tests.factories import Cast, make_announcement


def visible_ids(db: Session, cast: Cast, user, action: str = "view") -> set[int]:
    who = cast.who(db, user)
    return set(db.scalars(select(Announcement.id).where(visible(Announcement, who, action))))


def test_owner_sees_and_edits_own_draft(db: Session, cast: Cast) -> None:
    draft = make_announcement(db, cast.alice)
    who = cast.who(db, cast.alice)
    assert get_for_user(db, who, Announcement, draft.id, "edit") is draft
    assert can(db, who, draft, "delete")


def test_others_without_share_get_404_not_403(db: Session, cast: Cast) -> None:
    draft = make_announcement(db, cast.alice)
    for user in (cast.bob, cast.charlie):
        with pytest.raises(NotFound):
            get_for_user(db, cast.who(db, user), Announcement, draft.id)
    assert draft.id not in visible_ids(db, cast, cast.charlie)


def test_read_share_lets_bob_read_but_not_edit(db: Session, cast: Cast) -> None:
    draft = make_announcement(db, cast.alice)
    shares.share(db, draft, by_user_id=cast.alice.id, user_id=cast.bob.id, permission="read")
    bob = cast.who(db, cast.bob)
    assert get_for_user(db, bob, Announcement, draft.id) is draft
    with pytest.raises(Forbidden):
        get_for_user(db, bob, Announcement, draft.id, "edit")
    with pytest.raises(NotFound):
        get_for_user(db, cast.who(db, cast.charlie), Announcement, draft.id)


def test_write_share_lets_bob_edit_but_not_delete(db: Session, cast: Cast) -> None:
    draft = make_announcement(db, cast.alice)
    shares.share(db, draft, by_user_id=cast.alice.id, user_id=cast.bob.id, permission="write")
    bob = cast.who(db, cast.bob)
    assert get_for_user(db, bob, Announcement, draft.id, "edit") is draft
    with pytest.raises(Forbidden):
        get_for_user(db, bob, Announcement, draft.id, "delete")


def test_team_share_reaches_every_member(db: Session, cast: Cast) -> None:
    draft = make_announcement(db, cast.charlie)
    shares.share(db, draft, by_user_id=cast.charlie.id, team_id=cast.north.id)
    assert draft.id in visible_ids(db, cast, cast.alice)
    assert draft.id in visible_ids(db, cast, cast.bob)
    assert draft.id not in visible_ids(db, cast, cast.alice, "edit")


def test_manager_sees_team_records_only(db: Session, cast: Cast) -> None:
    north_draft = make_announcement(db, cast.alice)
    south_draft = make_announcement(db, cast.charlie)
    seen = visible_ids(db, cast, cast.dave)
    assert north_draft.id in seen
    assert south_draft.id not in seen
    assert north_draft.id in visible_ids(db, cast, cast.dave, "edit")


def test_admin_sees_all(db: Session, cast: Cast) -> None:
    drafts = {make_announcement(db, u).id for u in (cast.alice, cast.charlie)}
    assert drafts <= visible_ids(db, cast, cast.root, "delete")


def test_published_announcement_reaches_its_audience_only(db: Session, cast: Cast) -> None:
    company = make_announcement(db, cast.alice, status="published", audience="company")
    north = make_announcement(
        db, cast.alice, status="published", audience="team", team_id=cast.north.id
    )
    assert {company.id, north.id} <= visible_ids(db, cast, cast.bob)
    charlie_sees = visible_ids(db, cast, cast.charlie)
    assert company.id in charlie_sees and north.id not in charlie_sees
    # Reading a published announcement does not allow changing it.
    assert company.id not in visible_ids(db, cast, cast.charlie, "edit")


def test_moving_teams_changes_what_a_manager_sees(db: Session, cast: Cast) -> None:
    draft = make_announcement(db, cast.alice)
    update_user(db, cast.alice, UserUpdate(team_ids=[cast.south.id]), mail_domain="groupware.local")
    assert draft.id not in visible_ids(db, cast, cast.dave)


def test_custom_role_with_all_scope(db: Session, cast: Cast) -> None:
    role = create_role(db, RoleIn(name="auditor", grants=[("announcements", "view", "all")]))
    update_user(db, cast.charlie, UserUpdate(role_ids=[role.id]), mail_domain="groupware.local")
    draft = make_announcement(db, cast.alice)
    assert draft.id in visible_ids(db, cast, cast.charlie)
    assert draft.id not in visible_ids(db, cast, cast.charlie, "edit")


def test_explain_names_each_reason(db: Session, cast: Cast) -> None:
    draft = make_announcement(db, cast.alice, status="published", audience="company")
    shares.share(db, draft, by_user_id=cast.alice.id, team_id=cast.north.id, permission="write")
    kinds = {r.kind for r in explain(db, cast.who(db, cast.bob), draft)}
    assert kinds == {"shared", "public"}
    reasons = explain(db, cast.who(db, cast.dave), draft)
    assert {r.kind for r in reasons} == {"team", "shared", "public"}
    team = next(r for r in reasons if r.kind == "team")
    assert team.roles == ("manager",) and team.detail == "North"
    assert explain(db, cast.who(db, cast.root), draft)[0].kind == "all"


def test_a_user_without_roles_sees_only_what_is_shared(db: Session, cast: Cast) -> None:
    update_user(db, cast.bob, UserUpdate(role_ids=[]), mail_domain="groupware.local")
    own = make_announcement(db, cast.bob)
    shared = make_announcement(db, cast.alice)
    shares.share(db, shared, by_user_id=cast.alice.id, user_id=cast.bob.id)
    assert visible_ids(db, cast, cast.bob) == {shared.id}
    assert own.id not in visible_ids(db, cast, cast.bob)


def test_builtin_roles_exist_with_expected_scopes(db: Session, cast: Cast) -> None:
    names = set(db.scalars(select(Role.name).where(Role.is_builtin)))
    assert names == {"admin", "manager", "sales", "staff"}
    admin = cast.who(db, cast.root)
    assert admin.is_admin and admin.scopes("announcements", "export") == {"all"}
    staff = cast.who(db, cast.alice)
    assert staff.scopes("announcements", "view") == {"own"}
    assert not staff.can("announcements", "export")
    assert not staff.is_admin
