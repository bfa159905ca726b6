"""Several web processes on one port, each taking an even share of the connections.

With ``GROUPWARE_WEB_WORKERS`` above one, the parent binds the socket and starts that
many processes (``spawn``), restarting any that dies. They share the listening socket,
but they do not let the kernel hand out its connections: a process left to accept on
its own drains the whole queue the moment it wakes, so 32 browsers or keep-alive
clients arriving together split 28/4, and the busier process sets everybody's waiting
time (measured in ``bench/partner_list.py``). Here each process accepts one connection
at a time and only while it holds no more connections than the least busy of the
others, read from a small board that every process writes its count into (an
``mmap``-ed file: one slot of pid and count per process). A process that finds itself
ahead waits a moment and looks again; after :data:`MAX_DEFER_SECONDS` it accepts
anyway, so a stuck or slow sibling never leaves a client waiting.

The processes are uvicorn servers (:class:`BalancedServer`) whose listener is this
accept loop instead of asyncio's; everything else, from the HTTP protocol to graceful
shutdown, is uvicorn's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import mmap
import multiprocessing
import os
import signal
import socket
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

log = logging.getLogger("groupware")

SLOT = struct.Struct("=qq")  # pid, open connections
SLOTS = 256
MAX_DEFER_SECONDS = 0.05  # the longest a process holds back while a sibling may accept
DEFER_STEP_SECONDS = 0.002
PUBLISH_EVERY_SECONDS = 0.05  # how often a process writes its count when idle


class Board:
    """Open connections per process, shared through an ``mmap``-ed file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), SLOT.size * SLOTS)
        self.slot: int | None = None

    @classmethod
    def create(cls, directory: str | None = None) -> Board:
        fd, name = tempfile.mkstemp(prefix="groupware-workers-", dir=directory)
        with os.fdopen(fd, "wb") as file:
            file.write(bytes(SLOT.size * SLOTS))
        return cls(Path(name))

    def close(self) -> None:
        self._map.close()
        self._file.close()

    def claim(self, pid: int) -> int:
        """Take a free slot (or one of a process that has exited) for ``pid``."""
        with self._locked():
            for index in range(SLOTS):
                holder, _count = self._read(index)
                if holder in (0, pid) or not _alive(holder):
                    self.write(index, pid, 0)
                    self.slot = index
                    return index
        raise RuntimeError(f"more than {SLOTS} web processes")

    def publish(self, count: int) -> None:
        if self.slot is not None:
            self.write(self.slot, os.getpid(), count)

    def holders(self) -> dict[int, tuple[int, int]]:
        """Slot -> (pid, open connections) of every live process on the board."""
        found = {}
        for index in range(SLOTS):
            pid, count = self._read(index)
            if pid == 0:
                break  # slots are taken from the first, and never given back empty
            if _alive(pid):
                found[index] = (pid, count)
        return found

    def least_of_others(self) -> int | None:
        """The fewest open connections any other live process has, if there is one."""
        counts = [count for index, (_pid, count) in self.holders().items() if index != self.slot]
        return min(counts, default=None)

    def may_accept(self, mine: int) -> bool:
        """Whether a process with ``mine`` open connections should take the next one."""
        least = self.least_of_others()
        return least is None or mine <= least

    def write(self, index: int, pid: int, count: int) -> None:
        SLOT.pack_into(self._map, index * SLOT.size, pid, count)

    def _read(self, index: int) -> tuple[int, int]:
        pid, count = SLOT.unpack_from(self._map, index * SLOT.size)
        return int(pid), int(count)

    @contextlib.contextmanager
    def _locked(self) -> Any:
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)


@functools.lru_cache(maxsize=SLOTS)
def _alive_until(pid: int, second: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs, asked of the kernel at most once a second per pid."""
    return _alive_until(pid, int(time.monotonic()))


class BalancedServer(uvicorn.Server):
    """A uvicorn server that accepts through :class:`Board` instead of asyncio."""

    def __init__(self, config: uvicorn.Config, board: Board) -> None:
        super().__init__(config)
        self.board = board
        self._tasks: list[asyncio.Task[None]] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn runs the app's lifespan and sets up its state; it listens on nothing.
        await super().startup(sockets=[])
        if self.should_exit or not sockets:
            return
        self.board.claim(os.getpid())
        self._tasks = [asyncio.create_task(self._accept(sock)) for sock in sockets]
        self._tasks.append(asyncio.create_task(self._publish()))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.board.publish(0)
        await super().shutdown(sockets=sockets)

    def _open(self) -> int:
        return len(self.server_state.connections)

    async def _publish(self) -> None:
        while True:
            self.board.publish(self._open())
            await asyncio.sleep(PUBLISH_EVERY_SECONDS)

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        factory = functools.partial(
            config.http_protocol_class,  # type: ignore[call-arg] # uvicorn's own signature
            config=config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
            _loop=loop,
        )
        sock.setblocking(False)
        holding_since: float | None = None  # when this process began to leave a client
        while True:
            await _readable(loop, sock)
            if not self.board.may_accept(self._open()):
                holding_since = holding_since or loop.time()
                if loop.time() - holding_since < MAX_DEFER_SECONDS:
                    await asyncio.sleep(DEFER_STEP_SECONDS)
                    continue
            holding_since = None
            try:
                conn, _address = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # a sibling took it
            except OSError as exc:  # out of file descriptors and the like
                log.error("accepting a connection failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            conn.setblocking(False)
            try:
                await loop.connect_accepted_socket(factory, conn, ssl=config.ssl)
            except OSError as exc:
                log.info("a connection closed while it was being set up: %s", exc)
                conn.close()
                continue
            self.board.publish(self._open())


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


def _worker(config: uvicorn.Config, sock: socket.socket, board_path: str) -> None:
    """The body of one web process (started with ``spawn``)."""
    config.configure_logging()
    board = Board(Path(board_path))
    try:
        BalancedServer(config, board).run(sockets=[sock])
    finally:
        board.close()


def run_workers(
    config: uvicorn.Config, workers: int, *, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve ``config`` with ``workers`` processes until SIGINT or SIGTERM."""
    sock = config.bind_socket()
    sock.listen(config.backlog)  # asyncio's create_server would; our accept loop does not
    board = Board.create()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker, args=(config, sock, str(board.path)))
        process.start()
        return process

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    if on_ready is not None:
        on_ready()
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    log.warning("web process %s exited (%s); starting another", process.pid,
                                process.exitcode)  # fmt: skip
                    processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        board.close()
        board.path.unlink(missing_ok=True)


# -- library option under measurement: gunicorn's supervisor, one SO_REUSEPORT socket per
# uvicorn worker (bench/partner_list.py --compare-supervisors)


def run_reuseport(
    factory: str, workers: int, *, host: str, port: int, log_level: str = "warning"
) -> None:
    """Serve the app made by ``factory`` (``module:function``) with gunicorn's arbiter and
    ``workers`` uvicorn workers, each listening on its own ``SO_REUSEPORT`` socket."""
    from gunicorn.app.base import BaseApplication
    from uvicorn.importer import import_from_string

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {
                "bind": [f"{host}:{port}"],
                "workers": workers,
                "worker_class": "groupware.workers.UvicornWorker",
                "reuse_port": True,
                "keepalive": 5,
                "graceful_timeout": 30,
                "loglevel": log_level,
                "accesslog": None,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return import_from_string(factory)()

    Application().run()


try:
    from uvicorn_worker import UvicornWorker as _LibraryWorker

    class UvicornWorker(_LibraryWorker):  # type: ignore[misc]
        CONFIG_KWARGS = {"loop": "auto", "http": "auto", "server_header": False,
                         "proxy_headers": False}  # fmt: skip
except ImportError:  # pragma: no cover
    pass
