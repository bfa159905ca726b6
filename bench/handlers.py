"""How should Starlette handlers reach the database?  A measurement.

Four strategies serve the *same* pages from the *same* plain, synchronous service code
(functions taking a SQLAlchemy ``Session``):

``sync``
    A plain ``def`` endpoint.  Starlette runs it in anyio's worker-thread pool (40 threads by
    default) and it uses a sync ``Session``.  This is Starlette's default and the baseline.
``sync8``
    The same with the thread pool cut to 8 threads: what groupware runs
    (``GROUPWARE_WEB_THREADS``).
``run_sync``
    An ``async def`` endpoint opens an ``AsyncSession`` (``sqlite+aiosqlite`` or async
    ``postgresql+psycopg``) and calls ``await session.run_sync(service)``: the sync service runs
    inside SQLAlchemy's greenlet bridge on the event loop, and only the driver I/O is awaited.
``inline``
    An ``async def`` endpoint calls the service with a sync ``Session`` directly on the event
    loop, blocking the loop for the whole database round trip.

Pages (identical for every strategy):

``read``
    (1) look up a web session by a random cookie token (unique index) joined to its user,
    (2) select that user's latest 25 of 20,000 ``records`` (indexed ``owner_id``, ``ORDER BY id
    DESC``) joined to ``users`` for the owner name, (3) render a ~5 KB Jinja2 HTML table with
    autoescape on.
``write``
    step (1), then insert one row into ``events`` and commit (one transaction per request;
    SQLite allows only one writer at a time).

Each strategy runs as a real uvicorn server (uvloop, httptools, one worker) in a subprocess on
a free port.  This process drives it with a small keep-alive HTTP/1.1 load generator written on
raw asyncio streams.  Three phases run per page:

1. throughput: ``--connections`` (32) clients as fast as possible; warm-up, then measure
   requests/s and p50/p99 latency;
2. ``p99 @8``: 8 clients alone, the reference latency for phase 3;
3. ``p99 @8+slow``: the same 8 clients while a ninth client keeps requesting a ~200 ms query
   (``pg_sleep`` on PostgreSQL, a CPU-bound recursive CTE on SQLite).  If this p99 jumps to
   ~200 ms or more, one slow query stalls every other request (head-of-line blocking).

The servers run side by side and every measurement is cut into ``--rounds`` (2) slices
taken in alternating order (A B C, C B A), so background load on a shared machine is spread
over all strategies instead of skewing whichever ran at that moment.

How to read the table: ``× vs sync`` is req/s divided by the ``sync`` row of the same database
and page, and ``*`` marks the fastest strategy.  Compare ``p99 @8+slow`` with ``p99 @8`` to see
the slow-neighbour effect.  ``errors`` counts non-200 responses and broken connections over all
three phases; their messages are listed below the table.  Absolute numbers depend on the
machine (the client, the server and PostgreSQL share its cores); the ratios are the result.

Run from the repository root::

    .venv/bin/python bench/handlers.py [--db sqlite|postgresql|both] [--connections 32]
                                       [--seconds 8] [--threads 40] [--strategies ...]

``--threads`` resizes the thread pool of the ``sync`` strategy (Starlette's default is 40).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import http.client
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, get_args

import anyio.to_thread
import jinja2
import sqlalchemy as sa
import uvicorn
import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

Strategy = Literal["sync", "sync8", "run_sync", "inline"]
# ``sync8`` is ``sync`` with the thread pool cut to 8: what groupware runs.
SMALL_POOL: Final = 8
PageName = Literal["read", "write"]
DbName = Literal["sqlite", "postgresql"]
DATABASES: Final[tuple[DbName, ...]] = get_args(DbName)
STRATEGIES: Final[tuple[Strategy, ...]] = get_args(Strategy)
PAGES: Final[tuple[PageName, ...]] = get_args(PageName)

HOST: Final = "127.0.0.1"
PG_DEFAULT_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB: Final = "groupware_bench_handlers"
POOL_OPTIONS: Final[dict[str, int]] = {"pool_size": 10, "max_overflow": 20, "pool_timeout": 30}
SQLITE_PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)
N_USERS: Final = 40
N_RECORDS: Final = 20_000
N_WEB_SESSIONS: Final = 2_000
PAGE_ROWS: Final = 25
COOKIE: Final = "sid"
SLOW_SECONDS: Final = 0.2
SQLITE_SLOW_SQL: Final = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) "
    "SELECT count(*) FROM c"
)
PG_SLOW_SQL: Final = "SELECT pg_sleep(:seconds)"
DEFAULT_THREADS: Final = 40  # anyio's default thread limiter, used by Starlette
REWARM_SECONDS: Final = 0.5  # warm-up before each later slice of a measurement
DRAIN_GRACE: Final = 20.0  # seconds a client may overrun its phase before it counts as hung

# --------------------------------------------------------------------------- schema and data


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    expires_at: Mapped[datetime]


class Record(Base):
    __tablename__ = "records"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    company: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20))
    amount_cents: Mapped[int]
    updated_at: Mapped[datetime]


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def populate(engine: sa.Engine, rng: random.Random) -> list[str]:
    """Create the schema, fill it, and return the web-session tokens."""
    Base.metadata.create_all(engine)
    companies = ["Smith & Sons", "<Acme> Corp", "Müller GmbH", "O'Brien Ltd", "Nordwind AG"]
    words = ["renewal", "upgrade", "support", "migration", "licence", "training", "audit"]
    statuses = ["lead", "qualified", "proposal", "won", "lost"]
    now = utcnow()
    tokens = [secrets.token_urlsafe(32) for _ in range(N_WEB_SESSIONS)]
    users = [
        {"id": i, "email": f"user{i}@example.org", "name": f"User {i} Ångström"}
        for i in range(1, N_USERS + 1)
    ]
    web_sessions = [
        {"token": t, "user_id": rng.randint(1, N_USERS), "expires_at": now + timedelta(days=7)}
        for t in tokens
    ]
    records = [
        {
            "owner_id": rng.randint(1, N_USERS),
            "title": f"{rng.choice(words).title()} {rng.choice(words)} #{i}",
            "company": rng.choice(companies),
            "status": rng.choice(statuses),
            "amount_cents": rng.randint(10_000, 10_000_000),
            "updated_at": now - timedelta(minutes=rng.randint(0, 500_000)),
        }
        for i in range(N_RECORDS)
    ]
    with Session(engine) as session:
        session.execute(sa.insert(User), users)
        session.execute(sa.insert(WebSession), web_sessions)
        session.execute(sa.insert(Record), records)
        session.commit()
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    return tokens


def sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    """Connect-event listener: apply the SQLite pragmas on every new DBAPI connection."""
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def make_sync_engine(url: str, **options: Any) -> sa.Engine:
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)
    return engine


# --------------------------------------------------------------------------- service code


@dataclass(frozen=True)
class ReadPage:
    viewer: str
    rows: list[tuple[Record, str]]


def lookup_viewer(session: Session, token: str) -> User | None:
    stmt = (
        sa.select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.token == token, WebSession.expires_at > utcnow())
    )
    return session.execute(stmt).scalar_one_or_none()


def read_service(session: Session, token: str) -> ReadPage | None:
    viewer = lookup_viewer(session, token)
    if viewer is None:
        return None
    stmt = (
        sa.select(Record, User.name)
        .join(User, Record.owner_id == User.id)
        .where(Record.owner_id == viewer.id)
        .order_by(Record.id.desc())
        .limit(PAGE_ROWS)
    )
    rows = [(record, owner) for record, owner in session.execute(stmt)]
    return ReadPage(viewer=viewer.name, rows=rows)


def write_service(session: Session, token: str) -> str | None:
    viewer = lookup_viewer(session, token)
    if viewer is None:
        return None
    payload = f'{{"path": "/records", "user": {viewer.id}, "nonce": "{secrets.token_hex(8)}"}}'
    session.add(Event(user_id=viewer.id, kind="page.view", payload=payload, created_at=utcnow()))
    session.commit()
    return viewer.name


def slow_service(session: Session, sql: str, params: dict[str, Any]) -> int:
    return int(session.execute(sa.text(sql), params).scalar_one() or 0)


TEMPLATES: Final = {
    "records.html": """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Records · groupware</title>
  <link rel="stylesheet" href="/static/app.css">
</head>
<body>
  <header class="topbar">
    <a class="brand" href="/">groupware</a>
    <nav><a href="/records">Records</a> <a href="/contacts">Contacts</a>
      <a href="/calendar">Calendar</a></nav>
    <span class="viewer">Signed in as {{ viewer }}</span>
  </header>
  <main>
    <h1>My records</h1>
    <table class="records">
      <thead><tr><th>#</th><th>Title</th><th>Company</th><th>Status</th>
        <th class="num">Amount</th><th>Owner</th><th>Updated</th></tr></thead>
      <tbody>
      {%- for record, owner in rows %}
<tr><td>{{ record.id }}</td><td><a href="/records/{{ record.id }}">{{ record.title }}</a></td>
<td>{{ record.company }}</td><td>{{ record.status }}</td>
<td class="num">{{ "{:,.2f}".format(record.amount_cents / 100) }}</td><td>{{ owner }}</td>
<td>{{ record.updated_at.strftime("%Y-%m-%d %H:%M") }}</td></tr>
      {%- endfor %}
      </tbody>
    </table>
  </main>
</body>
</html>
""",
    "event.html": "<!doctype html><p>Saved, {{ viewer }}.</p>\n",
}


def template_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)


# --------------------------------------------------------------------------- the server app

# A page is: how to call the sync service with a Session, and how to present its result.
# The strategies differ only in where ``call`` runs; ``present`` (template rendering) runs
# wherever the endpoint body runs: in the worker thread for ``sync``, on the loop otherwise.
Call = Callable[[Session, Request], Any]
Present = Callable[[Any], Response]
Endpoint = Callable[[Request], Response | Awaitable[Response]]


def sync_endpoint(sessions: sessionmaker[Session], call: Call, present: Present) -> Endpoint:
    def endpoint(request: Request) -> Response:
        with sessions() as session:
            result = call(session, request)
        return present(result)

    return endpoint


def run_sync_endpoint(
    sessions: async_sessionmaker[AsyncSession], call: Call, present: Present
) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        async with sessions() as session:
            result = await session.run_sync(call, request)
        return present(result)

    return endpoint


def inline_endpoint(sessions: sessionmaker[Session], call: Call, present: Present) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        with sessions() as session:
            result = call(session, request)
        return present(result)

    return endpoint


def build_app(
    strategy: Strategy, url: str, slow_sql: str, slow_params: dict[str, Any], threads: int
) -> Starlette:
    env = template_env()
    records_tpl = env.get_template("records.html")
    event_tpl = env.get_template("event.html")

    def call_read(session: Session, request: Request) -> ReadPage | None:
        return read_service(session, request.cookies.get(COOKIE, ""))

    def call_write(session: Session, request: Request) -> str | None:
        return write_service(session, request.cookies.get(COOKIE, ""))

    def call_slow(session: Session, _request: Request) -> int:
        return slow_service(session, slow_sql, slow_params)

    def present_read(page: ReadPage | None) -> Response:
        if page is None:
            return PlainTextResponse("not signed in", status_code=403)
        return HTMLResponse(records_tpl.render(viewer=page.viewer, rows=page.rows))

    def present_write(viewer: str | None) -> Response:
        if viewer is None:
            return PlainTextResponse("not signed in", status_code=403)
        return HTMLResponse(event_tpl.render(viewer=viewer))

    def present_slow(value: int) -> Response:
        return PlainTextResponse(str(value))

    pages: list[tuple[str, Call, Present]] = [
        ("/read", call_read, present_read),
        ("/write", call_write, present_write),
        ("/slow", call_slow, present_slow),
    ]
    dispose: Callable[[], Awaitable[None]]
    if strategy == "run_sync":
        async_engine = create_async_engine(url, **POOL_OPTIONS)
        if async_engine.dialect.name == "sqlite":
            sa.event.listen(async_engine.sync_engine, "connect", sqlite_pragmas)
        async_sessions = async_sessionmaker(async_engine, expire_on_commit=False)
        routes = [Route(p, run_sync_endpoint(async_sessions, c, r)) for p, c, r in pages]
        dispose = async_engine.dispose
    else:
        engine = make_sync_engine(url, **POOL_OPTIONS)
        sessions = sessionmaker(engine, expire_on_commit=False)
        factory = sync_endpoint if strategy in ("sync", "sync8") else inline_endpoint
        routes = [Route(p, factory(sessions, c, r)) for p, c, r in pages]

        async def dispose_sync() -> None:
            engine.dispose()

        dispose = dispose_sync

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def on_error(_request: Request, exc: Exception) -> Response:
        first_line = (str(exc).splitlines() or [""])[0][:160]
        return PlainTextResponse(f"{type(exc).__name__}: {first_line}", status_code=500)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Starlette runs sync endpoints through anyio's default limiter (40 threads).
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        # aiosqlite runs each connection in a non-daemon thread: close them or we never exit.
        await dispose()

    routes.append(Route("/health", health))
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={Exception: on_error})


def exit_with_parent(parent_pid: int) -> None:
    """Watchdog thread: a server must not outlive a benchmark that was killed hard."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(0.5)


def serve(args: argparse.Namespace) -> None:
    slow_sql, slow_params = slow_query(args.url, args.slow_n)
    app = build_app(args.strategy, args.url, slow_sql, slow_params, args.threads)
    threading.Thread(target=exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    uvicorn.run(
        app,
        host=HOST,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


def slow_query(url: str, sqlite_n: int) -> tuple[str, dict[str, Any]]:
    if url.startswith("sqlite"):
        return SQLITE_SLOW_SQL, {"n": sqlite_n}
    return PG_SLOW_SQL, {"seconds": SLOW_SECONDS}


# --------------------------------------------------------------------------- server processes

_LIVE_SERVERS: set[subprocess.Popen[bytes]] = set()


def _kill_live_servers() -> None:
    for proc in list(_LIVE_SERVERS):
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        _LIVE_SERVERS.discard(proc)


atexit.register(_kill_live_servers)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(
    strategy: Strategy, url: str, slow_n: int, threads: int, log_path: Path
) -> Iterator[int]:
    """Start ``serve`` in a subprocess, wait until it answers, yield its port, stop it."""
    port = free_port()
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        "--strategy", strategy,
        "--url", url,
        "--port", str(port),
        "--slow-n", str(slow_n),
        "--threads", str(threads),
        "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    _LIVE_SERVERS.add(proc)
    try:
        wait_until_ready(proc, port, log_path)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"  ! server {proc.pid} ignored SIGTERM, killing it", file=sys.stderr)
            proc.kill()
            proc.wait(timeout=5)
        _LIVE_SERVERS.discard(proc)


def wait_until_ready(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail}")
        conn = http.client.HTTPConnection(HOST, port, timeout=1)
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready after 30 s")


# --------------------------------------------------------------------------- load generator


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    body_bytes: int = 0  # size of the last 200 response body

    def absorb(self, other: Samples) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.body_bytes = other.body_bytes or self.body_bytes

    @property
    def count(self) -> int:
        return len(self.latencies)

    def percentile_ms(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
        return ordered[rank] * 1000


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length < 0:
        raise ValueError("response without content-length")
    return status, await reader.readexactly(length)


async def client(
    port: int, requests: Sequence[bytes], window: tuple[float, float], out: Samples
) -> None:
    """One keep-alive connection sending requests back to back until the window closes.

    Only responses that arrive inside ``window`` (perf_counter start, end) are recorded."""
    start, end = window
    rng = random.Random()
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    try:
        while time.perf_counter() < end:
            if writer is None or reader is None:
                try:
                    reader, writer = await asyncio.open_connection(HOST, port)
                except OSError as exc:
                    out.errors[f"connect: {type(exc).__name__}"] += 1
                    await asyncio.sleep(0.05)
                    continue
            sent = time.perf_counter()
            try:
                writer.write(rng.choice(requests))
                status, body = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError) as exc:  # fmt: skip
                if start <= time.perf_counter() < end:
                    out.errors[f"connection: {type(exc).__name__}"] += 1
                writer.close()
                writer = reader = None
                continue
            done = time.perf_counter()
            if status >= 500:
                # uvicorn closes the connection after an unhandled exception (Starlette
                # re-raises it after sending the 500): reconnect rather than count a reset.
                writer.close()
                writer = reader = None
            if not start <= done < end:
                continue
            if status == 200:
                out.latencies.append(done - sent)
                out.body_bytes = len(body)
            else:
                out.errors[f"HTTP {status}: {body[:120].decode(errors='replace')}"] += 1
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def build_requests(path: str, tokens: Sequence[str]) -> list[bytes]:
    return [
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nCookie: {COOKIE}={t}\r\n\r\n".encode()
        for t in tokens
    ]


@dataclass
class PhaseResult:
    normal: Samples = field(default_factory=Samples)
    slow: Samples = field(default_factory=Samples)
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.normal.count / self.seconds if self.seconds else math.nan

    def absorb(self, other: PhaseResult) -> None:
        """Add another slice of the same measurement."""
        self.normal.absorb(other.normal)
        self.slow.absorb(other.slow)
        self.seconds += other.seconds


async def load_phase(
    port: int,
    requests: Sequence[bytes],
    connections: int,
    warmup: float,
    seconds: float,
    slow_requests: Sequence[bytes] = (),
) -> PhaseResult:
    begin = time.perf_counter() + warmup
    window = (begin, begin + seconds)
    result = PhaseResult(seconds=seconds)
    tasks = [
        asyncio.create_task(client(port, requests, window, result.normal))
        for _ in range(connections)
    ]
    if slow_requests:
        tasks.append(asyncio.create_task(client(port, slow_requests, window, result.slow)))
    _, pending = await asyncio.wait(tasks, timeout=warmup + seconds + DRAIN_GRACE)
    for task in pending:
        task.cancel()
        result.normal.errors["client hung past the phase end"] += 1
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, Exception):
            result.normal.errors[f"client crashed: {outcome!r}"[:160]] += 1
    return result


def run_phase(*args: Any, **kwargs: Any) -> PhaseResult:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(load_phase(*args, **kwargs))


# --------------------------------------------------------------------------- orchestration


@dataclass(frozen=True)
class Target:
    name: DbName
    sync_url: str
    async_url: str
    tokens: list[str]
    slow_n: int  # SQLite CTE length; unused on PostgreSQL
    slow_note: str

    def url(self, strategy: Strategy) -> str:
        return self.async_url if strategy == "run_sync" else self.sync_url


@dataclass
class Row:
    database: DbName
    page: PageName
    strategy: Strategy
    main: PhaseResult = field(default_factory=PhaseResult)
    alone: PhaseResult = field(default_factory=PhaseResult)
    with_slow: PhaseResult = field(default_factory=PhaseResult)

    @property
    def errors(self) -> Counter[str]:
        phases = (self.main, self.alone, self.with_slow)
        return sum((p.normal.errors + p.slow.errors for p in phases), Counter[str]())

    def summary(self, hol: int) -> str:
        return (
            f"{self.strategy:<8} {self.main.rps:6.0f} req/s"
            f"  p50 {self.main.normal.percentile_ms(50):.1f} ms"
            f"  p99 {self.main.normal.percentile_ms(99):.1f} ms"
            f"  | @{hol}: p99 {self.alone.normal.percentile_ms(99):.1f} ms"
            f", +slow {self.with_slow.normal.percentile_ms(99):.1f} ms"
            f" (slow page p50 {self.with_slow.slow.percentile_ms(50):.0f} ms"
            f", {self.with_slow.slow.count} done)"
            f"  errors {sum(self.errors.values())}"
        )


def url_string(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def calibrate_sqlite_slow_n(engine: sa.Engine) -> int:
    """Pick the CTE length that takes about SLOW_SECONDS on this machine."""
    probe = 1_000_000
    best = math.inf
    with engine.connect() as conn:
        for _ in range(3):
            started = time.perf_counter()
            conn.execute(sa.text(SQLITE_SLOW_SQL), {"n": probe}).scalar_one()
            best = min(best, time.perf_counter() - started)
    return max(100_000, int(round(probe * SLOW_SECONDS / best, -5)))


@contextlib.contextmanager
def sqlite_target(workdir: Path) -> Iterator[Target]:
    path = workdir / "bench.sqlite3"
    engine = make_sync_engine(f"sqlite+pysqlite:///{path}", poolclass=NullPool)
    try:
        tokens = populate(engine, random.Random(1))
        slow_n = calibrate_sqlite_slow_n(engine)
    finally:
        engine.dispose()
    yield Target(
        name="sqlite",
        sync_url=f"sqlite+pysqlite:///{path}",
        async_url=f"sqlite+aiosqlite:///{path}",
        tokens=tokens,
        slow_n=slow_n,
        slow_note=f"recursive CTE counting to {slow_n:,} (~{SLOW_SECONDS * 1000:.0f} ms idle)",
    )


def postgres_admin(base_url: str) -> sa.Engine:
    return sa.create_engine(
        base_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 3},
    )


def postgres_reachable(base_url: str) -> str | None:
    """Return None when PostgreSQL answers, else the reason it does not."""
    admin = postgres_admin(base_url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return (str(exc.orig) if isinstance(exc, sa.exc.DBAPIError) else str(exc)).strip()
    finally:
        admin.dispose()
    return None


@contextlib.contextmanager
def postgres_target(base_url: str) -> Iterator[Target]:
    admin = postgres_admin(base_url)
    drop = sa.text(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
    with admin.connect() as conn:
        conn.execute(drop)
        conn.execute(sa.text(f"CREATE DATABASE {PG_BENCH_DB}"))
    try:
        url = url_string(sa.make_url(base_url).set(database=PG_BENCH_DB))
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            tokens = populate(engine, random.Random(1))
        finally:
            engine.dispose()
        yield Target(
            name="postgresql",
            sync_url=url,
            async_url=url,  # create_async_engine picks psycopg's async dialect
            tokens=tokens,
            slow_n=0,
            slow_note=f"SELECT pg_sleep({SLOW_SECONDS})",
        )
    finally:
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()


def bench_target(target: Target, args: argparse.Namespace, logdir: Path) -> list[Row]:
    """Measure every strategy on every page of one database.

    All strategy servers run side by side and the measurements are interleaved in
    ``args.rounds`` slices (A B C, then C B A, ...), so that background load on the machine
    hits every strategy alike instead of whichever happened to run at that moment."""
    sample_tokens = random.Random(2).sample(target.tokens, 500)
    slow = build_requests("/slow", sample_tokens[:1])
    rows: list[Row] = []
    with contextlib.ExitStack() as servers:
        ports = {
            strategy: servers.enter_context(
                running_server(
                    strategy,
                    target.url(strategy),
                    target.slow_n,
                    SMALL_POOL if strategy == "sync8" else args.threads,
                    logdir / f"{target.name}-{strategy}.log",
                )
            )
            for strategy in args.strategies
        }
        for page in args.pages:
            print(f"  {target.name}/{page} ...", file=sys.stderr)
            reqs = build_requests(f"/{page}", sample_tokens)
            page_rows = {s: Row(target.name, page, s) for s in args.strategies}
            for round_no in range(args.rounds):
                order = args.strategies if round_no % 2 == 0 else args.strategies[::-1]
                warmup = args.warmup if round_no == 0 else REWARM_SECONDS
                for strategy in order:
                    port, row = ports[strategy], page_rows[strategy]
                    row.main.absorb(
                        run_phase(port, reqs, args.connections, warmup, args.seconds / args.rounds)
                    )
                    hol = (port, reqs, args.hol_connections, REWARM_SECONDS)
                    row.alone.absorb(run_phase(*hol, args.hol_seconds / args.rounds))
                    row.with_slow.absorb(run_phase(*hol, args.hol_seconds / args.rounds, slow))
            for row in page_rows.values():
                print(f"    {row.summary(args.hol_connections)}", file=sys.stderr)
            rows += page_rows.values()
    return rows


def client_ceiling(target: Target, args: argparse.Namespace, logdir: Path) -> float:
    """Requests/s the load generator reaches against a trivial endpoint: its own limit."""
    log_path = logdir / "ceiling.log"
    with running_server("inline", target.sync_url, target.slow_n, args.threads, log_path) as port:
        health = [f"GET /health HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()]
        return run_phase(port, health, args.connections, 1.0, 3.0).rps


# --------------------------------------------------------------------------- report


def format_table(rows: Sequence[Row], hol: int) -> str:
    headers = [
        "database", "page", "strategy", "req/s", "× vs sync", "p50 ms", "p99 ms",
        f"p99 ms @{hol}", f"p99 ms @{hol}+slow", "errors",
    ]  # fmt: skip
    right_aligned = set(range(3, len(headers)))
    baseline = {(r.database, r.page): r.main.rps for r in rows if r.strategy == "sync"}
    fastest = {
        key: max((r for r in rows if (r.database, r.page) == key), key=lambda r: r.main.rps)
        for key in {(r.database, r.page) for r in rows}
    }
    rows = sorted(
        rows,
        key=lambda r: (
            DATABASES.index(r.database),
            PAGES.index(r.page),
            STRATEGIES.index(r.strategy),
        ),
    )
    body: list[list[str]] = []
    for r in rows:
        base = baseline.get((r.database, r.page))
        ratio = f"{r.main.rps / base:.2f}×" if base else "n/a"
        star = " *" if fastest[(r.database, r.page)] is r else "  "
        body.append([
            r.database, r.page, r.strategy,
            f"{r.main.rps:,.0f}", ratio + star,
            f"{r.main.normal.percentile_ms(50):.1f}", f"{r.main.normal.percentile_ms(99):.1f}",
            f"{r.alone.normal.percentile_ms(99):.1f}",
            f"{r.with_slow.normal.percentile_ms(99):.1f}",
            str(sum(r.errors.values())),
        ])  # fmt: skip
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(len(headers))]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right_aligned else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    previous: tuple[str, str] | None = None
    for r, cells in zip(rows, body, strict=True):
        if previous is not None and previous != (r.database, r.page):
            lines.append("")
        previous = (r.database, r.page)
        lines.append(fmt(cells))
    return "\n".join(lines)


def report(
    rows: Sequence[Row], targets: Sequence[Target], ceiling: float, args: argparse.Namespace
) -> None:
    print()
    print(format_table(rows, args.hol_connections))
    print()
    sizes = {r.page: r.main.normal.body_bytes for r in rows if r.main.normal.body_bytes}
    print(
        "Pages: "
        + ", ".join(f"{page} = {size:,} bytes of HTML" for page, size in sizes.items())
        + f"; client ceiling (GET /health, {args.connections} connections): {ceiling:,.0f} req/s."
    )
    print(
        f"Load: {args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s measured; p99 @{args.hol_connections}: {args.hol_connections} "
        f"connections for {args.hol_seconds:g} s, alone and next to one client looping on "
        f"the slow page; each measurement interleaved in {args.rounds} slices."
    )
    print(
        f"Engines: pool_size={POOL_OPTIONS['pool_size']}, "
        f"max_overflow={POOL_OPTIONS['max_overflow']}, pool_timeout={POOL_OPTIONS['pool_timeout']}"
        f" s, per server process; anyio thread pool: {args.threads} threads"
        + (" (Starlette's default)" if args.threads == DEFAULT_THREADS else "")
        + f"; sync8: {SMALL_POOL} threads (what groupware runs)."
    )
    print(
        "SQLite: file in WAL mode; "
        + ", ".join(p.removeprefix("PRAGMA ") for p in SQLITE_PRAGMAS)
        + " on every connection."
    )
    for target in targets:
        print(f"Slow page on {target.name}: {target.slow_note}.")
    print("× vs sync: req/s relative to the sync row of the same database and page; * = fastest.")
    errored = [r for r in rows if r.errors]
    if errored:
        print("\nErrors:")
        for r in errored:
            for message, count in r.errors.most_common(5):
                print(f"  {r.database}/{r.page}/{r.strategy}: {count} × {message}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="interleave the strategies in this many slices of each measurement",
    )
    parser.add_argument("--hol-connections", type=int, default=8)
    parser.add_argument("--hol-seconds", type=float, default=3.0)
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help="anyio worker threads for sync endpoints (Starlette's default: 40)",
    )
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", PG_DEFAULT_URL),
        help="maintenance database URL (env BENCH_PG_URL); the bench database is created "
        "next to it",
    )
    # internal: run one server
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", choices=STRATEGIES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slow-n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run finally blocks, kill servers
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    targets: list[Target] = []
    ceiling = math.nan
    with tempfile.TemporaryDirectory(prefix="bench-handlers-") as tmp:
        workdir = Path(tmp)
        if args.db in ("sqlite", "both"):
            print("sqlite: creating data ...", file=sys.stderr)
            with sqlite_target(workdir) as target:
                targets.append(target)
                ceiling = client_ceiling(target, args, workdir)
                rows += bench_target(target, args, workdir)
        if args.db in ("postgresql", "both"):
            problem = postgres_reachable(args.pg_url)
            if problem is None:
                print("postgresql: creating data ...", file=sys.stderr)
                with postgres_target(args.pg_url) as target:
                    targets.append(target)
                    if not targets[:-1]:
                        ceiling = client_ceiling(target, args, workdir)
                    rows += bench_target(target, args, workdir)
            elif args.db == "postgresql":
                print(f"PostgreSQL is not reachable: {problem}", file=sys.stderr)
                return 2
            else:
                print(f"postgresql: skipped, not reachable ({problem})", file=sys.stderr)
    report(rows, targets, ceiling, args)
    print(
        f"\nTotal time {time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs; 1-min load "
        f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (background load "
        "from other processes makes absolute numbers noisy)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
