"""The to-dos written as text (groupware.caldav.ics) read by Radicale as we wrote them:
the same properties, the same time range the store would index, folded and escaped
text that comes back whole."""

from __future__ import annotations

import datetime as dt

import pytest

from groupware.caldav import ics, store

STAMP = dt.datetime(2026, 12, 8, 9, 30, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 12, 20, 16, 0, tzinfo=dt.UTC)
LONG = "Nazvati „Čakovečke mlinove” zbog ponude; pitati za cijene, rokove i \\ popust " * 3


@pytest.mark.parametrize(
    "values",
    [
        {"due": DUE},
        {"due": dt.date(2026, 12, 20)},
        {"due": DUE, "start": DUE - dt.timedelta(days=2)},
        {"due": DUE, "start": DUE + dt.timedelta(days=1)},  # a start after the due time
        {"start": DUE},
        {"completed": DUE, "status": "COMPLETED", "percent": 100},
        {},
    ],
)
def test_radicale_reads_a_written_to_do_as_written(values: dict[str, object]) -> None:
    kinds = {k: v for k, v in values.items() if k in ("due", "start", "completed")}
    text = ics.todo(
        uid="task-7@groupware",
        summary=LONG,
        description="Prvi red\nDrugi red, s zarezom; i točkom-zarezom",
        stamp=STAMP,
        priority=5,
        categories=("CRM", "Sajam, Zagreb"),
        organizer=ics.Person("ana@example.hr", 'Ana "Anči" Horvat'),
        attendee=ics.Person("marko@example.hr", "Marko Kovač", "NEEDS-ACTION"),
        url="/tasks/7",
        **values,  # type: ignore[arg-type]
    )
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    (item,) = store.parse_items(text)
    prepared = store.prepare_item("task-7.ics", item)
    assert (prepared.starts, prepared.ends) == ics.todo_range(**kinds)  # type: ignore[arg-type]
    assert prepared.uid == "task-7@groupware" and prepared.component == "VTODO"
    todo = item.vobject_item.vtodo
    assert todo.summary.value == LONG
    assert todo.description.value == "Prvi red\nDrugi red, s zarezom; i točkom-zarezom"
    assert todo.categories.value == ["CRM", "Sajam, Zagreb"]
    assert todo.organizer.params["CN"] == ["Ana ^'Anči^' Horvat"]  # RFC 6868, decoded by clients
    assert todo.attendee.params["PARTSTAT"] == ["NEEDS-ACTION"]
    if "due" in values:
        assert todo.due.value == values["due"]


def test_a_template_writes_the_same_text_as_a_to_do_written_whole() -> None:
    """A bulk writer's to-dos joined from a template equal those written one by one,
    whatever their summaries need (escapes, folding inside a character)."""
    people = {
        "organizer": ics.Person("ana@example.hr", 'Ana "Anči" Horvat'),
        "attendee": ics.Person("marko@example.hr", "Marko Kovač", "ACCEPTED"),
    }
    fields = {"stamp": STAMP, "due": DUE, "priority": 5, "percent": 0, **people}
    template = ics.TodoTemplate(**fields)
    for number, summary in enumerate(["Nazvati – Konzum d.d.", LONG, "a;b,c\\d\ne", "Č" * 80]):
        uid, url = f"task-{number}@groupware", f"/tasks/{number}"
        whole = ics.todo(uid=uid, summary=summary, url=url, **fields)  # type: ignore[arg-type]
        assert template.render(uid, summary, url) == whole
    deadline = ics.TodoTemplate(stamp=STAMP, due=dt.date(2026, 12, 20), categories=("CRM",))
    whole = ics.todo(uid="deal-9@groupware", summary="Ponuda: Sajam", stamp=STAMP,
                     due=dt.date(2026, 12, 20), categories=("CRM",), url="/deals/9")  # fmt: skip
    assert deadline.render("deal-9@groupware", "Ponuda: Sajam", "/deals/9") == whole
    assert deadline.render("deal-9@groupware", "Ponuda: Sajam", "") == ics.todo(
        uid="deal-9@groupware", summary="Ponuda: Sajam", stamp=STAMP,
        due=dt.date(2026, 12, 20), categories=("CRM",),
    )  # fmt: skip
