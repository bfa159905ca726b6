"""One writer for the SMTP server: messages accepted by many connections are filed in
one transaction (group commit).

Each connection's DATA hands its message to :meth:`Writer.file` and waits. A single
thread takes every message waiting, delivers them all in one transaction and commits
once, then wakes each connection, which only then answers 250. Under load that is one
commit for several messages, and on SQLite no connection ever waits for another's
write lock (SQLite's busy handler sleeps in steps of milliseconds). If one message of a
batch fails for a reason of its own, the batch is rolled back and each message is filed
in a transaction of its own, so one bad message never costs another its delivery.

Every commit waits for the disk (SQLite commits with ``synchronous=FULL``, see
``groupware.db``; PostgreSQL with ``synchronous_commit``), and the wait is the larger
part of a message's filing: so every message goes through the thread, where the
messages that arrive while one batch is being synced are committed together by the
next (bench/README.md, smtp_ingest). Until 2026-12 a small message was filed on the
event loop itself when nothing waited (the hop to the thread cost more than a commit
that did not sync); with the sync on the event loop, every connection waited for it.
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

Filing = Callable[[Session], Any]


@dataclass
class _Job:
    filing: Filing
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Any]


class Writer:
    """The filing thread of one SMTP server (started on first use)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._fresh = True

    async def file(self, filing: Filing) -> Any:
        """Run ``filing(session)`` in the writer's next transaction; returns its result
        once committed, or raises its exception (OperationalError: the database)."""
        self._start()
        loop = asyncio.get_running_loop()
        job = _Job(filing, loop, loop.create_future())
        self._jobs.put(job)
        return await job.done

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(10)
            self._thread = None
        self._drop()

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
            self._file([first, *self._arrived(BATCH - 1)])

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
            return _in_one_transaction(self._connection, jobs, self._arrived)
        except OperationalError:
            self._drop()
            raise

    def _arrived(self, room: int) -> list[_Job]:
        """Up to ``room`` jobs that arrived while a batch was being filed: committed
        with it, they share its wait for the disk."""
        found: list[_Job] = []
        while len(found) < room:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:  # stop: after this batch
                self._jobs.put(job)
                break
            found.append(job)
        return found

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None


def _in_one_transaction(
    connection: Connection, jobs: list[_Job], arrived: Callable[[int], list[_Job]]
) -> list[Any]:
    """Run the jobs' filings in one transaction on ``connection``, committed at the
    end; ``jobs`` grows by what ``arrived`` hands over before the commit."""
    with (
        Session(bind=connection, expire_on_commit=False) as session,
        connection.begin(),
    ):
        bind_actor(session, actor_id=None, channel="smtp")
        results: list[Any] = []
        while len(results) < len(jobs):
            results.append(jobs[len(results)].filing(session))
            if len(results) == len(jobs):
                jobs.extend(arrived(BATCH - len(jobs)))
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
