"""The activity stream on record pages and its quick actions for notes and calls, over
a live server: forms loaded into the page, mistakes shown in place, a saved call on the
page it was logged from, filters and "more", and nothing of a record out of sight."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

from groupware import wiring
from groupware.access.policy import SYSTEM, load_who
from groupware.activities.models import Activity
from groupware.activities.service import ActivityIn, add_activity
from groupware.crm.models import Person
from groupware.crm.partners import set_reps
from groupware.crm.persons import PersonIn, save_person
from groupware.db import Database
from groupware.mail import compose
from groupware.mail.models import MailEntry, MailMessage
from groupware.settings import Settings
from groupware.tasks import service as tasks
from tests.conftest import LoginAs
from tests.factories import Cast, make_partner

HTMX = {"HX-Request": "true"}


@dataclass
class Records:
    partner: int
    person: int
    task: int


@pytest.fixture
def records(committed: Cast, database: Database) -> Records:
    """Alice's partner with a person and a task of hers on it."""
    with database.transaction(actor_id=committed.alice.id, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.")
        set_reps(session, partner, owner_id=committed.alice.id, rep_ids=[])
        person = save_person(
            session, SYSTEM, None, PersonIn(partner_id=partner.id, last_name="Horvat")
        )
        alice = load_who(session, session.get(type(committed.alice), committed.alice.id))  # type: ignore[arg-type]
        task = tasks.create_task(
            session, alice, tasks.TaskIn(title="Ponuda", partner_id=partner.id)
        )
        return Records(partner.id, person.id, task.id)


def test_a_call_is_logged_from_the_partner_page_and_is_on_top_of_its_stream(
    login_as: LoginAs, records: Records, database: Database
) -> None:
    alice = login_as("alice")
    page = alice.get(f"/partners/{records.partner}").text
    actions = re.findall(r'data-action="(\w+)"', page)
    assert actions == ["call", "note", "meeting", "task", "deal"][: len(actions)]
    assert {"call", "note", "meeting", "task"} <= set(actions)
    form_url = f"/records/partners/{records.partner}/activities/new?kind=call"
    assert f'href="{form_url}"' in page
    # The form comes as a fragment into the page (and as a page of its own without htmx).
    fragment = alice.get(form_url, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'name="csrf_token"' in fragment.text and 'name="duration_minutes"' in fragment.text
    assert "<html" in alice.get(form_url).text
    post = f"/records/partners/{records.partner}/activities"
    wrong = {"kind": "call", "duration_minutes": "pola sata", "body": "Dogovor oko cijena"}
    refused = alice.post(post, data=wrong, headers=HTMX)
    assert refused.status_code == 422 and "<html" not in refused.text
    assert "Enter a whole number" in refused.text
    assert "Dogovor oko cijena" in refused.text  # nothing typed is lost
    call = {**wrong, "duration_minutes": "25", "outcome": "reached", "direction": "in",
            "occurred_at": "2026-12-01T10:30"}  # fmt: skip
    saved = alice.post(post, data=call, headers=HTMX)
    assert (
        saved.status_code == 204 and saved.headers["HX-Location"] == f"/partners/{records.partner}"
    )
    after = alice.get(f"/partners/{records.partner}").text
    assert "The call is logged." in after
    entries = after.split('data-testid="stream"')[1].split("</ol>")[0].split("</li>")
    logged = next(e for e in entries if "Dogovor oko cijena" in e)
    assert 'data-kind="call"' in logged and "incoming" in logged and "25 min" in logged
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.scalars(select(Activity)).one()
        assert row.occurred_at == dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    # A plain form (no htmx) goes back to the page the note was written on.
    noted = alice.post(post, data={"kind": "note", "body": "Bez htmx-a"})
    assert noted.status_code == 303 and noted.headers["location"] == f"/partners/{records.partner}"


def test_notes_of_a_record_out_of_sight_are_not_found(
    login_as: LoginAs, records: Records, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        alice = load_who(session, session.get(type(committed.alice), committed.alice.id))  # type: ignore[arg-type]
        note = add_activity(session, alice, "partners", records.partner, ActivityIn(body="Tajno"))
        note_id = note.id
    charlie = login_as("charlie")
    for method, url in (
        ("GET", f"/activities/{note_id}"),
        ("POST", f"/activities/{note_id}/delete"),
        ("GET", f"/records/partners/{records.partner}/stream"),
        ("GET", f"/records/partners/{records.partner}/activities/new"),
        ("POST", f"/records/partners/{records.partner}/activities"),
        ("GET", f"/records/activities/{note_id}/history"),
    ):
        response = charlie.request(method, url, data={"body": "x"} if method == "POST" else None)
        assert response.status_code == 404, (method, url)
        assert "Tajno" not in response.text
    alice_web = login_as("alice")
    page = alice_web.get(f"/activities/{note_id}")
    assert page.status_code == 200 and "Tajno" in page.text
    # A record type without a stream has none, even for who sees the record.
    assert alice_web.get(f"/records/users/{committed.alice.id}/stream").status_code == 404
    deleted = alice_web.post(f"/activities/{note_id}/delete")
    assert deleted.status_code == 303 and alice_web.get(f"/activities/{note_id}").status_code == 404


def test_the_stream_filters_by_kind_and_pages_on_with_more(
    login_as: LoginAs, records: Records, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        alice = load_who(session, session.get(type(committed.alice), committed.alice.id))  # type: ignore[arg-type]
        for n in range(25):
            when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=n)
            kind = "call" if n % 5 == 0 else "note"
            data = ActivityIn(kind=kind, body=f"Unos {n:02d}", occurred_at=when)  # type: ignore[arg-type]
            add_activity(session, alice, "partners", records.partner, data)
    web = login_as("alice")
    url = f"/records/partners/{records.partner}/stream"
    first = web.get(url, params={"kind": ["note", "call"]}, headers=HTMX)
    assert first.status_code == 200 and first.text.lstrip().startswith('<ol class="stream-list')
    shown = re.findall(r"Unos (\d\d)", first.text)
    assert shown == [f"{n:02d}" for n in range(24, 4, -1)]
    more = re.search(r'hx-get="([^"]+)"', first.text.split('class="more"')[1])
    assert more is not None
    rest = web.get(more.group(1).replace("&amp;", "&"), headers=HTMX)
    assert re.findall(r"Unos (\d\d)", rest.text) == ["04", "03", "02", "01", "00"]
    assert 'class="more"' not in rest.text
    calls = web.get(url, params={"kind": "call"}, headers=HTMX).text
    assert re.findall(r"Unos (\d\d)", calls) == ["20", "15", "10", "05", "00"]
    # Without htmx it is a page of its own, the filter boxes as they were chosen.
    page = web.get(url, params={"kind": "call"}).text
    assert "<html" in page and re.search(r'value="call" checked', page)
    assert web.get(url, params={"before": "not-a-cursor"}).status_code == 422


def test_a_message_a_colleague_keeps_private_stays_out_of_the_stream(
    login_as: LoginAs, records: Records, committed: Cast, database: Database, settings: Settings
) -> None:
    with database.transaction(actor_id=committed.dave.id, channel="cli") as session:
        filing = f"partner-{records.partner}@{settings.mail_domain}"
        for subject in ("Javno o Konzumu", "Osobno o Konzumu"):
            mail = compose.MailIn(to=f"{committed.dave.email}, {filing}", subject=subject)
            compose.send(
                session, session.get(type(committed.dave), committed.dave.id), mail, settings
            )  # type: ignore[arg-type]
        private = select(MailMessage.id).where(MailMessage.subject.startswith("Osobno"))
        session.execute(
            update(MailEntry).where(MailEntry.message_id.in_(private)).values(private=True)
        )
    alice, dave = login_as("alice"), login_as("dave")
    mine = alice.get(f"/records/partners/{records.partner}/stream?kind=mail", headers=HTMX).text
    assert "Javno o Konzumu" in mine and "Osobno o Konzumu" not in mine
    his = dave.get(f"/records/partners/{records.partner}/stream?kind=mail", headers=HTMX).text
    assert "Javno o Konzumu" in his and "Osobno o Konzumu" in his


def test_every_record_page_with_a_stream_has_it_and_its_quick_actions(
    login_as: LoginAs, records: Records, database: Database
) -> None:
    alice = login_as("alice")
    person = alice.get(f"/persons/{records.person}").text
    assert 'data-testid="stream"' in person
    assert f"/deals/new?partner_id={records.partner}&amp;person_id={records.person}" in person
    assert f"link=persons%3A{records.person}" in person  # a meeting about the person
    task = alice.get(f"/tasks/{records.task}").text
    assert 'data-testid="stream"' in task and 'data-action="deal"' not in task
    assert 'data-action="task"' not in task and 'data-action="note"' in task
    # The partner's page lists the task among its open tasks.
    partner = alice.get(f"/partners/{records.partner}").text
    assert "Ponuda" in partner.split('data-testid="partner-tasks"')[1].split("</ul>")[0]
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.get(Person, records.person) is not None


def test_every_quick_action_shows_its_icon_of_the_sprite(
    login_as: LoginAs, records: Records, repo_root: Path
) -> None:
    sprite = (repo_root / "web/static/icons/icons.svg").read_text()
    symbols = set(re.findall(r'<symbol id="([^"]+)"', sprite))
    declared = wiring.current().stream_actions
    assert all(action.icon in symbols for action in declared), [a.name for a in declared]
    page = login_as("root").get(f"/partners/{records.partner}").text
    quick = page.split('data-testid="quick-actions"')[1].split("</div>")[0]
    drawn = re.findall(
        r'data-action="(\w+)"><svg class="icon"[^>]*><use href="[^"]*#([\w-]+)"', quick
    )
    icons = {action.name: action.icon for action in declared}
    assert drawn and [(name, icons[name]) for name, _icon in drawn] == drawn
    assert len(drawn) == quick.count("data-action=")
