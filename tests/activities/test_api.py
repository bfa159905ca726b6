"""The API of notes and calls and of a record's stream: add, read, list, delete, page
through a stream; records out of sight answer 404."""

from __future__ import annotations

import pytest

from groupware.access.policy import SYSTEM
from groupware.crm.partners import set_reps
from groupware.db import Database
from tests.api.helpers import Api
from tests.factories import Cast, make_partner


@pytest.fixture
def partner_id(committed: Cast, database: Database) -> int:
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.")
        set_reps(session, partner, owner_id=committed.alice.id, rep_ids=[])
        return int(partner.id)


def test_notes_and_calls_are_added_listed_read_and_deleted(api: Api, partner_id: int) -> None:
    alice, charlie = api("alice"), api("charlie")
    path = f"/records/partners/{partner_id}/activities"
    call = {"kind": "call", "direction": "in", "outcome": "busy", "duration_minutes": 3,
            "occurred_at": "2026-11-30T10:00:00+01:00"}  # fmt: skip
    made = alice.post(path, json=call)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["occurred_at"].startswith("2026-11-30T09:00:00")
    assert (body["direction"], body["outcome"], body["duration_minutes"]) == ("in", "busy", 3)
    note = alice.post(path, json={"kind": "note", "body": "Traže katalog"}).json()
    bad = alice.post(path, json={"kind": "note", "body": ""})
    assert bad.status_code == 422 and "body" in bad.json()["error"]["fields"]
    # A JSON number is a number, whatever the language: "3,5" is no duration.
    assert alice.post(path, json={**call, "duration_minutes": "3,5"}).status_code == 422
    listed = alice.get("/activities", params={"record_type": "partners", "record_id": partner_id})
    assert [a["id"] for a in listed.json()["items"]] == [body["id"], note["id"]]
    assert alice.get(f"/activities/{note['id']}").json()["body"] == "Traže katalog"
    # charlie sees neither the partner nor its notes, and cannot add one
    assert charlie.get("/activities").json()["items"] == []
    one = f"/activities/{note['id']}"
    for method, url in (("GET", one), ("DELETE", one), ("GET", f"{path[:-11]}/stream")):
        assert charlie.request(method, url).status_code == 404, url
    refused = charlie.post(path, json={"kind": "note", "body": "x"})
    assert refused.status_code == 404
    assert alice.delete(f"/activities/{note['id']}").status_code == 204
    assert alice.get(f"/activities/{note['id']}").status_code == 404


def test_a_record_s_stream_pages_by_its_cursor_and_filters_by_kind(
    api: Api,
    partner_id: int,
) -> None:
    alice = api("alice")
    path = f"/records/partners/{partner_id}/activities"
    for n in range(5):
        alice.post(path, json={"kind": "note", "body": f"Bilješka {n}",
                               "occurred_at": f"2026-11-0{n + 1}T10:00:00Z"})  # fmt: skip
    alice.post(path, json={"kind": "call", "occurred_at": "2026-11-03T12:00:00Z"})
    stream = f"/records/partners/{partner_id}/stream"
    seen: list[str] = []
    cursor = ""
    while True:
        page = alice.get(stream, params={"kind": "note,call", "limit": 2, "before": cursor})
        assert page.status_code == 200, page.text
        seen += [item["kind"] + ":" + (item["text"] or "-") for item in page.json()["items"]]
        cursor = page.json()["next_cursor"] or ""
        if not cursor:
            break
    assert seen == ["note:Bilješka 4", "note:Bilješka 3", "call:-", "note:Bilješka 2",
                    "note:Bilješka 1", "note:Bilješka 0"]  # fmt: skip
    calls = alice.get(stream, params={"kind": "call"}).json()["items"]
    assert [c["facts"] for c in calls] == [["outgoing", "reached"]]
    changes = alice.get(stream, params={"kind": "change"}).json()["items"]
    assert changes and all(c["kind"] == "change" and c["title"] for c in changes)
    bad = alice.get(stream, params={"before": "yesterday"})
    assert bad.status_code == 422 and "before" in bad.json()["error"]["fields"]
