"""The partner list at 1,000,000 partners, viewed by a territory-scoped rep.

Target (issue 3): ``GET /partners`` for a sales rep whose territory holds ~10% of a
million partners answers with p95 under 150 ms at 32 concurrent connections.

For each database (a fresh SQLite file and a fresh PostgreSQL database) the script

1. migrates the empty database (``groupware.migrate.upgrade``) and creates, through the
   services, an administrator, the rep ``rep``, a colleague and one rep per other
   territory, ten territories over the Croatian counties (two counties uncovered) and
   the assignment table: territory "Zagreb" (Grad Zagreb) goes to (colleague, rep), so
   ``rep`` is a further rep of its partners and covers the territory;
2. writes 1,000,000 partners with valid OIBs, Croatian addresses, reps by the real
   assignment :class:`Matcher`, their further-rep rows and some tags, fast: PostgreSQL
   ``COPY`` and SQLite ``executemany`` on the raw connection, indexes dropped during
   the load and built again after it (PostgreSQL is then ``VACUUM ANALYZE``-d, as
   autovacuum would; SQLite gets no ``ANALYZE``, as an install gets none);
3. starts the real app (``create_app(settings)`` under uvicorn, as ``groupware serve
   --role web`` runs it, in a subprocess), logs in through the login form as the rep
   and as the administrator, and drives each URL with ``--connections`` keep-alive
   clients (the asyncio load generator of ``bench/handlers.py``).

Measured, for the rep: the list (``/partners``), a search (``?q=promet``), a town of
the territory (``?city=Sesvete``), page 3 (``?offset=100``), the list sorted newest
first (``?sort=-created``, an index) and by rep (``?sort=rep``, a sort of what the access
filter leaves), and the list through
the JSON API (``/api/v1/partners``: the same ``partner_query``, paged by id, no HTML).
The same-run baselines: the same URL for the administrator (scope "all": no access
filter) and ``/static/app.css``. "1 client" is the median of requests sent one at a
time: the cost of one request without queueing.

Run from the repository root (about 4 minutes per database)::

    .venv/bin/python bench/partner_list.py [--db sqlite|postgresql|both]
        [--partners 1000000] [--connections 32] [--seconds 6] [--explain] [--profile]
        [--compare-supervisors reuseport,uvicorn --rounds 6] [--keep] [--reuse]

``--compare-supervisors reuseport,uvicorn`` measures instead how several processes
share the port (``--workers``, one per core by default): the rep's list, the
administrator's and the static file under each option in turn, ``--rounds`` rounds in
rotating order, and prints the median and range of each figure, the ratio to the first
option's figure of the same round, and how the rep's 32 connections fell on the processes.
``--reuse`` measures a PostgreSQL database a run with ``--keep`` left behind.

``--explain`` times the rep's queries without the web app (against the administrator's
and against the further-rep check done as a per-row index probe) and prints the plan
of the list; ``--profile`` samples the server with py-spy (when installed; or set
``PY_SPY``) during the rep's list and prints where the time goes; ``--keep`` leaves
the databases behind for a closer look.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import itertools
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from handlers import HOST, PhaseResult, exit_with_parent, free_port, run_phase  # noqa: E402

from groupware.access.models import Share  # noqa: E402
from groupware.access.policy import load_who  # noqa: E402
from groupware.accounts.credentials import create_credential  # noqa: E402
from groupware.accounts.models import Role, User  # noqa: E402
from groupware.accounts.passwords import hash_password  # noqa: E402
from groupware.accounts.users import UserIn, create_user  # noqa: E402
from groupware.areas import install  # noqa: E402
from groupware.crm import reference  # noqa: E402
from groupware.crm.models import (  # noqa: E402
    AssignmentRule,
    AssignmentRuleRep,
    County,
    Partner,
    PartnerGroup,
    PartnerRep,
    PartnerTag,
    Tag,
)
from groupware.crm.normalize import city_key, dedup_key, search_text  # noqa: E402
from groupware.crm.partners import PartnerFilter, partner_query  # noqa: E402
from groupware.crm.territories import assignment  # noqa: E402
from groupware.crm.territories import service as territories  # noqa: E402
from groupware.db import Database  # noqa: E402
from groupware.migrate import upgrade  # noqa: E402
from groupware.settings import load_settings  # noqa: E402

PASSWORD = "bench password 1234"  # noqa: S105 - a throw-away database
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "groupware_bench_partner_list"
TARGET_P95_MS = 150.0
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - throw-away
CHUNK = 20_000
# territory name, counties; partners per territory: 10% each, the last 5%, 5% uncovered
TERRITORIES = [
    ("Zagreb", ("HR-21",)),
    ("Zagrebačka", ("HR-01", "HR-02")),
    ("Split", ("HR-17",)),
    ("Zadar i Šibenik", ("HR-13", "HR-15")),
    ("Jug", ("HR-19", "HR-09")),
    ("Osijek", ("HR-14", "HR-10")),
    ("Posavina", ("HR-16", "HR-12", "HR-11")),
    ("Rijeka", ("HR-08",)),
    ("Istra i Karlovac", ("HR-18", "HR-04")),
    ("Sjever", ("HR-05", "HR-20", "HR-06")),
]
UNCOVERED = ("HR-03", "HR-07")
SHARES = (10,) * 9 + (5, 5)  # percent per territory, then uncovered
SEARCH, CITY = "promet", "Sesvete"
URLS = [  # what, page, the same through the API
    ("list", "/partners", "/api/v1/partners"),
    ("search", f"/partners?q={SEARCH}", None),
    ("city", f"/partners?city={CITY}", None),
    ("page 3", "/partners?offset=100", None),
    # Sorted by a column of the shaped list (groupware.lists): one an index walks (the
    # newest first), and one of another table (the rep's name) that must sort what the
    # access filter leaves.
    ("newest first", "/partners?sort=-created", None),
    ("by rep", "/partners?sort=rep", None),
]


# -- data -----------------------------------------------------------------------------


@dataclass
class Db:
    name: str
    url: str
    data_dir: Path
    database: Database | None = None
    cookies: dict[str, str] = field(default_factory=dict)  # viewer -> Cookie header
    tokens: dict[str, str] = field(default_factory=dict)  # viewer -> API token
    load_seconds: float = 0.0

    @property
    def db(self) -> Database:
        assert self.database is not None
        return self.database


def settings_for(url: str, data_dir: Path, threads: int | None = None) -> Any:
    env = {
        "GROUPWARE_DATABASE_URL": url,
        "GROUPWARE_DATA_DIR": str(data_dir),
        "GROUPWARE_SECRET_KEY": SECRET,
        "GROUPWARE_LOG_LEVEL": "warning",
    }
    if threads:
        env["GROUPWARE_WEB_THREADS"] = str(threads)
    return load_settings(env)


@contextlib.contextmanager
def fresh_database(name: str, args: argparse.Namespace) -> Iterator[Db]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-partner-list-{name}-"))
    admin = None
    if name == "sqlite":
        url = f"sqlite:///{data_dir / 'groupware.db'}"
    else:
        base = sa.make_url(args.pg_url).set(drivername="postgresql+psycopg")
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        if not args.reuse:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{PG_BENCH_DB}"'))
        url = base.set(drivername="postgresql", database=PG_BENCH_DB).render_as_string(False)
    target = Db(name, url, data_dir)
    try:
        target.database = Database(settings_for(url, data_dir))
        upgrade(target.db)
        yield target
    finally:
        if target.database is not None:
            target.database.dispose()
        if args.keep or args.reuse:
            print(f"{name}: kept {url} (data dir {data_dir})", file=sys.stderr)
        elif admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)'))
        if admin is not None:
            admin.dispose()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def make_people(target: Db) -> dict[str, int]:
    """Users, territories and the assignment table, through the services."""
    password_hash = hash_password(PASSWORD)
    with target.db.transaction(actor_id=None, channel="cli") as session:
        roles = {r.name: r.id for r in session.scalars(sa.select(Role))}
        users: dict[str, User] = {}
        names = ["ana", "rep", "colleague"] + [f"rep{i}" for i in range(2, len(TERRITORIES) + 1)]
        for name in names:
            role = "admin" if name == "ana" else "sales"
            data = UserIn(username=name, full_name=name.title(), role_ids=[roles[role]])
            user = create_user(session, data, mail_domain="bench.local")
            user.password_hash = password_hash
            users[name] = user
        codes = {c.code: c.id for c in session.scalars(sa.select(County))}
        for index, (name, counties) in enumerate(TERRITORIES, 1):
            areas = [territories.AreaIn(county_id=codes[c]) for c in counties]
            saved = territories.save_territory(
                session, None, territories.TerritoryIn(name=name, areas=areas)
            )
            reps = ["colleague", "rep"] if index == 1 else [f"rep{index}"]
            rule = territories.RuleIn(territory_id=saved.id, rep_ids=[users[r].id for r in reps])
            territories.save_rule(session, None, rule)
        for group in ("Veleprodaja", "Maloprodaja", "HoReCa", "Proizvodnja"):
            session.add(PartnerGroup(name=group))
        for viewer in ("rep", "ana"):
            target.tokens[viewer] = create_credential(
                session, users[viewer], kind="api_token", name="bench"
            )[0]
        session.flush()
        return {name: user.id for name, user in users.items()}


def oib_of(number: int) -> str:
    digits = f"{number:010d}"
    remainder = 10
    for digit in digits:
        remainder = (remainder + ord(digit) - 48) % 10 or 10
        remainder = remainder * 2 % 11
    check = 11 - remainder
    return digits + str(0 if check == 10 else check)


COLUMNS = (
    "id", "kind", "name", "name_search", "dedup_key", "oib", "vat_id", "group_id", "status",
    "street", "postal_code", "city", "city_search", "county_id", "country", "phones", "email",
    "emails", "web", "notes", "owner_id", "territory_id", "assignment_rule_id", "manual_assignment",
    "created_at", "updated_at",
)  # fmt: skip


def partner_rows(
    session: Any, count: int, rng: random.Random
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[int, int, str]], list[tuple[int, int]]]]:
    """Chunks of (partner rows, further-rep rows, tag rows), reps by the real matcher."""
    matcher = assignment.load_matcher(session)
    codes = {c.code: c.id for c in session.scalars(sa.select(County))}
    groups = list(session.scalars(sa.select(PartnerGroup.id)))
    cities: list[list[reference.CityRef]] = [
        [c for c in reference.CITIES if c.county_code in counties] for _n, counties in TERRITORIES
    ]
    cities.append([c for c in reference.CITIES if c.county_code in UNCOVERED])
    words, forms = reference.COMPANY_WORDS, reference.LEGAL_FORMS
    names = [f"{a} {b} {f}" for a, b in itertools.permutations(words, 2) for f in forms[:3]]
    rng.shuffle(names)
    searchable = [(n, search_text(n)) for n in names]
    now = dt.datetime.now(dt.UTC)
    pid = 0
    while pid < count:
        rows: list[tuple[Any, ...]] = []
        reps: list[tuple[int, int, str]] = []
        for _ in range(min(CHUNK, count - pid)):
            pid += 1
            pool = cities[rng.choices(range(len(cities)), weights=SHARES)[0]]
            city = rng.choices(pool, weights=[c.weight for c in pool])[0]
            name, name_search = searchable[pid % len(searchable)]
            group = rng.choice(groups) if rng.random() < 0.8 else None
            county = codes[city.county_code]
            match = matcher.match("HR", county, search_text(city.name), city.postal_code, group)
            created = now - dt.timedelta(minutes=pid)
            slug = name_search.replace(" ", "-")
            rows.append((
                pid, "company", name, name_search, dedup_key(name, city.name), oib_of(10**9 + pid),
                "", group, "active", f"Ilica {pid % 300 + 1}", city.postal_code, city.name,
                city_key(city.name), county,
                "HR", "+385 1 234 5678", f"info@{slug}.hr", "", "", "", match.owner_id,
                match.territory_id, match.rule_id, False, created, created,
            ))  # fmt: skip
            reps.extend((pid, user, "rule") for user in match.rep_ids[1:])
        tags = [(pid, 1 + pid % 3) for pid, *_ in rows if pid % 10 == 0]
        yield rows, reps, tags


def load_partners(target: Db, count: int) -> None:
    """Write ``count`` partners the fast way, indexes built after the rows are in."""
    started = time.monotonic()
    rng = random.Random(1_000_000)
    engine = target.db.engine
    tables = [Partner.__table__, PartnerRep.__table__, PartnerTag.__table__]
    inspector = sa.inspect(engine)
    dropped = [
        index
        for table in tables
        for index in table.indexes  # type: ignore[attr-defined]
        if index.name in {i["name"] for i in inspector.get_indexes(table.name)}
    ]
    with engine.begin() as conn:
        tag_ids = [
            conn.execute(sa.insert(Tag.__table__).values(name=name)).inserted_primary_key[0]
            for name in ("vip", "novi kupac", "izvoz")
        ]
        assert tag_ids == [1, 2, 3]
        for index in dropped:
            conn.execute(sa.text(f'DROP INDEX "{index.name}"'))
    with target.db.transaction(actor_id=None, channel="cli", write=False) as session:
        chunks = partner_rows(session, count, rng)
        if target.name == "sqlite":
            _sqlite_load(engine, chunks)
        else:
            _postgres_load(engine, chunks)
    with engine.begin() as conn:
        for index in dropped:
            index.create(conn)
    if target.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Rows came with their ids: move the sequence past them.
            conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('partners', 'id'), :n)"), {"n": count}
            )
            conn.execute(sa.text("VACUUM ANALYZE partners, partner_reps, partner_tags"))
    target.load_seconds = time.monotonic() - started


def _sqlite_load(engine: sa.Engine, chunks: Iterator[Any]) -> None:
    path = engine.url.database
    assert path
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute("BEGIN")
        marks = ", ".join("?" for _ in COLUMNS)
        insert = f"INSERT INTO partners ({', '.join(COLUMNS)}) VALUES ({marks})"
        for rows, reps, tags in chunks:
            raw.executemany(
                insert, [(*r[:-2], _sqlite_time(r[-2]), _sqlite_time(r[-1])) for r in rows]
            )
            raw.executemany(
                "INSERT INTO partner_reps (partner_id, user_id, source) VALUES (?, ?, ?)", reps
            )
            raw.executemany("INSERT INTO partner_tags (partner_id, tag_id) VALUES (?, ?)", tags)
        raw.execute("COMMIT")
        raw.execute("PRAGMA synchronous=NORMAL")
    finally:
        raw.close()


def _sqlite_time(value: dt.datetime) -> str:
    """How SQLAlchemy stores a UTC timestamp in SQLite."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _postgres_load(engine: sa.Engine, chunks: Iterator[Any]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # The rows are consistent by construction: skip the per-row foreign key triggers.
        cursor.execute("SET session_replication_role = replica")
        for rows, reps, tags in chunks:
            with cursor.copy(f"COPY partners ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
            with cursor.copy("COPY partner_reps (partner_id, user_id, source) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in reps:
                    copy.write_row(row)
            with cursor.copy("COPY partner_tags (partner_id, tag_id) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in tags:
                    copy.write_row(row)
        cursor.execute("SET session_replication_role = DEFAULT")
        raw.commit()
    finally:
        raw.close()


# -- the server ---------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """The app as ``groupware serve --role web`` runs it."""
    import uvicorn

    from groupware.app import create_app

    settings = settings_for(args.url, Path(args.data_dir), args.threads)
    threading.Thread(target=exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    options: dict[str, Any] = {
        "host": HOST,
        "port": args.port,
        "loop": "auto",
        "http": "auto",
        "proxy_headers": False,
        "server_header": False,
        "log_level": "warning",
        "access_log": False,
    }
    if args.workers > 1 and args.supervisor == "uvicorn":
        # uvicorn's supervisor spawns fresh interpreters: they build the app from the
        # environment. A worker must answer the supervisor's ping within the health
        # check's time, or it is killed and started again; uvicorn's 5 s killed workers
        # still starting on the busy machine.
        os.environ.update(
            GROUPWARE_DATABASE_URL=args.url,
            GROUPWARE_DATA_DIR=args.data_dir,
            GROUPWARE_SECRET_KEY=SECRET,
            GROUPWARE_LOG_LEVEL="warning",
            GROUPWARE_WEB_THREADS=str(settings.web_threads),
        )
        health = {"timeout_worker_healthcheck": 30}
        uvicorn.run("groupware.server:app_from_environment", factory=True,
                    workers=args.workers, **options, **health)  # fmt: skip
        return
    if args.workers > 1:  # as `groupware serve` with GROUPWARE_WEB_WORKERS does
        from groupware.workers import run_workers

        # With the jobs, as the runs in bench/README.md had them (app_from_environment).
        run_workers(
            lambda: create_app(settings, run_jobs=True),
            args.workers,
            host=HOST,
            port=args.port,
            log_level="warning",
        )
        return
    app = create_app(settings)  # it installs the areas before it opens the database
    uvicorn.Server(uvicorn.Config(app, **options)).run()


@contextlib.contextmanager
def running_server(target: Db, args: argparse.Namespace) -> Iterator[subprocess.Popen[bytes]]:
    port = free_port()
    log_path = target.data_dir / "server.log"
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--serve", "--url", target.url,
        "--data-dir", str(target.data_dir), "--port", str(port),
        "--parent-pid", str(os.getpid()), "--threads", str(args.threads or 0),
        "--workers", str(args.workers), "--supervisor", args.supervisor,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    proc.port = port  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 180  # several processes start slowly on a busy machine
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after 180 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        errors = [
            line for line in log_path.read_text(errors="replace").splitlines() if "Error" in line
        ]
        if errors:
            print(f"  ! server log: {errors[-1][:200]}", file=sys.stderr)


def log_in(port: int, username: str) -> str:
    """Log in through the real form; returns the Cookie header of the session."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the login page"
        form = {"username": username, "password": PASSWORD, "csrf_token": token[1], "next": "/"}
        response = client.post("/login", data=form)
        assert response.status_code == 303, (response.status_code, response.text[:300])
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Measure:
    database: str
    what: str
    viewer: str
    path: str
    result: PhaseResult = field(default_factory=PhaseResult)
    single: list[float] = field(default_factory=list)
    status: int = 200

    def p(self, q: float) -> float:
        return self.result.normal.percentile_ms(q)


def request_bytes(path: str, *, cookie: str = "", token: str = "") -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept-Language: hr\r\n"
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    return (head + "\r\n").encode()


def one_by_one(port: int, request: bytes, n: int) -> tuple[int, list[float]]:
    """Send ``request`` ``n`` times on one connection; the status and the times (ms)."""
    times: list[float] = []
    status = 0
    path = request.split(b" ")[1].decode()
    headers = dict(
        line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line
    )
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        for _ in range(n):
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            times.append((time.perf_counter() - started) * 1000)
            status = response.status
    finally:
        conn.close()
    return status, times


def measure(target: Db, port: int, args: argparse.Namespace) -> list[Measure]:
    cookies = {viewer: log_in(port, name) for viewer, name in (("rep", "rep"), ("admin", "ana"))}
    plan: list[tuple[Measure, bytes]] = []
    for what, page_path, api_path in URLS:
        for viewer in ("rep", "admin"):
            m = Measure(target.name, what, viewer, page_path)
            plan.append((m, request_bytes(page_path, cookie=cookies[viewer])))
            if api_path:
                token = target.tokens["ana" if viewer == "admin" else "rep"]
                m = Measure(target.name, what + " (API)", viewer, api_path)
                plan.append((m, request_bytes(api_path, token=token)))
    static = Measure(target.name, "static", "-", "/static/app.css")
    plan.append((static, request_bytes("/static/app.css")))
    runnable = []
    for m, request in plan:
        m.status, m.single = one_by_one(port, request, args.single)
        if m.status != 200:
            print(f"  {m.viewer} {m.path}: HTTP {m.status}, not measured", file=sys.stderr)
            continue
        runnable.append((m, request))
    for round_no in range(args.rounds):
        order = runnable if round_no % 2 == 0 else runnable[::-1]
        for m, request in order:
            warmup = args.warmup if round_no == 0 else 0.5
            seconds = args.seconds / args.rounds
            m.result.absorb(run_phase(port, [request], args.connections, warmup, seconds))
    for m, _request in runnable:
        print(
            f"  {m.viewer:5} {m.path:38} {m.result.rps:7.1f} req/s  p95 {m.p(95):7.1f} ms",
            file=sys.stderr,
        )
    return [m for m, _r in plan]


SUPERVISORS = {
    "reuseport": "what groupware serve does (groupware/workers.py): gunicorn's arbiter with "
    "uvicorn workers, one SO_REUSEPORT socket per worker",
    "uvicorn": "uvicorn's supervisor (uvicorn.run(workers=N)), one shared socket",
}


@dataclass
class SupervisorRound:
    """One option, one round: the rep's list, the administrator's, the static file."""

    rep: PhaseResult
    admin: PhaseResult
    static: PhaseResult
    split: list[int]  # the rep's connections per web process, sampled mid-phase


def connections_per_process(server_pid: int, port: int, workers: int) -> list[int]:
    """Established connections to ``port`` held by each process under ``server_pid``."""
    import psutil

    counts = []
    for child in psutil.Process(server_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            held = [
                c
                for c in child.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
            ]
            if held:
                counts.append(len(held))
    counts += [0] * (workers - len(counts))
    return sorted(counts, reverse=True)


def phase_with_split(
    server_pid: int, port: int, request: bytes, args: argparse.Namespace
) -> tuple[PhaseResult, list[int]]:
    split: list[int] = []

    def sample() -> None:
        time.sleep(args.warmup + args.seconds / 2)
        split.extend(connections_per_process(server_pid, port, args.workers))

    sampler = threading.Thread(target=sample)
    sampler.start()
    result = run_phase(port, [request], args.connections, args.warmup, args.seconds)
    sampler.join()
    return result, split


def compare_supervisors(target: Db, args: argparse.Namespace) -> dict[str, list[SupervisorRound]]:
    """Each option in turn, ``--rounds`` rounds, the order rotating from round to round
    so that a slow minute of the machine falls on every option alike."""
    names = args.compare_supervisors.split(",")
    results: dict[str, list[SupervisorRound]] = {name: [] for name in names}
    for round_no in range(args.rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            print(f"{target.name}: round {round_no + 1}, {name} ...", file=sys.stderr)
            with running_server(
                target, argparse.Namespace(**{**vars(args), "supervisor": name})
            ) as server:
                port = server.port  # type: ignore[attr-defined]
                rep = request_bytes("/partners", cookie=log_in(port, "rep"))
                admin = request_bytes("/partners", cookie=log_in(port, "ana"))
                rep_result, split = phase_with_split(server.pid, port, rep, args)
                admin_result = run_phase(port, [admin], args.connections, args.warmup, args.seconds)
                static = request_bytes("/static/app.css")
                static_result = run_phase(port, [static], args.connections, 0.5, args.seconds / 2)
            results[name].append(SupervisorRound(rep_result, admin_result, static_result, split))
            r, p95 = results[name][-1], results[name][-1].rep.normal.percentile_ms(95)
            print(
                f"  {name:10} rep {r.rep.rps:6.1f} req/s p95 {p95:6.1f} ms"
                f"  split {'/'.join(map(str, split))}",
                file=sys.stderr,
            )
    return results


def _spread(values: Sequence[float], digits: int = 1) -> str:
    """The median and, in brackets, the lowest and highest of ``values``."""
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def supervisor_table(database: str, results: dict[str, list[SupervisorRound]]) -> str:
    """Median (lowest-highest) over the rounds; ratios against the first option's figure
    of the same round."""
    names = list(results)
    base = results[names[0]]
    headers = [
        "database", "supervisor", "rep req/s", "rep p50 ms", "rep p95 ms", "rep p99 ms",
        f"req/s / {names[0]}", f"p95 / {names[0]}", "admin p95 ms", "admin req/s",
        "static p95 ms", "rep connections per process",
    ]  # fmt: skip
    body = []
    for name in names:
        rounds = results[name]

        def p(result: PhaseResult, q: float) -> float:
            return result.normal.percentile_ms(q)

        body.append([
            database,
            name,
            _spread([r.rep.rps for r in rounds], 0),
            _spread([p(r.rep, 50) for r in rounds]),
            _spread([p(r.rep, 95) for r in rounds]),
            _spread([p(r.rep, 99) for r in rounds]),
            _spread([r.rep.rps / b.rep.rps for r, b in zip(rounds, base, strict=True)], 2),
            _spread([p(r.rep, 95) / p(b.rep, 95) for r, b in zip(rounds, base, strict=True)], 2),
            _spread([p(r.admin, 95) for r in rounds]),
            _spread([r.admin.rps for r in rounds], 0),
            _spread([p(r.static, 95) for r in rounds]),
            " ".join("/".join(map(str, r.split)) for r in rounds),
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in [headers, ["-" * w for w in widths], *body]
    ]
    errors = sum(
        sum(x.normal.errors.values())
        for rounds in results.values()
        for r in rounds
        for x in (r.rep, r.admin, r.static)
    )
    lines.append(f"errors: {errors}")
    return "\n".join(lines)


# -- looking inside -------------------------------------------------------------------------


CASES = [
    ("list", PartnerFilter(), 0),
    ("search", PartnerFilter(q=SEARCH), 0),
    ("city", PartnerFilter(city=CITY), 0),
    ("page 3", PartnerFilter(), 100),
]


def _co_owner_probe(user_id: int) -> sa.ColumnElement[bool]:
    """The rep's access with "is a further rep" as a per-row probe of partner_reps' index
    (``OFFSET 0`` keeps PostgreSQL from turning it back into a hashed sub-plan)."""
    covered = (
        sa.select(AssignmentRule.territory_id)
        .join(AssignmentRuleRep, AssignmentRuleRep.rule_id == AssignmentRule.id)
        .where(AssignmentRuleRep.user_id == user_id, AssignmentRule.is_active)
    )
    shared = sa.select(Share.record_id).where(
        Share.record_type == "partners", Share.user_id == user_id
    )
    probe = (
        sa.select(PartnerRep.partner_id)
        .where(PartnerRep.partner_id == Partner.id, PartnerRep.user_id == user_id)
        .offset(0)
        .exists()
    )
    return sa.or_(
        Partner.owner_id == user_id,
        probe,
        Partner.territory_id.in_(covered),
        Partner.id.in_(shared),
    )


def _median_ms(session: Any, query: Any, n: int = 5) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        session.execute(query).all()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def explain(target: Db, users: dict[str, int]) -> str:
    """The rep's list query: its plan, and its time (median of 5, no load) next to the
    administrator's and to a variant with the further-rep check as a per-row probe."""
    from groupware.access.policy import SYSTEM
    from groupware.crm.partners import PARTNER_OPTIONS

    lines = [f"{target.name}: query times in ms (median of 5, one at a time):"]
    with target.db.transaction(actor_id=None, channel="cli", write=False) as session:
        rep, admin = (session.get(User, users[name]) for name in ("rep", "ana"))
        assert rep is not None and admin is not None
        who = load_who(session, rep)
        admin_who = load_who(session, admin)
        for label, f, offset in CASES:

            def page(query: Any) -> Any:
                return query.options(*PARTNER_OPTIONS).offset(offset).limit(51)  # noqa: B023

            times = (
                _median_ms(session, page(partner_query(who, f))),
                _median_ms(session, page(partner_query(admin_who, f))),
                _median_ms(session, page(partner_query(SYSTEM, f).where(_co_owner_probe(rep.id)))),
            )
            lines.append(
                f"  {label:7} rep {times[0]:7.1f}   admin {times[1]:7.1f}   "
                f"rep with the per-row further-rep probe {times[2]:7.1f}"
            )
        dialect = target.db.engine.dialect
        prefix = "EXPLAIN (ANALYZE)" if target.name == "postgresql" else "EXPLAIN QUERY PLAN"
        for label, f, _offset in CASES[:2]:
            query = partner_query(who, f).options(*PARTNER_OPTIONS).limit(51)
            sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            lines.append(f"{target.name}: plan of the rep's {label}:")
            plan = session.execute(sa.text(f"{prefix} {sql}")).all()
            lines += ["   " + " | ".join(str(c) for c in row) for row in plan]
    return "\n".join(lines)


def py_spy() -> str | None:
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


def profile(pid: int, port: int, request: bytes, args: argparse.Namespace) -> str:
    """Sample the server with py-spy while the rep's list is under load."""
    tool = py_spy()
    if tool is None:
        return "py-spy is not installed (pip install py-spy, or set PY_SPY): no profile."
    out = Path(tempfile.mkdtemp(prefix="bench-spy-")) / "stacks.txt"
    seconds = max(4, int(args.seconds))
    spy = subprocess.Popen(
        [tool, "record", "--pid", str(pid), "--subprocesses", "--duration", str(seconds),
         "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    run_phase(port, [request], args.connections, 0.5, seconds + 1)
    _stdout, err = spy.communicate(timeout=60)
    if not out.exists():
        return f"py-spy failed: {err.decode(errors='replace')[-300:]}"
    return summarize_stacks(out.read_text())


CATEGORIES = [
    ("SQL on the wire / in the database", ("do_execute", "_exec_single_context")),
    ("SQLAlchemy compiling statements", ("_compiler", "compile")),
    ("SQLAlchemy building ORM objects", ("instances", "_instance", "loading.py")),
    ("Jinja2 rendering", ("jinja2", "render_block", "render")),
    ("loading the user's rights (load_who)", ("load_who",)),
    ("web session and CSRF (page wrapper)", ("sessions.py", "resume")),
    ("bookkeeping writes after the response", ("bookkeeping",)),
    ("checking template files for changes (Jinja2 auto_reload)", ("getmtime", "uptodate")),
]


def summarize_stacks(raw: str) -> str:
    total = 0
    inclusive: dict[str, int] = {}
    leaves: dict[str, int] = {}
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for label, needles in CATEGORIES:
            if any(n in frame for frame in frames for n in needles):
                inclusive[label] = inclusive.get(label, 0) + count
        leaf = frames[-1]
        leaves[leaf] = leaves.get(leaf, 0) + count
    if not total:
        return "py-spy recorded no samples."
    lines = [f"py-spy: {total:,} samples of busy threads (inclusive shares overlap):"]
    for label, _needles in CATEGORIES:
        lines.append(f"  {inclusive.get(label, 0) / total:6.1%}  {label}")
    lines.append("  top leaf functions:")
    for leaf, count in sorted(leaves.items(), key=lambda kv: -kv[1])[:12]:
        lines.append(f"  {count / total:6.1%}  {leaf[:110]}")
    return "\n".join(lines)


# -- report ----------------------------------------------------------------------------------


def table(measures: Sequence[Measure]) -> str:
    headers = [
        "database", "URL (viewer: rep, territory scope)", "req/s", "p50 ms", "p95 ms", "p99 ms",
        "1 client ms", "admin p95 ms", "admin req/s", "admin 1 client", "static p95 ms",
        "p95 < 150",
    ]  # fmt: skip
    by_key = {(m.database, m.what, m.viewer): m for m in measures}
    body = []
    for m in measures:
        if m.viewer != "rep":
            continue
        admin = by_key.get((m.database, m.what, "admin"))
        static = by_key.get((m.database, "static", "-"))
        measured = m.status == 200 and m.result.normal.count

        def ok(x: Measure | None) -> bool:
            return bool(x and x.status == 200 and x.result.normal.count)

        body.append([
            m.database,
            m.path if measured else f"{m.path} (HTTP {m.status})",
            f"{m.result.rps:,.0f}" if measured else "-",
            f"{m.p(50):.1f}" if measured else "-",
            f"{m.p(95):.1f}" if measured else "-",
            f"{m.p(99):.1f}" if measured else "-",
            f"{statistics.median(m.single):.1f}" if m.single else "-",
            f"{admin.p(95):.1f}" if ok(admin) else "-",  # type: ignore[union-attr]
            f"{admin.result.rps:,.0f}" if ok(admin) else "-",  # type: ignore[union-attr]
            f"{statistics.median(admin.single):.1f}" if ok(admin) else "-",  # type: ignore[union-attr]
            f"{static.p(95):.1f}" if ok(static) else "-",  # type: ignore[union-attr]
            ("yes" if m.p(95) < TARGET_P95_MS else "NO") if measured else "-",
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per URL")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved slices per URL")
    parser.add_argument("--single", type=int, default=7, help="requests sent one at a time")
    parser.add_argument(
        "--threads", type=int, default=0, help="GROUPWARE_WEB_THREADS (default: the setting's)"
    )
    parser.add_argument("--explain", action="store_true", help="print the rep's query plans")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="PostgreSQL only: measure the database a run with --keep left, without loading",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes (GROUPWARE_WEB_WORKERS; default: one per core, as the README "
        "advises)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", PG_DEFAULT_URL),
        help="maintenance database URL (env BENCH_PG_URL); the bench database is created beside it",
    )
    parser.add_argument(
        "--supervisor",
        choices=list(SUPERVISORS),
        default="reuseport",
        help="how several processes share the port (with --workers above 1)",
    )
    parser.add_argument(
        "--compare-supervisors",
        metavar="A,B,...",
        help="measure the rep's and the administrator's list and the static file under each "
        "of these supervisors in turn, --rounds rounds in rotating order, instead of the "
        "usual table; the first is the same-run baseline",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def bench_database(name: str, args: argparse.Namespace) -> tuple[list[Measure], list[str]]:
    notes: list[str] = []
    doing = "reusing the kept partners" if args.reuse else f"creating {args.partners:,} partners"
    print(f"{name}: {doing} ...", file=sys.stderr)
    with fresh_database(name, args) as target:
        if args.reuse:
            with target.db.engine.connect() as conn:
                rows = conn.execute(sa.select(User.username, User.id)).all()
            users = {username: user_id for username, user_id in rows}
        else:
            users = make_people(target)
            load_partners(target, args.partners)
        with target.db.engine.connect() as conn:
            territory = conn.execute(
                sa.text("SELECT id FROM territories WHERE name = :n"), {"n": TERRITORIES[0][0]}
            ).scalar()
            seen = conn.execute(
                sa.select(sa.func.count()).where(Partner.territory_id == territory)
            ).scalar()
        notes.append(
            f"{name}: {args.partners:,} partners written and indexed in "
            f"{target.load_seconds:.0f} s; the rep's territory holds "
            f"{(seen or 0) / args.partners:.1%} of them."
        )
        if args.explain:
            notes.append(explain(target, users))
        target.db.dispose()
        if args.compare_supervisors:
            notes.append(supervisor_table(name, compare_supervisors(target, args)))
            return [], notes
        with running_server(target, args) as server:
            port = server.port  # type: ignore[attr-defined]
            print(f"{name}: measuring ...", file=sys.stderr)
            measures = measure(target, port, args)
            if args.profile:
                cookie = log_in(port, "rep")
                notes.append(
                    f"{name}, rep, /partners: "
                    + profile(server.pid, port, request_bytes("/partners", cookie=cookie), args)
                )
    return measures, notes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    install()  # the areas, before the first database is opened
    started, load_before = time.monotonic(), os.getloadavg()[0]
    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    measures: list[Measure] = []
    notes: list[str] = []
    for name in names:
        got, said = bench_database(name, args)
        measures += got
        notes += said
    print()
    if measures:
        print(table(measures))
        print()
    threads = (
        args.threads or settings_for("sqlite:///x.db", Path(tempfile.gettempdir())).web_threads
    )
    print(
        f"Load: {args.connections} keep-alive connections per URL, {args.warmup:g} s warm-up, "
        f"{args.seconds:g} s measured in {args.rounds} interleaved slices; {args.workers} uvicorn "
        f"process(es) (GROUPWARE_WEB_WORKERS), {threads} handler threads each "
        f'(GROUPWARE_WEB_THREADS). "admin": the same URL for an '
        'administrator (scope all, no access filter); "static": /static/app.css; '
        f'"1 client ms": median of {args.single} requests sent one at a time.'
    )
    missing = sorted({m.path for m in measures if m.status != 200})
    if missing:
        print(f"Not measured (answered other than 200): {', '.join(missing)}.")
    for note in notes:
        print(note)
    print(
        f"\nTotal time {time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs; 1-min load "
        f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (other processes "
        "on the machine make absolute numbers noisy)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
