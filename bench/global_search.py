"""The header's global search and the partner list's search and filters at 1,000,000
partners, viewed by a territory-scoped rep, beside a static file of the same server.

Target (issue 17): p95 under 150 ms for the global search (as the user types, and its
results page) and for the partner list's search, city filter and later pages.

The database is the one of ``bench/partner_list.py`` (a million partners with valid
OIBs and Croatian addresses, reps by the real assignment table; the viewer ``rep``
covers the territory "Zagreb", about 10% of them), plus what the other search
providers look through: 250,000 persons, 100,000 deals and ERP documents, 50,000 tasks
and some mail for the rep. Building it takes several minutes, so it is kept (a SQLite
file under ``--data-dir`` and the PostgreSQL database ``groupware_bench_global_search``)
and used again by later runs: a run migrates it to the code's revision
(``groupware.migrate.upgrade``, as an upgrade of a real install would) and measures.
``--rebuild`` builds it anew; ``--drop`` removes it.

The real app is served as ``groupware serve`` serves it (``bench/partner_list.py``'s
server: one process per core), and each URL is driven by ``--connections`` keep-alive
clients for ``--seconds`` per round, the URLs in turn within a round and in reverse
order in the next, for ``--rounds`` rounds: a slow minute of the shared machine falls
on every URL alike. Each figure is the median of the rounds' p95, with the lowest and
highest beside it. The same-run baselines: ``/static/app.css`` and the same URL for an
administrator (scope "all": no access filter). "1 client" is the median of requests
sent one at a time (the cost without queueing). The global search "as you type" sends
what htmx sends for the header box (``HX-Request``), each request one of the prefixes
a person types on the way to the word.

Run from the repository root::

    .venv/bin/python bench/global_search.py [--db sqlite|postgresql|both]
        [--partners 1000000] [--connections 32] [--seconds 4] [--rounds 3]
        [--only WORD] [--explain] [--rebuild] [--drop]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import decimal
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import partner_list as pl  # noqa: E402
from handlers import HOST, PhaseResult, run_phase  # noqa: E402

from groupware.accounts.models import User  # noqa: E402
from groupware.areas import install  # noqa: E402
from groupware.crm import reference  # noqa: E402
from groupware.crm.models import Document, Person  # noqa: E402
from groupware.deals.models import Deal  # noqa: E402
from groupware.migrate import upgrade  # noqa: E402
from groupware.phases.models import ProcessType  # noqa: E402
from groupware.tasks.models import Task  # noqa: E402

PG_BENCH_DB = "groupware_bench_global_search"  # --pg-db
TARGET_P95_MS = 150.0
PERSONS, DEALS, DOCUMENTS, TASKS, MAILS = 250_000, 100_000, 100_000, 50_000, 300
CHUNK = 10_000


def _typing(word: str, start: int = 3) -> list[str]:
    """The prefixes of ``word`` a person types on the way to it (from ``start`` letters)."""
    return [word[:n] for n in range(start, len(word) + 1)]


@dataclass(frozen=True)
class Url:
    what: str
    paths: tuple[str, ...]  # one of them per request
    htmx: bool = False

    @property
    def shown(self) -> str:
        return self.paths[-1] if len(self.paths) == 1 else f"{self.paths[-1]} (typed)"


def _q(path: str, **params: Any) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}"


URLS = [
    Url("static", ("/static/app.css",)),
    Url("search: typing promet", tuple(_q("/search", q=p) for p in _typing("promet")), htmx=True),
    Url(
        "search: typing učka, cakovec",
        tuple(_q("/search", q=p) for p in (*_typing("učka"), *_typing("ucka"), "računov")),
        htmx=True,
    ),
    Url("search: two words", (_q("/search", q="adria agro"),), htmx=True),
    Url("search: results page", (_q("/search", q="promet"),)),
    Url("list", ("/partners",)),
    Url("list: search", (_q("/partners", q="promet"),)),
    Url("list: search, diacritics", (_q("/partners", q="učka"),)),
    Url("list: city", (_q("/partners", city="Sesvete"),)),
    Url("list: city, page 3", (_q("/partners", city="Sesvete", offset=100),)),
    Url("list: page 3", (_q("/partners", offset=100),)),
    Url("list: group", ("/partners?group_id=2",)),
]


# -- the kept database --------------------------------------------------------------------


def data_dir_of(args: argparse.Namespace, name: str) -> Path:
    return Path(args.data_dir) / name


@contextlib.contextmanager
def kept_database(name: str, args: argparse.Namespace) -> Iterator[pl.Db]:
    """The kept database of ``name``, built first when missing (or with ``--rebuild``)."""
    data_dir = data_dir_of(args, name)
    base = sa.make_url(args.pg_url).set(drivername="postgresql+psycopg")
    fresh = args.rebuild or not (data_dir / "built").exists()
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    if name == "sqlite":
        url = f"sqlite:///{data_dir / 'groupware.db'}"
    else:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": args.pg_db}
            ).scalar()
            if fresh or not exists:
                fresh = True
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{args.pg_db}"'))
        admin.dispose()
        url = base.set(drivername="postgresql", database=args.pg_db).render_as_string(False)
    target = pl.Db(name, url, data_dir)
    try:
        target.database = pl.Database(pl.settings_for(url, data_dir))
        started = time.monotonic()
        upgrade(target.db)
        migrated = time.monotonic() - started
        if fresh:
            print(f"{name}: building {args.partners:,} partners and the rest ...", file=sys.stderr)
            build(target, args)
            (data_dir / "built").write_text(f"{args.partners}\n")
        elif migrated > 1:
            print(f"{name}: migrating the kept database took {migrated:.0f} s", file=sys.stderr)
        yield target
    finally:
        if target.database is not None:
            target.database.dispose()


def drop(args: argparse.Namespace) -> None:
    shutil.rmtree(args.data_dir, ignore_errors=True)
    admin = sa.create_engine(
        sa.make_url(args.pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)'))
    admin.dispose()


def build(target: pl.Db, args: argparse.Namespace) -> None:
    started = time.monotonic()
    users = pl.make_people(target)
    pl.load_partners(target, args.partners)
    load_others(target, users, args.partners)
    if target.name == "postgresql":
        with target.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    target.load_seconds = time.monotonic() - started


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_others(target: pl.Db, users: dict[str, int], partners: int) -> None:
    """Persons, deals, documents and tasks of random partners (Core inserts: the
    columns' defaults apply), and some mail for the rep through the SMTP path's store."""
    rng = random.Random(17)
    reps = [users[n] for n in users if n != "ana"]
    words = reference.COMPANY_WORDS
    today = dt.date.today()
    with target.db.engine.begin() as conn:
        type_id = conn.execute(
            sa.insert(ProcessType.__table__).values(process="deal", direction="sale", name="Bench")
        ).inserted_primary_key[0]

        def persons() -> Iterator[dict[str, Any]]:
            for n in range(PERSONS):
                first, last = rng.choice(reference.FIRST_NAMES), rng.choice(reference.LAST_NAMES)
                yield {
                    "partner_id": 1 + (n * 4) % partners,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}.{n}@example.hr".lower(),
                }

        def deals() -> Iterator[dict[str, Any]]:
            for n in range(DEALS):
                kind = rng.choice(("ponuda", "nabava", "servis"))
                yield {
                    "title": f"{rng.choice(words)} {kind} {n}",
                    "partner_id": rng.randint(1, partners),
                    "type_id": type_id,
                    "owner_id": rng.choice(reps),
                    "amount": decimal.Decimal(rng.randint(100, 100_000)),
                    "started_on": today - dt.timedelta(days=rng.randint(0, 700)),
                }

        def documents() -> Iterator[dict[str, Any]]:
            for n in range(DOCUMENTS):
                amount = decimal.Decimal(rng.randint(100, 50_000))
                yield {
                    "kind": rng.choice(("offer", "order", "invoice")),
                    "number": f"{2020 + n % 7}-{n:07d}",
                    "date": today - dt.timedelta(days=rng.randint(0, 700)),
                    "partner_id": rng.randint(1, partners),
                    "net_amount": amount,
                    "gross_amount": amount * decimal.Decimal("1.25"),
                }

        def tasks() -> Iterator[dict[str, Any]]:
            for n in range(TASKS):
                yield {
                    "title": f"Nazvati {rng.choice(words)} {n}",
                    "owner_id": rng.choice(reps),
                    "created_by_id": rng.choice(reps),
                    "partner_id": rng.randint(1, partners),
                }

        for table, rows in (
            (Person.__table__, persons()),
            (Deal.__table__, deals()),
            (Document.__table__, documents()),
            (Task.__table__, tasks()),
        ):
            for chunk in _chunks(rows):
                conn.execute(sa.insert(table), chunk)
    load_mail(target, users)


def load_mail(target: pl.Db, users: dict[str, int]) -> None:
    from groupware.mail.delivery import deliver

    words = reference.COMPANY_WORDS
    rng = random.Random(5)
    with target.db.transaction(actor_id=None, channel="cli") as session:
        rep, colleague = session.get_one(User, users["rep"]), session.get_one(User, users["ana"])
        for n in range(MAILS):
            subject = f"Ponuda {rng.choice(words)} {rng.choice(words)} {n}"
            raw = (
                f"From: Ana <{colleague.email}>\r\nTo: Rep <{rep.email}>\r\n"
                f"Subject: {subject}\r\nMessage-ID: <bench-{n}@bench.local>\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\nU prilogu ponuda.\r\n"
            ).encode()
            deliver(
                session,
                raw,
                envelope_from=colleague.email,
                envelope_to=[rep.email],
                recipients=[rep],
                sender=colleague,
                mail_domain="bench.local",
            )


def users_of(target: pl.Db) -> dict[str, int]:
    with target.db.engine.connect() as conn:
        return {name: uid for name, uid in conn.execute(sa.select(User.username, User.id))}


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Measure:
    database: str
    url: Url
    viewer: str
    rounds: list[PhaseResult] = field(default_factory=list)
    single: list[float] = field(default_factory=list)
    status: int = 200

    def p95s(self) -> list[float]:
        return [r.normal.percentile_ms(95) for r in self.rounds if r.normal.count]

    def rps(self) -> list[float]:
        return [r.rps for r in self.rounds if r.normal.count]

    @property
    def errors(self) -> int:
        return sum(sum(r.normal.errors.values()) for r in self.rounds)


def request(path: str, cookie: str, *, htmx: bool) -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept-Language: hr\r\n"
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    if htmx:
        head += "HX-Request: true\r\nHX-Target: search-results\r\n"
    return (head + "\r\n").encode()


def measure(target: pl.Db, port: int, args: argparse.Namespace) -> list[Measure]:
    cookies = {"rep": pl.log_in(port, "rep"), "admin": pl.log_in(port, "ana")}
    plan: list[tuple[Measure, list[bytes]]] = []
    for url in URLS:
        if args.only and url.what != "static" and args.only not in url.what:
            continue
        for viewer in ("-",) if url.what == "static" else args.viewers.split(","):
            m = Measure(target.name, url, viewer)
            cookie = cookies.get(viewer, "")
            requests = [request(p, cookie, htmx=url.htmx) for p in url.paths]
            m.status, m.single = pl.one_by_one(port, requests[-1], args.single)
            if m.status != 200:
                print(f"  {viewer} {url.shown}: HTTP {m.status}, not measured", file=sys.stderr)
            else:
                plan.append((m, requests))
    for round_no in range(args.rounds):
        order = plan if round_no % 2 == 0 else plan[::-1]
        for m, requests in order:
            warmup = args.warmup if round_no == 0 else 0.5
            m.rounds.append(run_phase(port, requests, args.connections, warmup, args.seconds))
        print(f"{target.name}: round {round_no + 1} of {args.rounds} done", file=sys.stderr)
    return [m for m, _r in plan]


def _spread(values: Sequence[float], digits: int = 1) -> str:
    if not values:
        return "-"
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def table(measures: Sequence[Measure]) -> str:
    headers = [
        "database", "what", "URL", "viewer", "req/s", "p95 ms (min-max)", "1 client ms",
        "static p95 ms", "p95 < 150",
    ]  # fmt: skip
    statics = {m.database: m for m in measures if m.url.what == "static"}
    body = []
    for m in measures:
        static = statics.get(m.database)
        p95 = statistics.median(m.p95s()) if m.p95s() else float("nan")
        body.append([
            m.database,
            m.url.what,
            m.url.shown,
            m.viewer,
            _spread(m.rps(), 0),
            _spread(m.p95s()),
            f"{statistics.median(m.single):.1f}" if m.single else "-",
            _spread(static.p95s()) if static else "-",
            "yes" if p95 < TARGET_P95_MS else "NO",
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 4 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    previous = None
    for row in body:
        if previous and previous != row[0]:
            lines.append("")
        previous = row[0]
        lines.append(fmt(row))
    return "\n".join(lines)


# -- looking inside ---------------------------------------------------------------------------


def explain(target: pl.Db, users: dict[str, int]) -> str:
    """Times (median of 5, one at a time) and plans of the rep's queries, without the app."""
    from groupware.access.policy import load_who
    from groupware.crm.lists import PARTNERS
    from groupware.lists import engine
    from groupware.lists.shape import read
    from groupware.search import TYPING_LIMIT, Terms
    from groupware.search.service import providers

    cases = [
        ("list: search", [("q", "promet")]),
        ("list: rare search", [("q", "adria agro")]),
        ("list: city", [("city", "Sesvete")]),
        ("list: city, page 3", [("city", "Sesvete"), ("offset", "100")]),
        ("list: page 3", [("offset", "100")]),
    ]
    prefix = "EXPLAIN (ANALYZE)" if target.name == "postgresql" else "EXPLAIN QUERY PLAN"
    lines = []
    with target.db.transaction(actor_id=None, channel="cli", write=False) as session:
        who = load_who(session, session.get_one(User, users["rep"]))
        statements = []
        for label, pairs in cases:  # as the lists engine reads a page (engine.page)
            shape = read(PARTNERS, pairs)
            few = PARTNERS.few(session, shape.filters) if PARTNERS.few else None
            params: dict[str, Any] = {"offset": shape.offset} | (
                {"few": few} if few is not None else {}
            )
            statement = engine.page_statement(shape, who, few=few is not None)
            statements.append((label, statement, params))
        for text in ("promet", "učka", "adria agro", "horvat"):
            for provider in providers():
                query = provider.rows(session, who, Terms.of(text)).limit(TYPING_LIMIT + 1)
                statements.append((f"search {provider.name} {text!r}", query, {}))
        for label, query, params in statements:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                session.execute(query, params).all()
                times.append((time.perf_counter() - started) * 1000)
            lines.append(f"{target.name}: {label}: {statistics.median(times):.1f} ms")
            lines += ["   " + line for line in _plan(session, query, params, prefix)]
    return "\n".join(lines)


def _plan(session: Any, query: Any, params: dict[str, Any], prefix: str) -> list[str]:
    """The plan of ``query`` as the driver ran it (its SQL and parameters caught on the
    way, then run again behind ``prefix``)."""
    seen: list[tuple[str, Any]] = []

    def catch(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", catch)
    try:
        session.execute(query, params).all()
    finally:
        sa.event.remove(engine, "before_cursor_execute", catch)
    statement, parameters = seen[-1]
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute(f"{prefix} {statement}", parameters)
    return [" | ".join(str(c) for c in row) for row in cursor.fetchall()]


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per URL")
    parser.add_argument("--single", type=int, default=7, help="requests sent one at a time")
    parser.add_argument("--viewers", default="rep,admin", help="rep, admin or both")
    parser.add_argument("--only", default="", help="measure only the URLs whose name has this")
    parser.add_argument("--explain", action="store_true", help="print the rep's query plans")
    parser.add_argument("--rebuild", action="store_true", help="build the kept databases anew")
    parser.add_argument("--drop", action="store_true", help="remove the kept databases and stop")
    parser.add_argument(
        "--data-dir",
        default=str(Path(tempfile.gettempdir()) / "groupware-bench-global-search"),
        help="where the kept SQLite database and the servers' data directories live",
    )
    parser.add_argument("--pg-db", default=PG_BENCH_DB, help="the kept PostgreSQL database")
    parser.add_argument("--threads", type=int, default=0, help="GROUPWARE_WEB_THREADS")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", pl.PG_DEFAULT_URL),
        help="maintenance URL",
    )
    args = parser.parse_args(argv)
    args.supervisor = "reuseport"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.drop:
        drop(args)
        return 0
    install()
    started, load_before = time.monotonic(), os.getloadavg()[0]
    measures: list[Measure] = []
    notes: list[str] = []
    for name in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        with kept_database(name, args) as target:
            users = users_of(target)
            if target.load_seconds:
                notes.append(f"{name}: built in {target.load_seconds:.0f} s.")
            if args.explain:
                notes.append(explain(target, users))
            target.db.dispose()
            with pl.running_server(target, args) as server:
                print(f"{name}: measuring ...", file=sys.stderr)
                measures += measure(target, server.port, args)  # type: ignore[attr-defined]
    print()
    if measures:
        print(table(measures))
        print()
    print(
        f"Load: {args.connections} keep-alive connections per URL, {args.rounds} interleaved "
        f"rounds of {args.seconds:g} s; {args.workers} server process(es). p95: median of the "
        "rounds (lowest-highest). rep: territory scope (10% of the partners); admin: scope "
        f'all. "1 client ms": median of {args.single} requests sent one at a time.'
    )
    errors = [f"{m.database} {m.viewer} {m.url.shown}: {m.errors}" for m in measures if m.errors]
    if errors:
        print("Errors: " + "; ".join(errors))
    for note in notes:
        print(note)
    print(
        f"\nTotal time {time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs; 1-min load "
        f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
