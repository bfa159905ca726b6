"""Notes and logged calls: on any record with a stream, seen and added by whoever may
see the record, deleted by their author or whoever may edit the record, with history."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.access.policy import SYSTEM, can, explain, may_share, visible
from groupware.activities.models import Activity
from groupware.activities.service import (
    ActivityIn,
    activities_query,
    add_activity,
    delete_activity,
    get_activity_for_user,
)
from groupware.crm.partners import delete_partner, set_reps
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.history.service import list_changes
from groupware.tasks import service as tasks
from groupware.validation import validate
from tests.factories import Cast, make_partner


def _partner(db: Session, cast: Cast):  # type: ignore[no-untyped-def]
    partner = make_partner(db, SYSTEM, "Konzum d.d.")
    set_reps(db, partner, owner_id=cast.alice.id, rep_ids=[])
    return partner


def test_a_call_is_logged_with_its_details_and_a_note_needs_its_text(
    db: Session, cast: Cast
) -> None:
    partner = _partner(db, cast)
    alice = cast.who(db, cast.alice)
    when = dt.datetime(2026, 11, 30, 14, 5, tzinfo=dt.UTC)
    call = validate(
        ActivityIn,
        {"kind": "call", "direction": "in", "outcome": "voicemail", "duration_minutes": "12",
         "occurred_at": "30.11.2026. 15:05", "body": "Javio se kupac"},
    )  # fmt: skip
    row = add_activity(db, alice, "partners", partner.id, call)
    assert (row.direction, row.outcome, row.duration_minutes) == ("in", "voicemail", 12)
    assert row.occurred_at == when  # typed in Zagreb's time
    assert row.author_id == cast.alice.id and row.record_type == "partners"
    quick = add_activity(db, alice, "partners", partner.id, ActivityIn(kind="call"))
    assert (quick.direction, quick.outcome, quick.body) == ("out", "reached", "")
    with pytest.raises(Invalid) as empty:
        validate(ActivityIn, {"kind": "note", "body": "  "})
    assert set(empty.value.errors) == {"body"}
    wrong = [
        {"duration_minutes": "-1"},
        {"duration_minutes": "2000"},
        {"kind": "visit"},
        {"occurred_at": "31.02.2026. 10:00"},
        {"occurred_at": "1.1.2099. 10:00"},
    ]
    for bad in wrong:
        with pytest.raises(Invalid):
            validate(ActivityIn, {"kind": "call", **bad})
    # A note says only what was written: call details are not kept on it.
    written = ActivityIn(kind="note", body="Tekst", direction="in", duration_minutes=4)
    assert (written.direction, written.duration_minutes) == (None, 0)


def test_whoever_sees_the_record_sees_and_adds_notes_others_get_404(
    db: Session, cast: Cast
) -> None:
    partner = _partner(db, cast)
    alice, bob, charlie, dave = (
        cast.who(db, u) for u in (cast.alice, cast.bob, cast.charlie, cast.dave)
    )
    mine = add_activity(db, alice, "partners", partner.id, ActivityIn(body="Alicina bilješka"))
    # dave leads alice's team: he sees the partner, so its notes, and may add one
    assert get_activity_for_user(db, dave, mine.id).body == "Alicina bilješka"
    add_activity(db, dave, "partners", partner.id, ActivityIn(body="Davorova"))
    for outsider in (bob, charlie):
        with pytest.raises(NotFound):
            get_activity_for_user(db, outsider, mine.id)
        with pytest.raises(NotFound):
            add_activity(db, outsider, "partners", partner.id, ActivityIn(body="Ne smijem"))
        with pytest.raises(NotFound):
            delete_activity(db, outsider, mine.id)
    # Shared with bob to read: he sees the notes and may add his own.
    shares.share(db, partner, by_user_id=cast.alice.id, user_id=cast.bob.id)
    assert get_activity_for_user(db, bob, mine.id).id == mine.id
    bobs = add_activity(db, bob, "partners", partner.id, ActivityIn(body="Bobova"))
    listed = {a.body for a in db.scalars(activities_query(bob, record_type="partners"))}
    assert listed == {"Alicina bilješka", "Davorova", "Bobova"}
    assert not list(db.scalars(activities_query(charlie)))
    # The plain per-record check and the list's condition agree, and say why.
    assert can(db, bob, mine, "view") and not can(db, charlie, mine, "view")
    assert {r.kind for r in explain(db, bob, mine)} == {"shared"}
    assert not may_share(db, alice, mine)  # it goes with the partner, not on its own
    ids = set(db.scalars(select(Activity.id).where(visible(Activity, charlie))))
    assert ids == set()
    # Deleting: the author may; bob may not delete alice's note (he only reads the
    # partner), alice as the partner's owner may delete bob's.
    with pytest.raises(Forbidden):
        delete_activity(db, bob, mine.id)
    delete_activity(db, bob, bobs.id)
    davors = db.scalar(select(Activity).where(Activity.body == "Davorova"))
    assert davors is not None
    delete_activity(db, alice, davors.id)
    with pytest.raises(NotFound):
        get_activity_for_user(db, alice, davors.id)


def test_notes_go_on_every_record_with_a_stream_and_nowhere_else(db: Session, cast: Cast) -> None:
    partner = _partner(db, cast)
    alice = cast.who(db, cast.alice)
    task = tasks.create_task(db, alice, tasks.TaskIn(title="Nazvati", partner_id=partner.id))
    on_task = add_activity(db, alice, "tasks", task.id, ActivityIn(body="Zvao, nema ga"))
    assert get_activity_for_user(db, alice, on_task.id).record_type == "tasks"
    # bob does not see alice's task; charlie neither; dave leads her team
    with pytest.raises(NotFound):
        get_activity_for_user(db, cast.who(db, cast.bob), on_task.id)
    assert get_activity_for_user(db, cast.who(db, cast.dave), on_task.id)
    for record_type, record_id in (("users", cast.alice.id), ("documents", 1), ("nothing", 1)):
        with pytest.raises(NotFound):
            add_activity(db, SYSTEM, record_type, record_id, ActivityIn(body="x"))


def test_adding_and_deleting_are_in_the_history(db: Session, cast: Cast) -> None:
    partner = _partner(db, cast)
    alice = cast.who(db, cast.alice)
    row = add_activity(db, alice, "partners", partner.id, ActivityIn(kind="call", body="Ponuda"))
    delete_activity(db, alice, row.id)
    changes = list_changes(db, SYSTEM, record_type="activities", record_id=row.id)
    assert [c.action for c in changes] == ["delete", "create"]
    assert changes[1].changes["body"] == [None, "Ponuda"]


def test_a_note_on_a_record_that_is_gone_is_found_by_nobody(db: Session, cast: Cast) -> None:
    partner = _partner(db, cast)
    root = cast.who(db, cast.root)  # an administrator sees every partner's notes
    row = add_activity(db, root, "partners", partner.id, ActivityIn(body="Stari kupac"))
    assert [a.id for a in db.scalars(activities_query(root))] == [row.id]
    delete_partner(db, partner)
    assert list(db.scalars(activities_query(root))) == []
    with pytest.raises(NotFound):
        get_activity_for_user(db, root, row.id)
