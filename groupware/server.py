"""Running the server: uvicorn for the web app, plus the job scheduler.

``--role`` splits the work between processes that share the database and data dir:
``web`` serves HTTP only, ``worker`` runs only the periodic jobs, ``all`` (the default)
does both in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

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
    if role == "worker":
        print(f"groupware worker: running jobs every {settings.job_interval_seconds} s")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(scheduler(database, settings.job_interval_seconds))
        return
    app = create_app(settings, database=database, run_jobs=role == "all")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",
        http="auto",
        proxy_headers=False,
        server_header=False,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
    )
    print(f"groupware: serving on http://{host}:{port}/ (role {role})", flush=True)
    print(f"groupware: log in at http://{host}:{port}/login", flush=True)
    uvicorn.Server(config).run()
