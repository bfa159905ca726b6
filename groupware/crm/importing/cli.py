"""``groupware import partners|persons|documents FILE``: the command-line import.

It runs the same job as the web (:mod:`groupware.crm.importing.imports`), in this process, with a
progress bar: analyse, check every row, print every problem with its row and column,
and commit only a clean file (or the valid rows with ``--skip-invalid``); ``--dry-run``
stops after the check. Group names the database lacks are created with
``--create-groups`` or taken as existing groups with ``--map-group VALUE=GROUP``. The
exit status is 1 when rows were refused and nothing was committed (with
``--skip-invalid`` the valid rows are committed and the status is 0).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, load_who
from groupware.accounts.models import User
from groupware.crm.importing import imports
from groupware.crm.models import ImportJob
from groupware.crm.normalize import search_text
from groupware.crm.partners import groups as partner_groups
from groupware.db import Database
from groupware.errors import CommandError, Invalid


class ImportFailed(Exception):
    """Rows were refused; the message says what was (not) committed."""


def run(database: Database, args: argparse.Namespace, console: Console) -> None:
    source = Path(args.file)
    if not source.is_file():
        raise CommandError(f"{source} does not exist")
    key = args.key.replace("-", "_")
    with database.transaction(actor_id=None, channel="cli") as session:
        user_id = None
        if args.user:
            user_id = session.scalar(select(User.id).where(User.username == args.user.lower()))
            if user_id is None:
                raise CommandError(f"there is no user {args.user!r}")
        job = imports.create_job(
            session,
            database,
            kind=args.kind,
            user_id=user_id,
            filename=source.name,
            source=source,
            channel="cli",
        )
        fields = _mapping(job, args.map)
        # Shown before the mapping is checked: the column names are what --map needs.
        _describe(console, job, fields)
        imports.set_mapping(session, job, fields, key=key, skip_invalid=args.skip_invalid)
        if getattr(args, "create_groups", False) or getattr(args, "map_group", None):
            user = session.get(User, user_id) if user_id is not None else None
            who = load_who(session, user) if user is not None else SYSTEM
            imports.set_groups(
                session,
                who,
                job,
                group_map=_group_map(session, args.map_group),
                create=args.create_groups,
            )
        job_id = job.id
    try:
        if args.dry_run:
            _step(database, job_id, "validate", "Checking", console)
            refused = _report(database, job_id, console)
            console.print("Dry run: nothing was committed.")
            if refused:
                raise CommandError(f"{refused} rows have errors")
            return
        try:
            # One pass: a file with errors is rolled back whole unless --skip-invalid.
            result = _step(database, job_id, "commit", "Importing", console)
        except Invalid:
            refused = _report(database, job_id, console)
            raise CommandError(
                f"{refused} rows have errors; nothing was committed "
                "(fix the file, or use --skip-invalid to commit the valid rows)"
            ) from None
        refused = _report(database, job_id, console, summary=False)
        done = result.summary.get("committed", {})
        console.print(
            f"Committed: {done.get('created', 0)} created, {done.get('updated', 0)} updated, "
            f"{done.get('unchanged', 0)} unchanged"
            + (f", {done.get('unassigned', 0)} without a rep" if args.kind == "partners" else "")
            + (f"; {refused} rows skipped." if refused else ".")
        )
        if done.get("new_groups"):
            console.print(f"Created partner groups: {', '.join(done['new_groups'])}.")
    finally:
        with database.transaction(actor_id=None, channel="cli") as session:
            finished = session.get(ImportJob, job_id)
            if finished is not None and finished.status not in ("validating", "committing"):
                imports.delete_job(session, database, finished)


def _report(database: Database, job_id: int, console: Console, *, summary: bool = True) -> int:
    """Print every problem with its row and column; returns the rows with problems."""
    with database.session() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        for problem in imports.errors_of(session, job_id, limit=None):
            where = f"row {problem.row}" + (
                f", column {problem.column!r}" if problem.column else ""
            )
            console.print(
                f"{where}: {problem.message}", highlight=False, markup=False, soft_wrap=True
            )
        if summary:
            checked = job.summary.get("validated", {})
            total, refused = job.total_rows, job.error_rows
            console.print(
                f"{total} rows: {total - refused} valid, {refused} with errors; would create "
                f"{checked.get('created', 0)}, update {checked.get('updated', 0)}."
            )
            if checked.get("new_groups"):
                console.print(f"Would create partner groups: {', '.join(checked['new_groups'])}.")
            if checked.get("unknown_groups"):
                named = ", ".join(
                    f"{name!r} ({rows} row{'' if rows == 1 else 's'})"
                    for name, rows in imports.by_rows(checked["unknown_groups"])
                )
                console.print(
                    f"Groups the file names that do not exist: {named} (create them with "
                    "--create-groups, or take one as an existing group with "
                    "--map-group VALUE=GROUP).",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
        return job.error_rows


def _mapping(job: ImportJob, overrides: list[str]) -> list[str | None]:
    columns: list[str] = job.mapping["columns"]
    fields: list[str | None] = list(job.mapping["fields"])
    for item in overrides:
        column, sep, field = item.partition("=")
        if not sep or column not in columns:
            raise CommandError(f"--map {item!r}: no column {column!r} in the file")
        fields[columns.index(column)] = field.strip() or None
    return fields


def _group_map(session: Session, items: list[str]) -> dict[str, int]:
    """``--map-group FILE_VALUE=GROUP``: the file's value taken as an existing group."""
    known = {search_text(g.name): g.id for g in partner_groups(session)}
    found: dict[str, int] = {}
    for item in items:
        value, sep, group = item.partition("=")
        if not sep or not value.strip():
            raise CommandError(f"--map-group {item!r}: write FILE_VALUE=GROUP")
        group_id = known.get(search_text(group))
        if group_id is None:
            raise CommandError(f"--map-group {item!r}: there is no partner group {group!r}")
        found[value.strip()] = group_id
    return found


def _describe(console: Console, job: ImportJob, fields: list[str | None]) -> None:
    console.print(f"{job.filename}: {job.encoding}, delimiter {job.delimiter!r}", highlight=False)
    for column, field in zip(job.mapping["columns"], fields, strict=True):
        console.print(f"  {column!r:<30} -> {field or '(ignored)'}", highlight=False, markup=False)


def _step(
    database: Database, job_id: int, action: str, label: str, console: Console
) -> imports.RunResult:
    columns = (
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None, rows=0)

        def show(state: imports.Progress) -> None:
            bar.update(task, completed=state.bytes_read, total=state.size or None, rows=state.rows)

        return imports.run_job(database, job_id, action, on_progress=show)
