"""Deal reports and the alert job over 1,000,000 open deals.

Targets (issue 4): the forecast and pipeline reports over 1,000,000 deals answer in
under one second on PostgreSQL; the alert job over 1,000,000 open deals finishes in
under 10 seconds.

For each database the script

1. migrates a fresh database and creates users, territories and the assignment table
   (as ``bench/partner_list.py`` does) and ``--partners`` partners;
2. creates two deal types through the services (a sale with 4 phases, a purchase with
   3) and writes ``--deals`` open deals plus 30% as many closed ones (won, lost,
   cancelled) with their phases, the fast way (PostgreSQL ``COPY``, SQLite
   ``executemany``), planned as the engine plans them; about 4% of the open deals are
   in a phase past its planned end and 3% past their expected close date;
3. times, as the administrator (no access filter) and as a territory rep who sees 10%
   of the partners: the forecast for this year (per month, and per rep), the pipeline,
   the win rate and the cycle time; then the alert job twice (the first run raises
   every alert, the second finds nothing new), as ``groupware run-jobs`` runs it.

The same-run baseline is a plain ``SELECT count(*), sum(amount) FROM deals`` (a scan of
the table) and, for the job, the count of late deals by the same index.

Run from the repository root::

    .venv/bin/python bench/deals.py [--db postgresql|sqlite|both] [--deals 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import partner_list
import sqlalchemy as sa

from groupware.access.policy import Who, load_who
from groupware.accounts.models import User
from groupware.crm.models import Partner
from groupware.deals import reports
from groupware.deals.models import Deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.phases.alerts import raise_alerts
from groupware.phases.models import Alert, Phase

TODAY = dt.date.today()
TARGET_REPORT_S, TARGET_JOB_S = 1.0, 10.0
DEAL_COLUMNS = (
    "id", "direction", "title", "partner_id", "type_id", "phase_id", "phase_due", "step_id",
    "status", "lost_reason", "priority", "source", "owner_id", "amount", "currency", "probability",
    "started_on", "expected_close", "closed_on", "description", "created_at",
)  # fmt: skip
PHASE_COLUMNS = (
    "id", "record_type", "record_id", "type_phase_id", "position", "name", "planned_days",
    "planned_start", "planned_end", "actual_start", "actual_end",
)  # fmt: skip
SOURCES = ("website", "referral", "phone", "fair", "existing", "other")
PRIORITIES = ("low", "normal", "normal", "high", "urgent")


def make_types(target: partner_list.Db) -> list[tuple[int, str, list[tuple[int, str, int]]]]:
    """The two types, through the services: (id, direction, [(step id, name, days)])."""
    from groupware.access.policy import SYSTEM

    made = []
    with target.db.transaction(actor_id=None, channel="cli") as session:
        for name, direction, steps in (
            ("Prodaja", "sale",
             [("Kvalifikacija", 7), ("Ponuda", 10), ("Pregovori", 14), ("Ugovor", 7)]),
            ("Nabava", "purchase", [("Upit", 3), ("Usporedba", 7), ("Narudžba", 5)]),
        ):  # fmt: skip
            data = TypeIn.model_validate(
                {"name": name, "direction": direction,
                 "phases": [StepIn(name=n, planned_days=d) for n, d in steps]}
            )  # fmt: skip
            row = save_type(session, SYSTEM, None, data)
            made.append((row.id, direction, [(p.id, p.name, p.planned_days) for p in row.phases]))
    return made


def deal_rows(
    count: int,
    partners: Sequence[tuple[int, int | None]],
    types: list[tuple[int, str, list[tuple[int, str, int]]]],
    rng: random.Random,
    chunk: int = 20_000,
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Deals with their phases, planned as the engine plans them; ids given here."""
    now = dt.datetime.now(dt.UTC)
    deals: list[tuple[Any, ...]] = []
    phases: list[tuple[Any, ...]] = []
    phase_id = 0
    total = count + count * 3 // 10
    for deal_id in range(1, total + 1):
        type_id, direction, steps = types[0] if rng.random() < 0.8 else types[1]
        partner_id, owner_id = partners[rng.randrange(len(partners))]
        closed = deal_id > count
        planned = sum(days for _i, _n, days in steps)
        # open deals are within their plan (today falls in one of their phases)
        started = TODAY - dt.timedelta(
            days=rng.randint(planned, 300) if closed else rng.randint(0, planned - 1)
        )
        planned_end = []
        begins = started
        for _step_id, _name, days in steps:
            planned_end.append((begins, begins + dt.timedelta(days=days)))
            begins = begins + dt.timedelta(days=days)
        # the phase whose window holds today (or the last); 5% stay in an earlier one
        current = next((i for i, (_b, e) in enumerate(planned_end) if e >= TODAY), len(steps) - 1)
        if not closed and current > 0 and rng.random() < 0.05:
            current = rng.randrange(current)
        first_phase = phase_id + 1
        for position, (step_id, name, days) in enumerate(steps):
            phase_id += 1
            start_on, end_on = planned_end[position]
            actual_start = start_on if position <= current else None
            actual_end = end_on if position < current else None
            phases.append(
                (phase_id, "deals", deal_id, step_id, position, name, days, start_on, end_on,
                 actual_start, actual_end)
            )  # fmt: skip
        current_id = first_phase + current
        step_id = steps[current][0]
        due = planned_end[current][1]
        expected = begins + dt.timedelta(days=rng.randint(5, 60))
        if not closed and rng.random() < 0.03:
            expected = TODAY - dt.timedelta(days=rng.randint(1, 30))
        status, reason, closed_on, probability = "open", "", None, rng.choice([10, 20, 50, 70])
        if closed:
            status = rng.choices(["won", "lost", "cancelled"], weights=[6, 3, 1])[0]
            reason = "Cijena" if status == "lost" else ""
            closed_on = min(TODAY, begins + dt.timedelta(days=rng.randint(0, 20)))
            probability = 100 if status == "won" else 0
            due = None
        deals.append(
            (deal_id, direction, f"Posao {deal_id}", partner_id, type_id, current_id, due, step_id,
             status, reason, rng.choice(PRIORITIES), rng.choice(SOURCES), owner_id,
             f"{rng.randrange(500, 60_000, 50)}.00", "EUR", probability, started, expected,
             closed_on, "", now)
        )  # fmt: skip
        if len(deals) >= chunk:
            yield deals, phases
            deals, phases = [], []
    if deals:
        yield deals, phases


def insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def load_deals(target: partner_list.Db, count: int) -> tuple[int, float]:
    started = time.monotonic()
    types = make_types(target)
    engine = target.db.engine
    with engine.connect() as conn:
        partners = [
            (int(i), int(o))
            for i, o in conn.execute(
                sa.select(Partner.id, Partner.owner_id).where(Partner.owner_id.is_not(None))
            )
        ]
    rows = deal_rows(count, partners, types, random.Random(7))
    tables = [Deal.__table__, Phase.__table__]
    inspector = sa.inspect(engine)
    dropped = [
        index
        for table in tables
        for index in table.indexes  # type: ignore[attr-defined]
        if index.name in {i["name"] for i in inspector.get_indexes(table.name)}
    ]
    with engine.begin() as conn:
        for index in dropped:
            conn.execute(sa.text(f'DROP INDEX "{index.name}"'))
    total = 0
    if target.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SET session_replication_role = replica")
            for deals, phases in rows:
                with cursor.copy(f"COPY phases ({', '.join(PHASE_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in phases:
                        copy.write_row(row)
                with cursor.copy(f"COPY deals ({', '.join(DEAL_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in deals:
                        copy.write_row(row)
                total += len(deals)
            cursor.execute("SET session_replication_role = DEFAULT")
            raw.commit()
        finally:
            raw.close()
    else:
        path = engine.url.database
        assert path
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("PRAGMA synchronous=OFF")
            con.execute("BEGIN")
            phase_sql, deal_sql = (
                insert_sql("phases", PHASE_COLUMNS),
                insert_sql("deals", DEAL_COLUMNS),
            )
            for deals, phases in rows:
                con.executemany(
                    phase_sql, [(*p[:7], *(str(d) if d else None for d in p[7:])) for p in phases]
                )
                con.executemany(
                    deal_sql,
                    [(*d[:6], str(d[6]) if d[6] else None, *d[7:16], str(d[16]), str(d[17]),
                      str(d[18]) if d[18] else None, d[19], partner_list._sqlite_time(d[20]))
                     for d in deals],
                )  # fmt: skip
                total += len(deals)
            con.execute("COMMIT")
        finally:
            con.close()
    with engine.begin() as conn:
        for index in dropped:
            index.create(conn)
    if target.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("deals", "phases"):
                highest = f"(SELECT max(id) FROM {table})"
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {highest})")
                )
            conn.execute(sa.text("VACUUM ANALYZE deals, phases"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    return total, time.monotonic() - started


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Median seconds of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(target: partner_list.Db, users: dict[str, int]) -> list[tuple[str, str, float, str]]:
    # the last six months and the next six: closed deals and open ones' close dates
    year = (TODAY - dt.timedelta(days=183), TODAY + dt.timedelta(days=183))
    out: list[tuple[str, str, float, str]] = []
    with target.db.transaction(actor_id=None, channel="cli", write=False) as session:
        base, _r = timed(
            lambda: session.execute(sa.text("SELECT count(*), sum(amount) FROM deals")).one()
        )
        out.append(("baseline", "count(*), sum(amount) FROM deals", base, ""))
        for viewer in ("ana", "rep"):
            user = session.get(User, users[viewer])
            assert user is not None
            who: Who = load_who(session, user)
            cases: list[tuple[str, Callable[[Who], Any]]] = [
                ("forecast per month", lambda w: reports.forecast(session, w, *year)),
                (
                    "forecast per rep",
                    lambda w: reports.forecast(session, w, *year, group_by="owner"),
                ),
                ("pipeline", lambda w: reports.pipeline(session, w)),
                ("win rate", lambda w: reports.win_rate(session, w, *year)),
                ("cycle time", lambda w: reports.cycle_time(session, w, *year)),
            ]
            for name, fn in cases:
                seconds, rows = timed(partial(fn, who))
                out.append((viewer, name, seconds, f"{len(rows)} rows"))
        late, count = timed(
            lambda: session.execute(
                sa.select(sa.func.count())
                .select_from(Deal)
                .where(Deal.status == "open", Deal.phase_due < TODAY)
            ).scalar()
        )
        out.append(("baseline", "count of late deals (index)", late, f"{count:,}"))
    for run in ("first", "second"):
        with target.db.transaction(actor_id=None, channel="job") as session:
            start = time.perf_counter()
            new = raise_alerts(session, TODAY, target.db.settings.alert_grace_days)
            seconds = time.perf_counter() - start
        out.append(("job", f"raise-alerts, {run} run", seconds, f"{new:,} new alerts"))
    with target.db.engine.connect() as conn:
        alerts = conn.execute(sa.select(sa.func.count()).select_from(Alert)).scalar()
    out.append(("job", "alerts in the table", 0.0, f"{alerts:,}"))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="postgresql")
    parser.add_argument("--deals", type=int, default=1_000_000, help="open deals")
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", partner_list.PG_DEFAULT_URL)
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    lines = []
    for name in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        print(
            f"{name}: creating {args.partners:,} partners and {args.deals:,} open deals ...",
            file=sys.stderr,
        )
        with partner_list.fresh_database(name, args) as target:
            users = partner_list.make_people(target)
            partner_list.load_partners(target, args.partners)
            total, load = load_deals(target, args.deals)
            print(
                f"{name}: {total:,} deals with their phases written in {load:.0f} s",
                file=sys.stderr,
            )
            for who, what, seconds, note in measure(target, users):
                target_s = TARGET_JOB_S if who == "job" else TARGET_REPORT_S
                ok = (
                    ""
                    if who == "baseline" or seconds == 0
                    else ("yes" if seconds < target_s else "NO")
                )
                lines.append(
                    f"{name:10}  {who:8}  {what:34}  {seconds * 1000:9.0f}  {note:>18}  {ok}"
                )
    print(f"{'database':10}  {'viewer':8}  {'what':34}  {'ms':>9}  {'':>18}  under target")
    print("\n".join(lines))
    print(
        f"\n{args.deals:,} open deals + 30% closed, {args.partners:,} partners; reports are the "
        "median of 3 runs; 'ana' is the administrator (no access filter), 'rep' a territory "
        f"rep who sees 10% of the partners. Targets: reports < {TARGET_REPORT_S:g} s, the job "
        f"< {TARGET_JOB_S:g} s. Total {time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
