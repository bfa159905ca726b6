"""One writer for the SMTP server: messages accepted by many connections are filed in
one transaction (group commit).

Each connection's DATA hands its message to :meth:`Writer.file` and waits. A single
thread takes every message waiting, delivers them all in one transaction and commits
once, then wakes each connection, which only then answers 250. Under load that is one
commit for several messages, and on SQLite no connection ever waits for another's
write lock (SQLite's busy handler sleeps in steps of milliseconds). If one message of a
batch fails for a reason of its own, the batch is rolled back and each message is filed
in a transaction of its own, so one bad message never costs another its delivery.

On SQLite a small message is filed on the event loop itself when nothing else is
waiting to be filed and no other connection holds the write lock (its own connection
never waits for the lock: ``busy_timeout`` 0). Handing it to the thread and back cost
more than the filing (bench/smtp_ingest.py: 0.76 → 0.87 of the baseline); when the lock
is taken, the thread waits for it instead. That connection never checkpoints the
write-ahead log on commit (which writes to the disk and syncs it); the thread does it
every ``CHECKPOINT_EVERY`` messages filed on the loop, with the passive kind that
never blocks a writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from groupware.db import Database, bind_actor

log = logging.getLogger("groupware.smtp")

BATCH = 64  # messages filed in one transaction at most
CHECKPOINT_EVERY = 200  # messages filed on the event loop between checkpoints

Filing = Callable[[Session], Any]
CHECKPOINT = object()  # a job for the thread: checkpoint SQLite's write-ahead log


class _Busy(Exception):
    """Another connection holds SQLite's write lock."""


@dataclass
class _Job:
    filing: Filing
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Any]


class Writer:
    """The filing thread of one SMTP server (started on first use)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._jobs: queue.SimpleQueue[_Job | object | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._fresh = True
        self._inline: Connection | None = None  # SQLite: filing on the event loop
        self._waiting = 0  # jobs handed to the thread and not answered yet
        self._since_checkpoint = 0

    async def file(self, filing: Filing, *, small: bool = False) -> Any:
        """Run ``filing(session)`` in the writer's next transaction; returns its result
        once committed, or raises its exception (OperationalError: the database).
        ``small``: quick to file (see the module docstring)."""
        if small and self.database.is_sqlite and not self._waiting:
            try:
                return self._file_here(filing)
            except _Busy:
                pass  # another writer holds the lock: the thread waits for it
        self._start()
        self._waiting += 1
        try:
            return await self._file_there(filing)
        finally:
            self._waiting -= 1

    async def _file_there(self, filing: Filing) -> Any:
        loop = asyncio.get_running_loop()
        job = _Job(filing, loop, loop.create_future())
        self._jobs.put(job)
        return await job.done

    def _file_here(self, filing: Filing) -> Any:
        if self._inline is None:
            engine = self.database.engine.execution_options(sqlite_immediate=True)
            self._inline = engine.connect()
            driver: Any = self._inline.connection.driver_connection
            driver.execute("PRAGMA busy_timeout=0")
            driver.execute("PRAGMA wal_autocheckpoint=0")
        try:
            (result,) = _in_one_transaction(self._inline, [filing])
        except OperationalError as exc:
            if "locked" in str(exc.orig) or "busy" in str(exc.orig):
                raise _Busy from exc
            self._inline.invalidate()
            self._inline = None
            raise
        except Exception:
            log.exception("a message could not be filed")
            raise RuntimeError("the message could not be filed") from None
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            self._since_checkpoint = 0
            self._start()
            self._jobs.put(CHECKPOINT)
        return result

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(10)
            self._thread = None
        self._drop()
        if self._inline is not None:  # its pragmas are for it alone: not back to the pool
            with contextlib.suppress(Exception):
                self._inline.invalidate()
                self._inline.close()
            self._inline = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="smtp-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            if not isinstance(first, _Job):
                self._checkpoint()
                continue
            jobs = [first]
            while len(jobs) < BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(job, _Job):  # stop or checkpoint: after this batch
                    self._jobs.put(job)
                    break
                jobs.append(job)
            self._file(jobs)

    def _file(self, jobs: list[_Job]) -> None:
        try:
            results = self._transaction(jobs)
        except OperationalError as exc:
            for job in jobs:
                _settle(job, error=exc)
            return
        except Exception:
            if len(jobs) == 1:
                log.exception("a message could not be filed")
                _settle(jobs[0], error=RuntimeError("the message could not be filed"))
                return
            for job in jobs:  # one bad message: each on its own
                self._file([job])
            return
        _settle_all(jobs, results)

    def _checkpoint(self) -> None:
        try:
            if self._connection is None:
                engine = self.database.engine.execution_options(sqlite_immediate=True)
                self._connection = engine.connect()
            driver: Any = self._connection.connection.driver_connection
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # a checkpoint missed is taken the next time
            log.exception("the write-ahead log could not be checkpointed")
            self._drop()

    def _transaction(self, jobs: list[_Job]) -> list[Any]:
        try:
            return self._commit(jobs)
        except OperationalError:
            if self._fresh:
                raise
            self._drop()  # a held connection the server dropped meanwhile: once more
            return self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> list[Any]:
        """One transaction on the writer's own connection (held between batches: taking
        one from the pool and beginning cost a fifth of a message's filing)."""
        self._fresh = self._connection is None
        if self._connection is None:
            engine = self.database.engine.execution_options(sqlite_immediate=True)
            self._connection = engine.connect()
        try:
            return _in_one_transaction(self._connection, [job.filing for job in jobs])
        except OperationalError:
            self._drop()
            raise

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None


def _in_one_transaction(connection: Connection, filings: list[Filing]) -> list[Any]:
    """Run ``filings`` in one transaction on ``connection``, committed at the end."""
    with (
        Session(bind=connection, expire_on_commit=False) as session,
        connection.begin(),
    ):
        bind_actor(session, actor_id=None, channel="smtp")
        results = [filing(session) for filing in filings]
        session.flush()
    return results


def _settle(job: _Job, *, result: Any = None, error: BaseException | None = None) -> None:
    def settle() -> None:
        if job.done.done():  # the connection went away meanwhile
            return
        if error is not None:
            job.done.set_exception(error)
        else:
            job.done.set_result(result)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
        job.loop.call_soon_threadsafe(settle)


def _settle_all(jobs: list[_Job], results: list[Any]) -> None:
    """Answer a committed batch: one wake-up of each waiting event loop, not one per
    message."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Any]]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_loop.setdefault(job.loop, []).append((job, result))

    def settle(done: list[tuple[_Job, Any]]) -> None:
        for job, result in done:
            if not job.done.done():  # the connection went away meanwhile
                job.done.set_result(result)

    for loop, done in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, done)
