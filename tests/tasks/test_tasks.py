"""Tasks: delegation with accept/reject, team tasks, progress, the lists, and the
task as a VTODO in its owner's CRM task list."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import visible
from groupware.caldav import store
from groupware.caldav.models import CalendarItem
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.notifications.models import Notification
from groupware.tasks import calendar, service
from groupware.tasks.models import Task
from groupware.validation import validate
from tests import factories

DUE = "2026-12-05T16:00"


def _vtodo_of(db: Session, task: Task) -> CalendarItem | None:
    rows = store.item_by_source(db, f"task:{task.id}")
    return rows[0] if rows else None


def _notes(db: Session, user_id: int) -> list[str]:
    query = select(Notification.title).where(Notification.user_id == user_id)
    return list(db.scalars(query))


def test_a_delegated_task_waits_for_an_answer_and_a_rejection_sends_it_back(
    db: Session, cast: factories.Cast
) -> None:
    dave, alice = cast.who(db, cast.dave), cast.who(db, cast.alice)
    data = validate(
        service.TaskIn,
        {"title": "Ponuda za Konzum", "due_at": DUE, "assignee_id": cast.alice.id, "note": "Hitno"},
    )
    task = service.create_task(db, dave, data)
    assert (task.owner_id, task.response) == (cast.alice.id, "pending")
    assert any("Ponuda za Konzum" in t for t in _notes(db, cast.alice.id))
    item = _vtodo_of(db, task)
    assert item is not None and item.calendar.owner_id == cast.alice.id
    assert "PARTSTAT=NEEDS-ACTION" in (item.ics or "") and "DUE:20261205T150000Z" in (
        item.ics or ""
    )
    with pytest.raises(Invalid) as rejected_without_reason:
        validate(service.AnswerIn, {"accept": False})
    assert "reason" in rejected_without_reason.value.errors
    service.answer_task(db, alice, task.id, service.AnswerIn(accept=False, reason="Nisam nadležna"))
    assert (task.owner_id, task.response) == (cast.dave.id, "rejected")
    assert task.delegations[-1].reason == "Nisam nadležna"
    assert any("rejected" in t for t in _notes(db, cast.dave.id))
    moved = _vtodo_of(db, task)  # the VTODO followed the task back
    assert moved is not None and moved.calendar.owner_id == cast.dave.id
    assert store.item_by_source(db, f"task:{task.id}") == [moved]


def test_re_delegation_builds_the_chain_and_only_the_owner_answers(
    db: Session, cast: factories.Cast
) -> None:
    dave, alice, bob = (cast.who(db, u) for u in (cast.dave, cast.alice, cast.bob))
    task = service.create_task(
        db, dave, service.TaskIn(title="Obići kupca", assignee_id=cast.alice.id)
    )
    with pytest.raises(NotFound):  # not given to bob: he does not even see it
        service.answer_task(db, bob, task.id, service.AnswerIn(accept=True))
    with pytest.raises(Forbidden):  # dave sees it (he made it) but it is alice's to answer
        service.answer_task(db, dave, task.id, service.AnswerIn(accept=True))
    service.answer_task(db, alice, task.id, service.AnswerIn(accept=True))
    service.delegate_task(
        db, alice, task.id, service.DelegateIn(assignee_id=cast.bob.id, note="Ti si bliže")
    )
    chain = [(d.from_user_id, d.to_user_id, d.response) for d in task.delegations]
    assert chain == [
        (cast.dave.id, cast.alice.id, "accepted"),
        (cast.alice.id, cast.bob.id, "pending"),
    ]
    # Everyone in the chain still sees it; charlie (another team) does not.
    for who in (dave, alice, bob):
        assert service.get_task_for_user(db, who, task.id).id == task.id
    with pytest.raises(NotFound):
        service.get_task_for_user(db, cast.who(db, cast.charlie), task.id)
    assert [t.id for t in db.scalars(service.tasks_query(alice, "delegated")).unique()] == [task.id]
    assert [t.id for t in db.scalars(service.tasks_query(bob, "mine")).unique()] == [task.id]


def test_a_team_task_waits_until_a_member_takes_it(db: Session, cast: factories.Cast) -> None:
    dave, bob, charlie = (cast.who(db, u) for u in (cast.dave, cast.bob, cast.charlie))
    task = service.create_task(db, dave, service.TaskIn(title="Inventura", team_id=cast.north.id))
    assert task.owner_id is None and _vtodo_of(db, task) is None
    assert task.id in [t.id for t in db.scalars(service.tasks_query(bob, "team")).unique()]
    with pytest.raises((Forbidden, NotFound)):
        service.take_task(db, charlie, task.id)
    service.take_task(db, bob, task.id)
    assert (task.owner_id, task.response) == (cast.bob.id, "accepted")
    assert _vtodo_of(db, task) is not None


def test_progress_and_completion(db: Session, cast: factories.Cast) -> None:
    dave, alice = cast.who(db, cast.dave), cast.who(db, cast.alice)
    task = service.create_task(
        db, dave, service.TaskIn(title="Izvještaj", assignee_id=cast.alice.id)
    )
    service.set_progress(db, alice, task.id, service.ProgressIn(progress=40))
    assert (task.status, task.progress) == ("in_progress", 40)
    service.set_progress(db, alice, task.id, service.ProgressIn(progress=100))
    assert task.status == "done" and task.completed_at is not None
    assert any("completed" in t for t in _notes(db, cast.dave.id))
    item = _vtodo_of(db, task)
    assert item is not None and "STATUS:COMPLETED" in (item.ics or "")


def test_bad_input_names_the_field(db: Session, cast: factories.Cast) -> None:
    for data, field in (
        ({"title": ""}, "title"),
        ({"title": "x", "due_at": "sutra"}, "due_at"),
        ({"title": "x", "starts_at": "2026-12-05T10:00", "due_at": "2026-12-04T10:00"}, "due_at"),
        ({"title": "x", "assignee_id": 1, "team_id": 1}, "team_id"),
    ):
        with pytest.raises(Invalid) as caught:
            validate(service.TaskIn, data)
        assert field in caught.value.errors, (data, caught.value.errors)
    alice = cast.who(db, cast.alice)
    with pytest.raises(Invalid) as caught:
        service.create_task(db, alice, service.TaskIn(title="x", assignee_id=999_999))
    assert "assignee_id" in caught.value.errors


def test_completing_the_vtodo_in_a_client_completes_the_task(
    db: Session, cast: factories.Cast
) -> None:
    dave = cast.who(db, cast.dave)
    task = service.create_task(db, dave, service.TaskIn(title="Nazvati", assignee_id=cast.alice.id))
    service.answer_task(db, cast.who(db, cast.alice), task.id, service.AnswerIn(accept=True))
    item = _vtodo_of(db, task)
    assert item is not None and item.ics is not None
    done = item.ics.replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED").replace(
        "PERCENT-COMPLETE:0", "PERCENT-COMPLETE:100"
    )
    (parsed,) = store.parse_items(done)
    store.put_item(db, item.calendar, item.href, parsed)  # as the storage plugin does
    assert task.status == "done" and task.progress == 100
    assert task.completed_at is not None and task.completed_at <= dt.datetime.now(dt.UTC)


def test_an_overdue_task_raises_one_alert_to_its_owner(db: Session, cast: factories.Cast) -> None:
    from groupware.phases.alerts import raise_alerts

    dave, alice = cast.who(db, cast.dave), cast.who(db, cast.alice)
    late = service.create_task(
        db,
        dave,
        validate(service.TaskIn, {"title": "Kasni", "due_at": DUE, "assignee_id": cast.alice.id}),
    )
    done = service.create_task(
        db, alice, validate(service.TaskIn, {"title": "Gotovo", "due_at": DUE})
    )
    service.set_progress(db, alice, done.id, service.ProgressIn(progress=100))
    due_day = dt.date(2026, 12, 5)
    assert raise_alerts(db, due_day, grace_days=3) == 0  # due today: not late yet
    assert raise_alerts(db, due_day + dt.timedelta(days=1), grace_days=3) == 1
    assert raise_alerts(db, due_day + dt.timedelta(days=2), grace_days=3) == 0
    assert "Task Kasni is overdue" in _notes(db, cast.alice.id)
    assert not any("Gotovo" in t for t in _notes(db, cast.alice.id))
    assert late.id != done.id


def test_making_or_handing_on_one_task_shows_that_task_and_no_other(
    db: Session, cast: factories.Cast
) -> None:
    """The "made or handed on" rule is tied to the task it checks: having made, handed
    on or waiting team tasks does not open every other task (it once did, for a sales
    rep: the rule was probed row by row and never compared with the row)."""
    rep = factories.make_user(db, "erik", roles=("sales",), teams=(cast.south,))
    alice, bob, charlie = (cast.who(db, u) for u in (cast.alice, cast.bob, rep))
    made_by_charlie = service.create_task(
        db, charlie, validate(service.TaskIn, {"title": "For bob", "assignee_id": bob.id})
    )
    handed_on = service.create_task(db, charlie, validate(service.TaskIn, {"title": "Mine"}))
    service.delegate_task(
        db, charlie, handed_on.id, validate(service.DelegateIn, {"assignee_id": alice.id})
    )
    south_waiting = service.create_task(
        db, charlie, validate(service.TaskIn, {"title": "South", "team_id": cast.south.id})
    )
    bobs_own = service.create_task(db, bob, validate(service.TaskIn, {"title": "Bob's"}))
    alices_own = service.create_task(db, alice, validate(service.TaskIn, {"title": "Alice's"}))
    # charlie sees what he made or handed on and his team's waiting task, not bob's or
    # alice's own tasks.
    seen = set(db.scalars(select(Task.id).where(visible(Task, charlie))))
    assert {made_by_charlie.id, handed_on.id, south_waiting.id} <= seen
    assert not {bobs_own.id, alices_own.id} & seen
    for task in (bobs_own, alices_own):
        with pytest.raises(NotFound):
            service.get_task_for_user(db, charlie, task.id)
        with pytest.raises(NotFound):
            service.set_progress(
                db, charlie, task.id, validate(service.ProgressIn, {"progress": 50})
            )


def test_names_in_the_vtodo_keep_quotes_and_line_breaks_and_lose_control_characters(
    db: Session, cast: factories.Cast
) -> None:
    cast.alice.full_name = 'Tomislav "Tomo"\nNovak\x07'
    cast.dave.full_name = 'Ana ^ Horvat; "Ana", d.o.o.'
    dave = cast.who(db, cast.dave)
    task = service.create_task(db, dave, service.TaskIn(title="Nazvati", assignee_id=cast.alice.id))
    todo = icalendar.Calendar.from_ical(calendar.vtodo(task)).walk("VTODO")[0]
    assert todo["attendee"].params["CN"] == 'Tomislav "Tomo"\nNovak'
    assert todo["organizer"].params["CN"] == 'Ana ^ Horvat; "Ana", d.o.o.'
