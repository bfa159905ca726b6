"""A PUT of a whole calendar: what it replaces and what syncing clients learn of it,
that a bad item changes nothing, and that it never holds the database's write lock
for long, so that other writers (a colleague's PUT, mail delivery) get through while
it runs; with raw HTTP, the caldav library and smtplib against the live servers."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator

import caldav
import httpx
import pytest

from groupware.accounts.models import User
from groupware.db import Database
from groupware.settings import Settings
from groupware.tasks import service as tasks
from groupware.tasks.models import Task
from tests import factories
from tests.caldav.test_caldav import client, event
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.mail.conftest import Server, inbox, logged_in, message

UTC = dt.UTC
ALICE = ("alice", PASSWORD)
ICS = {"Content-Type": "text/calendar"}
# Measured: a chunk is sized to hold the write lock about UPLOAD_HOLD_SECONDS (0.2 s);
# ten times that leaves room for a loaded machine and still bounds every writer's wait.
HOLD_BOUND_SECONDS = 2.0


def calendar_of(*events: str) -> str:
    """One VCALENDAR holding the VEVENTs of ``events`` (each a whole calendar)."""
    bodies = [e[e.index("BEGIN:VEVENT") : e.index("END:VCALENDAR")] for e in events]
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + "".join(bodies) + "END:VCALENDAR\n"
    )


def many(count: int) -> str:
    start = dt.datetime(2027, 1, 4, 8, tzinfo=UTC)
    stamp = "%Y%m%dT%H%M%SZ"
    events = []
    for n in range(count):
        begin = start + dt.timedelta(hours=n % 9, days=n // 9)
        end = begin + dt.timedelta(minutes=45)
        events.append(
            event(
                f"bulk-{n}",
                f"{begin:{stamp}}",
                f"{end:{stamp}}",
                f"Sastanak {n}",
                "LOCATION:Zagreb\n",
            )
        )
    return calendar_of(*events)


def hrefs_of(cal: caldav.Calendar) -> list[str]:
    return sorted(
        str(o.url).rsplit("/", 1)[-1] for o in cal.objects_by_sync_token(load_objects=False)
    )


def test_an_upload_replaces_the_calendar_and_syncing_clients_learn_each_change(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    url = f"{live.url}/dav/alice/calendar/"
    with client(live, "alice") as dav:
        cal = dav.calendar(url=url)
        httpx.put(
            url + "client-named.ics",
            content=event("kept", "20261202T090000Z", "20261202T100000Z", "Staro"),
            auth=ALICE,
        )
        httpx.put(
            url + "gone.ics",
            content=event("gone", "20261203T090000Z", "20261203T100000Z"),
            auth=ALICE,
        )
        token = cal.objects_by_sync_token(load_objects=False).sync_token
        weekly = event(
            "weekly",
            "20261207T080000Z",
            "20261207T090000Z",
            "Kolegij",
            "RRULE:FREQ=WEEKLY;COUNT=5\nEXDATE:20261221T080000Z\n",
        )
        upload = calendar_of(
            event("kept", "20261202T090000Z", "20261202T100000Z", "Novo"),
            weekly,
            event("fresh", "20261204T090000Z", "20261204T100000Z", "Svježe"),
        )
        answer = httpx.put(url, content=upload, auth=ALICE, headers=ICS)
        assert answer.status_code in (201, 204), answer.text
        delta = cal.objects_by_sync_token(sync_token=token, load_objects=False)
        changed = sorted(str(o.url).rsplit("/", 1)[-1] for o in delta)
        assert changed == ["client-named.ics", "fresh.ics", "gone.ics", "weekly.ics"]
        assert (
            "SUMMARY:Novo" in httpx.get(url + "client-named.ics", auth=ALICE).text
        )  # its name kept
        assert httpx.get(url + "gone.ics", auth=ALICE).status_code == 404

        def week_of(day: int) -> list[str]:
            start = dt.datetime(2026, 12, day, tzinfo=UTC)
            found = cal.search(
                start=start, end=start + dt.timedelta(days=1), event=True, expand=False
            )
            return [str(e.icalendar_component["uid"]) for e in found]

        assert week_of(14) == ["weekly"] and week_of(21) == []  # the excluded date
        assert hrefs_of(cal) == ["client-named.ics", "fresh.ics", "weekly.ics"]


def test_an_upload_of_the_task_list_reaches_the_crm_tasks_it_holds(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    with database.transaction(actor_id=committed.dave.id, channel="web") as session:
        dave = committed.who(session, session.get(User, committed.dave.id))
        task_id = tasks.create_task(
            session, dave, tasks.TaskIn(title="Nazvati", assignee_id=committed.alice.id)
        ).id
    url = f"{live.url}/dav/alice/tasks/"
    listing = httpx.request("PROPFIND", url, auth=ALICE, headers={"Depth": "1"})
    assert f"task-{task_id}.ics" in listing.text
    todo = httpx.get(f"{url}task-{task_id}.ics", auth=ALICE).text
    done = todo.replace("END:VTODO", "STATUS:COMPLETED\r\nPERCENT-COMPLETE:100\r\nEND:VTODO")
    done = done.replace("STATUS:NEEDS-ACTION\r\n", "")
    answer = httpx.put(url, content=done, auth=ALICE, headers=ICS)
    assert answer.status_code in (201, 204), answer.text
    with database.transaction(actor_id=None, channel="cli") as session:
        task = session.get(Task, task_id)
        assert task is not None and task.status == "done"
    assert httpx.get(f"{url}task-{task_id}.ics", auth=ALICE).status_code == 200


def test_an_item_too_large_in_utf8_refuses_the_upload_and_changes_nothing(
    live: LiveServer, committed: factories.Cast
) -> None:
    """Radicale counts characters; the limit is in bytes: 600,000 × "ž" is 1.2 MB."""
    url = f"{live.url}/dav/alice/calendar/"
    httpx.put(
        url + "kept.ics", content=event("kept", "20261202T090000Z", "20261202T100000Z"), auth=ALICE
    )
    big = event(
        "big-one", "20261203T090000Z", "20261203T100000Z", extra=f"DESCRIPTION:{'ž' * 600_000}\n"
    )
    answer = httpx.put(
        url,
        content=calendar_of(event("new", "20261204T090000Z", "20261204T100000Z"), big),
        auth=ALICE,
        headers=ICS,
    )
    assert answer.status_code == 413
    assert "max-resource-size" in answer.text and "big-one" in answer.text
    assert httpx.get(url + "kept.ics", auth=ALICE).status_code == 200
    assert httpx.get(url + "new.ics", auth=ALICE).status_code == 404


class Transactions(logging.Handler):
    """The upload's write transactions as the storage logs them: how many items each
    wrote and how long it held the write lock. After the first one that writes items,
    it holds the upload (between two transactions, holding no lock) until ``resume``
    is set: what other writers then do happens while the upload is under way."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.held: list[tuple[int, float]] = []
        self.first = threading.Event()
        self.resume = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        items = getattr(record, "upload_items", None)
        if items is None:
            return
        self.held.append((items, record.upload_held_seconds))  # type: ignore[attr-defined]
        if items and not self.first.is_set():
            self.first.set()
            self.resume.wait(120)


@pytest.fixture
def transactions() -> Iterator[Transactions]:
    handler = Transactions()
    logger = logging.getLogger("groupware.caldav.upload")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    handler.resume.set()
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def smtp(
    live: LiveServer, committed: factories.Cast, database: Database, settings: Settings
) -> Iterator[Server]:
    running = Server(database, settings)
    yield running
    running.stop()


@pytest.mark.timeout(300)
def test_a_large_upload_holds_the_write_lock_briefly_and_lets_other_writers_through(
    live: LiveServer,
    committed: factories.Cast,
    database: Database,
    transactions: Transactions,
    smtp: Server,
) -> None:
    count = 2500
    url = f"{live.url}/dav/alice/calendar/"
    httpx.request("PROPFIND", f"{live.url}/dav/bob/", auth=("bob", PASSWORD))  # bob's home
    mail = logged_in(smtp, "charlie")
    result: list[httpx.Response] = []

    def upload() -> None:
        with httpx.Client(timeout=300, verify=factories.TLS) as http:
            result.append(http.put(url, content=many(count), auth=ALICE, headers=ICS))

    uploading = threading.Thread(target=upload)
    uploading.start()
    try:
        assert transactions.first.wait(90), "the upload never committed a part of itself"
        # The upload is under way, between two of its transactions: others write now.
        put = httpx.put(
            f"{live.url}/dav/bob/calendar/meanwhile.ics",
            content=event("meanwhile", "20261202T090000Z", "20261202T100000Z", "U međuvremenu"),
            auth=("bob", PASSWORD),
            timeout=60,
        )
        assert put.status_code == 201
        assert (
            mail.send_message(message(committed.charlie.email, committed.bob.email, "Usput")) == {}
        )
    finally:
        transactions.resume.set()
        uploading.join(300)
        mail.quit()
    assert result and result[0].status_code in (201, 204), result and result[0].text
    assert inbox(database, committed.bob) == ["Usput"]
    writes = [(items, held) for items, held in transactions.held if items]
    assert sum(items for items, _held in writes) == count
    assert len(writes) >= 3  # in several transactions, never all at once
    longest = max(held for _items, held in writes)
    assert longest < HOLD_BOUND_SECONDS, (longest, writes)
    with client(live, "alice") as dav:
        assert len(hrefs_of(dav.calendar(url=url))) == count
