"""Running the server: uvicorn for the web app (under gunicorn's supervisor when
``GROUPWARE_WEB_WORKERS`` asks for several processes, see :mod:`groupware.workers`),
plus the job scheduler.

``--role`` splits the work between processes that share the database and data dir:
``web`` serves HTTP only, ``smtp`` only the SMTP listener, ``worker`` runs only the
periodic jobs, ``all`` (the default) does all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
from typing import Any

import uvicorn

from groupware.app import create_app
from groupware.db import Database
from groupware.jobs import scheduler
from groupware.settings import Settings

log = logging.getLogger("groupware")


def serve(
    settings: Settings,
    database: Database,
    *,
    role: str = "all",
    host: str | None = None,
    port: int | None = None,
) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    host = host or settings.http_host
    port = port or settings.http_port
    if settings.password_hashing == "test-only-cheapest":  # noqa: S105 (a cost, no secret)
        log.warning(
            "GROUPWARE_PASSWORD_HASHING=test-only-cheapest: stolen password hashes are "
            "cheap to guess; use it for test suites only"
        )
    if role == "worker":
        print(f"groupware worker: running jobs every {settings.job_interval_seconds} s")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(scheduler(database, settings.job_interval_seconds))
        return
    if role == "smtp":
        print(f"groupware: SMTP on {settings.smtp_host}:{settings.smtp_port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_smtp_forever(database, settings))
        return
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "auto",
        "http": "auto",
        "proxy_headers": False,
        "server_header": False,
        "log_level": settings.log_level,
        "access_log": False,  # the app logs each request itself (groupware.requestlog)
    }
    workers = settings.web_workers
    print(f"groupware: serving on http://{host}:{port}/ (role {role}, {workers} process(es))")
    print(f"groupware: log in at http://{host}:{port}/login", flush=True)
    if role == "all":
        print(f"groupware: SMTP on {settings.smtp_host}:{settings.smtp_port}", flush=True)
    if workers == 1:
        app = create_app(
            settings, database=database, run_jobs=role == "all", run_smtp=role == "all"
        )
        uvicorn.Server(uvicorn.Config(app, **options)).run()
        return
    # Several processes, one port (groupware.workers): gunicorn forks them from this one,
    # and each builds its app after the fork. Periodic jobs are safe to run in each: they
    # take a lock per job on PostgreSQL and are harmless to repeat. SMTP runs once, in a
    # process of its own (a thread here would be copied, stopped, into every fork).
    from groupware.workers import run_workers  # gunicorn: only for several processes

    database.dispose()
    smtp = None
    if role == "all":
        smtp = multiprocessing.get_context("spawn").Process(
            target=_smtp_process, args=(settings,), name="groupware-smtp", daemon=True
        )
        smtp.start()
    try:
        run_workers(
            lambda: create_app(settings, run_jobs=role == "all"),
            workers,
            host=host,
            port=port,
            log_level=settings.log_level,
            access_log=options["access_log"],
        )
    finally:
        if smtp is not None:
            smtp.terminate()
            smtp.join(timeout=30)


async def _smtp_forever(database: Database, settings: Settings) -> None:
    from groupware.mail import smtp

    listening = await smtp.start(database, settings)
    try:
        await asyncio.Event().wait()
    finally:
        await listening.close()


def _smtp_process(settings: Settings) -> None:
    """The SMTP listener of ``serve --role all`` with several web processes."""
    from groupware.areas import install

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_smtp_forever(Database(settings), settings))


def app_from_environment() -> Any:
    """The web app with its periodic jobs, built from ``GROUPWARE_*`` variables alone: the
    app of a fresh interpreter, as another process manager starts one
    (``uvicorn --factory groupware.server:app_from_environment``). ``groupware serve``
    builds its processes' apps from the settings it has."""
    from groupware.settings import load_settings

    return create_app(load_settings(dict(os.environ)), run_jobs=True)
