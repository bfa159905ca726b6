"""``groupware import partners FILE`` against a database of its own: every problem
listed before anything is committed, ``--skip-invalid``, ``--dry-run``, ``--key`` and
``--map``. The commands run in the test's process (``tests.test_cli.in_process``) but
for the ones that check what a real process prints."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from groupware.accounts.models import User
from groupware.crm.importing import imports
from groupware.crm.models import ImportJob, Partner, PartnerGroup
from groupware.db import Database, utcnow
from groupware.settings import load_settings
from tests.crm.test_import_groups import GROUP_ROWS, group_names, group_of
from tests.crm.test_imports import CROATIAN_ROWS, HEADER, croatian_csv, make_oib
from tests.factories import make_cast, make_rule, make_territory, reset_database
from tests.test_cli import GROUPWARE, _environ, _url, in_process, real_process

# The installed command, as people run it (``python -m groupware.cli`` differs: see
# test_a_refused_import_run_as_a_module_ends_with_one_line).
COMMAND = [str(Path(sys.executable).with_name("groupware"))]

BAD_ROWS = [
    *CROATIAN_ROWS,
    "Loš OIB d.o.o.;12345678901;Ilica 10;10000;Zagreb;;;;",  # row 5
    f"Nepoznata grupa;{make_oib(1000000006)};Ilica 11;10000;Zagreb;;;;Veleprodaja",  # row 6
]


def gw(
    env: dict[str, str], *args: str, check: bool = True, command: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    if command is None:
        result = in_process(env, *args)
    else:
        result = real_process(env, *args, command=command)
    if check and result.returncode != 0:
        raise AssertionError(f"groupware {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("import-cli")
    for url in _url(os.environ.get("GROUPWARE_TEST_DB", "sqlite"), "imports", tmp):
        # Problems are printed in the default language of the install.
        env = {**_environ(url, tmp / "data"), "GROUPWARE_DEFAULT_LANGUAGE": "en"}
        gw(env, "migrate")
        yield env


@pytest.fixture
def database(cli_env: dict[str, str]) -> Iterator[Database]:
    """The command's database, emptied and given a partner group, a territory with a
    rule and the usual users."""
    settings = load_settings({k: v for k, v in cli_env.items() if k.startswith("GROUPWARE_")})
    database = Database(settings)
    reset_database(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        cast = make_cast(session)
        session.add(PartnerGroup(name="HoReCa"))
        make_rule(session, make_territory(session, "Zagreb", counties=("HR-21",)), (cast.alice,))
    yield database
    database.dispose()


def partners(database: Database) -> dict[str, Partner]:
    with database.session() as session:
        return {p.name: p for p in session.scalars(select(Partner))}


def jobs_left(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(ImportJob)) or 0


def test_a_file_with_errors_lists_them_all_and_commits_nothing(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    source = croatian_csv(tmp_path / "partneri.csv", BAD_ROWS)
    result = gw(cli_env, "import", "partners", str(source), check=False, command=COMMAND)
    assert result.returncode == 1
    assert "partneri.csv: cp1250, delimiter ';'" in result.stdout
    assert "row 5, column 'OIB': This OIB is not valid" in result.stdout
    assert """row 6, column 'Grupa': There is no partner group "Veleprodaja".""" in result.stdout
    assert "Groups the file names that do not exist: 'Veleprodaja' (1 row)" in result.stdout
    assert "2 rows have errors; nothing was committed" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert partners(database) == {}
    assert jobs_left(database) == 0
    assert list((Path(cli_env["GROUPWARE_DATA_DIR"]) / "imports").glob("*.csv")) == []


def test_skip_invalid_commits_the_valid_rows_and_says_what_it_skipped(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    source = croatian_csv(tmp_path / "partneri.csv", BAD_ROWS)
    result = gw(cli_env, "import", "partners", str(source), "--skip-invalid")
    assert "Committed: 3 created, 0 updated, 0 unchanged, 2 without a rep" in result.stdout
    assert "2 rows skipped" in result.stdout
    assert "row 5, column 'OIB'" in result.stdout
    found = partners(database)
    assert set(found) == {
        "Pekara Šimić d.o.o.",
        "Čokolada Đurđević j.d.o.o.",
        "Žitnjak ćevabdžinica obrt",
    }
    with database.session() as session:
        alice = session.scalar(select(User.id).where(User.username == "alice"))
    assert found["Pekara Šimić d.o.o."].owner_id == alice  # the territory table applies


def test_dry_run_reports_and_commits_nothing(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    clean = gw(cli_env, "import", "partners", str(croatian_csv(tmp_path / "ok.csv")), "--dry-run")
    assert "3 rows: 3 valid, 0 with errors; would create 3, update 0." in clean.stdout
    assert "Dry run: nothing was committed." in clean.stdout
    source = croatian_csv(tmp_path / "bad.csv", BAD_ROWS)
    bad = gw(cli_env, "import", "partners", str(source), "--dry-run", check=False)
    assert bad.returncode == 1
    assert "row 5, column 'OIB'" in bad.stdout and "Dry run" in bad.stdout
    assert partners(database) == {}


def test_key_external_id_upserts_by_the_erp_code(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    header = HEADER + ";Šifra"
    rows = [f"{row};ERP-{n}" for n, row in enumerate(CROATIAN_ROWS)]
    first = croatian_csv(tmp_path / "p1.csv", rows, header=header)
    assert (
        "3 created" in gw(cli_env, "import", "partners", str(first), "--key", "external-id").stdout
    )
    renamed = [row.replace(" d.o.o.", " d.d.") for row in rows]
    second = croatian_csv(tmp_path / "p2.csv", renamed, header=header)
    result = gw(cli_env, "import", "partners", str(second), "--key", "external-id")
    assert "Committed: 0 created, 1 updated, 2 unchanged" in result.stdout
    found = partners(database)
    assert len(found) == 3
    assert found["Pekara Šimić d.d."].external_id == "ERP-0"


def test_map_names_the_field_of_a_column_or_ignores_it(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    header = HEADER.replace("Naziv", "Kupac")
    source = croatian_csv(tmp_path / "kupci.csv", header=header)
    unmapped = gw(cli_env, "import", "partners", str(source), check=False)
    assert unmapped.returncode == 1
    assert "These fields need a column: name" in unmapped.stderr

    unknown = gw(cli_env, "import", "partners", str(source), "--map", "Ime=name", check=False)
    assert unknown.returncode == 1 and "no column 'Ime'" in unknown.stderr

    mapped = gw(
        cli_env, "import", "partners", str(source), "--map", "Kupac=name", "--map", "Telefon="
    )
    assert "3 created" in mapped.stdout
    found = partners(database)
    assert found["Pekara Šimić d.o.o."].phones == ""
    assert jobs_left(database) == 0


def test_a_refused_import_run_as_a_module_ends_with_one_line(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    source = croatian_csv(tmp_path / "partneri.csv", BAD_ROWS)
    result = gw(cli_env, "import", "partners", str(source), check=False, command=GROUPWARE)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_run_jobs_finishes_an_abandoned_import_before_it_exits(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    """An import left "committing" by a process that died is committed by
    ``groupware run-jobs`` itself: a thread it started would die when it exits."""
    source = croatian_csv(tmp_path / "partneri.csv")
    with database.transaction(actor_id=None, channel="cli") as session:
        job = imports.create_job(
            session,
            database,
            kind="partners",
            user_id=None,
            filename=source.name,
            source=source,
            channel="cli",
        )
        imports.set_mapping(session, job, job.mapping["fields"], key="oib", skip_invalid=False)
        # What a killed commit leaves: the job marked as running, no progress for long.
        job.status = "committing"
        job.updated_at = utcnow() - dt.timedelta(hours=1)
        job_id = job.id

    result = gw(cli_env, "run-jobs", "--job", "resume-imports")
    assert "resume-imports: 1" in result.stdout
    with database.session() as session:
        finished = session.get(ImportJob, job_id)
        assert finished is not None
        assert (finished.status, finished.summary["committed"]["created"]) == ("done", 3)
    assert len(partners(database)) == 3
    assert "resume-imports: 0" in gw(cli_env, "run-jobs", "--job", "resume-imports").stdout


def test_the_command_line_names_the_groups_the_file_lacks(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    source = croatian_csv(tmp_path / "partneri.csv", GROUP_ROWS)
    refused = gw(cli_env, "import", "partners", str(source), check=False)
    assert refused.returncode == 1
    assert """row 4, column 'Grupa': There is no partner group "Ugostitelji".""" in refused.stdout
    assert (
        "Groups the file names that do not exist: 'Veleprodaja' (2 rows), 'Ugostitelji' (1 row)"
        in refused.stdout
    )
    wrong = gw(
        cli_env, "import", "partners", str(source), "--map-group", "Ugostitelji=Nema", check=False
    )
    assert "--map-group 'Ugostitelji=Nema': there is no partner group 'Nema'" in wrong.stderr


def test_the_command_line_creates_groups_and_maps_file_values_to_groups(
    cli_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    source = croatian_csv(tmp_path / "partneri.csv", GROUP_ROWS)

    dry = gw(
        cli_env,
        "import",
        "partners",
        str(source),
        "--create-groups",
        "--map-group",
        "ugostitelji=horeca",
        "--dry-run",
    )
    assert "Would create partner groups: Veleprodaja." in dry.stdout
    assert group_names(database) == {"HoReCa"}
    done = gw(
        cli_env,
        "import",
        "partners",
        str(source),
        "--create-groups",
        "--map-group",
        "Ugostitelji=HoReCa",
    )
    assert "Committed: 4 created" in done.stdout
    assert "Created partner groups: Veleprodaja." in done.stdout
    assert group_of(database)["Kavana Split d.o.o."] == "HoReCa"
    assert group_of(database)["Mlin Horvat d.o.o."] == "Veleprodaja"
