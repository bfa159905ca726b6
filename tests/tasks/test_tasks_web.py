"""Task pages over real HTTP: create, answer, hand on, progress, the lists, refusals."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from groupware.access.policy import SYSTEM
from groupware.crm.partners import set_reps
from groupware.db import Database
from tests import factories
from tests.conftest import LiveServer
from tests.factories import csrf_of


@contextlib.contextmanager
def _client(live: LiveServer, username: str) -> Iterator[httpx.Client]:
    with factories.browser(live.url) as client:
        factories.login(client, username)
        yield client


def _post(client: httpx.Client, path: str, form: dict[str, str], page: str) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**form, "csrf_token": token})


def test_a_task_given_rejected_and_done_through_the_pages(
    live: LiveServer, committed: factories.Cast
) -> None:
    with _client(live, "dave") as dave, _client(live, "alice") as alice:
        made = _post(
            dave,
            "/tasks/new",
            {"title": "Ponuda za Konzum", "due_at": "2026-12-05T16:00",
             "assignee_id": str(committed.alice.id), "priority": "high", "note": "Hitno"},
            "/tasks/new",
        )  # fmt: skip
        assert made.status_code == 303, made.text[:500]
        page = made.headers["location"]
        assert "Ponuda za Konzum" in alice.get("/tasks").text
        assert "Ponuda za Konzum" in dave.get("/tasks?view=delegated").text
        refused = _post(alice, page + "/answer", {"answer": "reject", "reason": ""}, page)
        assert refused.status_code == 422
        accepted = _post(alice, page + "/answer", {"answer": "accept"}, page)
        assert accepted.status_code == 303
        done = _post(alice, page + "/progress", {"progress": "30", "status": "done"}, page)
        assert done.status_code == 303
        text = alice.get(page).text
        assert 'data-testid="progress">100 %' in text
        assert "Ponuda za Konzum" in alice.get("/tasks?view=mine&closed=1").text


def test_bad_input_is_refused_with_the_field_and_others_get_404(
    live: LiveServer, committed: factories.Cast
) -> None:
    with _client(live, "alice") as alice, _client(live, "charlie") as charlie:
        bad = _post(alice, "/tasks/new", {"title": "", "due_at": "sutra"}, "/tasks/new")
        assert bad.status_code == 422
        assert "dd.mm.yyyy" in bad.text or "dd.mm.gggg" in bad.text
        made = _post(alice, "/tasks/new", {"title": "Moje"}, "/tasks/new")
        page = made.headers["location"]
        assert charlie.get(page).status_code == 404
        token = csrf_of(charlie.get("/tasks").text)
        assert charlie.post(page + "/cancel", data={"csrf_token": token}).status_code == 404


def test_a_task_page_shares_the_task_like_every_record_and_has_its_stream(
    live: LiveServer, committed: factories.Cast
) -> None:
    with _client(live, "alice") as alice, _client(live, "bob") as bob:
        made = _post(alice, "/tasks/new", {"title": "Obići Konzum"}, "/tasks/new")
        page = made.headers["location"]
        task_id = page.rsplit("/", 1)[1]
        text = alice.get(page).text
        access = f"/records/tasks/{task_id}/access"
        assert f'href="{access}"' in text and "Sharing and access" in text
        assert 'data-testid="stream"' in text
        panel = alice.get(access).text
        assert "Share with" in panel  # alice made it: she may share it
        assert bob.get(page).status_code == 404
        shared = _post(
            alice,
            f"/records/tasks/{task_id}/shares",
            {"grantee": f"user:{committed.bob.id}", "permission": "read"},
            access,
        )
        assert shared.status_code == 303
        assert "Obići Konzum" in bob.get(page).text


def test_a_task_made_from_a_record_page_is_linked_to_it_and_goes_back_there(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = factories.make_partner(session, SYSTEM, "Konzum d.d.")
        set_reps(session, partner, owner_id=committed.alice.id, rep_ids=[])
        partner_id = partner.id
    htmx = {"HX-Request": "true"}
    with _client(live, "alice") as alice:
        quick = f"/tasks/new?partner_id={partner_id}&back=partners:{partner_id}"
        assert quick.replace("&", "&amp;") in alice.get(f"/partners/{partner_id}").text
        form = alice.get(quick, headers=htmx)
        assert form.status_code == 200 and "<html" not in form.text
        assert f'name="partner_id" value="{partner_id}"' in form.text
        token = csrf_of(form.text)
        values = {
            "csrf_token": token,
            "partner_id": str(partner_id),
            "back": f"partners:{partner_id}",
        }
        refused = alice.post("/tasks/new", data={**values, "title": ""}, headers=htmx)
        assert refused.status_code == 422 and "<html" not in refused.text
        assert f'name="back" value="partners:{partner_id}"' in refused.text
        made = alice.post("/tasks/new", data={**values, "title": "Poslati katalog"}, headers=htmx)
        assert made.status_code == 204 and made.headers["HX-Location"] == f"/partners/{partner_id}"
        partner_page = alice.get(f"/partners/{partner_id}").text
        assert "Poslati katalog" in partner_page.split('data-testid="partner-tasks"')[1]
        # A made-up way back is not followed.
        odd = alice.post("/tasks/new", data={**values, "title": "Drugi", "back": "//evil.example"})
        assert odd.status_code == 303 and odd.headers["location"].startswith("/tasks/")


def test_the_partner_page_says_how_late_its_open_tasks_are(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    import datetime as dt

    from groupware.tasks.service import TaskIn, create_task

    now = dt.datetime.now(dt.UTC)
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = factories.make_partner(session, SYSTEM, "Konzum d.d.")
        set_reps(session, partner, owner_id=committed.alice.id, rep_ids=[])
        due = {"Nazvati": now - dt.timedelta(days=3), "Ponuda": now + dt.timedelta(days=2)}
        for title, when in due.items():
            data = TaskIn(
                title=title, due_at=when, assignee_id=committed.alice.id, partner_id=partner.id
            )
            create_task(session, SYSTEM, data)
        partner_id = partner.id
    with _client(live, "alice") as alice:
        section = alice.get(f"/partners/{partner_id}").text.split('data-testid="partner-tasks"')[1]
    items = section.split("</ul>")[0].split("<li>")[1:]
    assert [i.split("</a>")[0].rsplit(">", 1)[1] for i in items] == ["Nazvati", "Ponuda"]
    assert 'class="chip overdue' in items[0] and "3 days late" in items[0]
    assert "overdue" not in items[1] and "late" not in items[1]
