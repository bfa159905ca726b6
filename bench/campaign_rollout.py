"""A campaign's rollout of 100,000 targets, and the live count of target criteria over
1,000,000 partners.

Targets (issue 18): the rollout of 100,000 targets into 100,000 deals and 100,000 tasks
with their phases and history takes at most 20 seconds on PostgreSQL and runs at least
0.25x the rate of a raw ``COPY`` of the same rows; the live count of a criteria query
over 1,000,000 partners answers a territory-scoped rep with p95 under 300 ms.

For each database the script

1. migrates a fresh database with the users, territories and assignment table of
   ``bench/partner_list.py`` and writes ``--partners`` partners the same fast way;
2. makes, through the services, a deal type with three phases, a campaign type and a
   campaign owned by the territory rep ``rep`` (team North), and puts the first
   ``--targets`` partners on its target list;
3. a first rollout, untimed, records the rows it writes; then ``--rounds`` times,
   interleaved: the rollout (``rollout.start`` and ``rollout.run``
   as the web starts it, batch after batch, each its own transaction: deals, their
   phases and deadline to-dos, tasks and their to-dos in the reps' CalDAV task lists,
   history, the targets updated, the campaign's history row and the reps' notices),
   then the baseline: the rows the rollout wrote (those recorded first), written
   by a bare ``COPY`` (SQLite: multi-row INSERTs) into tables of the same columns
   without indexes, constraints or triggers; and (but after the last round) the second
   baseline: the same rows by a raw ``COPY`` into the real tables with their indexes,
   keys and triggers, as the import's benchmark measures against. Between rounds the
   rollout's rows are deleted and the targets reset (not timed);
4. serves the app (as ``bench/partner_list.py`` does) and asks the live count
   (``GET /campaigns/{id}/choose/count``, htmx's request) as ``rep`` for several
   criteria, one request at a time, ``--count-requests`` times each; the baseline is
   the same count as a bare SQL ``count(*)`` without the access filter, in-process.

Run from the repository root::

    .venv/bin/python bench/campaign_rollout.py [--db postgresql|sqlite|both]
        [--partners 1000000] [--targets 100000] [--rounds 3] [--count-requests 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import partner_list
import sqlalchemy as sa

from groupware.access.policy import load_who
from groupware.accounts.models import User
from groupware.areas import install
from groupware.caldav import store
from groupware.campaigns import rollout
from groupware.campaigns import service as campaigns
from groupware.campaigns.models import Rollout
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.crm.models import PartnerGroup
from groupware.db import copy_rows
from groupware.deals.types import save_type as save_deal_type
from groupware.phases import types as phase_types
from groupware.phases.types import StepIn, TypeIn

TARGET_ROLLOUT_S, TARGET_RATIO, TARGET_COUNT_MS = 20.0, 0.25, 300.0
WRITTEN = ("phases", "deals", "tasks", "history", "calendar_items")


def make_campaign(target: partner_list.Db, users: dict[str, int], targets: int) -> tuple[int, int]:
    """The deal type, the campaign (the rep's) and its targets: (campaign id, type id)."""
    with target.db.transaction(actor_id=None, channel="cli") as session:
        admin = load_who(session, session.get_one(User, users["ana"]))
        steps = [StepIn(name=n, planned_days=d) for n, d in (("Ponuda", 7), ("Pregovori", 14),
                                                             ("Ugovor", 7))]  # fmt: skip
        deal_type = save_deal_type(session, admin, None, TypeIn(name="Prodaja", phases=steps))
        kind = phase_types.save_type(
            session, admin, CAMPAIGN_TYPES, None,
            TypeIn(name="Sajam", phases=[StepIn(name="Priprema", planned_days=30)]),
        )  # fmt: skip
        rep = load_who(session, session.get_one(User, users["rep"]))
        data = campaigns.CampaignIn(name="Sajam 2027", type_id=kind.id, starts_on="2026-12-01")
        campaign = campaigns.create_campaign(session, rep, data)
        campaign_id, type_id = campaign.id, deal_type.id
    with target.db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO campaign_targets (campaign_id, partner_id, rep_id, status, source, "
                "added_at) SELECT :c, id, owner_id, 'new', 'hand', CURRENT_TIMESTAMP "
                "FROM partners WHERE id <= :n"
            ),
            {"c": campaign_id, "n": targets},
        )
    return campaign_id, type_id


def reset(target: partner_list.Db, campaign_id: int) -> None:
    """Take back what a rollout wrote (not timed). On PostgreSQL without the foreign-key
    triggers: deleting a phase would look for deals naming it, row by row, without an
    index (the deals go first; the benchmark is superuser)."""
    with target.db.engine.begin() as conn:
        if target.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in (
            "UPDATE campaign_targets SET deal_id = NULL, task_id = NULL",
            "DELETE FROM campaign_rollouts",
            "DELETE FROM tasks",
            "DELETE FROM deals",
            "DELETE FROM phases WHERE record_type = 'deals'",
            "DELETE FROM history WHERE record_type IN ('deals', 'tasks')",
            "DELETE FROM calendar_items",
            "DELETE FROM notifications",
        ):
            conn.execute(sa.text(statement))
    settle(target)


def settle(target: partner_list.Db) -> None:
    """Before a timed round: the written tables compacted (the round before left dead
    rows and grown indexes behind, which a real database's tables do not have all at
    once) and, on PostgreSQL, a checkpoint, so that neither round pays for the other's
    writes."""
    with target.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if target.name == "postgresql":
            conn.execute(sa.text(f"VACUUM FULL ANALYZE {', '.join(WRITTEN)}, campaign_targets"))
            conn.execute(sa.text("CHECKPOINT"))
        else:  # (SQLite: the app's connections always open a transaction, VACUUM refuses one)
            conn.execute(sa.text("ANALYZE"))


def run_rollout(target: partner_list.Db, users: dict[str, int], campaign_id: int,
                type_id: int) -> tuple[float, Rollout]:  # fmt: skip
    """The rollout as the web starts it (by the administrator, who sees every target),
    then runs it in a thread: here in this one."""
    started = time.perf_counter()
    with target.db.transaction(actor_id=users["ana"], channel="web") as session:
        rep = load_who(session, session.get_one(User, users["ana"]))
        data = rollout.RolloutIn(deal_type_id=type_id, task_title="Pozvati na sajam",
                                 task_due="2027-01-15")  # fmt: skip
        rollout_id = rollout.start(session, rep, campaign_id, data).id
    rollout.run(target.db, rollout_id)
    seconds = time.perf_counter() - started
    with target.db.transaction(actor_id=None, channel="cli", write=False) as session:
        done = session.get_one(Rollout, rollout_id)
        session.expunge(done)
    return seconds, done


class Recorder:
    """The rows the rollout writes with ``copy_rows``, for the baseline."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]] = {}

    def __call__(self, session: Any, table: str, columns: Sequence[str],
                 rows: Sequence[tuple[Any, ...]]) -> None:  # fmt: skip
        made = list(rows)  # rows may be a generator: kept, then written
        self.rows.setdefault(table, (columns, []))[1].extend(made)
        copy_rows(session, table, columns, made)


def bare_tables(target: partner_list.Db) -> None:
    """Tables of the same columns as those the rollout writes, without indexes,
    constraints (but NOT NULL) or triggers."""
    with target.db.engine.begin() as conn:
        for table in WRITTEN:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS bare_{table}"))
            if target.name == "postgresql":
                like = f"LIKE {table} INCLUDING DEFAULTS"
                conn.execute(sa.text(f"CREATE TABLE bare_{table} ({like})"))
            else:
                conn.execute(sa.text(f"CREATE TABLE bare_{table} AS SELECT * FROM {table} WHERE 0"))


def baseline(target: partner_list.Db, recorded: Recorder) -> float:
    """The same rows written by a bare COPY into the bare tables, in one transaction."""
    with target.db.engine.begin() as conn:
        for table in WRITTEN:
            conn.execute(sa.text(f"DELETE FROM bare_{table}"))
    if target.name == "postgresql":
        with target.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("CHECKPOINT"))
    started = time.perf_counter()
    with target.db.transaction(actor_id=None, channel="cli") as session:
        for table, (columns, rows) in recorded.rows.items():
            copy_rows(session, f"bare_{table}", columns, rows)
    return time.perf_counter() - started


def into_tables(target: partner_list.Db, recorded: Recorder, campaign_id: int) -> float:
    """The second baseline: the same rows by a raw ``COPY`` into the real tables, with
    their indexes, keys and triggers (as ``bench/import_partners.py``'s baseline writes
    into the real ``partners``), computing nothing; taken back afterwards."""
    if target.name == "postgresql":
        with target.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("CHECKPOINT"))
    started = time.perf_counter()
    with target.db.transaction(actor_id=None, channel="cli") as session:
        for table, (columns, rows) in recorded.rows.items():
            copy_rows(session, table, columns, rows)
    seconds = time.perf_counter() - started
    reset(target, campaign_id)
    return seconds


# -- the live count -------------------------------------------------------------------

CRITERIA = [
    ("a group", "group_id={group}", "group_id = {group}"),
    ("postal codes 10000-10999", "postal_from=10000&postal_to=10999",
     "postal_code >= '10000' AND postal_code <= '10999'"),
    ("a town, active", "city=Sesvete&status=active",
     "city_search = 'sesvete' AND status = 'active'"),
    ("no deal since a date", "no_deal_since=2026-01-01",
     "id NOT IN (SELECT partner_id FROM deals WHERE started_on >= '2026-01-01')"),
    ("lacks an open deal of a type", "open_deal=lacks&open_deal_type_id={deal_type}",
     "id NOT IN (SELECT partner_id FROM deals WHERE status = 'open' AND type_id = {deal_type})"),
]  # fmt: skip


def count_request(path: str, cookie: str) -> bytes:
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {partner_list.HOST}\r\nAccept-Language: hr\r\n"
        f"Cookie: {cookie}\r\nHX-Request: true\r\n\r\n"
    )
    return head.encode()


def measure_counts(target: partner_list.Db, args: argparse.Namespace, campaign_id: int,
                   type_id: int) -> list[tuple[str, float, float, float, str]]:  # fmt: skip
    """(criteria, p50 ms, p95 ms, bare count ms, matches) for the rep."""
    with target.db.transaction(actor_id=None, channel="cli", write=False) as session:
        group = session.scalar(sa.select(sa.func.min(PartnerGroup.id)))
    values = {"group": group, "deal_type": type_id}
    out = []
    server_args = argparse.Namespace(threads=0, workers=1, supervisor="reuseport")
    with partner_list.running_server(target, server_args) as proc:
        port = proc.port  # type: ignore[attr-defined]
        cookie = partner_list.log_in(port, "rep")
        for name, query, sql in CRITERIA:
            path = f"/campaigns/{campaign_id}/choose/count?{query.format(**values)}"
            request = count_request(path, cookie)
            partner_list.one_by_one(port, request, 3)  # warm
            status, times = partner_list.one_by_one(port, request, args.count_requests)
            assert status == 200, (name, status)
            bare = []
            with target.db.engine.connect() as conn:
                where = sql.format(**values)
                statement = sa.text(f"SELECT count(*) FROM partners WHERE {where}")
                for _ in range(5):
                    started = time.perf_counter()
                    matches = conn.execute(statement).scalar()
                    bare.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            out.append(
                (name, statistics.median(times), p95, statistics.median(bare), f"{matches:,}")
            )
    return out


def spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="postgresql")
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count-requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", partner_list.PG_DEFAULT_URL)
    )
    args = parser.parse_args(argv)
    install()  # the areas, before the first database is opened
    started = time.monotonic()
    report: list[str] = []
    for name in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        print(f"{name}: {args.partners:,} partners, {args.targets:,} targets ...", file=sys.stderr)
        with partner_list.fresh_database(name, args) as target:
            users = partner_list.make_people(target)
            partner_list.load_partners(target, args.partners)
            campaign_id, type_id = make_campaign(target, users, args.targets)
            bare_tables(target)
            settle(target)
            ours: list[float] = []
            bases: list[float] = []
            recorder = Recorder()
            made: Rollout | None = None
            counts: list[tuple[str, float, float, float, str]] = []
            # A first rollout, untimed, records the rows the baseline writes.
            rollout.copy_rows = store.copy_rows = recorder  # type: ignore[assignment]
            try:
                run_rollout(target, users, campaign_id, type_id)
            finally:
                rollout.copy_rows = store.copy_rows = copy_rows  # type: ignore[assignment]
            reset(target, campaign_id)
            tables: list[float] = []
            for round_ in range(args.rounds):
                seconds, made = run_rollout(target, users, campaign_id, type_id)
                assert made.status == "done", made.error
                ours.append(seconds)
                bases.append(baseline(target, recorder))
                last = round_ == args.rounds - 1
                if not last:
                    reset(target, campaign_id)
                    tables.append(into_tables(target, recorder, campaign_id))
                print(f"{name}: round {round_ + 1}: rollout {seconds:.1f} s, bare COPY "
                      f"{bases[-1]:.1f} s" + ("" if last else f", COPY into the tables "
                      f"{tables[-1]:.1f} s"), file=sys.stderr)  # fmt: skip
            # The live count with the deals of the last rollout in place.
            counts = measure_counts(target, args, campaign_id, type_id)
            assert made is not None
            rows = sum(len(r) for _c, r in recorder.rows.values())
            ratios = [b / o for b, o in zip(bases, ours, strict=True)]
            fast = name == "sqlite" or max(ours) <= TARGET_ROLLOUT_S
            ok = "yes" if fast and min(ratios) >= TARGET_RATIO else "NO"
            report.append(
                f"{name:10}  rollout of {args.targets:,} targets  {spread(ours):>22} s  "
                f"bare COPY {spread(bases):>20} s  ratio {spread(ratios):>18}  {ok}"
            )
            written = ", ".join(f"{t} {len(r):,}" for t, (_c, r) in recorder.rows.items())
            in_tables = [t / o for t, o in zip(tables, ours, strict=False)]
            if tables:
                report.append(
                    f"{'':10}  COPY into the real tables {spread(tables):>20} s  "
                    f"ratio {spread(in_tables):>18}"
                )
            report.append(
                f"{'':10}  made {made.deals_made:,} deals, {made.tasks_made:,} tasks; "
                f"{rows:,} rows written ({written})"
            )
            for what, p50, p95, bare, matches in counts:
                ok = "yes" if p95 < TARGET_COUNT_MS else "NO"
                report.append(
                    f"{'':10}  live count, rep: {what:30} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  "
                    f"bare count {bare:6.0f} ms  {matches:>9} partners  {ok}"
                )
    print("\n".join(report))
    print(
        f"\nRollout: median (min-max) of {args.rounds} interleaved rounds; ratio = bare COPY "
        f"time / rollout time (target >= {TARGET_RATIO}, and <= {TARGET_ROLLOUT_S:g} s on "
        f"PostgreSQL). Live count: {args.count_requests} requests one at a time per criteria "
        f"as the territory rep (target p95 < {TARGET_COUNT_MS:g} ms); bare count: the same "
        f"count(*) without the access filter, in-process. Total {time.monotonic() - started:.0f} s "
        f"on {os.cpu_count()} CPUs."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
