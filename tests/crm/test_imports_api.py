"""``/api/v1/imports`` through a real server: a CSV sent as the request body, checked
and committed in the background, with answers that match the OpenAPI document."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from groupware.crm.models import Partner
from groupware.db import Database
from groupware.history.models import Change
from tests.api.helpers import Api
from tests.api.test_openapi import Contract
from tests.crm.conftest import Sales
from tests.crm.test_imports import CROATIAN_ROWS, HEADER, count, croatian_csv


@pytest.fixture
def contract(api: Api) -> Contract:
    return Contract(api.anonymous.get("/openapi.json").json())


def send_file(
    client: httpx.Client,
    contract: Contract,
    path: Path,
    *,
    content_type: str = "text/csv",
    **params: Any,
) -> httpx.Response:
    response = client.post(
        "/imports",
        params={"kind": "partners", "filename": path.name, **params},
        content=path.read_bytes(),
        headers={"Content-Type": content_type},
    )
    contract.check(response, "/imports")
    return response


def wait_until_stopped(
    client: httpx.Client, contract: Contract, job_id: int, timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = contract.call(client, "GET", "/imports/{import_id}", import_id=job_id, expect=200)
        if job["status"] not in ("validating", "committing"):
            return dict(job)
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.1)


def test_a_file_is_uploaded_checked_and_committed_through_the_api(
    api: Api, sales: Sales, contract: Contract, database: Database, tmp_path: Path
) -> None:
    alice = api("alice")
    sent = send_file(alice, contract, croatian_csv(tmp_path / "partneri.csv"))
    assert sent.status_code == 201, sent.text
    job = sent.json()
    assert (job["status"], job["encoding"], job["delimiter"], job["key"]) == (
        "uploaded",
        "cp1250",
        ";",
        "oib",
    )
    assert job["columns"][3] == "Poštanski broj" and job["fields"][3] == "postal_code"
    one = {"import_id": job["id"]}

    started = contract.call(
        alice, "POST", "/imports/{import_id}/validate", **one, json={}, expect=202
    )
    assert started["status"] == "validating"
    checked = wait_until_stopped(alice, contract, job["id"])
    assert checked["status"] == "validated"
    assert (checked["total_rows"], checked["error_rows"], checked["errors"]) == (3, 0, [])
    assert checked["checked"]["created"] == 3

    contract.call(alice, "POST", "/imports/{import_id}/commit", **one, expect=202)
    done = wait_until_stopped(alice, contract, job["id"])
    assert done["status"] == "done" and done["finished_at"] is not None
    assert (done["committed"]["created"], done["committed"]["unassigned"]) == (3, 1)
    listed = contract.call(alice, "GET", "/imports", expect=200)
    assert [j["id"] for j in listed["items"]] == [job["id"]]
    assert contract.call(api("bob"), "GET", "/imports", expect=200)["items"] == []
    assert [j["id"] for j in contract.call(api("root"), "GET", "/imports", expect=200)["items"]]

    with database.session() as session:
        channels = set(
            session.scalars(select(Change.channel).where(Change.record_type == "partners"))
        )
    assert channels == {"api"}
    assert count(database, Partner) == 3


def test_the_mapping_is_corrected_through_the_api_and_problems_are_listed(
    api: Api, sales: Sales, contract: Contract, database: Database, tmp_path: Path
) -> None:
    alice = api("alice")
    rows = [*CROATIAN_ROWS, "Loš OIB d.o.o.;12345678901;Ilica 10;10000;Zagreb;;;;"]
    source = croatian_csv(tmp_path / "kupci.csv", rows, header=HEADER.replace("Naziv", "Kupac"))
    job = send_file(alice, contract, source).json()
    assert job["fields"][0] is None
    one = {"import_id": job["id"]}
    refused = contract.call(
        alice, "POST", "/imports/{import_id}/validate", **one, json={}, expect=422
    )
    assert "name" in refused["error"]["fields"]["fields"]

    fields = ["name", *job["fields"][1:]]
    body = {"fields": fields, "key": "oib"}
    contract.call(alice, "POST", "/imports/{import_id}/validate", **one, json=body, expect=202)
    checked = wait_until_stopped(alice, contract, job["id"])
    assert (checked["status"], checked["error_rows"], checked["problems"]) == ("validated", 1, 1)
    assert checked["errors"] == [
        {
            "row": 5,
            "column": "OIB",
            "message": "This OIB is not valid (11 digits with a correct check digit).",
        }
    ]
    contract.call(alice, "POST", "/imports/{import_id}/commit", **one, expect=422)
    assert count(database, Partner) == 0

    params = {"skip_invalid": "true"}
    contract.call(alice, "POST", "/imports/{import_id}/commit", **one, params=params, expect=202)
    done = wait_until_stopped(alice, contract, job["id"])
    assert (done["status"], done["committed"]["created"], done["skipped"]) == ("done", 3, 1)


def test_a_nul_byte_in_the_file_is_a_problem_of_its_row_not_a_server_error(
    api: Api, sales: Sales, contract: Contract, tmp_path: Path
) -> None:
    """PostgreSQL cannot store NUL: an upload with one in its first row was a 500."""
    source = tmp_path / "nul.csv"
    source.write_bytes(b"Naziv;Mj\x00esto\r\nKonzum;Zagreb\r\n")
    job = send_file(api("alice"), contract, source)
    assert job.status_code == 201, job.text
    assert job.json()["columns"] == ["Naziv", "Mj\ufffdesto"]


def test_wrong_uploads_are_refused_and_imports_are_private(
    api: Api, sales: Sales, contract: Contract, tmp_path: Path
) -> None:
    alice, bob = api("alice"), api("bob")
    source = croatian_csv(tmp_path / "p.csv")
    as_json = alice.post(
        "/imports",
        params={"kind": "partners"},
        content=source.read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert contract.check(as_json, "/imports").status_code == 415
    assert "text/csv" in as_json.json()["error"]["message"]
    assert send_file(api.as_user_id(sales.erin), contract, source).status_code == 403
    assert send_file(alice, contract, source, kind="deals").status_code == 422
    wrong_key = send_file(alice, contract, source, kind="persons", key="oib")
    assert wrong_key.status_code == 422 and "key" in wrong_key.json()["error"]["fields"]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    no_header = send_file(alice, contract, empty)
    assert no_header.status_code == 422 and "file" in no_header.json()["error"]["fields"]
    anonymous = send_file(api.anonymous, contract, source)
    assert anonymous.status_code == 401

    job = send_file(alice, contract, source).json()
    one = {"import_id": job["id"]}
    contract.call(bob, "GET", "/imports/{import_id}", **one, expect=404)
    contract.call(bob, "POST", "/imports/{import_id}/validate", **one, json={}, expect=404)
    contract.call(bob, "DELETE", "/imports/{import_id}", **one, expect=404)
    contract.call(alice, "POST", "/imports/{import_id}/commit", **one, expect=422)  # unchecked
    contract.call(alice, "DELETE", "/imports/{import_id}", **one, expect=204)
    contract.call(alice, "GET", "/imports/{import_id}", **one, expect=404)


def test_the_upload_is_documented_as_a_csv_body(contract: Contract) -> None:
    operation = contract.operation("/imports", "POST")
    assert "Content-Type: text/csv" in operation["summary"]
    query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert query == {"kind", "filename", "key", "skip_invalid"}
