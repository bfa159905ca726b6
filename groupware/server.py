"""Running the server: uvicorn for the web app, plus the job scheduler.

``--role`` splits the work between processes that share the database and data dir:
``web`` serves HTTP only, ``smtp`` only the SMTP listener, ``worker`` runs only the
periodic jobs, ``all`` (the default) does all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from typing import Any

import uvicorn

from groupware.app import create_app
from groupware.db import Database
from groupware.jobs import scheduler
from groupware.settings import Settings
from groupware.workers import run_workers

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
        "access_log": settings.log_level == "debug",
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
    if role == "all":  # the web processes share the HTTP port; SMTP runs here, once
        threading.Thread(
            target=asyncio.run, args=(_smtp_forever(Database(settings), settings),), daemon=True
        ).start()
    # Several processes share the socket and its connections evenly (groupware.workers);
    # each builds its app from the environment (settings travel as GROUPWARE_* variables).
    # Periodic jobs are safe to run in each: they take a lock per job on PostgreSQL and
    # are harmless to repeat.
    database.dispose()
    os.environ[_ROLE_VARIABLE] = role
    config = uvicorn.Config("groupware.server:app_from_environment", factory=True, **options)
    run_workers(config, workers)


async def _smtp_forever(database: Database, settings: Settings) -> None:
    from groupware.mail import smtp

    listening = await smtp.start(database, settings)
    try:
        await asyncio.Event().wait()
    finally:
        await listening.close()


_ROLE_VARIABLE = "GROUPWARE_SERVE_ROLE_"  # not a setting: how serve tells its workers the role


def app_from_environment() -> Any:
    """The app of one worker process (see :func:`serve`)."""
    from groupware.settings import load_settings

    environ = {k: v for k, v in os.environ.items() if k != _ROLE_VARIABLE}
    role = os.environ.get(_ROLE_VARIABLE, "all")
    return create_app(load_settings(environ), run_jobs=role == "all")
