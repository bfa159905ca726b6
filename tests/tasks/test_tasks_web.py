"""Task pages over real HTTP: create, answer, hand on, progress, the lists, refusals."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

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
