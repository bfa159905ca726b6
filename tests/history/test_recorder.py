from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.access.policy import load_who
from groupware.accounts.users import UserUpdate, update_user
from groupware.db import bind_actor
from groupware.history.models import Change
from groupware.history.service import list_changes
from tests.factories import MAIL_DOMAIN, Cast, make_announcement


def changes_of(db: Session, record_type: str, record_id: int) -> list[Change]:
    return list(
        db.scalars(
            select(Change)
            .where(Change.record_type == record_type, Change.record_id == record_id)
            .order_by(Change.id)
        )
    )


def test_it_records_create_update_delete_with_old_and_new_values(db: Session, cast: Cast) -> None:
    bind_actor(db, actor_id=cast.alice.id, channel="web")
    row = make_announcement(db, cast.alice, title="First")
    row.title = "Second"
    row.pinned = True
    db.flush()
    db.delete(row)
    db.flush()
    created, updated, deleted = changes_of(db, "announcements", row.id)
    assert (created.action, created.actor_id, created.channel) == ("create", cast.alice.id, "web")
    assert created.changes["title"] == [None, "First"]
    assert updated.action == "update"
    assert updated.changes == {"title": ["First", "Second"], "pinned": [False, True]} | {
        k: v for k, v in updated.changes.items() if k == "updated_at"
    }
    assert deleted.action == "delete" and deleted.changes["title"] == ["Second", None]
    assert deleted.label == "Second"


def test_it_records_the_channel_of_each_change(db: Session, cast: Cast) -> None:
    row = make_announcement(db, cast.alice)
    for channel in ("api", "dav", "smtp", "job"):
        bind_actor(db, actor_id=cast.bob.id, channel=channel)
        row.body = channel
        db.flush()
    assert [c.channel for c in changes_of(db, "announcements", row.id)][1:] == [
        "api",
        "dav",
        "smtp",
        "job",
    ]


def test_unchanged_assignment_records_nothing(db: Session, cast: Cast) -> None:
    row = make_announcement(db, cast.alice, title="Same")
    before = len(changes_of(db, "announcements", row.id))
    row.title = "Same"
    db.flush()
    assert len(changes_of(db, "announcements", row.id)) == before


def test_secrets_never_reach_history(db: Session, cast: Cast) -> None:
    from groupware.accounts.credentials import create_credential
    from groupware.accounts.users import set_password

    set_password(db, cast.alice, "another secret password")
    create_credential(db, cast.alice, kind="api_token", name="ci")
    for change in changes_of(db, "users", cast.alice.id):
        assert "password_hash" not in change.changes
        assert "secret_hash" not in str(change.changes)


def test_parts_are_filed_on_their_record(db: Session, cast: Cast) -> None:
    row = make_announcement(db, cast.alice)
    shares.share(db, row, by_user_id=cast.alice.id, user_id=cast.bob.id, permission="write")
    update_user(db, cast.bob, UserUpdate(team_ids=[cast.south.id]), mail_domain="groupware.local")
    share_change = changes_of(db, "announcements", row.id)[-1]
    assert share_change.changes == {"share": [None, "Bob: write"]}
    team_changes = [c.changes for c in changes_of(db, "teams", cast.south.id)]
    assert {"member": [None, "Bob"]} in team_changes
    assert {"member": ["Bob", None]} in [c.changes for c in changes_of(db, "teams", cast.north.id)]


def test_a_tracked_change_without_an_actor_fails_loudly(db: Session, cast: Cast) -> None:
    db.info.pop("channel")
    with pytest.raises(RuntimeError, match="bind_actor"):
        make_announcement(db, cast.alice)


def test_history_is_filtered_by_what_the_reader_may_see(db: Session, cast: Cast) -> None:
    bind_actor(db, actor_id=cast.alice.id, channel="web")
    draft = make_announcement(db, cast.alice, title="Secret plan")

    def seen_by(user) -> set[int]:
        return {
            c.record_id for c in list_changes(db, cast.who(db, user), record_type="announcements")
        }

    assert draft.id in seen_by(cast.alice)
    assert draft.id in seen_by(cast.dave)
    assert draft.id not in seen_by(cast.charlie)
    shares.share(db, draft, by_user_id=cast.alice.id, user_id=cast.charlie.id)
    assert draft.id in seen_by(cast.charlie)
    # Account changes are for administrators, and for the account's own user.
    users_seen = {
        c.record_id for c in list_changes(db, cast.who(db, cast.charlie), record_type="users")
    }
    assert users_seen == {cast.charlie.id}
    assert cast.alice.id in {
        c.record_id for c in list_changes(db, cast.who(db, cast.root), record_type="users")
    }


def test_deleted_records_history_stays_with_those_who_see_all(db: Session, cast: Cast) -> None:
    bind_actor(db, actor_id=cast.alice.id, channel="web")
    draft = make_announcement(db, cast.alice)
    db.delete(draft)
    db.flush()
    root_sees = {c.action for c in list_changes(db, cast.who(db, cast.root), record_id=draft.id)}
    assert "delete" in root_sees
    assert not list_changes(
        db, cast.who(db, cast.charlie), record_id=draft.id, record_type="announcements"
    )


def test_old_values_are_right_even_when_they_were_not_loaded(db: Session, cast: Cast) -> None:
    db.expire(cast.alice)
    cast.alice.full_name = "Alice B."
    db.flush()
    last = changes_of(db, "users", cast.alice.id)[-1]
    assert last.changes == {"full_name": ["Alice", "Alice B."]}


def test_ids_of_deleted_records_are_never_reused(db: Session, cast: Cast) -> None:
    first = make_announcement(db, cast.alice, title="Layoffs in March")
    gone = first.id
    db.delete(first)
    db.flush()
    second = make_announcement(db, cast.charlie, title="Lunch")
    assert second.id != gone


def test_switching_the_language_is_not_history(db: Session, cast: Cast) -> None:
    bind_actor(db, actor_id=cast.alice.id, channel="web")
    before = list_changes(db, load_who(db, cast.alice), actor_id=cast.alice.id)
    cast.alice.language = "hr"
    db.flush()
    update_user(db, cast.alice, UserUpdate(language="en"), mail_domain=MAIL_DOMAIN)
    after = list_changes(db, load_who(db, cast.alice), actor_id=cast.alice.id)
    assert [c.id for c in after] == [c.id for c in before]
    update_user(db, cast.alice, UserUpdate(full_name="Alice Horvat"), mail_domain=MAIL_DOMAIN)
    [renamed] = list_changes(db, load_who(db, cast.alice), actor_id=cast.alice.id, limit=1)
    assert renamed.changes["full_name"] == ["Alice", "Alice Horvat"]  # a name is history
