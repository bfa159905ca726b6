"""Several web processes (``GROUPWARE_WEB_WORKERS``): ``groupware serve`` as a real
process tree. The processes share the connections, one that dies is replaced, a stop
lets requests in flight finish, and ``--role all`` still answers SMTP once."""

from __future__ import annotations

import http.client
import os
import signal
import smtplib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psutil
import pytest

from tests.test_cli import GROUPWARE, gw
from tests.test_cli import env as env  # the fixture

CONNECTIONS = 24


def _status_of_login(port: int) -> int | None:
    """The status of one ``GET /login`` on a fresh connection, or None when there is no
    answer yet; the connection is closed either way (a socket left open is a
    ResourceWarning, an error under ``filterwarnings = error``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/login")
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:  # refused while starting, or no answer within the timeout
        return None
    finally:
        conn.close()


def _until(what: str, check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def _listening(parent: int, port: int) -> list[int]:
    """The pids under ``parent`` that listen on ``port``: the web processes."""
    found = []
    for child in psutil.Process(parent).children(recursive=True):
        try:
            held = child.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in held):
            found.append(child.pid)
    return sorted(found)


def _server_of(conn: http.client.HTTPConnection, workers: list[int]) -> int:
    """The web process that holds the other end of ``conn``."""
    assert conn.sock is not None
    mine = conn.sock.getsockname()
    for pid in workers:
        for held in psutil.Process(pid).net_connections(kind="tcp"):
            if held.status == psutil.CONN_ESTABLISHED and held.raddr == mine:
                return pid
    raise AssertionError(f"no web process holds the connection from {mine}")


def _get(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/login")
    response = conn.getresponse()
    response.read()
    return response.status


@contextmanager
def _serving(
    env: dict[str, str], port: int, role: str, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``groupware serve`` with two web processes; stopped with SIGTERM afterwards (the
    test reads the exit code)."""
    gw(env, "migrate")
    environ = {**env, "GROUPWARE_WEB_WORKERS": "2", "GROUPWARE_LOG_LEVEL": "warning", **settings}
    server = subprocess.Popen(
        [*GROUPWARE, "serve", "--role", role, "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
    )
    try:
        _until("groupware serve answers", lambda: _status_of_login(port) == 200)
        _until("both web processes listen", lambda: len(_listening(server.pid, port)) == 2)
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


@pytest.mark.timeout(240)
def test_two_processes_share_connections_and_a_killed_one_is_replaced(
    env: dict[str, str], free_tcp_port: int
) -> None:
    port = free_tcp_port
    with _serving(env, port, "web") as server:
        workers = _listening(server.pid, port)
        clients = [
            http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(CONNECTIONS)
        ]
        try:
            for conn in clients:  # arriving together, as 24 browsers or the benchmark's clients
                conn.connect()
            for conn in clients:  # and kept alive
                assert _get(conn) == 200
            served = [_server_of(conn, workers) for conn in clients]
        finally:
            for conn in clients:
                conn.close()
        counts = sorted(served.count(pid) for pid in workers)
        # The kernel picks a socket by a hash of each connection's addresses: 12/12 on
        # average, 3/21 or worse about once in 3,600 runs. On one shared socket the
        # process that woke first often took them all (32/0 in bench/README.md).
        assert sum(counts) == CONNECTIONS
        assert counts[0] >= 4, counts

        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        _until(
            "a new web process replaces the killed one",
            lambda: (
                len(_listening(server.pid, port)) == 2
                and victim not in _listening(server.pid, port)
            ),
        )
        (newcomer,) = set(_listening(server.pid, port)) - set(workers)
        taken_by_newcomer = 0
        for _ in range(40):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                assert _get(conn) == 200
                taken_by_newcomer += _server_of(conn, _listening(server.pid, port)) == newcomer
            finally:
                conn.close()
        assert taken_by_newcomer > 0
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert not psutil.pid_exists(newcomer)
    assert not psutil.pid_exists(workers[1])


@pytest.mark.timeout(240)
def test_a_stop_lets_a_request_in_flight_finish(env: dict[str, str], free_tcp_port: int) -> None:
    port = free_tcp_port
    body = b"username=nobody&password=wrong"
    with _serving(env, port, "web") as server:
        workers = _listening(server.pid, port)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            head = (
                f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            )
            client.sendall(head.encode() + body[:5])  # the app now waits for the rest
            time.sleep(0.5)
            server.send_signal(signal.SIGTERM)
            _until(
                "the web processes close their sockets", lambda: not _listening(server.pid, port)
            )
            assert _status_of_login(port) is None  # no new connections
            client.sendall(body[5:])
            answer = client.recv(65536)
        assert answer.startswith(b"HTTP/1.1 "), answer[:100]
        assert server.wait(timeout=60) == 0
    assert not any(psutil.pid_exists(pid) for pid in workers)


@pytest.mark.timeout(240)
def test_role_all_with_two_processes_answers_smtp_once(
    env: dict[str, str], free_tcp_port_factory: Callable[[], int]
) -> None:
    port, smtp_port = free_tcp_port_factory(), free_tcp_port_factory()
    with _serving(env, port, "all", GROUPWARE_SMTP_PORT=str(smtp_port)) as server:
        _until("SMTP answers", lambda: _smtp_answers(smtp_port))
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            assert smtp.noop()[0] == 250
        smtp_processes = [
            child
            for child in psutil.Process(server.pid).children(recursive=True)
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == smtp_port
                   for c in child.net_connections(kind="tcp"))
        ]  # fmt: skip
        assert len(smtp_processes) + _listens(server.pid, smtp_port) == 1
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert not any(p.is_running() for p in smtp_processes)


def _listens(pid: int, port: int) -> int:
    held = psutil.Process(pid).net_connections(kind="tcp")
    return int(any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in held))


def _smtp_answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False
