"""The import pages through a real server: upload an Excel-made Croatian CSV, correct
its mapping, see its problems, commit it while the page polls the progress, and who
may do which of it."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update

from groupware.crm.importing import imports
from groupware.crm.models import ImportJob, Partner
from groupware.db import Database
from groupware.history.models import Change
from groupware.settings import Settings
from tests.browser.test_shell import chromium
from tests.conftest import LiveServer, LoginAs
from tests.crm.conftest import Sales
from tests.crm.test_imports import (
    CROATIAN_ROWS,
    HEADER,
    big_csv,
    count,
    croatian_csv,
    make_oib,
    many_partners,
)
from tests.factories import PASSWORD, Cast, browser, login

__all__ = ["chromium", "many_partners"]  # fixtures used here


def upload(client: httpx.Client, path: Path, kind: str = "partners") -> httpx.Response:
    with path.open("rb") as file:
        return client.post(
            "/imports", data={"kind": kind}, files={"file": (path.name, file, "text/csv")}
        )


def uploaded(client: httpx.Client, path: Path, kind: str = "partners") -> int:
    response = upload(client, path, kind)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/imports/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match[1])


def selected_fields(page: str) -> list[str]:
    """The field chosen in each column's select of the mapping table."""
    selects = re.findall(r'<select name="field".*?</select>', page, re.S)
    return [
        (re.search(r'<option value="([^"]*)" selected>', s) or re.search("()", s))[1]  # type: ignore[index]
        for s in selects
    ]


def wait_for_the_step(client: httpx.Client, job_id: int, timeout: float = 120) -> float:
    """Poll the progress fragment as the page does until it asks for a reload; returns
    the seconds it took."""
    started = time.monotonic()
    while True:
        response = client.get(f"/imports/{job_id}/progress", headers={"HX-Request": "true"})
        assert response.status_code == 200, response.text
        if response.headers.get("HX-Refresh") == "true":
            return time.monotonic() - started
        assert "<progress" in response.text
        assert time.monotonic() - started < timeout, "the import did not finish"
        time.sleep(0.1)


def check(client: httpx.Client, job_id: int, fields: list[str], **form: str) -> httpx.Response:
    return client.post(
        f"/imports/{job_id}/validate",
        data={"field": fields, "key": form.pop("key", "oib"), **form},
    )


def test_a_rep_imports_a_croatian_excel_file_from_upload_to_commit(
    login_as: LoginAs, sales: Sales, committed: Cast, database: Database, tmp_path: Path
) -> None:
    alice = login_as("alice")
    page = alice.get("/imports")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and "No imports yet." in page.text

    job_id = uploaded(alice, croatian_csv(tmp_path / "partneri.csv"))
    page = alice.get(f"/imports/{job_id}")
    assert page.status_code == 200
    assert "Poštanski broj" in page.text and "Pekara Šimić d.o.o." in page.text  # preview
    assert "Žitnjak ćevabdžinica obrt" in page.text and "encoding Windows-1250" in page.text
    fields = selected_fields(page.text)
    assert fields == [
        "name",
        "oib",
        "street",
        "postal_code",
        "city",
        "county",
        "phones",
        "email",
        "group",
    ]
    assert "(ignore)" in page.text and ">Postal code</option>" in page.text

    checked = check(alice, job_id, fields)
    assert checked.status_code == 303
    running = alice.get(f"/imports/{job_id}")
    assert f'hx-get="/imports/{job_id}/progress"' in running.text or "Would create" in (
        running.text
    )
    wait_for_the_step(alice, job_id)
    page = alice.get(f"/imports/{job_id}")
    assert re.search(r'data-testid="would-create">3<', page.text)
    assert (
        "Import 3 rows" in page.text and "disabled" not in page.text.split("Import 3 rows")[0][-80:]
    )

    assert alice.post(f"/imports/{job_id}/commit").status_code == 303
    wait_for_the_step(alice, job_id)
    page = alice.get(f"/imports/{job_id}")
    assert re.search(r'data-testid="created">3<', page.text)
    assert '<a href="/partners?unassigned=1">1</a>' in page.text  # Osijek has no rep

    with database.session() as session:
        found = {p.name: p for p in session.scalars(select(Partner))}
        assert found["Pekara Šimić d.o.o."].owner_id == committed.alice.id
        assert found["Čokolada Đurđević j.d.o.o."].owner_id == committed.charlie.id
        assert found["Žitnjak ćevabdžinica obrt"].owner_id is None
        change = session.scalars(
            select(Change).where(
                Change.record_type == "partners",
                Change.record_id == found["Pekara Šimić d.o.o."].id,
            )
        ).one()
    assert (change.channel, change.actor_id) == ("web", committed.alice.id)
    assert change.changes["assignment_rule_id"][1] is not None

    listing = alice.get("/imports")
    assert "partneri.csv" in listing.text and "imported" in listing.text


def test_the_mapping_is_corrected_problems_are_listed_and_the_valid_rows_imported(
    login_as: LoginAs, sales: Sales, database: Database, tmp_path: Path
) -> None:
    alice = login_as("alice")
    header = HEADER.replace("Naziv", "Kupac").replace("Grupa", "@Grupa")
    rows = [
        *CROATIAN_ROWS,
        f"Loša grupa d.o.o.;{make_oib(1000000009)};Ilica 9;10000;Zagreb;;;;=HYPERLINK(1)",
        "Loš OIB d.o.o.;12345678901;Ilica 10;10000;Zagreb;;;;",
    ]
    job_id = uploaded(alice, croatian_csv(tmp_path / "kupci.csv", rows, header=header))
    page = alice.get(f"/imports/{job_id}")
    fields = selected_fields(page.text)
    assert fields[0] == "" and fields[8] == "group"  # "Kupac" is not a known name

    refused = check(alice, job_id, fields)
    assert refused.status_code == 422
    assert "These fields need a column: name" in refused.text
    assert selected_fields(refused.text) == fields  # the choices are kept

    fields[0] = "name"
    assert check(alice, job_id, fields).status_code == 303
    wait_for_the_step(alice, job_id)
    page = alice.get(f"/imports/{job_id}")
    assert re.search(r'data-testid="invalid">2<', page.text)
    problems = re.search(r'data-testid="problems">(.*?)</table>', page.text, re.S)
    assert problems is not None
    assert re.search(
        r"<td class=\"num\">5</td><td>@Grupa</td><td>There is no partner group", problems[1]
    )
    assert re.search(r"<td class=\"num\">6</td><td>OIB</td><td>This OIB is not valid", problems[1])
    assert re.search(r"<button disabled[^>]*>Import 3 rows</button>", page.text)
    assert alice.post(f"/imports/{job_id}/commit").status_code == 422  # not without skipping

    download = alice.get(f"/imports/{job_id}/errors.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.content.startswith(codecs.BOM_UTF8)
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == ["Row", "Column", "Problem"]
    assert [row[:2] for row in table[1:]] == [["5", "'@Grupa"], ["6", "OIB"]]  # formula-safe

    assert alice.post(f"/imports/{job_id}/commit", data={"skip_invalid": "1"}).status_code == 303
    wait_for_the_step(alice, job_id)
    page = alice.get(f"/imports/{job_id}")
    assert re.search(r'data-testid="created">3<', page.text)
    assert "Rows skipped for errors" in page.text
    assert 'data-testid="problems"' in page.text  # what was skipped stays listed
    assert count(database, Partner) == 3


def test_a_file_that_cannot_be_read_gets_422_with_the_reason(
    login_as: LoginAs, database: Database, tmp_path: Path
) -> None:
    alice = login_as("alice")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    response = upload(alice, empty)
    assert response.status_code == 422
    assert "The first row must name the columns." in response.text
    missing = alice.post("/imports", data={"kind": "partners"})
    assert missing.status_code == 422 and "Choose a CSV file." in missing.text
    wrong_kind = upload(alice, croatian_csv(tmp_path / "p.csv"), kind="deals")
    assert wrong_kind.status_code == 422
    with database.session() as session:
        assert session.scalars(select(ImportJob)).all() == []


def test_an_upload_over_the_limit_gets_the_413_page(
    settings: Settings, database: Database, committed: Cast, tmp_path: Path
) -> None:
    small = LiveServer(dataclasses.replace(settings, max_request_mb=1), database)
    small.start()
    try:
        with browser(small.url) as client:
            client.headers["X-CSRF-Token"] = login(client, "alice")
            big = tmp_path / "big.csv"
            big.write_bytes((HEADER + "\r\n").encode() + b"x;" * 700_000)
            response = upload(client, big)
            assert response.status_code == 413
            assert "The upload is too large." in response.text
    finally:
        small.stop()
    with database.session() as session:
        assert session.scalars(select(ImportJob)).all() == []


def test_an_import_is_seen_by_its_owner_and_administrators_only(
    login_as: LoginAs, sales: Sales, database: Database, tmp_path: Path
) -> None:
    alice, bob, root = login_as("alice"), login_as("bob"), login_as("root")
    job_id = uploaded(alice, croatian_csv(tmp_path / "p.csv"))
    fields = selected_fields(alice.get(f"/imports/{job_id}").text)
    for path in ("", "/progress", "/errors.csv"):
        assert bob.get(f"/imports/{job_id}{path}").status_code == 404, path
    for path in ("/validate", "/commit", "/delete"):
        assert bob.post(f"/imports/{job_id}{path}").status_code == 404, path
    assert "p.csv" not in bob.get("/imports").text
    assert root.get(f"/imports/{job_id}").status_code == 200
    listing = root.get("/imports").text
    assert "p.csv" in listing and ">Alice</td>" in listing  # whose it is
    assert check(root, job_id, fields).status_code == 303  # an administrator may help
    wait_for_the_step(root, job_id)
    assert job_status(database, job_id) == "validated"


def test_a_user_who_may_not_create_partners_may_not_import_them(
    login_as: LoginAs, sales: Sales, live: LiveServer, tmp_path: Path
) -> None:
    with browser(live.url) as erin:
        erin.headers["X-CSRF-Token"] = login(erin, "erin")
        page = erin.get("/imports")
        assert page.status_code == 200
        assert "You may not import" in page.text and 'type="file"' not in page.text
        assert upload(erin, croatian_csv(tmp_path / "p.csv")).status_code == 403
        assert upload(erin, croatian_csv(tmp_path / "d.csv"), kind="documents").status_code == 403


def job_status(database: Database, job_id: int) -> str:
    with database.session() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        return job.status


def test_a_running_import_cannot_be_deleted_and_a_stopped_one_is_deleted_with_its_file(
    login_as: LoginAs, sales: Sales, database: Database, tmp_path: Path
) -> None:
    alice = login_as("alice")
    job_id = uploaded(alice, croatian_csv(tmp_path / "p.csv"))
    stored = imports.import_dir(database) / f"{job_id}.csv"
    assert stored.exists()
    with database.transaction(actor_id=None, channel="cli") as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="committing"))
    page = alice.get(f"/imports/{job_id}")
    assert "Delete this import" not in page.text and "<progress" in page.text
    refused = alice.post(f"/imports/{job_id}/delete")
    assert refused.status_code == 422 and "This import is running." in refused.text
    assert check(alice, job_id, ["name"]).status_code == 422  # nor changed

    with database.transaction(actor_id=None, channel="cli") as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="failed"))
    deleted = alice.post(f"/imports/{job_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/imports"
    assert not stored.exists()
    assert alice.get(f"/imports/{job_id}").status_code == 404


def test_the_progress_fragment_polls_while_running_and_reloads_the_page_after(
    login_as: LoginAs, sales: Sales, database: Database, tmp_path: Path
) -> None:
    alice = login_as("alice")
    job_id = uploaded(alice, croatian_csv(tmp_path / "p.csv"))
    with database.transaction(actor_id=None, channel="cli") as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="validating"))
    fragment = alice.get(f"/imports/{job_id}/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Refresh" not in fragment.headers
    assert 'hx-trigger="every 1s"' in fragment.text and "<html" not in fragment.text
    assert "Checking the file" in fragment.text
    plain = alice.get(f"/imports/{job_id}/progress")
    assert plain.status_code == 303 and plain.headers["location"] == f"/imports/{job_id}"

    with database.transaction(actor_id=None, channel="cli") as session:
        failed = {"status": "failed", "summary": {"channel": "web", "failure": "disk full"}}
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**failed))
    done = alice.get(f"/imports/{job_id}/progress", headers={"HX-Request": "true"})
    assert done.headers["HX-Refresh"] == "true"
    page = alice.get(f"/imports/{job_id}")
    assert "The import stopped: disk full" in page.text and "Check the file" in page.text


@pytest.mark.browser
def test_in_a_browser_the_page_polls_the_progress_and_shows_the_outcome(
    chromium: Browser,
    live: LiveServer,
    sales: Sales,
    many_partners: None,
    database: Database,
    tmp_path: Path,
) -> None:
    """Chromium on a phone: upload, check and import 30,000 rows while the page shows a
    progress bar and reloads itself when a step is done; no script errors, and no page
    wider than the screen."""
    context = chromium.new_context(
        locale="en-GB", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live.url}/login?next=/imports")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/imports")

    page.set_input_files("#f-file", str(big_csv(tmp_path / "partneri.csv", 30000)))
    page.click("button:has-text('Upload')")
    expect(page.locator("[data-testid=mapping]")).to_contain_text("Tvrtka 0 d.o.o.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.click("button:has-text('Check the file')")
    expect(page.locator("#import-progress")).to_contain_text("Checking the file")
    expect(page.locator("[data-testid=would-create]")).to_have_text("30,000", timeout=60_000)
    page.click("button:has-text('Import 30,000 rows')")
    expect(page.locator("#import-progress")).to_contain_text("Importing")
    expect(page.locator("[data-testid=created]")).to_have_text("30,000", timeout=60_000)
    expect(page.locator("a[href='/partners?unassigned=1']")).to_have_text("10,000")  # Osijek
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert errors == []
    context.close()
    assert count(database, Partner) == 30000
