"""Run the benchmarks: ``make bench`` (all) or ``python bench/run.py handlers ...``.

Each benchmark is a script in this folder that prints a table with its same-run
baseline beside our figure; the latest figures are kept in ``bench/README.md``.
Arguments after the names are passed to every script (e.g. ``--db sqlite``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "handlers": "How page handlers reach the database: thread pool, greenlet or inline.",
    "partner_list": "The partner list at 1,000,000 partners for a territory rep: p95 < 150 ms.",
    "global_search": "Global search and the partner list's search and filters at 1,000,000 "
    "partners for a territory rep, beside a static file: p95 < 150 ms.",
    "import_partners": "CSV import of 1,000,000 partners against raw COPY/executemany: >= 0.30x.",
    "deals": "Deal reports (< 1 s) and the alert job (< 10 s) over 1,000,000 open deals.",
    "dashboard": "The dashboard's deal figures over 1,000,000 open deals: < 1 s per viewer.",
    "caldav": "CalDAV PUT, week query and sync at 10,000 events: <= 0.10x Radicale's own.",
    "smtp_ingest": "SMTP ingest of 5 KB messages, 4 connections: >= 0.70x a discarding aiosmtpd.",
    "campaign_rollout": "A campaign's rollout of 100,000 targets (<= 20 s, >= 0.25x raw COPY) "
    "and the live count of target criteria at 1,000,000 partners (p95 < 300 ms).",
}


def main(argv: list[str]) -> int:
    names = [a for a in argv if a in BENCHMARKS] or list(BENCHMARKS)
    extra = [a for a in argv if a not in BENCHMARKS]
    failed = 0
    for name in names:
        print(f"== {name}: {BENCHMARKS[name]}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *extra], check=False)
        print(
            f"== {name}: {'ok' if result.returncode == 0 else 'FAILED'} "
            f"in {time.monotonic() - started:.0f} s\n",
            flush=True,
        )
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
