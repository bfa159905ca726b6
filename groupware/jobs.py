"""Periodic jobs, run by the server's scheduler and by ``groupware run-jobs``.

A job is a plain function over a session; each runs in its own transaction with the
channel ``job``. On PostgreSQL a job takes a transaction-level advisory lock first, so
when several worker processes run, one of them does each job and the others skip it.
Jobs must be harmless to run again (later modules' alert jobs de-duplicate by key).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from groupware.accounts import sessions, throttle
from groupware.db import Database
from groupware.i18n import today, use_language
from groupware.notifications.service import prune as prune_notifications

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Session, Database], int]
    description: str


def _prune_sessions(session: Session, database: Database) -> int:
    return sessions.prune(session, database.settings)


def _prune_login_attempts(session: Session, database: Database) -> int:
    return throttle.prune(session, database.settings)


def _prune_notifications(session: Session, database: Database) -> int:
    return prune_notifications(session, older_than=dt.timedelta(days=90))


def _resume_imports(session: Session, database: Database) -> int:
    """Imports whose process died are started again (a commit that was cut off left
    nothing behind, so it starts from the file)."""
    from groupware.crm.imports import resume_stale_jobs, start_in_background

    stale = resume_stale_jobs(session, database)
    for job_id, action in stale:
        start_in_background(database, job_id, action)
    return len(stale)


def _raise_alerts(session: Session, database: Database) -> int:
    """Late phases and overdue deadlines become alerts (see groupware.phases.alerts)."""
    from groupware.phases.alerts import raise_alerts

    return raise_alerts(session, today(), database.settings.alert_grace_days)


JOBS: list[Job] = [
    Job("prune-sessions", _prune_sessions, "Delete expired web sessions."),
    Job("prune-login-attempts", _prune_login_attempts, "Forget failed logins past the window."),
    Job("prune-notifications", _prune_notifications, "Delete read notifications after 90 days."),
    Job("resume-imports", _resume_imports, "Start again CSV imports whose process died."),
    Job("raise-alerts", _raise_alerts, "Alert on late phases and overdue deals, escalate."),
]


def register_job(job: Job) -> Job:
    JOBS.append(job)
    return job


def _locked_elsewhere(session: Session, name: str) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    key = zlib.crc32(f"groupware-job:{name}".encode())
    got = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar()
    return not got


def run_jobs(database: Database, *, only: str | None = None) -> dict[str, int | None]:
    """Run every job (or the one named); returns items handled per job, None if skipped."""
    results: dict[str, int | None] = {}
    settings = database.settings
    with use_language(settings.default_language, settings.timezone):
        for job in JOBS:
            if only is None or job.name == only:
                results[job.name] = _run_job(database, job)
    return results


def _run_job(database: Database, job: Job) -> int | None:
    try:
        with database.transaction(actor_id=None, channel="job") as session:
            if _locked_elsewhere(session, job.name):
                return None
            return job.run(session, database)
    except Exception:
        log.exception("job %s failed", job.name)
        return None


async def scheduler(database: Database, interval: float) -> None:
    """Run the jobs every ``interval`` seconds until cancelled."""
    while True:
        await asyncio.to_thread(run_jobs, database)
        await asyncio.sleep(interval)
