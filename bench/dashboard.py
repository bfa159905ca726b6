"""The dashboard's deal figures over 1,000,000 open deals.

The dashboard reads, on every visit, the open deals of the viewer's scope by phase and
forecast against realised this month and this quarter. This script loads the deals of
``bench/deals.py`` (100,000 partners, ``--deals`` open deals plus 30% closed ones) into
a database of its own, puts the bench's reps ``rep`` and ``colleague`` in a team led by
a manager, and times, median of three runs, every widget's figures and the whole set of
a dashboard for three viewers: the administrator ``ana`` (the company: no access
filter), the manager (the team's deals, through the team rule) and the rep who owns the most
deals (their own, through the owner and territory rules). The same-run baseline is a plain
``SELECT count(*), sum(amount) FROM deals``.

Run from the repository root::

    .venv/bin/python bench/dashboard.py [--db postgresql|sqlite|both] [--deals 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import deals as deal_bench
import partner_list
import sqlalchemy as sa

from groupware import wiring
from groupware.access.policy import load_who
from groupware.accounts.models import Role, User
from groupware.accounts.teams import TeamIn, create_team, set_member
from groupware.accounts.users import UserIn, create_user
from groupware.areas import install
from groupware.dashboard import WidgetArgs, default_scope, scopes_for
from groupware.deals.models import Deal
from groupware.i18n import today

# A database of its own: other benchmarks may be running on the same server.
partner_list.PG_BENCH_DB = "groupware_bench_dashboard"
TARGET_S = 1.0  # the whole dashboard's figures


def make_team(target: partner_list.Db, users: dict[str, int]) -> int:
    """A manager leading a team of ``rep`` and ``colleague``; the manager's id."""
    with target.db.transaction(actor_id=None, channel="cli") as session:
        manager_role = session.scalar(sa.select(Role.id).where(Role.name == "manager"))
        manager = create_user(
            session,
            UserIn(username="manager", full_name="Manager", role_ids=[manager_role]),
            mail_domain="bench.local",
        )
        team = create_team(session, TeamIn(name="Prodaja Zagreb"))
        for name in ("rep", "colleague"):
            set_member(session, team, session.get_one(User, users[name]))
        set_member(session, team, manager, is_lead=True)
        return manager.id


def busiest_rep(target: partner_list.Db) -> dict[str, int]:
    """The rep who owns the most deals (the bench gives each partner's deals to one of
    the partner's reps), by user name."""
    with target.db.engine.connect() as conn:
        name, user_id = conn.execute(
            sa.select(User.username, User.id)
            .join(Deal, Deal.owner_id == User.id)
            .group_by(User.username, User.id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()
    return {name: user_id}


def measure(target: partner_list.Db, viewers: dict[str, int]) -> list[tuple[str, str, float, str]]:
    out: list[tuple[str, str, float, str]] = []
    widgets = [w for w in wiring.current().dashboard_widgets if w.module == "deals"]
    with target.db.transaction(actor_id=None, channel="cli", write=False) as session:
        base, _r = deal_bench.timed(
            lambda: session.execute(sa.text("SELECT count(*), sum(amount) FROM deals")).one()
        )
        out.append(("baseline", "count(*), sum(amount) FROM deals", base, ""))
        for viewer, user_id in viewers.items():
            who = load_who(session, session.get_one(User, user_id))
            scope = default_scope(scopes_for(session, who))
            now = dt.datetime.now(dt.UTC)
            args = WidgetArgs(session, who, scope, today(), now)
            total = 0.0
            for widget in widgets:
                seconds, data = deal_bench.timed(partial(widget.figures, args))
                total += seconds
                note = scope.key
                if "pipelines" in data:
                    note = f"{sum(p.count for p in data['pipelines']):,} deals, {scope.key}"
                out.append((viewer, widget.name, seconds, note))
            out.append((viewer, "every deal widget", total, ""))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="postgresql")
    parser.add_argument("--deals", type=int, default=1_000_000, help="open deals")
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", partner_list.PG_DEFAULT_URL)
    )
    args = parser.parse_args(argv)
    install()  # the areas, before the first database is opened
    started = time.monotonic()
    lines = []
    for name in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        print(f"{name}: {args.partners:,} partners, {args.deals:,} open deals ...", file=sys.stderr)
        with partner_list.fresh_database(name, args) as target:
            users = partner_list.make_people(target)
            partner_list.load_partners(target, args.partners)
            deal_bench.load_deals(target, args.deals)
            viewers = {"ana": users["ana"], "manager": make_team(target, users)}
            viewers.update(busiest_rep(target))
            for who, what, seconds, note in measure(target, viewers):
                ok = (
                    ""
                    if who == "baseline" or what != "every deal widget"
                    else ("yes" if seconds < TARGET_S else "NO")
                )
                lines.append(
                    f"{name:10}  {who:8}  {what:34}  {seconds * 1000:9.0f}  {note:>28}  {ok}"
                )
    print(f"{'database':10}  {'viewer':8}  {'what':34}  {'ms':>9}  {'':>28}  under target")
    print("\n".join(lines))
    print(
        f"\n{args.deals:,} open deals + 30% closed, {args.partners:,} partners; the median of 3 "
        f"runs; target: every deal widget of a dashboard < {TARGET_S:g} s. "
        f"Total {time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
