"""Bulk actions on a list's chosen rows: asked for once more, run through the areas'
services and access helpers, and taken back."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from groupware.crm.models import Partner, PartnerTag, Person, Tag
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.history.models import Change
from groupware.tasks.models import Task
from tests.conftest import LoginAs
from tests.factories import Cast, make_partner
from tests.lists.conftest import Shop


def bulk(client: httpx.Client, list_name: str, ids: list[int], **form: str) -> httpx.Response:
    data: dict[str, Any] = {"ids": [str(i) for i in ids], "query": "", **form}
    return client.post(f"/lists/{list_name}/bulk", data=data)


def owners(database: Database, ids: list[int]) -> list[tuple[int | None, bool]]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        rows = [session.get(Partner, i) for i in ids]
        return [(p.owner_id, p.manual_assignment) for p in rows if p is not None]


def undo_id(html: str) -> int:
    found = re.search(r'action="/lists/undo/(\d+)"', html)
    assert found is not None, "the list offers no undo"
    return int(found[1])


def test_a_bulk_reassign_asks_first_and_its_undo_gives_the_partners_back(
    live_shop: Shop, login_as: LoginAs, committed: Cast, database: Database
) -> None:
    root = login_as("root")
    ids = sorted(live_shop.partners.values())
    before = owners(database, ids)
    assert before == [(committed.alice.id, True), (committed.bob.id, True)]

    asked = bulk(root, "partners", ids, action="reassign")
    assert asked.status_code == 200 and 'data-testid="confirm"' in asked.text
    assert "Konzum d.d." in asked.text and "Studenac" in asked.text
    assert owners(database, ids) == before  # nothing happens before the confirmation
    wrong = bulk(root, "partners", ids, action="reassign", confirm="1", value="999999")
    assert wrong.status_code == 422 and owners(database, ids) == before

    done = bulk(
        root, "partners", ids, action="reassign", confirm="1", value=str(committed.charlie.id)
    )
    assert done.status_code == 303 and done.headers["location"] == "/partners"
    assert owners(database, ids) == [(committed.charlie.id, True)] * 2
    page = root.get("/partners").text
    assert 'data-testid="undo"' in page and "Charlie" in page

    assert root.post(f"/lists/undo/{undo_id(page)}", data={"query": ""}).status_code == 303
    assert owners(database, ids) == before
    assert 'data-testid="undo"' not in root.get("/partners").text
    assert root.post(f"/lists/undo/{undo_id(page)}", data={"query": ""}).status_code == 422
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        history = session.scalars(
            select(Change.changes).where(
                Change.record_type == "partners", Change.record_id == ids[0]
            )
        ).all()
    owner_changes = [c["owner_id"] for c in history if "owner_id" in c]
    assert [committed.alice.id, committed.charlie.id] in owner_changes  # the action
    assert [committed.charlie.id, committed.alice.id] in owner_changes  # and its undo


def test_a_bulk_action_touches_nothing_when_one_record_is_refused(
    live_shop: Shop, login_as: LoginAs, committed: Cast, database: Database
) -> None:
    alice = login_as("alice")  # staff: her own Konzum, not bob's Studenac
    konzum, studenac = live_shop.partners["Konzum d.d."], live_shop.partners["Studenac"]
    refused = bulk(
        alice, "partners", [konzum, studenac], action="status", confirm="1", value="inactive"
    )
    assert refused.status_code == 404
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.get(Partner, konzum).status == "active"  # type: ignore[union-attr]
    # Another user's change cannot be taken back by her.
    bob = login_as("bob")
    assert (
        bulk(
            bob, "partners", [studenac], action="status", confirm="1", value="inactive"
        ).status_code
        == 303
    )
    change = undo_id(bob.get("/partners").text)
    assert alice.post(f"/lists/undo/{change}", data={"query": ""}).status_code == 404
    # An undo leaves alone a record changed again since.
    with database.transaction(actor_id=None, channel="cli") as session:
        session.get(Partner, studenac).status = "prospect"  # type: ignore[union-attr]
    taken_back = bob.post(f"/lists/undo/{change}", data={"query": ""}, follow_redirects=True)
    assert "changed again since" in taken_back.text
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.get(Partner, studenac).status == "prospect"  # type: ignore[union-attr]


def test_a_bulk_delete_and_its_undo_bring_back_everything_it_removed(
    live: Any, committed: Cast, login_as: LoginAs, database: Database
) -> None:
    from groupware.access.policy import SYSTEM
    from groupware.crm.persons import PersonIn, save_person
    from groupware.tasks.service import TaskIn, create_task

    with database.transaction(actor_id=None, channel="cli") as session:
        kept = make_partner(session, SYSTEM, "Ostaje", tags=["vip"])
        gone = make_partner(session, SYSTEM, "Odlazi", tags=["vip", "jug"])
        person = save_person(
            session, SYSTEM, None, PersonIn(partner_id=gone.id, last_name="Horvat")
        )
        task = create_task(
            session,
            SYSTEM,
            TaskIn(title="Nazvati", assignee_id=committed.root.id, partner_id=gone.id),
        )
        ids = {"kept": kept.id, "gone": gone.id, "person": person.id, "task": task.id}
    root = login_as("root")
    asked = bulk(root, "partners", [ids["gone"]], action="delete")
    assert "cannot be taken back" not in asked.text and "Odlazi" in asked.text
    assert bulk(root, "partners", [ids["gone"]], action="delete", confirm="1").status_code == 303

    def state() -> tuple[Any, ...]:
        with database.transaction(actor_id=None, channel="cli", write=False) as session:
            partner = session.get(Partner, ids["gone"])
            tags = session.scalars(
                select(Tag.name)
                .join(PartnerTag)
                .where(PartnerTag.partner_id == ids["gone"])
                .order_by(Tag.name)
            ).all()
            person = session.get(Person, ids["person"])
            task = session.get(Task, ids["task"])
            return (
                partner.name if partner else None,
                list(tags),
                person.last_name if person else None,
                task.partner_id if task else "no task",
            )

    assert state() == (None, [], None, None)
    assert (
        root.post(
            f"/lists/undo/{undo_id(root.get('/partners').text)}", data={"query": ""}
        ).status_code
        == 303
    )
    assert state() == ("Odlazi", ["jug", "vip"], "Horvat", ids["gone"])
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        actions = list(
            session.scalars(
                select(Change.action)
                .where(Change.record_type == "partners", Change.record_id == ids["gone"])
                .order_by(Change.id)
            )
        )
    # The deletion and the partner's return are in its history.
    assert actions.count("delete") == 1 and actions[actions.index("delete") + 1] == "create"


def test_a_partner_other_records_need_is_not_deleted(
    live_shop: Shop, login_as: LoginAs, database: Database
) -> None:
    dave = login_as("dave")  # manages alice's team: may delete her partners
    konzum = live_shop.partners["Konzum d.d."]  # it has deals
    refused = bulk(dave, "partners", [konzum], action="delete", confirm="1")
    assert refused.status_code == 422 and "Other records still need these" in refused.text
    assert "Konzum d.d." in refused.text
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.get(Partner, konzum) is not None


def test_deals_are_given_to_another_rep_and_back(
    live_shop: Shop, login_as: LoginAs, committed: Cast, database: Database
) -> None:
    alice = login_as("alice")
    mine = [live_shop.deals["Blagajne"], live_shop.deals["Vage"]]
    done = bulk(alice, "deals", mine, action="reassign", confirm="1", value=str(committed.bob.id))
    assert done.status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert {session.get(Deal, i).owner_id for i in mine} == {committed.bob.id}  # type: ignore[union-attr]
        given = session.scalar(
            select(func.count()).select_from(Deal).where(Deal.owner_id == committed.alice.id)
        )
    assert given == 2  # Police and the won one stay hers
    # They are out of her sight now, yet her undo gives them back.
    page = alice.get("/deals").text
    assert "Blagajne" not in page
    assert alice.post(f"/lists/undo/{undo_id(page)}", data={"query": ""}).status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert {session.get(Deal, i).owner_id for i in mine} == {committed.alice.id}  # type: ignore[union-attr]
    # Only someone allowed to share a deal hands it on.
    bob = login_as("bob")
    hladnjaci = live_shop.deals["Hladnjaci"]
    assert (
        bulk(bob, "deals", [hladnjaci], action="priority", confirm="1", value="urgent").status_code
        == 303
    )
    unknown = bulk(bob, "deals", [hladnjaci], action="launch", confirm="1")
    assert unknown.status_code == 303  # back to the list with the reason


def test_mail_is_archived_and_marked_read_in_bulk_and_taken_back(
    live: Any, committed: Cast, login_as: LoginAs, database: Database, settings: Any
) -> None:
    from groupware.mail.models import MailEntry
    from tests.mail.test_web import mail

    for subject in ("Prva", "Druga", "Treća"):
        mail(database, settings, committed.bob, "alice@groupware.local", subject)
    alice = login_as("alice")
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        inbox = list(
            session.scalars(
                select(MailEntry.id).where(
                    MailEntry.user_id == committed.alice.id, MailEntry.folder == "inbox"
                )
            )
        )
    chosen = inbox[:2]
    asked = bulk(alice, "mail", chosen, action="move", query="folder=inbox")
    assert asked.status_code == 200 and "Prva" in asked.text and "Druga" in asked.text
    moved = bulk(
        alice, "mail", chosen, action="move", confirm="1", value="archive", query="folder=inbox"
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/mail?folder=inbox"
    assert alice.get("/mail").text.count('data-testid="message-row"') == 1
    archive = alice.get("/mail?folder=archive").text
    assert archive.count('data-testid="message-row"') == 2
    assert bulk(alice, "mail", chosen, action="seen", confirm="1", value="1").status_code == 303
    archive = alice.get("/mail?folder=archive").text
    assert 'class="unread"' not in archive
    bob = login_as("bob")  # bob's own mailbox has none of alice's messages
    assert bulk(bob, "mail", chosen, action="seen", confirm="1", value="0").status_code == 404
    # Undo the newest change (read), then nothing else is offered; the move stays.
    assert alice.post(f"/lists/undo/{undo_id(archive)}", data={"query": ""}).status_code == 303
    assert alice.get("/mail?folder=archive").text.count('class="unread"') == 2


def test_a_deleted_partner_s_notes_calls_and_meetings_come_back_with_it(
    live: Any, committed: Cast, login_as: LoginAs, database: Database
) -> None:
    """Notes, calls and meeting links name their record by type and id: a deletion
    leaves them out of everybody's sight, and its undo puts them back in the streams of
    the partner and its person."""
    from groupware.access.policy import SYSTEM, load_who
    from groupware.activities.service import ActivityIn, activities_query, add_activity
    from groupware.caldav import meetings, store
    from groupware.crm.persons import PersonIn, save_person

    with database.transaction(actor_id=None, channel="cli") as session:
        gone = make_partner(session, SYSTEM, "Odlazi")
        person = save_person(
            session, SYSTEM, None, PersonIn(partner_id=gone.id, last_name="Horvat")
        )
        add_activity(session, SYSTEM, "partners", gone.id, ActivityIn(body="Traže ponudu"))
        call = ActivityIn(kind="call", body="Javio se Horvat")
        add_activity(session, SYSTEM, "persons", person.id, call)
        ics = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            "UID:odlazi@t\r\nDTSTAMP:20261103T090000Z\r\nDTSTART:20261103T090000Z\r\n"
            "DTEND:20261103T100000Z\r\nSUMMARY:Sastanak u Odlazi\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        calendar = store.ensure_defaults(session, session.merge(committed.root))[0]
        item = store.put_item(session, calendar, "odlazi.ics", store.parse_items(ics)[0])
        meetings.set_links(session, item, [("partners", gone.id), ("persons", person.id)])
        ids = {"gone": gone.id, "person": person.id}

    def seen() -> list[str]:
        with database.transaction(actor_id=None, channel="cli", write=False) as session:
            root = load_who(session, session.merge(committed.root))
            return sorted(a.body for a in session.scalars(activities_query(root)))

    assert seen() == ["Javio se Horvat", "Traže ponudu"]
    root = login_as("root")
    assert bulk(root, "partners", [ids["gone"]], action="delete", confirm="1").status_code == 303
    assert seen() == []
    change = undo_id(root.get("/partners").text)
    assert root.post(f"/lists/undo/{change}", data={"query": ""}).status_code == 303
    assert seen() == ["Javio se Horvat", "Traže ponudu"]
    partner_page = root.get(f"/partners/{ids['gone']}").text
    assert "Traže ponudu" in partner_page and "Sastanak u Odlazi" in partner_page
    person_page = root.get(f"/persons/{ids['person']}").text
    assert "Javio se Horvat" in person_page and "Sastanak u Odlazi" in person_page
