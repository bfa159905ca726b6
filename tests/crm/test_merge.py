"""Merging duplicate partners and undoing it: the service, then the web pages."""

from __future__ import annotations

import decimal
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from groupware.access.models import Share
from groupware.access.policy import SYSTEM, Who, load_who
from groupware.access.shares import share
from groupware.accounts.models import User
from groupware.activities.service import ActivityIn, add_activity
from groupware.caldav import meetings, store
from groupware.campaigns import targets
from groupware.campaigns.service import CampaignIn, create_campaign
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.crm.merge import links, merge_partners, undo_merge
from groupware.crm.models import Branch, Document, Partner, PartnerMerge, PartnerTag, Person
from groupware.crm.persons import BranchIn, PersonIn, save_branch, save_person
from groupware.db import Database
from groupware.errors import Invalid
from groupware.history.models import Change
from groupware.history.service import record_changes
from groupware.mail import timeline
from groupware.mail.delivery import deliver
from groupware.phases import types as phase_types
from groupware.phases.types import StepIn, TypeIn
from groupware.tasks.service import TaskIn, create_task
from tests.browser.test_shell import chromium
from tests.conftest import LiveServer, LoginAs
from tests.crm.test_partner360_web import make_document, make_sales
from tests.factories import PASSWORD, Cast, make_partner
from tests.mail.conftest import make_deal

__all__ = ["chromium"]  # a fixture used here


def snapshot(session: Session, *partner_ids: int) -> dict[int, dict[str, Any]]:
    """Everything a merge touches, per partner, read fresh from the database."""
    session.expire_all()
    result = {}
    for pid in partner_ids:
        partner = session.get(Partner, pid)
        assert partner is not None
        fields = {
            c.key: getattr(partner, c.key)
            for c in Partner.__table__.columns
            if c.key != "updated_at"
        }

        def ids(model: Any, pid: int = pid) -> list[int]:
            return sorted(session.scalars(select(model.id).where(model.partner_id == pid)))

        result[pid] = {
            "fields": fields,
            "reps": sorted((r.user_id, r.source) for r in partner.reps),
            "tags": sorted(
                session.scalars(select(PartnerTag.tag_id).where(PartnerTag.partner_id == pid))
            ),
            "persons": ids(Person),
            "branches": ids(Branch),
            "documents": ids(Document),
            "shares": sorted(
                (s.user_id or 0, s.team_id or 0, s.permission)
                for s in session.scalars(
                    select(Share).where(Share.record_type == "partners", Share.record_id == pid)
                )
            ),
        }
    return result


def twins(session: Session, cast: Cast, root: Who) -> tuple[Partner, Partner]:
    """Konzum in Zagreb (alice and bob by the table, tagged "retail", no OIB, phone or
    web) and its duplicate in Split (charlie's) with an OIB, contacts, a tag, a person,
    a branch, documents and a share with dave."""
    kept = make_partner(session, root, "Konzum d.d.", tags=["retail"])
    other = make_partner(
        session,
        root,
        "KONZUM dd",
        postal_code="21000",
        city="Split",
        oib="69435151530",
        phones="+385 21 123 456",
        email="info@konzum.hr",
        web="konzum.hr",
        tags=["retail", "vip"],
    )
    save_person(session, root, None, PersonIn(partner_id=other.id, last_name="Horvat"))
    save_branch(session, root, None, BranchIn(partner_id=other.id, name="Split"))
    make_document(session, other, "R-1", net_amount=decimal.Decimal("10"))
    make_document(session, other, "R-2", net_amount=decimal.Decimal("20"))
    share(session, other, by_user_id=None, user_id=cast.dave.id, permission="write")
    return kept, other


@pytest.fixture
def sales_db(db: Session, cast: Cast) -> Cast:
    make_sales(db, cast)
    return cast


def test_a_merge_moves_everything_and_fills_empty_fields(db: Session, sales_db: Cast) -> None:
    cast = sales_db
    kept, other = twins(db, cast, SYSTEM)
    before = snapshot(db, kept.id, other.id)
    merge = merge_partners(db, kept, other, by_user_id=cast.root.id)
    after = snapshot(db, kept.id, other.id)
    k, o = after[kept.id], after[other.id]
    for part in ("persons", "branches", "documents"):
        assert k[part] == sorted(before[kept.id][part] + before[other.id][part]) and o[part] == []
    assert k["fields"]["oib"] == "69435151530" and o["fields"]["oib"] is None
    assert k["fields"]["phones"] == "+385 21 123 456" and k["fields"]["web"] == "https://konzum.hr"
    assert k["fields"]["city"] == "Zagreb"  # a filled field stays
    assert k["fields"]["owner_id"] == cast.alice.id
    assert (cast.charlie.id, "manual") in k["reps"]  # the other's rep shares the partner
    assert len(k["tags"]) == 2 and len(before[kept.id]["tags"]) == 1
    assert [(s[0], s[2]) for s in k["shares"]] == [(cast.dave.id, "write")]
    assert (o["fields"]["status"], o["fields"]["merged_into_id"]) == ("merged", kept.id)
    assert merge.kept_before == {"oib": None, "phones": "", "email": "", "web": ""}


def test_undo_puts_everything_back_exactly(db: Session, sales_db: Cast) -> None:
    kept, other = twins(db, sales_db, SYSTEM)
    before = snapshot(db, kept.id, other.id)
    merge = merge_partners(db, kept, other, by_user_id=None)
    undo_merge(db, merge, kept, other)
    assert snapshot(db, kept.id, other.id) == before
    assert merge.undone_at is not None
    with pytest.raises(Invalid):
        undo_merge(db, merge, kept, other)


def links_of(session: Session, *partner_ids: int) -> dict[int, dict[str, list[int]]]:
    """The rows of every merge link the areas declare, per partner."""
    session.expire_all()
    return {
        pid: {
            link.name: sorted(session.scalars(select(link.column.class_.id).where(link.rows(pid))))
            for link in links()
        }
        for pid in partner_ids
    }


def test_a_merge_moves_every_kind_of_linked_record_and_undo_puts_each_back(
    db: Session, sales_db: Cast
) -> None:
    cast = sales_db
    kept, other = twins(db, cast, SYSTEM)
    make_deal(db, cast.charlie, other.id)
    create_task(db, SYSTEM, TaskIn(title="Nazvati nabavu", partner_id=other.id), push=False)
    kind = phase_types.save_type(
        db, SYSTEM, CAMPAIGN_TYPES, None, TypeIn(name="Sajam", phases=[StepIn(name="Priprema")])
    )
    for name, targeted in (("Sajam", [other.id]), ("Katalog", [kept.id, other.id])):
        fair = create_campaign(
            db, SYSTEM, CampaignIn(name=name, type_id=kind.id, starts_on="2026-12-01")
        )
        targets.add_partners(db, SYSTEM, fair.id, targeted)
    for subject, filed in (
        ("Ponuda", [("partners", other.id)]),
        ("Oboma", [("partners", kept.id), ("partners", other.id)]),
    ):
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "info@konzum.hr", "alice@x.hr", subject
        mail.set_content("Dobar dan")
        deliver(
            db,
            mail.as_bytes(),
            envelope_from="info@konzum.hr",
            envelope_to=["alice@x.hr"],
            recipients=[cast.alice],
            sender=None,
            filed=filed,
            mail_domain="x.hr",
        )
    add_activity(db, SYSTEM, "partners", other.id, ActivityIn(kind="call", body="Nazvali"))
    calendar = store.ensure_defaults(db, cast.alice)[0]
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:posjet\r\n"
        "DTSTAMP:20261201T090000Z\r\nDTSTART:20261210T090000Z\r\nSUMMARY:Posjet\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    visit = store.put_item(db, calendar, "posjet.ics", store.parse_items(ics)[0])
    meetings.set_links(db, visit, [("partners", other.id)])
    before = links_of(db, kept.id, other.id)
    # the retired partner has rows of every kind an area declares
    declared = {"persons", "branches", "documents", "deals", "tasks", "mail", "activities"}
    declared |= {"campaign_targets"}
    assert declared | {"meetings"} <= before[other.id].keys()
    assert all(before[other.id].values()), before[other.id]

    merge = merge_partners(db, kept, other, by_user_id=None)
    after = links_of(db, kept.id, other.id)
    for name, ids in before[other.id].items():
        if name in ("mail", "campaign_targets"):
            # filed on both, a target of one campaign twice: it stays once, on the kept one
            assert len(after[kept.id][name]) == 2 and len(after[other.id][name]) == 1
        else:
            assert after[kept.id][name] == sorted(before[kept.id][name] + ids), name
            assert after[other.id][name] == [], name
    mail_of_kept = db.execute(timeline.filed("partners", kept.id, cast.alice.id)).all()
    assert sorted(m.subject for m, _entry in mail_of_kept) == ["Oboma", "Ponuda"]

    undo_merge(db, merge, kept, other)
    assert links_of(db, kept.id, other.id) == before


def test_merging_refuses_the_same_partner_and_a_merged_one(db: Session, sales_db: Cast) -> None:
    kept, other = twins(db, sales_db, SYSTEM)
    with pytest.raises(Invalid):
        merge_partners(db, kept, kept, by_user_id=None)
    merge_partners(db, kept, other, by_user_id=None)
    third = make_partner(db, SYSTEM, "Konzum Zagreb")
    with pytest.raises(Invalid):
        merge_partners(db, third, other, by_user_id=None)
    with pytest.raises(Invalid):
        merge_partners(db, other, third, by_user_id=None)


def test_history_files_the_merge_and_its_undo_on_the_kept_partner(
    db: Session, sales_db: Cast
) -> None:
    kept, other = twins(db, sales_db, SYSTEM)
    person_id = db.scalar(select(Person.id).where(Person.partner_id == other.id))
    merge = merge_partners(db, kept, other, by_user_id=None)
    undo_merge(db, merge, kept, other)
    changes = record_changes(db, "partners", kept.id)
    assert any(c.changes.get("merge") == [None, str(merge)] for c in changes)
    assert any(
        any(k.startswith("merge") and k.endswith("undone_at") for k in c.changes) for c in changes
    )
    moves = [c.changes for c in record_changes(db, "persons", person_id)]  # type: ignore[arg-type]
    assert {"partner_id": [other.id, kept.id]} in moves
    assert {"partner_id": [kept.id, other.id]} in moves


# -- the web pages ----------------------------------------------------------------------


def _twins_committed(database: Database, cast: Cast, *, sales: bool = True) -> tuple[int, int]:
    with database.transaction(actor_id=None, channel="cli") as session:
        if sales:
            make_sales(session, cast)
        root = load_who(session, session.get(User, cast.root.id))  # type: ignore[arg-type]
        kept, other = twins(session, cast, root)
        return kept.id, other.id


def test_a_rep_previews_merges_and_undoes_in_the_browser(
    committed: Cast, database: Database, login_as: LoginAs
) -> None:
    kept, other = _twins_committed(database, committed)
    # alice may delete the other partner only once she owns it: give it to her.
    with database.transaction(actor_id=None, channel="cli") as session:
        row = session.get(Partner, other)
        assert row is not None
        row.owner_id = committed.alice.id
    alice = login_as("alice")
    page = alice.get(f"/partners/{kept}")
    assert f'href="/partners/{kept}/merge"' in page.text
    found = alice.get(
        f"/partners/{kept}/merge/candidates", params={"q": "konzum"}, headers={"HX-Request": "true"}
    )
    assert found.status_code == 200 and "<html" not in found.text
    assert f"?other={other}" in found.text and f"?other={kept}" not in found.text
    preview = alice.get(f"/partners/{kept}/merge", params={"other": other})
    assert preview.status_code == 200
    text = preview.text
    assert "69435151530" in text and "taken over" in text
    assert "Persons: <strong>1</strong>" in text and "ERP documents: <strong>2</strong>" in text
    assert "Tags: <strong>1</strong>" in text and "Shares: <strong>1</strong>" in text
    merged = alice.post(f"/partners/{kept}/merge", data={"other": str(other)})
    assert merged.status_code == 303 and merged.headers["location"] == f"/partners/{kept}"
    page = alice.get(f"/partners/{kept}").text
    assert "KONZUM dd was merged into this partner." in page
    assert "Horvat" in page and "R-2" in page and "Merged duplicates" in page
    assert "69435151530" in page
    assert f'<a href="/partners/{kept}">Konzum d.d.</a>' in alice.get(f"/partners/{other}").text
    history = alice.get(f"/records/partners/{kept}/history").text
    assert f"#{other} → #{kept}" in history  # the merge, filed on the kept partner
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        merge_id = session.scalar(select(PartnerMerge.id).where(PartnerMerge.kept_id == kept))
    assert login_as("charlie").post(f"/partner-merges/{merge_id}/undo").status_code == 404
    undone = alice.post(f"/partner-merges/{merge_id}/undo")
    assert undone.status_code == 303
    page = alice.get(f"/partners/{kept}").text
    assert "is a partner of its own again" in page and "undone" in page and "Horvat" not in page
    assert alice.post(f"/partner-merges/{merge_id}/undo").status_code == 422  # once only
    history = alice.get(f"/records/partners/{kept}/history").text
    assert history.count(f"#{other} → #{kept}") == 2  # the merge and its undo
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        rows = session.scalars(
            select(Change)
            .where(Change.record_type == "partners", Change.record_id == kept)
            .order_by(Change.id)
        ).all()
        merge_rows = [c for c in rows if any(k.startswith("merge") for k in c.changes)]
        assert [(c.channel, c.actor_id) for c in merge_rows] == [("web", committed.alice.id)] * 2
        person = session.scalar(select(Person).where(Person.last_name == "Horvat"))
        assert person is not None and person.partner_id == other


def test_merging_needs_the_right_to_delete_the_other_partner(
    committed: Cast, database: Database, login_as: LoginAs
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        alice = load_who(session, session.get(User, committed.alice.id))  # type: ignore[arg-type]
        bob = load_who(session, session.get(User, committed.bob.id))  # type: ignore[arg-type]
        kept = make_partner(session, alice, "Mlinar d.o.o.")
        other = make_partner(session, bob, "Mlinar doo")
        share(
            session,
            other,
            by_user_id=committed.bob.id,
            user_id=committed.alice.id,
            permission="write",
        )
        ids = kept.id, other.id
    browser = login_as("alice")  # staff: may edit bob's partner (shared), not delete it
    preview = browser.get(f"/partners/{ids[0]}/merge", params={"other": ids[1]})
    assert preview.status_code == 200 and "you cannot merge it away" in preview.text
    refused = browser.post(f"/partners/{ids[0]}/merge", data={"other": str(ids[1])})
    assert refused.status_code == 403
    assert browser.post(f"/partners/{ids[0]}/merge", data={"other": "x"}).status_code == 422
    assert browser.post(f"/partners/{ids[0]}/merge", data={"other": str(ids[0])}).status_code == 422
    charlie = login_as("charlie")
    assert charlie.get(f"/partners/{ids[0]}/merge").status_code == 404
    assert charlie.post(f"/partners/{ids[0]}/merge", data={"other": str(ids[1])}).status_code == 404
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.scalar(select(PartnerMerge.id)) is None
        assert {p.status for p in session.scalars(select(Partner))} == {"active"}


def test_a_user_without_edit_on_the_kept_partner_cannot_start_a_merge(
    committed: Cast, database: Database, login_as: LoginAs
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        alice = load_who(session, session.get(User, committed.alice.id))  # type: ignore[arg-type]
        kept = make_partner(session, alice, "Pekara d.o.o.")
        share(session, kept, by_user_id=committed.alice.id, user_id=committed.bob.id)  # read
        kept_id = kept.id
    bob = login_as("bob")
    page = bob.get(f"/partners/{kept_id}").text
    assert f'href="/partners/{kept_id}/merge"' not in page
    assert bob.get(f"/partners/{kept_id}/merge").status_code == 403


def test_the_live_search_only_offers_partners_the_user_may_see(
    committed: Cast, database: Database, login_as: LoginAs
) -> None:
    kept, other = _twins_committed(database, committed)
    with database.transaction(actor_id=None, channel="cli") as session:
        root = load_who(session, session.get(User, committed.root.id))  # type: ignore[arg-type]
        make_partner(session, root, "Konzum Osijek", postal_code="31000", city="Osijek")
    alice = login_as("alice")
    found = alice.get(
        f"/partners/{kept}/merge/candidates", params={"q": "konzum"}, headers={"HX-Request": "true"}
    )
    assert "Konzum Osijek" not in found.text  # unassigned: alice may not see it
    assert "KONZUM dd" not in found.text  # charlie's
    assert alice.get(f"/partners/{kept}/merge", params={"other": other}).status_code == 404


def test_undo_also_puts_back_the_reps_a_filled_address_brought(db: Session, sales_db: Cast) -> None:
    kept = make_partner(db, SYSTEM, "Bez adrese d.o.o.", postal_code="", city="")
    other = make_partner(db, SYSTEM, "Bez adrese", postal_code="10000", city="Zagreb")
    before = snapshot(db, kept.id, other.id)
    assert before[kept.id]["fields"]["owner_id"] is None  # unassigned: no address
    merge = merge_partners(db, kept, other, by_user_id=None)
    assert snapshot(db, kept.id)[kept.id]["fields"]["owner_id"] == sales_db.alice.id
    undo_merge(db, merge, kept, other)
    assert snapshot(db, kept.id, other.id) == before


@pytest.mark.browser
def test_in_chromium_a_croatian_rep_finds_the_duplicate_merges_it_and_undoes_it(
    chromium: Browser, live: LiveServer, committed: Cast, database: Database
) -> None:
    """The merge as a person does it, in Croatian: live search (htmx), preview, merge,
    then undo from the kept partner's page; no script errors under the CSP."""
    kept, other = _twins_committed(database, committed)
    with database.transaction(actor_id=None, channel="cli") as session:
        session.execute(
            update(Partner).where(Partner.id == other).values(owner_id=committed.alice.id)
        )
        session.execute(update(User).where(User.id == committed.alice.id).values(language="hr"))
    context = chromium.new_context(locale="hr-HR")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live.url}/login?next=/partners/{kept}")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/partners/{kept}")

    page.click(f"a[href='/partners/{kept}/merge']")
    # htmx swaps the boosted page in, then wires up its new elements once it settles:
    # typing before that would go unheard (as it would for a person, within 20 ms).
    expect(page.locator("h1")).to_contain_text("Spoji duplikat")
    expect(page.locator(".htmx-settling, .htmx-swapping")).to_have_count(0)
    page.get_by_label("Pronađite duplikat").fill("konzum")  # htmx asks as one types
    candidate = page.locator(f"#candidates a[href='/partners/{kept}/merge?other={other}']")
    expect(candidate).to_be_visible()
    expect(page.locator(f"#candidates a[href$='other={kept}']")).to_have_count(0)
    candidate.click()
    expect(page.locator("#preview-title")).to_be_visible()
    page.click("button:has-text('Spoji')")
    expect(page).to_have_url(f"{live.url}/partners/{kept}")
    expect(page.locator("body")).to_contain_text("spojen je u ovog partnera")
    expect(page.locator("#merges-title")).to_be_visible()

    page.click("button:has-text('Poništi spajanje')")
    expect(page.locator("body")).to_contain_text("ponovno je zaseban partner")
    with database.session() as session:
        assert session.get(Partner, other).status != "merged"  # type: ignore[union-attr]
        merge = session.scalar(select(PartnerMerge).where(PartnerMerge.kept_id == kept))
        assert merge is not None and merge.undone_at is not None
    assert errors == []
    context.close()
