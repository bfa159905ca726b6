"""Import of a million partners: our CSV import against a raw bulk load of the same rows.

What is measured, each on a fresh, migrated database of its own:

``raw`` (the baseline)
    The CSV read with the stdlib ``csv`` module and its rows loaded as they are into the
    ``partners`` table (the same columns, empty ones filled with constants): psycopg
    ``COPY`` on PostgreSQL, ``sqlite3.executemany`` in one transaction on SQLite. No
    validation, no duplicate check, no reps, no history.
``import``
    ``groupware import partners FILE`` as the command runs it (one pass, one
    transaction): every row checked with the forms' rules (OIB check digit, e-mail,
    postal code, group and county lookups), duplicates in the file and against the
    database refused, the county derived from the postal code, the territory and reps
    given by an assignment table of 8 rules, name search keys built, and a history row
    written for each partner.

Both run in a child process so that peak memory (``VmHWM`` from ``/proc/self/status``,
the peak resident set) is the process's own. The file (Windows-1250, ``;``, Croatian
headers, as Excel in Croatia writes it) is made once per size and kept under
``bench/results/``. The table shows the ratio raw time / import time (target at least
0.30) and the peak memory of each, with the import's excess over the raw load: that
excess must not grow with the number of rows.

``--rows`` takes several sizes and ``--rounds`` repeats the whole set: each round runs
every size, database and contender once, in turn, so that a slower phase of a shared
machine falls on all of them; the table shows the median of the rounds.

    .venv/bin/python bench/import_partners.py [--rows 100000 1000000 3000000] [--rounds 3]
        [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

HEADER = [
    "Naziv",
    "OIB",
    "Adresa",
    "Poštanski broj",
    "Mjesto",
    "Telefon",
    "E-mail",
    "Grupa",
    "Oznake",
]
GROUPS = ["Veleprodaja", "Maloprodaja", "HoReCa", "Proizvodnja"]
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def oib_with_check(first10: str) -> str:
    remainder = 10
    for digit in first10:
        remainder = (remainder + int(digit)) % 10 or 10
        remainder = (remainder * 2) % 11
    check = 11 - remainder
    return first10 + str(0 if check == 10 else check)


def make_file(rows: int) -> Path:
    from groupware.crm.reference import CITIES, COMPANY_WORDS, LEGAL_FORMS, STREETS

    path = HERE / "results" / f"partners-{rows}.csv"
    if path.exists():
        return path
    path.parent.mkdir(exist_ok=True)
    rng = random.Random(7)
    cities = list(CITIES)
    weights = [c.weight for c in cities]
    used: set[str] = set()
    with tempfile.NamedTemporaryFile(
        "w", encoding="cp1250", newline="", delete=False, dir=path.parent
    ) as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(HEADER)
        for number in range(rows):
            city = rng.choices(cities, weights)[0]
            while True:
                oib = oib_with_check(f"{rng.randrange(10**10):010d}")
                if oib not in used:
                    used.add(oib)
                    break
            words = rng.sample(COMPANY_WORDS, 2)
            name = f"{words[0]} {words[1]} {number} {rng.choice(LEGAL_FORMS)}"
            writer.writerow(
                [
                    name,
                    oib,
                    f"{rng.choice(STREETS)} {rng.randrange(1, 200)}",
                    city.postal_code,
                    city.name,
                    f"0{rng.randrange(1, 99)} {rng.randrange(100, 999)} {rng.randrange(100, 9999)}",
                    f"info{number}@tvrtka{number % 5000}.hr",
                    rng.choice(GROUPS),
                    rng.choice(["", "vip", "novi", "vip, izvoz"]),
                ]
            )
    os.replace(out.name, path)
    return path


# -- databases ------------------------------------------------------------------------


def fresh_database(kind: str, name: str) -> str:
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="gw-bench-"))
        return f"sqlite:///{folder / 'groupware.db'}"
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_database(kind: str, url: str) -> None:
    if kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.rmdir()
        return
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def prepare(url: str, data_dir: str) -> Any:
    """Migrate, and create the reps, groups, territories and assignment table."""
    from sqlalchemy import select

    from groupware.accounts.teams import TeamIn, create_team
    from groupware.accounts.users import UserIn, create_user
    from groupware.areas import install
    from groupware.crm.models import County
    from groupware.crm.territories.groups import GroupIn, create_group
    from groupware.crm.territories.service import (
        AreaIn,
        RuleIn,
        TerritoryIn,
        save_rule,
        save_territory,
    )
    from groupware.db import Database
    from groupware.migrate import upgrade
    from groupware.settings import load_settings

    install()
    settings = load_settings({"GROUPWARE_DATABASE_URL": url, "GROUPWARE_DATA_DIR": data_dir})
    database = Database(settings)
    upgrade(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        team = create_team(session, TeamIn(name="Prodaja"))
        reps = [
            create_user(
                session,
                UserIn(username=f"rep{i}", full_name=f"Rep {i}", team_ids=[team.id]),
                mail_domain="groupware.local",
            )
            for i in range(8)
        ]
        groups = {name: create_group(session, GroupIn(name=name)) for name in GROUPS}
        counties = {c.code: c.id for c in session.scalars(select(County))}
        plan = [
            ("Zagreb", ["HR-21", "HR-01"], "HoReCa"),
            ("Zagreb", ["HR-21", "HR-01"], None),
            ("Dalmacija", ["HR-17", "HR-13", "HR-19"], None),
            ("Slavonija", ["HR-14", "HR-16", "HR-12"], None),
            ("Istra i Kvarner", ["HR-18", "HR-08"], None),
            ("Sjever", ["HR-05", "HR-20", "HR-06", "HR-02"], None),
        ]
        territories: dict[str, Any] = {}
        for index, (name, codes, group) in enumerate(plan):
            if name not in territories:
                areas = [AreaIn(county_id=counties[c]) for c in codes]
                territories[name] = save_territory(
                    session, None, TerritoryIn(name=name, areas=areas)
                )
            rule = RuleIn(
                territory_id=territories[name].id,
                group_id=groups[group].id if group else None,
                priority=10 if group else 100,
                rep_ids=[reps[index].id, reps[(index + 1) % 8].id],
            )
            save_rule(session, None, rule)
    database.dispose()


# -- the two contenders (run in a child process) ----------------------------------------


def child_raw(url: str, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    columns = "name, name_search, dedup_key, oib, street, postal_code, city, phones, email"
    now = "2026-11-27 12:00:00"
    extra = (
        "kind",
        "vat_id",
        "status",
        "country",
        "emails",
        "web",
        "notes",
        "manual_assignment",
        "created_at",
        "updated_at",
    )
    constants = ("company", "", "active", "HR", "", "", "", False, now, now)
    names = f"{columns}, {', '.join(extra)}"
    with open(path, encoding="cp1250", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        if url.startswith("sqlite"):
            import sqlite3

            conn = sqlite3.connect(url.removeprefix("sqlite:///"))
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            marks = ", ".join("?" * (9 + len(extra)))
            with conn:
                conn.executemany(
                    f"INSERT INTO partners ({names}) VALUES ({marks})",
                    (
                        (r[0], "", "", r[1], r[2], r[3], r[4], r[5], r[6], *constants)
                        for r in reader
                    ),
                )
            conn.close()
        else:
            import psycopg

            with (
                psycopg.connect(url) as conn,
                conn.cursor() as cursor,
                cursor.copy(f"COPY partners ({names}) FROM STDIN") as copy,
            ):
                for r in reader:
                    copy.write_row((r[0], "", "", r[1], r[2], r[3], r[4], r[5], r[6], *constants))
    return {"seconds": time.perf_counter() - started}


def child_import(url: str, path: Path, data_dir: str) -> dict[str, Any]:
    from groupware.areas import install
    from groupware.crm.importing import imports
    from groupware.db import Database
    from groupware.settings import load_settings

    install()
    settings = load_settings({"GROUPWARE_DATABASE_URL": url, "GROUPWARE_DATA_DIR": data_dir})
    database = Database(settings)
    started = time.perf_counter()
    with database.transaction(actor_id=None, channel="cli") as session:
        job = imports.create_job(
            session,
            database,
            kind="partners",
            user_id=None,
            filename=path.name,
            source=path,
            channel="cli",
        )
        imports.set_mapping(session, job, job.mapping["fields"], key="oib", skip_invalid=False)
        job_id = job.id
    result = imports.run_job(database, job_id, "commit")
    seconds = time.perf_counter() - started
    database.dispose()
    return {"seconds": seconds, "summary": result.summary.get("committed", {})}


def run_child(mode: str, url: str, path: Path, data_dir: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--url",
        url,
        "--file",
        str(path),
        "--data-dir",
        data_dir,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(kind: str, path: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in ("raw", "import"):
        url = fresh_database(kind, f"gw_bench_import_{mode}")
        data_dir = tempfile.mkdtemp(prefix="gw-bench-data-")
        try:
            prepare(url, data_dir)
            results[mode] = run_child(mode, url, path, data_dir)
            results[mode]["rows"] = _count(url)
        finally:
            drop_database(kind, url)
    return results


def _count(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM partners")).scalar_one())
    engine.dispose()
    return count


def peak_mb() -> float:
    """The peak resident set of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", choices=["raw", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path = Path(args.file)
        result = (
            child_raw(args.url, path)
            if args.child == "raw"
            else child_import(args.url, path, args.data_dir)
        )
        result["peak_mb"] = peak_mb()
        print(json.dumps(result))
        return 0
    started = time.perf_counter()
    files = {rows: make_file(rows) for rows in args.rows}
    for rows, path in files.items():
        size_mb = path.stat().st_size / 1e6
        print(f"file: {path.name}, {size_mb:.0f} MB, {rows:,} rows (Windows-1250, ';')")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for round_ in range(1, args.rounds + 1):
        for rows, path in files.items():
            for kind in kinds:
                print(f"round {round_}: {kind}, {rows:,} rows ...", flush=True)
                result = measure(kind, path)
                raw, ours = result["raw"], result["import"]
                print(
                    f"  raw {raw['seconds']:.1f} s {raw['peak_mb']:.0f} MB; "
                    f"import {ours['seconds']:.1f} s {ours['peak_mb']:.0f} MB",
                    flush=True,
                )
                runs.setdefault((kind, rows), []).append(result)
    print()
    print(
        f"{'database':<11} {'rows':>10} {'raw s':>7} {'import s':>9} {'ratio':>6} "
        f"{'raw MB':>7} {'import MB':>10} {'excess MB':>10} {'rows in db':>11}"
    )
    for (kind, rows), results in runs.items():
        raw_s = statistics.median(r["raw"]["seconds"] for r in results)
        ours_s = statistics.median(r["import"]["seconds"] for r in results)
        raw_mb = statistics.median(r["raw"]["peak_mb"] for r in results)
        ours_mb = statistics.median(r["import"]["peak_mb"] for r in results)
        in_db = min(r["import"]["rows"] for r in results)
        print(
            f"{kind:<11} {rows:>10,} {raw_s:>7.1f} {ours_s:>9.1f} {raw_s / ours_s:>5.2f}× "
            f"{raw_mb:>7.0f} {ours_mb:>10.0f} {ours_mb - raw_mb:>10.0f} {in_db:>11,}"
        )
    print()
    print(
        f"median of {args.rounds} round(s); ratio = raw time / import time (target >= 0.30); "
        "MB = peak resident set (VmHWM) of the process; excess = import - raw."
    )
    for (kind, rows), results in runs.items():
        print(f"{kind} {rows:,}: {results[-1]['import']['summary']}")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
