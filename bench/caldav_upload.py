"""A whole-calendar PUT of 10,000 events, and how long other writers wait meanwhile.

Issue 15 found such an upload taking 121 s on SQLite and 159 s on PostgreSQL, holding
SQLite's write lock the whole time: a colleague's one-event PUT and a mail delivery
each waited 29 s. This measures, against Radicale 3 itself with its ``multifilesystem``
storage doing the same PUT in the same run:

* the upload: ``PUT /<user>/<calendar>/`` of 10,000 events (``bench/caldav.py``'s
  three years of a busy calendar) into a new calendar, then again over the same
  calendar with every event changed (the replacing path);
* while each upload runs, a colleague's one-event PUT into their own calendar, every
  ``--every`` seconds, and (ours only: Radicale has no mail) an SMTP delivery of a
  small message over an open connection from the trusted network, as often: the
  longest and the median time each took, against the same requests with nothing else
  running (idle).

Ours is the app as ``groupware serve`` runs it (one process: web, CalDAV and the SMTP
listener on one event loop) on a fresh SQLite file and a fresh PostgreSQL database;
the baseline runs without authentication (which only flatters it). The servers stay up
for the whole run; each round uploads into a new calendar, and the rounds take the
servers in turn (Radicale, SQLite, PostgreSQL; then the other way round), so a slow
spell of a shared machine falls on every side.

Run from the repository root::

    .venv/bin/python bench/caldav_upload.py [--db sqlite|postgresql|both]
        [--events 10000] [--rounds 3] [--every 0.2]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import re
import shutil
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

# bench/caldav.py (this folder comes first on the path, before the caldav library)
from caldav import (  # noqa: E402
    PASSWORD,
    calendar_text,
    make_events,
    one_event,
    pg_database,
    radicale_server,
    running,
    settings_env,
)
from handlers import HOST, exit_with_parent, free_port  # noqa: E402

PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "groupware_bench_caldav_upload"
DOMAIN = "bench.local"
ICS = {"Content-Type": "text/calendar"}
MKCALENDAR = '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"/>'
IDLE_PROBES = 5
HELD = re.compile(r"held the write lock ([0-9.]+) s")


@dataclasses.dataclass
class Server:
    name: str
    dav: str  # the DAV root, ending in /
    smtp_port: int | None  # None: no mail (the baseline)
    log: Path | None = None  # ours: the server's log, with the upload's lock holds

    def holds(self) -> list[float]:
        """How long each write transaction of an upload held the lock, as logged."""
        if self.log is None:
            return []
        return [float(m) for m in HELD.findall(self.log.read_text(errors="replace"))]


# -- the servers ---------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """Ours, as ``groupware serve`` runs it: web, CalDAV and SMTP in one process."""
    import uvicorn

    from groupware.app import create_app
    from groupware.settings import load_settings

    threading.Thread(target=exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    environment = {**settings_env(args.url, Path(args.data_dir)), "GROUPWARE_MAIL_DOMAIN": DOMAIN}
    settings = dataclasses.replace(
        load_settings(environment), smtp_host=HOST, smtp_port=args.smtp_port
    )
    # Each write transaction of an upload is logged with how long it held the lock.
    held = logging.getLogger("groupware.caldav.upload")
    held.setLevel(logging.DEBUG)
    held.addHandler(logging.StreamHandler())
    app = create_app(settings, run_smtp=True)
    options = {"host": HOST, "port": args.port, "log_level": "warning", "access_log": False}
    uvicorn.Server(uvicorn.Config(app, **options)).run()  # type: ignore[arg-type]


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
        role = session.scalar(sa.select(Role.id).where(Role.name == "staff"))
        for name in ("bench", "kolega"):
            user = create_user(
                session, UserIn(username=name, full_name=name.title(), role_ids=[role]),
                mail_domain=DOMAIN,
            )  # fmt: skip
            user.password_hash = hash_password(PASSWORD)
    database.dispose()


@contextlib.contextmanager
def ours(name: str, args: argparse.Namespace, work: Path) -> Iterator[Server]:
    data_dir = work / f"ours-{name}"
    data_dir.mkdir()
    with contextlib.ExitStack() as stack:
        if name == "sqlite":
            url = f"sqlite:///{data_dir / 'groupware.db'}"
        else:
            url = stack.enter_context(pg_database(args.pg_url, PG_BENCH_DB))
        prepare_ours(url, data_dir)
        port, smtp_port = free_port(), free_port()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "--url", url,
               "--data-dir", str(data_dir), "--port", str(port), "--smtp-port", str(smtp_port),
               "--parent-pid", str(os.getpid())]  # fmt: skip
        stack.enter_context(running(cmd, port, data_dir / "server.log", "/login"))
        dav = f"http://{HOST}:{port}/dav/"
        yield Server(f"groupware, {name}", dav, smtp_port, data_dir / "server.log")


@contextlib.contextmanager
def baseline(work: Path) -> Iterator[Server]:
    with radicale_server(work) as home:  # .../bench/
        yield Server("radicale (baseline)", home.removesuffix("bench/"), None)


# -- measuring -----------------------------------------------------------------------------


class Prober:
    """Runs ``probe`` every ``every`` seconds in a thread until stopped; keeps how long
    each took."""

    def __init__(self, probe: Callable[[int], None], every: float) -> None:
        self.probe = probe
        self.every = every
        self.times: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                self.probe(n)
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            self.times.append(time.perf_counter() - started)
            n += 1
            self._stop.wait(self.every)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(600)


@dataclasses.dataclass
class Waits:
    idle: float = 0.0  # median with nothing else running
    median: float = 0.0
    longest: float = 0.0
    count: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Result:
    server: str
    round: int
    new_s: float
    replace_s: float
    put: Waits
    mail: Waits | None
    held: float | None  # the longest write-lock hold of the upload's transactions


class Colleague:
    """The one-event PUTs (and the mail) of a colleague while an upload runs."""

    def __init__(self, server: Server, tag: str) -> None:
        self.server = server
        self.tag = tag
        self.http = httpx.Client(auth=("kolega", PASSWORD), timeout=600)
        self.cal = f"{server.dav}kolega/cal-{tag}/"
        self.http.request("PROPFIND", f"{server.dav}kolega/", headers={"Depth": "0"})
        answer = self.http.request("MKCALENDAR", self.cal, content=MKCALENDAR)
        if answer.status_code != 201:
            raise RuntimeError(f"MKCALENDAR {answer.status_code}: {answer.text[:200]}")
        self.smtp: smtplib.SMTP | None = None
        if server.smtp_port is not None:
            self.smtp = smtplib.SMTP(HOST, server.smtp_port, timeout=600)

    def put(self, n: int) -> None:
        when = time_of(n)
        answer = self.http.put(
            f"{self.cal}{self.tag}-{n}.ics",
            content=one_event(f"{self.tag}-{n}@kolega", when),
            headers=ICS,
        )
        if answer.status_code not in (201, 204):
            raise RuntimeError(f"PUT {answer.status_code}: {answer.text[:200]}")

    def mail(self, n: int) -> None:
        assert self.smtp is not None
        text = (
            f"From: skener@{DOMAIN}\r\nTo: bench@{DOMAIN}\r\nSubject: Ponuda {n}\r\n\r\nPozdrav\r\n"
        )
        self.smtp.sendmail(f"skener@{DOMAIN}", [f"bench@{DOMAIN}"], text)

    def close(self) -> None:
        self.http.close()
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()


def time_of(n: int) -> Any:
    import datetime as dt

    return dt.datetime(2027, 6, 1, 8, tzinfo=dt.UTC) + dt.timedelta(hours=n)


def idle(probe: Callable[[int], None], first: int) -> float:
    probe(first - 1)  # warm: a login remembered, connections open
    times = []
    for n in range(first, first + IDLE_PROBES):
        started = time.perf_counter()
        probe(n)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def one_round(server: Server, events: list[tuple[str, str]], number: int, every: float) -> Result:
    tag = f"r{number}"
    holds_before = len(server.holds())
    colleague = Colleague(server, tag)
    owner = httpx.Client(auth=("bench", PASSWORD), timeout=1200)
    try:
        owner.request("PROPFIND", f"{server.dav}bench/", headers={"Depth": "0"})
        cal = f"{server.dav}bench/upload-{tag}/"
        if owner.request("MKCALENDAR", cal, content=MKCALENDAR).status_code != 201:
            raise RuntimeError("MKCALENDAR failed")
        put_idle = idle(colleague.put, 100_000)
        mail_idle = idle(colleague.mail, 100_000) if colleague.smtp else 0.0
        first = calendar_text(events)
        changed = calendar_text(
            [(uid, text.replace("SUMMARY:", "SUMMARY:Promijenjeno ")) for uid, text in events]
        )
        seconds = []
        puts = Prober(colleague.put, every)
        mails = Prober(colleague.mail, every) if colleague.smtp else None
        with puts, mails or contextlib.nullcontext():
            for body in (first, changed):
                started = time.perf_counter()
                answer = owner.put(cal, content=body, headers=ICS)
                seconds.append(time.perf_counter() - started)
                if answer.status_code not in (201, 204):
                    raise RuntimeError(f"upload: {answer.status_code} {answer.text[:300]}")
        listed = owner.request("PROPFIND", cal, headers={"Depth": "1"}).text.count("getetag")
        if listed // 2 - 1 != len(events):
            raise RuntimeError(f"the calendar holds {listed // 2 - 1} items, not {len(events)}")
        holds = server.holds()[holds_before:]
        return Result(
            server.name, number, seconds[0], seconds[1],
            waits(puts, put_idle), waits(mails, mail_idle) if mails else None,
            max(holds) if holds else None,
        )  # fmt: skip
    finally:
        owner.close()
        colleague.close()


def waits(prober: Prober, idle_seconds: float) -> Waits:
    times = prober.times or [0.0]
    return Waits(
        idle_seconds, statistics.median(times), max(times), len(prober.times), prober.errors
    )


# -- the run ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=float, default=0.2, help="seconds between probes")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", PG_DEFAULT_URL))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--smtp-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    events = make_events(args.events)
    work = Path(tempfile.mkdtemp(prefix="bench-caldav-upload-"))
    results: list[Result] = []
    try:
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(baseline(work))]
            names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
            servers += [stack.enter_context(ours(name, args, work)) for name in names]
            for number in range(1, args.rounds + 1):
                order = servers if number % 2 else servers[::-1]
                for server in order:
                    print(f"round {number}: {server.name} ...", file=sys.stderr)
                    results.append(one_round(server, events, number, args.every))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(report(results, args))
    return 0


def report(results: list[Result], args: argparse.Namespace) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f}"

    lines = [
        f"{args.events:,} events in one PUT of a whole calendar; {args.rounds} rounds, servers "
        "in turn; a colleague's one-event PUT and an SMTP delivery every "
        f"{args.every} s during the uploads (idle: the same with nothing else running).",
        "",
        f"{'server':22} {'round':>5} {'new s':>7} {'replace s':>9} {'PUT idle':>8} "
        f"{'PUT p50':>7} {'PUT max':>7} {'n':>4} {'mail idle':>9} {'mail p50':>8} "
        f"{'mail max':>8} {'n':>4} {'lock max':>8}   (ms)",
    ]
    for r in results:
        mail = r.mail
        mail_cols = (
            f"{ms(mail.idle):>9} {ms(mail.median):>8} {ms(mail.longest):>8} {mail.count:>4}"
            if mail
            else f"{'-':>9} {'-':>8} {'-':>8} {'-':>4}"
        )
        lines.append(
            f"{r.server:22} {r.round:>5} {r.new_s:7.1f} {r.replace_s:9.1f} "
            f"{ms(r.put.idle):>8} {ms(r.put.median):>7} {ms(r.put.longest):>7} "
            f"{r.put.count:>4} {mail_cols} {ms(r.held) if r.held is not None else '-':>8}"
        )
    lines += ["", "medians over the rounds; ratio = ours / the baseline's median upload time:"]
    names = list(dict.fromkeys(r.server for r in results))
    base = [r for r in results if r.server == names[0]]
    base_new = statistics.median(r.new_s for r in base)
    base_replace = statistics.median(r.replace_s for r in base)
    for name in names:
        mine = [r for r in results if r.server == name]
        new = statistics.median(r.new_s for r in mine)
        replace = statistics.median(r.replace_s for r in mine)
        longest_put = max(r.put.longest for r in mine)
        mails = [r.mail for r in mine if r.mail]
        longest_mail = f"{ms(max(m.longest for m in mails))} ms" if mails else "-"
        helds = [r.held for r in mine if r.held is not None]
        lock = f"  longest lock hold {ms(max(helds))} ms" if helds else ""
        lines.append(
            f"  {name:22} new {new:6.1f} s ({new / base_new:4.2f})  replace {replace:6.1f} s "
            f"({replace / base_replace:4.2f})  longest PUT wait {ms(longest_put)} ms  "
            f"longest mail wait {longest_mail}{lock}"
        )
    errors = [e for r in results for w in (r.put, r.mail) if w for e in w.errors]
    if errors:
        lines += ["", f"{len(errors)} probe errors, e.g.:", *sorted(set(errors))[:5]]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
