from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy import inspect, select
from sqlalchemy import text as text_sql
from sqlalchemy.engine import Engine

from groupware.access.policy import SYSTEM, load_who
from groupware.accounts.models import User
from groupware.accounts.roles import ensure_builtin_roles
from groupware.activities.models import Activity
from groupware.caldav import store
from groupware.caldav.models import CalendarItem, CalendarLink
from groupware.db import Base, Database
from groupware.deals.models import Deal
from groupware.deals.service import DealIn, LineIn, create_deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.migrate import current_revision, head_revision, schema_drift, upgrade_schema
from groupware.search.service import search
from groupware.tasks import service as tasks
from groupware.tasks.models import Task
from tests.conftest import _settings, _test_database
from tests.factories import make_cast, make_partner


def test_the_test_database_was_upgraded_to_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    assert schema_drift(engine) == []


def test_0021_moves_a_deal_s_notes_calls_and_meetings_to_the_stream(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A deal's logged notes and calls become activities on it; a logged meeting in a
    calendar becomes that event linked to the deal and its partner, one that never
    reached a calendar a note."""
    for url in _test_database(tmp_path_factory, "migration_0021"):
        database = Database(_settings(url, tmp_path_factory))
        try:
            upgrade_schema(database, "0019")
            # The set-up writes through today's models: the partners' column migration
            # 0022 adds is lent to the 0019 schema meanwhile, and taken back before 0021.
            # The same for deals' campaign (migration 0025).
            lent = "ALTER TABLE partners {} city_search"
            lent_campaign = "ALTER TABLE deals {} campaign_id"
            with database.transaction(actor_id=None, channel="cli") as session:
                session.execute(text_sql(lent.format("ADD COLUMN") + " VARCHAR(100) DEFAULT ''"))
                session.execute(text_sql(lent_campaign.format("ADD COLUMN") + " INTEGER"))
            with database.transaction(actor_id=None, channel="cli") as session:
                ensure_builtin_roles(session)
                cast = make_cast(session)
                partner = make_partner(session, SYSTEM, "Konzum d.d.")
                steps = [StepIn(name="Ponuda")]
                kind = save_type(session, SYSTEM, None, TypeIn(name="Prodaja", phases=steps))
                deal = create_deal(
                    session,
                    SYSTEM,
                    DealIn(title="Blagajne", partner_id=partner.id, type_id=kind.id),
                )
                calendar = store.ensure_defaults(session, cast.alice)[0]
                at = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)
                for number, (kind_of, text) in enumerate(
                    [("note", "Bilješka"), ("call", "Poziv"), ("meeting", "U kalendaru"),
                     ("meeting", "Bez kalendara")], start=1,
                ):  # fmt: skip
                    session.execute(
                        text_sql(
                            "INSERT INTO deal_activities (id, deal_id, kind, at, author_id, text) "
                            "VALUES (:id, :deal, :kind, :at, :author, :text)"
                        ),
                        {"id": number, "deal": deal.id, "kind": kind_of, "at": at,
                         "author": cast.alice.id, "text": text},
                    )  # fmt: skip
                ics = (
                    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
                    "UID:meeting-3@groupware\r\nDTSTAMP:20261103T090000Z\r\n"
                    "DTSTART:20261103T090000Z\r\nSUMMARY:Blagajne: U kalendaru\r\n"
                    "END:VEVENT\r\nEND:VCALENDAR\r\n"
                )
                item = store.put_item(
                    session,
                    calendar,
                    "meeting-3.ics",
                    store.parse_items(ics)[0],
                    source="meeting:3",
                )
                ids = (deal.id, partner.id, item.id)
            with database.transaction(actor_id=None, channel="cli") as session:
                session.execute(text_sql(lent.format("DROP COLUMN")))
                session.execute(text_sql(lent_campaign.format("DROP COLUMN")))
            upgrade_schema(database, "0021")
            deal_id, partner_id, item_id = ids
            with database.transaction(actor_id=None, channel="cli", write=False) as session:
                moved = session.execute(
                    select(
                        Activity.kind, Activity.body, Activity.record_type, Activity.record_id
                    ).order_by(Activity.id)
                ).all()
                assert [tuple(r) for r in moved] == [
                    ("note", "Bilješka", "deals", deal_id),
                    ("call", "Poziv", "deals", deal_id),
                    ("note", "Bez kalendara", "deals", deal_id),
                ]
                links = session.execute(
                    select(CalendarLink.item_id, CalendarLink.record_type, CalendarLink.record_id)
                ).all()
                assert sorted(tuple(r) for r in links) == [
                    (item_id, "deals", deal_id),
                    (item_id, "partners", partner_id),
                ]
                assert session.get(CalendarItem, item_id).source is None  # type: ignore[union-attr]
                assert "deal_activities" not in inspect(session.connection()).get_table_names()
        finally:
            database.dispose()


def test_0025_rebuilds_the_deals_table_and_keeps_what_refers_to_it_and_its_search_words(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Adding the deals' campaign rebuilds the table on SQLite: a deal's lines and
    members, a task's link to it and the words the global search finds it by stay."""
    for url in _test_database(tmp_path_factory, "migration_0025"):
        database = Database(_settings(url, tmp_path_factory))
        try:
            upgrade_schema(database, "0024")
            lent = "ALTER TABLE deals {} campaign_id"  # today's model writes it; lent
            with database.transaction(actor_id=None, channel="cli") as session:
                session.execute(text_sql(lent.format("ADD COLUMN") + " INTEGER"))
            with database.transaction(actor_id=None, channel="cli") as session:
                ensure_builtin_roles(session)
                cast = make_cast(session)
                partner = make_partner(session, SYSTEM, "Konzum d.d.")
                kind = save_type(
                    session, SYSTEM, None, TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda")])
                )
                line = LineIn(description="Blagajna", quantity=decimal.Decimal(2))
                deal = create_deal(
                    session,
                    SYSTEM,
                    DealIn(title="Blagajne", partner_id=partner.id, type_id=kind.id,
                           member_ids=[cast.bob.id], lines=[line]),
                )  # fmt: skip
                task = tasks.create_task(
                    session,
                    SYSTEM,
                    tasks.TaskIn(title="Ponuda", assignee_id=cast.alice.id, deal_id=deal.id),
                )
                ids = (deal.id, task.id)
            with database.transaction(actor_id=None, channel="cli") as session:
                session.execute(text_sql(lent.format("DROP COLUMN")))
            upgrade_schema(database, "0025")
            deal_id, task_id = ids
            with database.transaction(actor_id=None, channel="cli", write=False) as session:
                deal = session.get_one(Deal, deal_id)
                assert [x.description for x in deal.lines] == ["Blagajna"]
                assert [m.user_id for m in deal.members] == [cast.bob.id]
                assert session.get_one(Task, task_id).deal_id == deal_id
            with database.transaction(actor_id=None, channel="cli") as session:
                later = create_deal(
                    session,
                    SYSTEM,
                    DealIn(title="Zvučnici", partner_id=partner.id, type_id=kind.id),
                )
                found = search(
                    session, load_who(session, session.get_one(User, cast.root.id)), "zvucn"
                )
                assert [h.title for g in found if g.name == "deals" for h in g.hits] == ["Zvučnici"]
                assert later.campaign_id is None
        finally:
            database.dispose()
