"""The database: declarative base, column types, engines and transactions.

The same models and services run on SQLite (the embedded default) and PostgreSQL
(psycopg 3). Times are stored in UTC and come back as aware datetimes on both.

Services never commit. Whoever owns the unit of work (a web handler's wrapper, a CLI
command, a job) opens it with :meth:`Database.transaction`, which also says *who* acts
and *through which channel*; the history recorder reads both from ``session.info``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    DateTime,
    MetaData,
    Table,
    create_engine,
    event,
    func,
    insert,
    literal,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from groupware import wiring
from groupware.settings import Settings, SettingsError

CHANNELS = ("web", "api", "cli", "dav", "smtp", "job")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC; accepts and returns aware datetimes only."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSONType}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def const(value: Any) -> BindParameter[Any]:
    """``value`` written into the SQL text instead of sent as a parameter.

    For constants of a statement (a status it always leaves out, a record type, a page
    size, ``OFFSET 0``): PostgreSQL then knows them when it plans the prepared statement
    once, instead of planning it again on every execution, which for the partner list
    cost more than running it. Never for values that come from a request."""
    return literal(value, literal_execute=True)


def cents(value: Any) -> decimal.Decimal:
    """A sum of money from the database as cents (SQLite may hand back a float, and an
    empty sum None)."""
    return decimal.Decimal(str(value or 0)).quantize(decimal.Decimal("0.01"))


def escape_like(text: str) -> str:
    """Escape ``text`` for a LIKE pattern with ``escape="\\"``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def holder_of(session: Session, column: Any, value: str, *among: Any) -> int | None:
    """The id of the row whose ``column`` equals ``value`` ignoring case, if any (for
    "this name is taken" checks; the row's table must have an ``id``); ``among`` are
    conditions on the rows the name must be unique among (the types of one process)."""
    query = select(column.class_.id).where(func.lower(column) == value.lower(), *among)
    return session.scalar(query.limit(1))


# Parameters per SQLite statement: well under its limit (32,766 since 3.32), and a
# statement that SQLite parses in a fraction of a millisecond.
SQLITE_VARIABLES = 8000


def chunk_sizes(count: int, step: int) -> list[int]:
    """``count`` rows in statements of ``step`` rows, the rest in powers of two: a few
    statement sizes only, so that SQLite's statement cache (each one a program of
    thousands of steps) holds few of them."""
    sizes = [step] * (count // step)
    rest = count % step
    bit = 1 << max(rest.bit_length() - 1, 0)
    while rest:
        if rest >= bit:
            sizes.append(bit)
            rest -= bit
        bit >>= 1
    return sizes


def copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Write many rows in the session's transaction the fast way, bypassing the ORM (and
    so the history hook): ``COPY`` on PostgreSQL, multi-row INSERTs on SQLite. ``table``
    and ``columns`` are our own names, never input. ``rows`` may be made as they are
    written (a generator): PostgreSQL then stores the first while the next are made."""
    if isinstance(rows, Sequence) and not rows:
        return
    raw = session.connection().connection.driver_connection
    names = ", ".join(columns)
    if session.get_bind().dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    # Many rows per statement: executemany lets go of the interpreter lock for every
    # row, and gets it back only after another thread's time slice, so a reading thread
    # and this one took turns instead of overlapping.
    marks = "(" + ", ".join("?" * len(columns)) + ")"
    rows = rows if isinstance(rows, Sequence) else list(rows)
    start = 0
    for size in chunk_sizes(len(rows), max(1, SQLITE_VARIABLES // len(columns))):
        chunk = rows[start : start + size]
        start += size
        statement = f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * size)}"  # noqa: S608 - our names
        raw.execute(statement, list(chain.from_iterable(chunk)))  # type: ignore[union-attr]


def reserve_ids(session: Session, table: str, count: int) -> list[int]:
    """``count`` new ids of ``table`` (our own name, never input), for rows written by
    :func:`copy_rows` with their ids, which other rows must name before they are
    written (a deal's phases, a task's deal). On PostgreSQL from the table's sequence
    in one statement (an array: fetching a row per id cost a second per 100,000); on
    SQLite after the highest id ever given, inside the writing transaction, so no
    other writer takes ids meanwhile."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # The sequence looked up first: named per id, it cost 3 ms per 1000 ids.
        sequence = session.scalar(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}
        )
        query = text(
            "SELECT array_agg(nextval(CAST(:seq AS regclass))) FROM generate_series(1, :n)"
        )
        return list(session.scalar(query, {"seq": sequence, "n": count}))
    highest = session.scalar(text(f"SELECT max(id) FROM {table}")) or 0  # noqa: S608 - our name
    kept = text("SELECT seq FROM sqlite_sequence WHERE name = :table")
    start = max(highest, session.scalar(kept, {"table": table}) or 0) + 1
    return list(range(start, start + count))


def may_skip_triggers(session: Session) -> bool:
    """Whether the session's PostgreSQL role may set ``session_replication_role`` (a
    superuser, or a role granted ``SET`` on it, as ``pg_restore --disable-triggers``
    needs): a bulk writer may then skip the per-row foreign-key triggers of rows whose
    references it has made sure of (:func:`triggers_skipped`). Never on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    savepoint = session.begin_nested()
    try:
        session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(text("SET LOCAL session_replication_role = origin"))
    except DBAPIError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


@contextlib.contextmanager
def triggers_skipped(session: Session, skip: bool = True) -> Iterator[None]:
    """Within the block (with ``skip``), rows written skip PostgreSQL's triggers, the
    foreign-key checks among them: 0.5-0.7 s per key and 100,000 rows on a small
    machine. The caller holds what the rows refer to ``FOR KEY SHARE``, as the triggers
    would, or checks the references itself; see :func:`may_skip_triggers`."""
    if not skip:
        yield
        return
    session.execute(text("SET LOCAL session_replication_role = replica"))
    try:
        yield
    finally:
        session.execute(text("SET LOCAL session_replication_role = origin"))


def sqlite_value(value: Any) -> Any:
    """A value as :func:`copy_rows` writes it on SQLite, where it bypasses SQLAlchemy's
    types: times as SQLAlchemy stores them (UTC text), dates as ISO text, amounts as
    text (NUMERIC columns read it back as a number)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message is one line."""


def normalize_url(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def validate_url(url: str) -> None:
    """Raise :class:`SettingsError` unless ``url`` names a database we support."""
    try:
        parsed = normalize_url(url)
    except ArgumentError:
        raise SettingsError(f"GROUPWARE_DATABASE_URL={url!r} is not a database URL") from None
    if parsed.drivername not in {"sqlite", "sqlite+pysqlite", "postgresql+psycopg"}:
        raise SettingsError(
            f"GROUPWARE_DATABASE_URL uses {parsed.drivername!r}; "
            "supported are sqlite:/// and postgresql://"
        )
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise SettingsError("GROUPWARE_DATABASE_URL for SQLite needs a file name")


def describe_url(url: URL) -> str:
    """The URL without its password, for messages."""
    return url.render_as_string(hide_password=True)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=2 * pool_size,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        # No JIT: our statements are short, and a plan whose row estimate is far off
        # (one prepared for any parameter) would otherwise spend 300 ms compiling.
        connect_args={
            "connect_timeout": 10,
            "application_name": "groupware",
            "options": "-c jit=off",
        },
    )
    _ping_when_idle(engine)
    return engine


# A pooled connection unused for longer than this is tested before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only when it has been idle a while.

    ``pool_pre_ping`` costs a round trip on every checkout, a tenth of a busy list
    page's database work. A connection in steady use is known to be alive; one that sat
    idle (a database restart, a firewall dropping quiet connections) is pinged and, if
    dead, replaced before the request sees it. A connection that dies while in use is
    caught by SQLAlchemy anyway, which then drops the whole pool."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection is gone: {exc}") from exc


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _fold(value: Any) -> Any:
    from groupware.crm.normalize import search_text

    return search_text(value) if isinstance(value, str) else value


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module so that SAVEPOINTs
        # work and so that writers can start with BEGIN IMMEDIATE (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode the log is synced at every commit. With NORMAL an OS crash
        # or power cut may lose the last commits, and every commit here is answered as
        # kept: 250 to a mail server, "saved", 201 to a CalDAV client (measured cost:
        # bench/README.md, smtp_ingest).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's own lower() folds ASCII only; "Šime" must match "šime" as on PostgreSQL.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        # gw_fold() as on PostgreSQL (migration 0022): for reading only, never in an
        # index or a trigger, which any other program writing the file would break.
        dbapi_connection.create_function("gw_fold", 1, _fold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write
        # lock in WAL mode (SQLITE_BUSY_SNAPSHOT is returned at once); units of work
        # that will write declare it and take the lock up front.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` with one clear line if we cannot connect."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"cannot connect to the database {describe_url(engine.url)}: {reason}"
        ) from None


class Database:
    """Engines and sessions of one process."""

    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        if not wiring.installed():
            raise RuntimeError(
                "the areas are not installed: call groupware.areas.install() before "
                "opening the database (it completes the models and starts the history)"
            )
        self.settings = settings
        self.engine = engine or make_engine(
            settings.effective_database_url, pool_size=settings.db_pool_size
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True)
        self._writer_sessions = sessionmaker(writer, expire_on_commit=False)

    def session(self, *, write: bool = False) -> Session:
        return (self._writer_sessions if write else self._sessions)()

    @contextlib.contextmanager
    def transaction(
        self, *, actor_id: int | None, channel: str, write: bool = True
    ) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back on an exception."""
        with self.session(write=write) as session, session.begin():
            bind_actor(session, actor_id=actor_id, channel=channel)
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def bind_actor(session: Session, *, actor_id: int | None, channel: str) -> None:
    """Say who acts through which channel; history rows carry both."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    session.info["actor_id"] = actor_id
    session.info["channel"] = channel


class PreparedInsert:
    """An INSERT of fixed columns run on the driver's own cursor: compiled once per
    dialect, its values converted by the columns' types as SQLAlchemy would. For a hot
    path only (the SMTP server's filing), where SQLAlchemy's work per statement cost
    more than the database's; it fires no events and applies no column defaults, so
    every column is given."""

    def __init__(
        self, table: Table, columns: Sequence[str], *, returning: str = "", unique: str = ""
    ) -> None:
        self.table = table
        self.columns = list(columns)
        self.returning = returning
        # a column with a unique index: a row whose value is taken is not inserted (and
        # returns None)
        self.unique = unique
        self._compiled: dict[str, tuple[str, list[str] | None, dict[str, Any]]] = {}

    def compiled(self, dialect: Any) -> tuple[str, list[str] | None, dict[str, Any]]:
        """The statement's SQL for ``dialect``, its parameters' order (positional
        styles) and the columns' value converters."""
        found = self._compiled.get(dialect.name)
        if found is None:
            statement: Any = insert(self.table)
            if self.unique:
                from sqlalchemy.dialects import postgresql, sqlite

                upsert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
                statement = upsert(self.table).on_conflict_do_nothing(index_elements=[self.unique])
            if self.returning:
                statement = statement.returning(self.table.c[self.returning])
            compiled = statement.compile(dialect=dialect, column_keys=self.columns)
            names = list(compiled.positiontup or []) if compiled.positional else None
            processors = {}
            for name in self.columns:
                kind = self.table.c[name].type.dialect_impl(dialect)
                processor = kind.bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            found = self._compiled[dialect.name] = (compiled.string, names, processors)
        return found

    def execute(self, session: Session, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """Insert ``rows`` in the session's transaction; the ``returning`` column of
        each (when one was named; None for a row left out for its ``unique`` value)."""
        connection = session.connection()
        sql, names, processors = self.compiled(connection.dialect)
        params: list[Any] = []
        for row in rows:
            values = {k: processors[k](v) if k in processors else v for k, v in row.items()}
            params.append([values[n] for n in names] if names is not None else values)
        cursor = connection.connection.cursor()
        try:
            if not self.returning:
                cursor.executemany(sql, params)
                return []
            found = []
            for one in params:
                cursor.execute(sql, one)
                inserted = cursor.fetchone()
                found.append(None if inserted is None else inserted[0])
            return found
        finally:
            cursor.close()


def never_reuse_ids() -> None:
    """History, shares and notifications name records by type and id; SQLite would
    otherwise hand a deleted record's id (and so its history) to the next record. Run
    once every model is defined (``groupware.areas.install``)."""
    for table in Base.metadata.tables.values():
        if "id" in table.c and table.c.id.primary_key and table.c.id.type.python_type is int:
            table.dialect_kwargs["sqlite_autoincrement"] = True
