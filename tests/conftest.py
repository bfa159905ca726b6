"""Test set-up: a real database (SQLite file or a fresh PostgreSQL database), rolled back
per test for service tests; a real uvicorn server for HTTP tests.

Choose the database with ``GROUPWARE_TEST_DB=sqlite`` (default) or ``postgresql``; for
PostgreSQL the run creates ``groupware_test_<pid>_main`` on ``GROUPWARE_TEST_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) and drops it at the end. The tests that
only read the demo company share one load of it, in a database of its own
(``demo_company``; ``groupware_test_<pid>_main_demo`` on PostgreSQL).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from groupware.app import create_app
from groupware.areas import install
from groupware.db import Database, bind_actor
from groupware.demo import load_demo
from groupware.migrate import upgrade
from groupware.settings import Settings, load_settings
from tests import factories

install()  # every area's models, pages and jobs, as the app and the CLI do

PG_ADMIN_URL = os.environ.get("GROUPWARE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_database(name: str) -> Iterator[str]:
    admin = create_engine(
        make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(PG_ADMIN_URL)
            .set(drivername="postgresql", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _test_database(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    """The URL of a fresh database of the kind GROUPWARE_TEST_DB names."""
    kind = os.environ.get("GROUPWARE_TEST_DB", "sqlite")
    if kind == "postgresql":
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        suffix = "" if name == "groupware" else f"_{name}"
        yield from _pg_database(f"groupware_test_{os.getpid()}_{worker}{suffix}")
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / f'{name}.db'}"
    else:
        raise pytest.UsageError("GROUPWARE_TEST_DB must be sqlite or postgresql")


def _settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        {
            "GROUPWARE_DATABASE_URL": database_url,
            "GROUPWARE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "GROUPWARE_SECRET_KEY": "test-secret-key-that-is-long-enough-for-us",
            "GROUPWARE_DB_POOL_SIZE": "4",
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


@pytest.fixture(scope="session")
def demo_company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo company, loaded once into a database of its own for the tests that only
    read it (a load takes 10-30 s)."""
    for url in _test_database(tmp_path_factory, "demo"):
        database = Database(_settings(url, tmp_path_factory))
        upgrade(database)
        told: list[str] = []
        loaded = load_demo(database, step=lambda number, name: told.append(f"{number} {name}"))  # noqa: B023 - called during the load, in this pass
        yield Demo(database, loaded, tuple(told))
        database.dispose()


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


@pytest.fixture
def committed(live: LiveServer, database: Database) -> Iterator[factories.Cast]:
    """The alice/bob/charlie cast, committed so that the live server sees it."""
    with database.transaction(actor_id=None, channel="cli") as session:
        cast = factories.make_cast(session)
    yield cast


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
