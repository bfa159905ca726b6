"""Several web processes on one port: gunicorn's arbiter with uvicorn workers, each
worker listening on a socket of its own bound with ``SO_REUSEPORT``.

With ``GROUPWARE_WEB_WORKERS`` above one, ``groupware serve`` hands the processes to
gunicorn: it forks them, replaces one that dies, and on SIGTERM stops them gracefully
(each closes its socket, finishes the requests it holds, and is killed only after
:data:`GRACEFUL_SECONDS`). The HTTP side of every worker is uvicorn's, as with one
process (``uvicorn_worker.UvicornWorker``).

Why a socket per worker: processes that share one listening socket let whichever
event loop wakes first accept the whole queue, so 32 browsers or keep-alive clients
arriving together split 33/0 or 28/4 and the busier process sets everybody's waiting
time. With ``SO_REUSEPORT`` the kernel hands each new connection to one of the sockets
by a hash of its addresses, an even split on average, and a worker that dies takes its
socket out of the group. ``bench/partner_list.py --compare-supervisors`` measured this
against uvicorn's own supervisor (shared socket) and against the hand-written
accept-balancing that lived here before (bench/README.md, "Several processes").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]

GRACEFUL_SECONDS = 30  # how long a stopping worker may finish its requests
KEEP_ALIVE_SECONDS = 5  # uvicorn's default; gunicorn's own (2 s) would apply otherwise


class Worker(UvicornWorker):  # type: ignore[misc] # uvicorn_worker has no type hints
    """uvicorn's gunicorn worker with the options ``groupware serve`` gives uvicorn."""

    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "server_header": False,
                     "proxy_headers": False}  # fmt: skip


class _Arbiter(BaseApplication):  # type: ignore[misc] # gunicorn has no type hints
    def __init__(self, load_app: Callable[[], Any], options: dict[str, Any]) -> None:
        self._load_app = load_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load_app()  # in each worker, after the fork


def run_workers(
    load_app: Callable[[], Any],
    workers: int,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Serve the app that ``load_app`` makes (called once in each worker) with ``workers``
    processes on ``host:port`` until SIGTERM or SIGINT; returns when all have stopped."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    arbiter = _Arbiter(
        load_app,
        {
            "bind": [address],
            "workers": workers,
            "worker_class": f"{__name__}.Worker",
            "reuse_port": True,
            "keepalive": KEEP_ALIVE_SECONDS,
            "graceful_timeout": GRACEFUL_SECONDS,
            "loglevel": log_level,
            "accesslog": "-" if access_log else None,
            "proc_name": "groupware",
        },
    )
    try:
        arbiter.run()
    except SystemExit as stopped:  # gunicorn leaves through sys.exit, also when all went well
        if stopped.code not in (0, None):
            raise
