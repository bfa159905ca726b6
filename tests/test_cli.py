"""The ``groupware`` command against a database of its own.

Most commands run inside the test's process (``in_process``: the same ``main`` with the
same environment, standard input and output as the installed command); a new process
would import the whole app again, about 2 CPU-s a command. The tests of what only a
real process shows (the installed entry point, exit statuses, nothing printed before
the error line) start one.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from groupware import cli, wiring
from groupware.accounts.passwords import use_hashing
from groupware.accounts.teams import TeamIn, create_team
from groupware.db import Database
from groupware.settings import load_settings
from tests.conftest import TEST_HASHING, Demo, _pg_database

GROUPWARE = [sys.executable, "-m", "groupware.cli"]
# A test that loads or restores the demo company needs more than the suite's 120 s on
# a loaded two-core machine.
pytestmark = pytest.mark.timeout(600)


def _url(kind: str, name: str, tmp: Path) -> Iterator[str]:
    if kind == "postgresql":
        yield from _pg_database(f"groupware_cli_{name}_{os.getpid()}")
    else:
        yield f"sqlite:///{tmp / (name + '.db')}"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    kind = os.environ.get("GROUPWARE_TEST_DB", "sqlite")
    for url in _url(kind, "main", tmp_path):
        yield _environ(url, tmp_path / "data")


def _environ(url: str, data_dir: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GROUPWARE_")}
    return {
        **clean,
        **TEST_HASHING,
        "GROUPWARE_DATABASE_URL": url,
        "GROUPWARE_DATA_DIR": str(data_dir),
    }


def in_process(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``groupware ARGS`` run by ``cli.main`` in this process, with exactly ``env`` as
    the environment and ``stdin`` as standard input; what it printed and its exit
    status, as ``subprocess.run`` gives them."""
    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env)
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _stdin(io.StringIO(stdin)),
        ):
            try:
                status = cli.main(list(args))
            except SystemExit as exit_:  # argparse: --help, a wrong command line
                status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
        use_hashing(TEST_HASHING["GROUPWARE_PASSWORD_HASHING"])  # what the command set
    return subprocess.CompletedProcess(["groupware", *args], status, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(replacement: io.StringIO) -> Iterator[None]:
    saved, sys.stdin = sys.stdin, replacement
    try:
        yield
    finally:
        sys.stdin = saved


def gw(
    env: dict[str, str], *args: str, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = in_process(env, *args, stdin=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"groupware {' '.join(args)} failed: {result.stderr}")
    return result


def real_process(
    env: dict[str, str], *args: str, command: list[str] = GROUPWARE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)


def test_every_command_has_help() -> None:
    commands = [
        [],
        ["serve"],
        ["migrate"],
        ["user"],
        ["user", "add"],
        ["user", "list"],
        ["user", "passwd"],
        ["user", "disable"],
        ["token"],
        ["token", "create"],
        ["demo"],
        ["backup"],
        ["restore"],
        ["run-jobs"],
    ]
    for command in commands:
        result = in_process(dict(os.environ), *command, "--help")
        assert result.returncode == 0, command
        assert "usage: groupware" in result.stdout
    installed = str(Path(sys.executable).with_name("groupware"))
    result = real_process(dict(os.environ), "--help", command=[installed])
    assert result.returncode == 0 and "usage: groupware" in result.stdout


def test_a_bad_setting_stops_with_one_line(env: dict[str, str]) -> None:
    # A real process: nothing may be printed before the one line, by imports neither.
    result = real_process({**env, "GROUPWARE_HTTP_PORT": "http"}, "migrate")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "GROUPWARE_HTTP_PORT='http' is invalid" in result.stderr


def test_an_unreachable_database_stops_with_one_line(env: dict[str, str]) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    result = gw({**env, "GROUPWARE_DATABASE_URL": url}, "migrate", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("groupware: error: cannot connect to the database")
    assert result.stderr.strip().count("\n") == 0


def test_commands_refuse_an_unmigrated_database(env: dict[str, str]) -> None:
    result = gw(env, "user", "list", check=False)
    assert result.returncode == 1
    assert "run `groupware migrate` first" in result.stderr


def _add_team(env: dict[str, str], name: str) -> None:
    database = Database(load_settings(env))
    try:
        with database.transaction(actor_id=None, channel="cli") as session:
            create_team(session, TeamIn(name=name))
    finally:
        database.dispose()


def test_user_lifecycle_from_the_command_line(env: dict[str, str]) -> None:
    assert "Migrated the database from empty" in gw(env, "migrate").stdout
    assert "up to date" in gw(env, "migrate").stdout
    _add_team(env, "Prodaja Zagreb")
    added = gw(
        env,
        "user",
        "add",
        "zrinka",
        "--password-stdin",
        "--full-name",
        "Zrinka Šimić",
        "--role",
        "sales",
        "--team",
        "Prodaja Zagreb",
        "--language",
        "en",
        stdin="a good long password\n",
    )
    assert "zrinka@groupware.local" in added.stdout
    listing = gw(env, "user", "list").stdout
    assert "zrinka" in listing and "Prodaja Zagreb" in listing
    bad = gw(
        env, "user", "add", "Bad Name", "--password-stdin", stdin="whatever1234\n", check=False
    )
    assert bad.returncode == 1 and "username" in bad.stderr
    unknown_role = gw(env, "user", "add", "x1", "--role", "pilot", check=False)
    assert "there is no role 'pilot'" in unknown_role.stderr
    short = gw(env, "user", "passwd", "zrinka", "--password-stdin", stdin="short\n", check=False)
    assert short.returncode == 1 and "8 characters" in short.stderr
    gw(env, "user", "passwd", "zrinka", "--password-stdin", stdin="an even better password\n")
    token = gw(env, "token", "create", "zrinka").stdout.strip()
    assert token.startswith("gwt_")
    gw(env, "user", "disable", "zrinka")
    assert gw(env, "user", "disable", "nobody", check=False).returncode == 1


def test_backup_restores_into_an_empty_install(demo_company: Demo, tmp_path: Path) -> None:
    # The demo company loaded once for the tests that read it (``groupware demo`` is
    # what loads it); backing it up changes nothing in it.
    settings = demo_company.database.settings
    env = _environ(settings.effective_database_url, settings.data_dir)
    assert "Demo users" in gw(env, "demo").stdout  # loaded already: prints the users again
    (Path(env["GROUPWARE_DATA_DIR"]) / "files").mkdir(parents=True, exist_ok=True)
    (Path(env["GROUPWARE_DATA_DIR"]) / "files" / "blob.bin").write_bytes(b"\x00data")
    archive = tmp_path / "backup.tar.gz"
    assert "Wrote the backup" in gw(env, "backup", str(archive)).stdout
    assert archive.stat().st_mode & 0o077 == 0  # it holds password hashes: owner only
    kind = os.environ.get("GROUPWARE_TEST_DB", "sqlite")
    for url in _url(kind, "restored", tmp_path):
        target = _environ(url, tmp_path / "restored-data")
        restored = gw(target, "restore", str(archive))
        assert "Restored" in restored.stdout
        assert gw(target, "user", "list").stdout == gw(env, "user", "list").stdout
        assert (tmp_path / "restored-data" / "files" / "blob.bin").read_bytes() == b"\x00data"
        again = gw(target, "restore", str(archive), check=False)
        assert again.returncode == 1
        assert again.stderr.startswith("groupware: error: the database is not empty")
        assert again.stderr.strip().count("\n") == 0
        # The restored install keeps working: new rows get new ids.
        gw(target, "user", "add", "newcomer", "--password-stdin", stdin="a long password here\n")


def test_run_jobs(env: dict[str, str]) -> None:
    gw(env, "migrate")
    output = gw(env, "run-jobs").stdout
    assert "prune-sessions: 0" in output
    ran = [line.split(":")[0] for line in output.splitlines()]
    assert ran == [job.name for job in wiring.current().jobs]  # every area's jobs
    assert gw(env, "run-jobs", "--job", "nope", check=False).returncode == 1
