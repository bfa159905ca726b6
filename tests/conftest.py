"""Test set-up: a real database (SQLite file or a fresh PostgreSQL database), rolled back
per test for service tests; a real uvicorn server for HTTP tests.

Choose the database with ``GROUPWARE_TEST_DB=sqlite`` (default) or ``postgresql``; for
PostgreSQL the run creates ``groupware_test_<pid>_main`` on ``GROUPWARE_TEST_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) and drops it at the end. The tests that
only read the demo company share one load of it, in a database of its own
(``demo_company``; ``groupware_test_<run>_demo`` on PostgreSQL), shared by the
processes of the run.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from groupware.accounts.passwords import use_hashing
from groupware.app import create_app
from groupware.areas import install
from groupware.db import Database, bind_actor
from groupware.demo import load_demo
from groupware.migrate import upgrade
from groupware.settings import Settings, load_settings
from tests import factories

install()  # every area's models, pages and jobs, as the app and the CLI do
# argon2id at its production cost is most of a login's time, and the suite logs in
# thousands of times; every process of a test run (this one, the servers it starts, the
# CLI it runs) hashes at the cheapest cost instead. tests/accounts/test_passwords.py
# checks the production costs and the re-hash from one cost to another.
TEST_HASHING = {"GROUPWARE_PASSWORD_HASHING": "test-only-cheapest"}
use_hashing(TEST_HASHING["GROUPWARE_PASSWORD_HASHING"])

PG_ADMIN_URL = os.environ.get("GROUPWARE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin() -> Engine:
    return create_engine(
        make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )


def _drop_pg_databases(names: list[str]) -> None:
    admin = _pg_admin()
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_database(name: str, *, template: str | None = None, keep: bool = False) -> Iterator[str]:
    """A new database ``name`` (a copy of ``template``), dropped after use unless kept."""
    admin = _pg_admin()
    like = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"{like}'))
        # A test database is thrown away: its commits need not wait for the disk.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()
    try:
        yield (
            make_url(PG_ADMIN_URL)
            .set(drivername="postgresql", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        if not keep:
            _drop_pg_databases([name])


def _test_database(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    """The URL of a fresh database of the kind GROUPWARE_TEST_DB names."""
    kind = _db_kind()
    if kind == "postgresql":
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        suffix = "" if name == "groupware" else f"_{name}"
        yield from _pg_database(f"groupware_test_{os.getpid()}_{worker}{suffix}")
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / f'{name}.db'}"


def _settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        {
            "GROUPWARE_DATABASE_URL": database_url,
            "GROUPWARE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "GROUPWARE_SECRET_KEY": "test-secret-key-that-is-long-enough-for-us",
            "GROUPWARE_DB_POOL_SIZE": "4",
            **TEST_HASHING,
        }
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _test_database(tmp_path_factory, "groupware")


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _settings(database_url, tmp_path_factory)


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    upgrade(database)
    yield database
    database.dispose()


@dataclass(frozen=True)
class Demo:
    database: Database
    loaded: bool  # what the first load answered
    template: str  # a copy of the demo as loaded, never opened: the source of copies
    tmp_path_factory: pytest.TempPathFactory
    steps: tuple[str, ...] = ()  # the steps the load told of, in order

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session on the demo whose work is rolled back, so the tests sharing it
        find it as loaded whatever a test before them tried (raising alerts sends mail)."""
        with self.database.engine.connect() as conn, conn.begin() as transaction:
            with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
                bind_actor(session, actor_id=None, channel="cli")
                yield session
            transaction.rollback()

    @contextmanager
    def copy(self) -> Iterator[Database]:
        """A database of its own holding the demo as loaded, for a test that commits
        (a live server walking the pages); dropped afterwards."""
        if _db_kind() == "postgresql":
            name = f"{make_url(self.template).database}_copy_{os.getpid()}"
            for url in _pg_database(name, template=make_url(self.template).database):
                yield from _database_of(url, self.tmp_path_factory)
        else:
            target = self.tmp_path_factory.mktemp("demo-copy") / "demo.db"
            shutil.copyfile(make_url(self.template).database or "", target)
            yield from _database_of(f"sqlite:///{target}", self.tmp_path_factory)


def _database_of(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(_settings(url, tmp_path_factory))
    try:
        yield database
    finally:
        database.dispose()


def _db_kind() -> str:
    kind = os.environ.get("GROUPWARE_TEST_DB", "sqlite")
    if kind not in {"sqlite", "postgresql"}:
        raise pytest.UsageError("GROUPWARE_TEST_DB must be sqlite or postgresql")
    return kind


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# The PostgreSQL databases the test processes of a run share, dropped when the run ends
# (by the xdist controller, or by the one process of a run without workers).
SHARED_DATABASES = "shared-databases.txt"


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory the processes of one test run share: xdist gives each worker a base
    directory inside the controller's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def _load_shared_demo(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Load the demo into a template database and a database the readers open."""
    told: list[str] = []

    def step(number: int, name: str) -> None:
        told.append(f"{number} {name}")

    if _db_kind() == "postgresql":
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:12]
        template, readers = f"groupware_test_{run}_demo_template", f"groupware_test_{run}_demo"
        with (shared / SHARED_DATABASES).open("a") as listed:
            listed.write(f"{template}\n{readers}\n")
        template_url = next(_pg_database(template, keep=True))
        for database in _database_of(template_url, tmp_path_factory):
            upgrade(database)
            loaded = load_demo(database, step=step)
        readers_url = next(_pg_database(readers, template=template, keep=True))
    else:
        template_url, readers_url = (f"sqlite:///{shared / name}" for name in ("tpl.db", "demo.db"))
        for database in _database_of(template_url, tmp_path_factory):
            upgrade(database)
            loaded = load_demo(database, step=step)
        shutil.copyfile(shared / "tpl.db", shared / "demo.db")
    return {"template": template_url, "readers": readers_url, "loaded": loaded, "steps": told}


def _demo_state(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The shared demo's state: loaded by whichever process asks first (the xdist
    controller, when it preloads it), the others wait for it and read it."""
    with _locked(shared / "demo.lock"):
        state = shared / "demo.json"
        if not state.exists():
            state.write_text(json.dumps(_load_shared_demo(shared, tmp_path_factory)))
        return dict(json.loads(state.read_text()))


@pytest.fixture(scope="session")
def demo_company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo company, loaded once per test run for the tests that only read it (a
    load takes 25-35 s; under xdist the controller starts it while the workers run
    their first files, see :func:`pytest_xdist_node_collection_finished`). Tests that
    commit work on it take a :meth:`Demo.copy`."""
    demo = _demo_state(_shared_dir(tmp_path_factory), tmp_path_factory)
    for database in _database_of(demo["readers"], tmp_path_factory):
        yield Demo(
            database, demo["loaded"], demo["template"], tmp_path_factory, tuple(demo["steps"])
        )


# -- the order of a run ------------------------------------------------------------------

# The files that take longest (seconds in a PostgreSQL pass on two cores) start first,
# so that no process is left at the end of a run with a long file while the other has
# nothing to do; the ones that read the demo come third, when the controller has loaded
# it. The rest follow, those with the most tests first (pytest-xdist's own order).
FIRST = (
    "tests/access/test_differential.py",  # 145 s
    "tests/api/test_fuzz.py",  # 50 s
    "tests/test_workers.py",  # 40 s
    "tests/browser/test_every_page.py",  # 50 s, the demo
    "tests/browser/test_small_screens.py",  # 40 s, the demo
    "tests/test_cli.py",  # 35 s, the demo
    "tests/crm/test_imports.py",  # 30 s
    "tests/browser/test_morning.py",  # 25 s, the demo
    "tests/browser/test_mail.py",  # 25 s
    "tests/browser/test_calendar_views.py",  # 25 s
)
DEMO_WANTED = "demo-wanted"


def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Order the files as ``FIRST`` says (make test's runs keep this order:
    ``--no-loadscope-reorder``); a worker that collects a test of the demo tells the
    controller, which then loads it (``DEMO_WANTED``)."""

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    sizes = Counter(file_of(item) for item in items)

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = file_of(item)
        return (FIRST.index(path), 0) if path in FIRST else (len(FIRST), -sizes[path])

    items.sort(key=rank)  # stable: a file's tests keep their order
    if "PYTEST_XDIST_WORKER" in os.environ and any(
        "demo_company" in getattr(item, "fixturenames", ()) for item in items
    ):
        (_shared_dir(session.config._tmp_path_factory) / DEMO_WANTED).touch()  # type: ignore[attr-defined]


_PRELOAD = pytest.StashKey[threading.Thread]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """The controller, its workers' collection done: load the demo in the background
    when a worker will want it, so that none of them waits (the controller has nothing
    else to do but pass the tests out)."""
    config = node.config
    factory = config._tmp_path_factory
    shared = factory.getbasetemp()
    if _PRELOAD in config.stash or not (shared / DEMO_WANTED).exists():
        return
    thread = threading.Thread(target=_demo_state, args=(shared, factory), daemon=True)
    config.stash[_PRELOAD] = thread
    thread.start()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test without the browser runs with no Chromium open (tests/browser/conftest.py
    keeps one open across the tests that use it)."""
    if "chromium" not in getattr(item, "fixturenames", ()):
        from tests.browser.conftest import close_browser

        close_browser(item.session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's last word (the controller's under xdist): drop the shared databases."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    preload = session.config.stash.get(_PRELOAD, None)
    if preload is not None:
        preload.join()
    listed = session.config._tmp_path_factory.getbasetemp() / SHARED_DATABASES  # type: ignore[attr-defined]
    if listed.exists():
        _drop_pg_databases(listed.read_text().split())


@pytest.fixture(scope="session")
def engine(database: Database) -> Engine:
    return database.engine


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        bind_actor(session, actor_id=None, channel="cli")
        yield session


@pytest.fixture
def cast(db: Session) -> factories.Cast:
    return factories.make_cast(db)


# -- a real server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings, database: Database) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = database
        app = create_app(settings, database=database)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, database: Database) -> Iterator[LiveServer]:
    server = LiveServer(settings, database)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live(live_server: LiveServer, database: Database) -> Iterator[LiveServer]:
    """The server, with a database emptied after the test (its data is committed)."""
    yield live_server
    factories.reset_database(database)


_CAST = pytest.StashKey[tuple[factories.Cast, factories.Rows]]()


@pytest.fixture
def committed(
    request: pytest.FixtureRequest, live: LiveServer, database: Database
) -> Iterator[factories.Cast]:
    """The alice/bob/charlie cast, committed so that the live server sees it. The
    services make it once per process; later tests get the same rows written back
    (the services took 100 ms a test, writing the rows back takes a tenth of that)."""
    made = request.config.stash.get(_CAST, None)
    if made is None:
        factories.reset_database(database)
        with database.transaction(actor_id=None, channel="cli") as session:
            cast = factories.make_cast(session)
        made = request.config.stash[_CAST] = (cast, factories.saved_rows(database))
    else:
        factories.restore_rows(database, made[1])
    yield made[0]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


LoginAs = Callable[[str], httpx.Client]


def _logins(live: LiveServer, *, token: bool) -> Iterator[LoginAs]:
    clients: list[httpx.Client] = []

    def log_in(username: str) -> httpx.Client:
        client = factories.browser(live.url)
        clients.append(client)
        csrf = factories.login(client, username)
        if token:
            client.headers["X-CSRF-Token"] = csrf
        return client

    yield log_in
    for client in clients:
        client.close()


@pytest.fixture
def login_as(live: LiveServer, committed: factories.Cast) -> Iterator[LoginAs]:
    """Log users in through the form; their clients send the CSRF token with every
    request, as htmx does."""
    yield from _logins(live, token=True)


@pytest.fixture
def login_as_without_token(live: LiveServer, committed: factories.Cast) -> Iterator[LoginAs]:
    """Log users in through the form; their clients send a CSRF token only where the
    test puts one (for pages whose forms carry it)."""
    yield from _logins(live, token=False)
