"""CalDAV with 10,000 events in one calendar: our storage against Radicale's own.

Target (issue 5): a PUT, a one-week calendar-query and an incremental sync each take
at most 0.10 × what Radicale's own ``multifilesystem`` storage takes on the same data,
and the first full PROPFIND of the calendar takes under one second.

For each side the script starts a real server in a subprocess and talks HTTP to it:

* **ours**: the app (``create_app``, under uvicorn as ``groupware serve`` runs it) on a
  fresh SQLite file and on a fresh PostgreSQL database, user ``bench`` with a password;
* **baseline**: Radicale 3 itself (``python -m radicale``), ``multifilesystem`` storage
  in a temporary folder, no authentication (which only flatters the baseline).

Both get the same 10,000 events (a realistic mix over three years: one-off meetings,
all-day events, 5% weekly recurring with an exception) in one calendar, uploaded as one
whole-calendar PUT. Then, each timed as the median of ``--repeat`` runs:

1. the first ``PROPFIND`` (depth 1, etags) of the calendar, cold;
2. a ``PUT`` of one new event;
3. a ``REPORT calendar-query`` for one week (VEVENT, time-range), with the data;
4. an incremental ``REPORT sync-collection``: one event changed since the token.

Run from the repository root::

    .venv/bin/python bench/caldav.py [--db sqlite|postgresql|both] [--events 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from handlers import HOST, exit_with_parent, free_port  # noqa: E402

PASSWORD = "bench password 1234"  # noqa: S105 - a throw-away database
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - throw-away
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "groupware_bench_caldav"
TARGET_RATIO = 0.10
TARGET_PROPFIND_S = 1.0
WEEK = (dt.datetime(2027, 3, 1, tzinfo=dt.UTC), dt.datetime(2027, 3, 8, tzinfo=dt.UTC))


# -- data ------------------------------------------------------------------------------


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def make_events(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(uid, VEVENT text) pairs: three years of a busy calendar."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    subjects = ["Sastanak s kupcem", "Prezentacija", "Interni sastanak", "Posjet", "Poziv"]
    events = []
    for n in range(count):
        begin = start + dt.timedelta(days=rng.randrange(3 * 365), hours=rng.randrange(7, 18))
        uid = f"bench-{n:05d}@groupware"
        lines = [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"SUMMARY:{rng.choice(subjects)} {n}",
            f"LOCATION:Zagreb, Ilica {rng.randrange(1, 300)}",
        ]
        kind = rng.random()
        if kind < 0.05:  # weekly, with one exception
            lines += [
                f"DTSTART:{_stamp(begin)}",
                f"DTEND:{_stamp(begin + dt.timedelta(hours=1))}",
                "RRULE:FREQ=WEEKLY;COUNT=30",
                f"EXDATE:{_stamp(begin + dt.timedelta(weeks=2))}",
            ]
        elif kind < 0.15:  # all day
            lines += [
                f"DTSTART;VALUE=DATE:{begin:%Y%m%d}",
                f"DTEND;VALUE=DATE:{begin + dt.timedelta(days=1):%Y%m%d}",
            ]
        else:
            lines += [
                f"DTSTART:{_stamp(begin)}",
                f"DTEND:{_stamp(begin + dt.timedelta(minutes=rng.choice([30, 60, 90])))}",
            ]
        lines.append("END:VEVENT")
        events.append((uid, "\r\n".join(lines)))
    return events


def calendar_text(events: Sequence[tuple[str, str]]) -> str:
    body = "\r\n".join(text for _uid, text in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n{body}\r\nEND:VCALENDAR\r\n"


def one_event(uid: str, when: dt.datetime, summary: str = "Novi sastanak") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{_stamp(when)}\r\n"
        f"DTEND:{_stamp(when + dt.timedelta(hours=1))}\r\nSUMMARY:{summary}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


# -- servers ---------------------------------------------------------------------------


@contextlib.contextmanager
def running(cmd: list[str], port: int, log: Path, ready: str) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{HOST}:{port}{ready}", timeout=2).status_code < 500:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("server not ready after 60 s")
            time.sleep(0.2)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def settings_env(url: str, data_dir: Path) -> dict[str, str]:
    return {
        "GROUPWARE_DATABASE_URL": url,
        "GROUPWARE_DATA_DIR": str(data_dir),
        "GROUPWARE_SECRET_KEY": SECRET,
        "GROUPWARE_LOG_LEVEL": "warning",
        "GROUPWARE_DAV_MAX_ITEM_KB": "65536",  # the whole-calendar upload is one request
        "GROUPWARE_MAX_REQUEST_MB": "64",
    }


def serve(args: argparse.Namespace) -> None:
    """Our app, as ``groupware serve --role web`` runs it (one process)."""
    import threading

    import uvicorn

    from groupware.app import create_app
    from groupware.settings import load_settings

    threading.Thread(target=exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    settings = load_settings(settings_env(args.url, Path(args.data_dir)))
    options = {"host": HOST, "port": args.port, "log_level": "warning", "access_log": False}
    uvicorn.Server(uvicorn.Config(create_app(settings), **options)).run()  # type: ignore[arg-type]


def prepare_ours(url: str, data_dir: Path) -> None:
    from groupware.accounts.models import Role
    from groupware.accounts.passwords import hash_password
    from groupware.accounts.users import UserIn, create_user
    from groupware.db import Database
    from groupware.migrate import upgrade
    from groupware.settings import load_settings

    database = Database(load_settings(settings_env(url, data_dir)))
    upgrade(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        role = session.scalar(sa.select(Role.id).where(Role.name == "sales"))
        user = create_user(
            session,
            UserIn(username="bench", full_name="Bench", role_ids=[role]),
            mail_domain="bench.local",
        )
        user.password_hash = hash_password(PASSWORD)
    database.dispose()


@contextlib.contextmanager
def pg_database(pg_url: str, name: str = PG_BENCH_DB) -> Iterator[str]:
    """A fresh PostgreSQL database ``name`` on the server of ``pg_url``, dropped after."""
    base = sa.make_url(pg_url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(drivername="postgresql", database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def ours(name: str, args: argparse.Namespace, work: Path) -> Iterator[str]:
    data_dir = work / f"ours-{name}"
    data_dir.mkdir()
    with contextlib.ExitStack() as stack:
        if name == "sqlite":
            url = f"sqlite:///{data_dir / 'groupware.db'}"
        else:
            url = stack.enter_context(pg_database(args.pg_url))
        prepare_ours(url, data_dir)
        port = free_port()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "--url", url,
               "--data-dir", str(data_dir), "--port", str(port),
               "--parent-pid", str(os.getpid())]  # fmt: skip
        stack.enter_context(running(cmd, port, data_dir / "server.log", "/login"))
        yield f"http://{HOST}:{port}/dav/bench/"


@contextlib.contextmanager
def radicale_server(work: Path) -> Iterator[str]:
    folder = work / "radicale"
    port = free_port()
    cmd = [sys.executable, "-m", "radicale", "--storage-filesystem-folder", str(folder),
           "--auth-type", "none", "--server-hosts", f"{HOST}:{port}",
           "--logging-level", "warning",
           "--server-max-content-length", str(200 * 2**20)]  # fmt: skip
    with running(cmd, port, work / "radicale.log", "/.web/"):
        yield f"http://{HOST}:{port}/bench/"


# -- measuring ---------------------------------------------------------------------------

PROPFIND = '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>'
QUERY = (
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter>"
    '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
    '<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter>'
    "</C:filter></C:calendar-query>"
)
SYNC = (
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
)
TOKEN = re.compile(r"<[^>]*sync-token>([^<]+)</")
ICS = {"Content-Type": "text/calendar"}


def timed(call: Callable[[], httpx.Response], expect: set[int]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = call()
    seconds = time.perf_counter() - started
    if response.status_code not in expect:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    return seconds, response


def measure(home: str, events: list[tuple[str, str]], repeat: int) -> dict[str, Any]:
    cal = home + "cal/"
    results: dict[str, Any] = {}
    with httpx.Client(auth=("bench", PASSWORD), timeout=600) as http:
        mkcal = '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"/>'
        http.request("PROPFIND", home, headers={"Depth": "0"})  # the first login makes the home
        timed(lambda: http.request("MKCALENDAR", cal, content=mkcal), {201})
        started = time.perf_counter()
        timed(
            lambda: http.put(cal, content=calendar_text(events), headers=ICS),
            {201, 204},
        )
        results["load"] = time.perf_counter() - started
        seconds, response = timed(
            lambda: http.request("PROPFIND", cal, content=PROPFIND, headers={"Depth": "1"}), {207}
        )
        results["propfind"] = seconds
        results["items"] = response.text.count("getetag>") // 2 - 1
        puts = []
        for n in range(repeat):
            when = WEEK[0] + dt.timedelta(days=n % 7, hours=10)
            body = one_event(f"new-{n}@bench", when)
            seconds, _r = timed(
                lambda b=body, n=n: http.put(f"{cal}new-{n}.ics", content=b, headers=ICS),
                {201},
            )
            puts.append(seconds)
        results["put"] = statistics.median(puts)
        query = QUERY.format(start=_stamp(WEEK[0]), end=_stamp(WEEK[1]))
        queries = []
        for _ in range(repeat):
            seconds, response = timed(
                lambda: http.request("REPORT", cal, content=query, headers={"Depth": "1"}), {207}
            )
            queries.append(seconds)
        results["query"] = statistics.median(queries)
        results["week_items"] = (
            response.text.count("<D:response") or response.text.count("response>") // 2
        )
        _s, full = timed(
            lambda: http.request(
                "REPORT", cal, content=SYNC.format(token=""), headers={"Depth": "1"}
            ),
            {207},
        )
        token = _token(full)
        syncs = []
        for n in range(repeat):
            uid = events[n][0]
            changed = one_event(uid, WEEK[0] + dt.timedelta(hours=8), f"Promijenjeno {n}")
            timed(lambda u=uid, c=changed: http.put(f"{cal}{u}.ics", content=c, headers=ICS), {204})
            seconds, delta = timed(
                lambda t=token: http.request(
                    "REPORT", cal, content=SYNC.format(token=t), headers={"Depth": "1"}
                ),
                {207},
            )
            if delta.text.count("getetag>") < 2:
                raise RuntimeError(f"the sync did not report the change: {delta.text[:300]}")
            token = _token(delta)
            syncs.append(seconds)
        results["sync"] = statistics.median(syncs)
    return results


def _token(response: httpx.Response) -> str:
    found = TOKEN.search(response.text)
    if not found:
        raise RuntimeError(f"no sync token in: {response.text[:300]}")
    return found[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", PG_DEFAULT_URL))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    events = make_events(args.events)
    work = Path(tempfile.mkdtemp(prefix="bench-caldav-"))
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        print(f"baseline: Radicale multifilesystem, {args.events:,} events ...", file=sys.stderr)
        with radicale_server(work) as home:
            rows.append(("radicale (baseline)", measure(home, events, args.repeat)))
        names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
        for name in names:
            print(f"ours on {name}, {args.events:,} events ...", file=sys.stderr)
            with ours(name, args, work) as home:
                rows.append((f"groupware, {name}", measure(home, events, args.repeat)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(report(rows, args))
    return 0


def report(rows: list[tuple[str, dict[str, Any]]], args: argparse.Namespace) -> str:
    base = rows[0][1]
    lines = [
        f"{args.events:,} events in one calendar; medians of {args.repeat} runs; "
        "ratio = ours / Radicale's multifilesystem in the same run (target <= 0.10; "
        "first PROPFIND under 1 s).",
        "",
        f"{'server':24} {'load PUT s':>10} {'PROPFIND s':>10} {'items':>6} {'PUT ms':>8} "
        f"{'ratio':>6} {'week query ms':>13} {'found':>5} {'ratio':>6} {'sync ms':>8} "
        f"{'ratio':>6}  targets",
    ]
    for name, r in rows:
        ratios = [r[k] / base[k] for k in ("put", "query", "sync")]
        ok = all(x <= TARGET_RATIO for x in ratios) and r["propfind"] < TARGET_PROPFIND_S
        verdict = "-" if r is base else ("met" if ok else "NOT met")
        lines.append(
            f"{name:24} {r['load']:10.1f} {r['propfind']:10.2f} {r['items']:6} "
            f"{r['put'] * 1000:8.1f} {ratios[0]:6.3f} {r['query'] * 1000:13.1f} "
            f"{r['week_items']:5} {ratios[1]:6.3f} {r['sync'] * 1000:8.1f} {ratios[2]:6.3f}"
            f"  {verdict}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
