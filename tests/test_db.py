"""The connection pool: a connection that idled is tested before use, a busy one is not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, exc

from groupware import db
from groupware.settings import Settings


@pytest.fixture
def pg_url(settings: Settings) -> str:
    url = settings.effective_database_url
    if not url.startswith("postgresql"):
        pytest.skip("pinging pooled connections is PostgreSQL's (SQLite has no server)")
    return url


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


@pytest.fixture
def killed(pg_url: str) -> Iterator[tuple[Engine, int]]:
    """A pool of one connection whose server process was then terminated."""
    engine = db.make_engine(pg_url, pool_size=1)
    pid = _backend(engine)
    admin = create_engine(db.normalize_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    admin.dispose()
    yield engine, pid
    engine.dispose()


def test_an_idle_connection_that_died_is_replaced_before_use(
    killed: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    engine, pid = killed
    assert _backend(engine) != pid  # pinged, found dead, replaced: the caller sees nothing


def test_a_connection_in_steady_use_is_not_pinged(
    killed: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine, pid = killed
    # Not pinged (no round trip spent on it): the dead connection surfaces once ...
    with pytest.raises(exc.OperationalError):
        _backend(engine)
    # ... and SQLAlchemy drops the pool, so the next request gets a live one.
    assert _backend(engine) != pid
