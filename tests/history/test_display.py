"""History as people read it: names for ids, codes and dates in words of the reader's
language, "hidden" for linked records the reader may not see, short creation summaries,
a few queries per page, and a declaration for every tracked field."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from groupware.access.policy import Who, load_who
from groupware.app import collect_routes
from groupware.db import Base, bind_actor
from groupware.history.display import ChangeView, describe
from groupware.history.service import list_changes, record_changes
from groupware.i18n import use_language
from groupware.records import field_label, field_show, record_types
from groupware.tasks.models import Task
from groupware.tasks.service import TaskIn, create_task
from tests.factories import Cast, make_partner
from tests.history.conftest import World


def views_of(db: Session, who: Who, record_type: str, record_id: int) -> list[ChangeView]:
    return describe(db, who, record_changes(db, record_type, record_id))


def lines(views: list[ChangeView]) -> list[str]:
    """Each change as one line: its sentence, then "label: old → new" per field."""
    out = []
    for view in views:
        fields = [f"{f.label}: {f.old.text} → {f.new.text}" for f in view.fields]
        out.append(" | ".join([view.text(), *fields]))
    return out


DEAL_LINES = {
    "en": [
        "Root changed Deal “Blagajne” | Partner: Konzum d.d. → hidden",
        "Alice changed Deal “Blagajne” | Status: open → won | Probability: 40% → 100%"
        " | Closed: — → 02/04/2026",
        "Alice changed Deal “Blagajne” | Phase: Qualify → Offer",
        "Alice changed Deal “Blagajne” | Phase: — → Qualify",
        "Alice created Deal “Blagajne” | Direction: — → sale | Partner: — → Konzum d.d."
        " | Type: — → Retail | Amount: — → €12,500.50 | Responsible: — → Alice"
        " | Expected close: — → 30/04/2026",
    ],
    "hr": [
        "Root: izmjena – Posao „Blagajne“ | Partner: Konzum d.d. → skriveno",
        "Alice: izmjena – Posao „Blagajne“ | Status: otvoreno → dobiven"
        " | Vjerojatnost: 40\xa0% → 100\xa0% | Zatvoren: — → 02.04.2026.",
        "Alice: izmjena – Posao „Blagajne“ | Faza: Qualify → Offer",
        "Alice: izmjena – Posao „Blagajne“ | Faza: — → Qualify",
        "Alice: unos – Posao „Blagajne“ | Smjer: — → prodaja | Partner: — → Konzum d.d."
        " | Vrsta: — → Retail | Iznos: — → 12.500,50\xa0€ | Odgovorna osoba: — → Alice"
        " | Očekivano zatvaranje: — → 30.04.2026.",
    ],
}


@pytest.mark.parametrize("language", ["en", "hr"])
def test_a_deals_history_names_linked_records_and_says_values_in_words(
    db: Session, cast: Cast, world: World, language: str
) -> None:
    with use_language(language, "Europe/Zagreb"):
        got = lines(views_of(db, load_who(db, cast.alice), "deals", world.deal))
    assert got == DEAL_LINES[language]


def test_a_linked_record_shows_as_a_link_only_to_those_who_may_open_it(
    db: Session, cast: Cast, world: World
) -> None:
    alice, root = load_who(db, cast.alice), load_who(db, cast.root)
    with use_language("en"):
        seen_by_alice = views_of(db, alice, "deals", world.deal)[0].fields[0]
        seen_by_root = views_of(db, root, "deals", world.deal)[0].fields[0]
    assert seen_by_alice.old.url == f"/partners/{world.konzum}"
    assert seen_by_alice.new.text == "hidden" and seen_by_alice.new.url == ""
    assert "Studenac" not in str(seen_by_alice.new.html())
    assert (seen_by_root.new.text, seen_by_root.new.url) == (
        "Studenac d.o.o.",
        f"/partners/{world.studenac}",
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "Alice changed Task “Inventura” | Status: open → in progress | Progress: 0% → 40%",
                "Charlie changed Task “Inventura” | Delegation: — → Alice",
                "Charlie changed Task “Inventura” | Answer: accepted → waiting for an answer"
                " | Owner: — → Alice",
                "Charlie created Task “Inventura” | Priority: — → normal"
                " | Due: — → 04/05/2026 09:30 | Partner: — → hidden",
            ],
        ),
        (
            "hr",
            [
                "Alice: izmjena – Zadatak „Inventura“ | Status: otvoreno → u tijeku"
                " | Napredak: 0\xa0% → 40\xa0%",
                "Charlie: izmjena – Zadatak „Inventura“ | Delegiranje: — → Alice",
                "Charlie: izmjena – Zadatak „Inventura“ | Odgovor: prihvaćeno → čeka odgovor"
                " | Vlasnik: — → Alice",
                "Charlie: unos – Zadatak „Inventura“ | Prioritet: — → normalan"
                " | Dospijeće: — → 04.05.2026. 09:30 | Partner: — → skriveno",
            ],
        ),
    ],
)
def test_a_task_about_a_partner_the_reader_may_not_see_says_hidden(
    db: Session, cast: Cast, world: World, language: str, expected: list[str]
) -> None:
    with use_language(language, "Europe/Zagreb"):
        got = lines(views_of(db, load_who(db, cast.alice), "tasks", world.task))
        charlie = lines(views_of(db, load_who(db, cast.charlie), "tasks", world.task))
    assert got == expected
    assert not any("Studenac" in line for line in got)
    assert "Studenac d.o.o." in charlie[-1]


def test_a_linked_record_reads_hidden_whether_it_is_gone_or_only_out_of_sight(
    db: Session, cast: Cast
) -> None:
    """Saying "deleted" would tell alice what became of partners she may not see."""
    charlie = load_who(db, cast.charlie)
    bind_actor(db, actor_id=cast.charlie.id, channel="web")
    for title, name in (("First", "Tommy d.o.o."), ("Second", "Plodine d.d.")):
        partner = make_partner(db, charlie, name, postal_code="21000", city="Split")
        data = TaskIn(title=title, partner_id=partner.id, assignee_id=cast.alice.id)
        create_task(db, charlie, data, push=False)
    db.delete(partner)  # Plodine
    db.flush()

    def partners_seen_by(user: Any) -> dict[str, list[str]]:
        who = load_who(db, user)
        changes = list_changes(db, who, record_type="tasks", action="create")
        with use_language("en"):
            views = describe(db, who, changes)
        return {
            v.record.text: [f.new.text for f in v.fields if f.label == "Partner"] for v in views
        }

    assert partners_seen_by(cast.alice) == {"First": ["hidden"], "Second": ["hidden"]}
    assert partners_seen_by(cast.charlie) == {"First": ["Tommy d.o.o."], "Second": ["hidden"]}


def test_a_new_record_shows_its_key_fields_not_every_field(
    db: Session, cast: Cast, world: World
) -> None:
    with use_language("en"):
        *_later, created = views_of(db, load_who(db, cast.alice), "partners", world.konzum)
        assert created.text() == "Alice created Partner “Konzum d.d.”"
        assert created.text(with_record=False) == "Created by Alice"
        labels = [f.label for f in created.fields]
    assert labels == ["Kind", "City"]  # the empty key fields (OIB, rep, territory) left out
    assert len(created.change.changes) > 10  # while the row keeps every field
    with use_language("hr"):
        assert created.text(with_record=False) == "Unos: Alice"


def test_names_are_escaped_in_the_sentence(db: Session, cast: Cast) -> None:
    bind_actor(db, actor_id=cast.alice.id, channel="web")
    partner = make_partner(db, load_who(db, cast.alice), "<b>Bold</b> & Co")
    with use_language("en"):
        *_later, created = views_of(db, load_who(db, cast.alice), "partners", partner.id)
        html = str(created.sentence())
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html and "<b>" not in html
    assert f'<a href="/partners/{partner.id}">' in html


@contextlib.contextmanager
def counting(db: Session) -> Iterator[list[str]]:
    """The statements the session's connection runs inside the block."""
    seen: list[str] = []

    def count(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def test_a_page_costs_a_few_queries_however_many_records_it_names(db: Session, cast: Cast) -> None:
    alice, charlie = load_who(db, cast.alice), load_who(db, cast.charlie)
    for number in range(50):
        owner, user = (alice, cast.alice) if number % 2 else (charlie, cast.charlie)
        bind_actor(db, actor_id=user.id, channel="web")
        partner = make_partner(db, owner, f"Partner {number}")
        bind_actor(db, actor_id=cast.root.id, channel="web")
        db.add(Task(title=f"Call {number}", partner_id=partner.id, owner_id=cast.alice.id))
        db.flush()
    who = load_who(db, cast.alice)
    costs = {}
    for size in (5, 50):
        changes = list_changes(db, who, record_type="tasks", limit=size)
        assert len(changes) == size
        with use_language("en"), counting(db) as seen:
            views = describe(db, who, changes)
        costs[size] = len(seen)
        partners = [f.new.text for v in views for f in v.fields if f.label == "Partner"]
        assert len(partners) == size and partners.count("hidden") == size // 2
    assert costs[50] == costs[5] <= 6, costs


def _tracked_records() -> list[tuple[str, type[Base]]]:
    collect_routes()  # every area the app serves, with the record types it declares
    found = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__tracked__", False) and not hasattr(cls, "__history_parent__"):
            found.append((str(cls.__tablename__), cls))
    return sorted(found, key=lambda pair: pair[0])


@pytest.mark.parametrize(("record_type", "model"), _tracked_records())
def test_every_tracked_field_has_a_label_and_every_link_is_declared(
    record_type: str, model: type[Base]
) -> None:
    """A new field or record type needs its label and, for an id, the type it names:
    else history shows ``partner_id`` and ``3121``."""
    assert record_type in record_types()
    excluded = {"id", "created_at", "updated_at", *getattr(model, "__history_exclude__", ())}
    for attr in inspect(model).column_attrs:
        if attr.key in excluded:
            continue
        assert field_label(record_type, attr.key) != attr.key, f"{record_type}.{attr.key}"
        [column] = attr.columns
        targets = {fk.column.table.name for fk in column.foreign_keys}
        show = field_show(record_type, attr.key)
        if targets:
            assert show is not None and show.kind == "ref", f"{record_type}.{attr.key}"
            assert {show.ref} == targets, f"{record_type}.{attr.key}"
        if show is not None and show.kind == "ref":
            assert show.ref in {str(m.class_.__tablename__) for m in Base.registry.mappers}


def test_recent_changes_of_a_deleted_record_keep_its_name(db: Session, cast: Cast) -> None:
    bind_actor(db, actor_id=cast.alice.id, channel="web")
    partner = make_partner(db, load_who(db, cast.alice), "Gone d.o.o.")
    db.delete(partner)
    db.flush()
    with use_language("en"):
        deleted, *_earlier, created = views_of(db, load_who(db, cast.root), "partners", partner.id)
        assert deleted.text() == "Alice deleted Partner “Gone d.o.o.”"
    assert deleted.record.url == "" and created.record.url == ""
