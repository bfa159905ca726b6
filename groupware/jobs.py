"""Periodic jobs, run by the server's scheduler and by ``groupware run-jobs``.

A job is a plain function over a session; each runs in its own transaction with the
channel ``job``. On PostgreSQL a job takes a transaction-level advisory lock first, so
when several worker processes run, one of them does each job and the others skip it.
Jobs must be harmless to run again (the alert job de-duplicates by key). Areas declare
their jobs (``Area.jobs``); this module only runs them.

A job that starts long work (resuming an import) hands it to :func:`defer` rather than
doing it in the job's transaction. Once that transaction has committed, the server's
scheduler runs the work in a thread of its own (the next jobs need not wait), while
``groupware run-jobs`` runs it before it returns: a thread of a command that is about
to exit would die with it, work half done.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.db import Database
from groupware.i18n import use_language

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Session, Database], int]
    description: str


def _locked_elsewhere(session: Session, name: str) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    key = zlib.crc32(f"groupware-job:{name}".encode())
    got = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar()
    return not got


def defer(session: Session, work: Callable[[], object]) -> None:
    """Run ``work`` once the job's transaction has committed (see the module's text)."""
    session.info.setdefault("deferred_work", []).append(work)


def run_jobs(
    database: Database, *, only: str | None = None, wait: bool = False
) -> dict[str, int | None]:
    """Run every job (or the one named); returns items handled per job, None if skipped.
    With ``wait``, work the jobs deferred is done before this returns; otherwise it goes
    on in threads of this process."""
    results: dict[str, int | None] = {}
    settings = database.settings
    with use_language(settings.default_language, settings.timezone):
        for job in wiring.current().jobs:
            if only is None or job.name == only:
                results[job.name] = _run_job(database, job, wait=wait)
    return results


def _run_job(database: Database, job: Job, *, wait: bool) -> int | None:
    try:
        with database.transaction(actor_id=None, channel="job") as session:
            if _locked_elsewhere(session, job.name):
                return None
            count = job.run(session, database)
            deferred: list[Callable[[], object]] = session.info.pop("deferred_work", [])
    except Exception:
        log.exception("job %s failed", job.name)
        return None
    for work in deferred:
        if wait:
            _logged(job.name, work)()
        else:
            # A daemon, as the web's import threads are: a server that stops does not
            # wait for it; whatever it left is resumed by the next run.
            thread = threading.Thread(
                target=_logged(job.name, work), name=f"job-{job.name}", daemon=True
            )
            thread.start()
    return count


def _logged(name: str, work: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            work()
        except Exception:
            log.exception("work deferred by job %s failed", name)

    return run


async def scheduler(database: Database, interval: float) -> None:
    """Run the jobs every ``interval`` seconds until cancelled."""
    while True:
        await asyncio.to_thread(run_jobs, database)
        await asyncio.sleep(interval)
