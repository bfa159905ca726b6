"""CSV mass imports of partners, persons and ERP documents.

An import is a job with a life: **uploaded** (the file is stored under
``<data dir>/imports``; its encoding, delimiter and header are detected and a column
mapping suggested) → **validating** → **validated** (every row checked — the same rules
as the forms, plus duplicate keys in the file and clashes with the database — and
every problem stored with its row number, column and reason; nothing written) →
**committing** → **done** or **failed**. The user may correct the mapping or the key and
validate again; committing needs a file without errors unless the job skips invalid
rows.

The commit is one transaction: either every accepted row lands, or none does. A
process killed meanwhile leaves the database as it was and the job in "committing";
:func:`resume_stale_jobs` (a periodic job) starts such jobs again from the file. Files
are streamed, never loaded whole; progress (bytes read, rows) is written to
``<data dir>/imports/<id>.json`` where any process can read it, because on SQLite the
committing transaction holds the write lock and a progress row could not be updated.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, Who, load_who
from groupware.accounts.models import User
from groupware.crm.importing import csvfile
from groupware.crm.importing.records import DocumentWriter, PersonWriter
from groupware.crm.importing.rows import (
    Lookups,
    RowProblem,
    document_values,
    partner_values,
    person_values,
)
from groupware.crm.importing.seen import SeenKeys
from groupware.crm.importing.write import PartnerWriter
from groupware.crm.models import ImportJob, ImportRowError, Partner, PartnerGroup
from groupware.crm.normalize import search_text
from groupware.crm.territories.assignment import load_matcher
from groupware.db import Database, utcnow
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l, gettext, use_language
from groupware.jobs import Job, defer

log = logging.getLogger(__name__)
FIELDS = {
    "partners": csvfile.PARTNER_FIELDS,
    "persons": csvfile.PERSON_FIELDS,
    "documents": csvfile.DOCUMENT_FIELDS,
}
KEYS = {
    "partners": ("oib", "external_id", "email"),
    "persons": ("email", "external_id"),
    "documents": ("number",),
}
REQUIRED = {
    "partners": ("name",),
    "persons": ("last_name", "partner_key"),
    "documents": ("kind", "number", "date", "net_amount", "partner_key"),
}
BATCH = 5000
MAX_NEW_GROUPS = 100  # an import creating more probably has the wrong column
MAX_STORED_ERRORS = 100_000
STALE_SECONDS = 120


@dataclass
class Progress:
    """What a job has done so far; kept in a file beside the upload."""

    phase: str
    bytes_read: int = 0
    size: int = 0
    rows: int = 0
    errors: int = 0
    at: float = 0.0

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.bytes_read / self.size)) if self.size else 0


def import_dir(database: Database) -> Path:
    path = database.settings.data_dir / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _progress_path(database: Database, job_id: int) -> Path:
    return import_dir(database) / f"{job_id}.json"


def read_progress(database: Database, job_id: int) -> Progress | None:
    try:
        return Progress(**json.loads(_progress_path(database, job_id).read_text()))
    except (OSError, ValueError, TypeError):
        return None


class _Reporter:
    """Writes progress at most twice a second (and when told it is final)."""

    def __init__(
        self,
        database: Database,
        job_id: int,
        phase: str,
        size: int,
        listener: Callable[[Progress], None] | None = None,
    ) -> None:
        self.path = _progress_path(database, job_id)
        self.state = Progress(phase=phase, size=size)
        self.listener = listener
        self.last = 0.0

    def __call__(
        self,
        bytes_read: int | None = None,
        *,
        rows: int | None = None,
        errors: int | None = None,
        final: bool = False,
    ) -> None:
        if bytes_read is not None:
            self.state.bytes_read = bytes_read
        if rows is not None:
            self.state.rows = rows
        if errors is not None:
            self.state.errors = errors
        now = time.monotonic()
        if final or now - self.last >= 0.5:
            self.last = now
            self.state.at = time.time()
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(asdict(self.state)))
            partial.replace(self.path)
            if self.listener is not None:
                self.listener(self.state)


# -- creating and configuring jobs ----------------------------------------------------


def create_job(
    session: Session,
    database: Database,
    *,
    kind: str,
    user_id: int | None,
    filename: str,
    source: Path,
    channel: str,
    move: bool = False,
) -> ImportJob:
    """Register an uploaded file (copied, or moved with ``move``) and analyse it."""
    if kind not in FIELDS:
        raise Invalid({"kind": _l("Choose what the file holds.")})
    job = ImportJob(
        kind=kind,
        user_id=user_id,
        filename=filename[:255],
        stored_path="",
        key=KEYS[kind][0],
        summary={"channel": channel},
    )
    session.add(job)
    session.flush()
    stored = import_dir(database) / f"{job.id}.csv"
    (shutil.move if move else shutil.copyfile)(source, stored)
    os.chmod(stored, 0o600)
    job.stored_path = stored.name
    job.size = stored.stat().st_size
    try:
        dialect = csvfile.detect(stored)
        if not dialect.header:
            raise Invalid({"file": _l("The first row must name the columns.")})
    except (csvfile.CsvError, Invalid) as exc:
        stored.unlink(missing_ok=True)  # the caller rolls the job back; keep no copy
        if isinstance(exc, Invalid):
            raise
        raise Invalid({"file": csv_message(exc)}) from None
    job.encoding = dialect.encoding
    job.delimiter = dialect.delimiter
    suggested = csvfile.suggest_mapping(dialect.header, FIELDS[kind])
    fields = [suggested.get(c) for c in dialect.header]
    if kind == "partners":
        fields = _oib_from_tax_number(stored, dialect, fields)
    job.mapping = {"columns": dialect.header, "fields": fields}
    # The first key the file has a column for (documents are known by kind and number).
    job.key = next((k for k in KEYS[kind] if k in fields), KEYS[kind][0])
    session.flush()
    return job


SAMPLE_ROWS = 200


def _oib_from_tax_number(
    path: Path, dialect: csvfile.Dialect, fields: list[str | None]
) -> list[str | None]:
    """An English file's "VAT ID" or "Tax number" column often holds bare OIBs (11
    digits, no country prefix), which are no VAT ids: when no column is the OIB and
    every value of the first rows is such a number, that column is the OIB."""
    if "oib" in fields:
        return fields
    candidates = [i for i, field in enumerate(fields) if field == "vat_id"]
    if not candidates:
        return fields
    found = cast(Generator[tuple[int, list[str]]], csvfile.rows(path, dialect))
    try:
        sample = [cells for _n, cells in itertools.islice(found, SAMPLE_ROWS)]
    except csvfile.CsvError:
        return fields  # the check names the row; the mapping stays as suggested
    finally:
        found.close()
    for i in candidates:
        values = [cells[i].strip() for cells in sample if i < len(cells) and cells[i].strip()]
        if values and all(len(v) == 11 and v.isascii() and v.isdigit() for v in values):
            return [("oib" if n == i else f) for n, f in enumerate(fields)]
    return fields


def set_mapping(
    session: Session, job: ImportJob, fields: list[str | None], *, key: str, skip_invalid: bool
) -> None:
    """Correct which column fills which field, the upsert key and whether rows with
    errors are skipped; the job must be validated again."""
    if job.status in ("committing", "done", "validating"):
        raise Invalid({"": _l("This import can no longer be changed.")})
    columns = job.mapping.get("columns", [])
    if len(fields) != len(columns):
        raise Invalid({"fields": _l("Give a field (or none) for every column.")})
    known = set(FIELDS[job.kind])
    chosen = [f for f in fields if f]
    if any(f not in known for f in chosen):
        raise Invalid({"fields": _l("Choose from the offered fields.")})
    if len(set(chosen)) != len(chosen):
        raise Invalid({"fields": _l("Each field can be filled from one column only.")})
    missing = [f for f in REQUIRED[job.kind] if f not in chosen]
    if missing:
        raise Invalid(
            {"fields": _l("These fields need a column: %(fields)s", fields=", ".join(missing))}
        )
    if key not in KEYS[job.kind]:
        raise Invalid({"key": _l("Choose the key from the offered ones.")})
    if job.kind != "documents" and key not in chosen:
        raise Invalid({"key": key_without_column(job.kind, key)})
    job.mapping = {**job.mapping, "columns": columns, "fields": fields}
    job.key = key
    job.skip_invalid = skip_invalid
    job.status = "uploaded"
    job.updated_at = utcnow()
    session.flush()


KEY_NAMES = {
    "oib": _l("OIB"),
    "external_id": _l("External id"),
    "email": _l("E-mail"),
    "number": _l("Document kind and number"),
}


def key_without_column(kind: str, key: str) -> Any:
    """Why the chosen key cannot work, and the two ways out."""
    others = [k for k in KEYS[kind] if k != key]
    return _l(
        "No column is mapped to %(key)s, the key chosen to find existing records: choose "
        "%(key)s as the field of the column that holds it (on the command line: --map "
        "'COLUMN=%(field)s'), or find records by %(others)s instead (--key).",
        key=KEY_NAMES[key],
        field=key,
        others=" / ".join(str(KEY_NAMES[k]) for k in others),
    )


def set_groups(
    session: Session,
    who: Who,
    job: ImportJob,
    *,
    group_map: dict[str, int],
    create: bool | list[str],
) -> None:
    """Say what becomes of group names the file has and the database lacks: each may
    be taken as an existing group (``group_map``: file value -> group id), or created
    by the import (``create``: True for every such name, or the names; administrators
    only, as groups are theirs to edit). The job must be checked again."""
    if job.status in ("committing", "done", "validating"):
        raise Invalid({"": _l("This import can no longer be changed.")})
    if job.kind != "partners" or "group" not in job.mapping.get("fields", []):
        raise Invalid({"groups": _l("No column of this import is mapped to the group.")})
    if create and not who.is_admin:
        raise Invalid({"groups": _l("Only an administrator may create partner groups.")})
    known = set(session.scalars(select(PartnerGroup.id)))
    if any(group_id not in known for group_id in group_map.values()):
        raise Invalid({"groups": _l("Choose from the existing partner groups.")})
    # Added to what was chosen before: those names are no longer reported as unknown.
    earlier = job.mapping.get("create_groups") or []
    creating: bool | list[str] = True
    if earlier is not True and not isinstance(create, bool):
        creating = list(dict.fromkeys([*earlier, *(n.strip() for n in create)]))
    elif create is False and earlier is not True:
        creating = list(earlier)
    job.mapping = {
        **job.mapping,
        "group_map": {
            **job.mapping.get("group_map", {}),
            **{name.strip(): group_id for name, group_id in group_map.items()},
        },
        "create_groups": creating,
    }
    job.status = "uploaded"
    job.updated_at = utcnow()
    session.flush()


def by_rows(unknown_groups: dict[str, int]) -> list[tuple[str, int]]:
    """Unknown group names, most rows first (PostgreSQL's JSON keeps no order)."""
    return sorted(unknown_groups.items(), key=lambda item: (-item[1], item[0]))


def get_job_for_user(session: Session, who: Who, job_id: int) -> ImportJob:
    """Imports are private to whoever started them (and administrators)."""
    job = session.get(ImportJob, job_id)
    if job is None or (job.user_id != who.id and not who.is_admin):
        raise NotFound(_l("There is no such import."))
    return job


def list_jobs(session: Session, who: Who, *, limit: int = 50) -> list[ImportJob]:
    query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    if not who.is_admin:
        query = query.where(ImportJob.user_id == who.id)
    return list(session.scalars(query))


def errors_of(session: Session, job_id: int, *, limit: int | None = 500) -> list[ImportRowError]:
    query = (
        select(ImportRowError)
        .where(ImportRowError.job_id == job_id)
        .order_by(ImportRowError.row, ImportRowError.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def error_rows(session: Session, job_id: int) -> Iterator[tuple[int, str, str]]:
    """Every stored problem, for the downloadable error list."""
    query = (
        select(ImportRowError.row, ImportRowError.column, ImportRowError.message)
        .where(ImportRowError.job_id == job_id)
        .order_by(ImportRowError.row, ImportRowError.id)
    )
    for row in session.execute(query.execution_options(yield_per=5000)):
        yield row[0], row[1], row[2]


# -- running --------------------------------------------------------------------------


def csv_message(exc: csvfile.CsvError) -> str:
    """A file problem in the user's language (the reader's own messages are English)."""
    if exc.code == "encoding":
        return gettext(
            "Row %(row)s cannot be read in the detected encoding; "
            "save the file as UTF-8 or Windows-1250.",
            row=exc.row,
        )
    return gettext("Row %(row)s is not valid CSV: %(problem)s", row=exc.row, problem=exc.message)


@dataclass
class RunResult:
    status: str
    summary: dict[str, Any]


def run_job(
    database: Database,
    job_id: int,
    action: str,
    *,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunResult:
    """Validate (``action="validate"``) or commit (``"commit"``) a job, in this thread.
    Marks the job as running first (a short transaction), so that another process does
    not start it too."""
    with database.transaction(actor_id=None, channel="job") as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise NotFound(_l("There is no such import."))
        allowed = {
            "validate": ("uploaded", "validated", "failed", "validating"),
            # The command line commits in one pass, without a separate check first.
            "commit": ("uploaded", "validated", "committing", "failed"),
        }[action]
        if job.status not in allowed:
            raise Invalid({"": _l("This import cannot do that now.")})
        if action == "commit" and job.error_rows and not job.skip_invalid:
            raise Invalid(
                {"": _l("The file has errors: correct them, or choose to skip those rows.")}
            )
        job.status = "validating" if action == "validate" else "committing"
        job.updated_at = utcnow()
        language = (
            session.scalar(select(User.language).where(User.id == job.user_id))
            or database.settings.default_language
        )
        if job.summary.get("channel") == "cli":
            language = "en"  # the command line speaks English (see groupware.cli)
    try:
        with use_language(language, database.settings.timezone):
            if action == "validate":
                return _validate(database, job_id, on_progress)
            return _commit(database, job_id, on_progress)
    except Invalid:
        raise  # refused rows: the job went back to "validated" with its problems
    except Exception as exc:
        with database.transaction(actor_id=None, channel="job") as session:
            job = session.get(ImportJob, job_id)
            if job is not None:
                job.status = "failed"
                job.summary = {**job.summary, "failure": str(exc)[:500]}
                job.finished_at = utcnow()
        raise


def _iterate(
    database: Database, job: ImportJob, reporter: _Reporter | None
) -> Generator[tuple[int, list[str]]]:
    dialect = csvfile.detect(
        import_dir(database) / job.stored_path,
        encoding=job.encoding,
        delimiter=job.delimiter,
        has_header=True,
    )
    yield from csvfile.rows(import_dir(database) / job.stored_path, dialect, progress=reporter)


def _index(job: ImportJob) -> dict[str, int]:
    return {field: position for position, field in enumerate(job.mapping["fields"]) if field}


def _who(session: Session, job: ImportJob) -> Who:
    user = session.get(User, job.user_id) if job.user_id is not None else None
    return load_who(session, user) if user is not None else SYSTEM


def _process(
    session: Session, database: Database, job: ImportJob, reporter: _Reporter, *, dry_run: bool
) -> tuple[int, list[tuple[int, str, str]], dict[str, Any]]:
    """Go through the file once: check every row, and write the good ones unless
    ``dry_run``. Returns rows seen, problems (row, column, message) and an outcome."""
    index = _index(job)
    who = _who(session, job)
    writer = _writer(session, job, who, dry_run=dry_run)
    lookups = _lookups(session, database, job, who, dry_run=dry_run)
    parse = _parser(job, index, lookups)
    problems: list[tuple[int, str, str]] = []
    batch: list[tuple[int, dict[str, Any]]] = []
    total = 0
    dialect_columns = len(job.mapping["columns"])
    bulk = not dry_run and _is_bulk(session, job)
    dropped = writer.start_bulk() if bulk else []
    pipeline = _Pipeline(job, writer)
    seen = SeenKeys(import_dir(database) / f"{job.id}.seen")

    def send(batch: list[tuple[int, dict[str, Any]]]) -> None:
        """Leave out the rows that repeat a key of an earlier row, send the others."""
        repeats = seen.first_rows([(n, writer.unique_values(v)) for n, v in batch])
        for number, (name, earlier) in repeats.items():
            message = gettext("The same value as row %(row)s.", row=earlier)
            problems.append((number, _column_name(job, writer.unique_names[name]), message))
        pipeline.send([item for item in batch if item[0] not in repeats] if repeats else batch)

    try:
        for number, cells in _iterate(database, job, reporter):
            total += 1
            if len(cells) < dialect_columns and any(i >= len(cells) for i in index.values()):
                problems.append(
                    (
                        number,
                        "",
                        gettext(
                            "This row has %(found)s cells, the header %(expected)s.",
                            found=len(cells),
                            expected=dialect_columns,
                        ),
                    )
                )
                continue
            try:
                values = parse(cells)
                writer.check_row(values)
            except RowProblem as problem:
                problems.append((number, _column_name(job, problem.column), str(problem.message)))
                continue
            batch.append((number, values))
            if len(batch) >= BATCH:
                send(batch)
                batch = []
                reporter(rows=total, errors=len(problems))
    except csvfile.CsvError as exc:
        problems.append((exc.row, "", csv_message(exc)))
    finally:
        try:
            send(batch)
        finally:
            seen.close()
            problems.extend(pipeline.close())
    problems.sort(key=lambda problem: problem[0])
    if bulk:
        reporter(rows=total, errors=len(problems), final=True)
        writer.finish_bulk(dropped)
    reporter(rows=total, errors=len(problems), final=True)
    outcome = asdict(writer.outcome)
    if lookups is not None:
        outcome["new_groups"] = lookups.new_groups
        unknown = {name: rows for name, rows in lookups.unknown_groups.values()}
        if unknown:
            outcome["unknown_groups"] = unknown
    return total, problems, outcome


# An import of at least this many rows (estimated from the file's size), and at least
# half as many as the table has, rebuilds the partners' indexes at the end.
BULK_ROWS = 20_000
_BYTES_PER_ROW = 150


def _is_bulk(session: Session, job: ImportJob) -> bool:
    if job.kind != "partners":
        return False
    estimate = job.size // _BYTES_PER_ROW
    if estimate < BULK_ROWS:
        return False
    existing = session.scalar(select(func.count()).select_from(Partner)) or 0
    return estimate >= existing // 2


class _Pipeline:
    """Batches go to the database in a thread of their own while the next batch is read
    and checked: the database driver lets go of the interpreter lock while it waits,
    so reading the file and writing it overlap on two cores. At most two batches are
    on their way, which bounds memory."""

    def __init__(self, job: ImportJob, writer: Any) -> None:
        self.job = job
        self.writer = writer
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-{job.id}")
        self.pending: deque[Future[list[tuple[int, RowProblem]]]] = deque()
        self.problems: list[tuple[int, str, str]] = []

    def send(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        if not batch:
            return
        prepared = self.writer.prepare(batch)
        self.pending.append(self.pool.submit(self.writer.write, prepared))
        while len(self.pending) > 1:
            self.problems.extend(_refused(self.job, self.pending.popleft().result()))

    def close(self) -> list[tuple[int, str, str]]:
        try:
            while self.pending:
                self.problems.extend(_refused(self.job, self.pending.popleft().result()))
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
        return self.problems


def _refused(job: ImportJob, refused: list[tuple[int, RowProblem]]) -> list[tuple[int, str, str]]:
    return [(number, _column_name(job, p.column), str(p.message)) for number, p in refused]


def _column_name(job: ImportJob, field: str) -> str:
    """The file's own name for the column a field came from."""
    for column, mapped in zip(job.mapping["columns"], job.mapping["fields"], strict=True):
        if mapped == field:
            return str(column)
    return field


def _writer(session: Session, job: ImportJob, who: Who, *, dry_run: bool) -> Any:
    if job.kind == "partners":
        return PartnerWriter(session, who, load_matcher(session), job.key, dry_run=dry_run)
    if job.kind == "persons":
        return PersonWriter(session, who, job.key, dry_run=dry_run)
    return DocumentWriter(session, who, dry_run=dry_run)


def _lookups(
    session: Session, database: Database, job: ImportJob, who: Who, *, dry_run: bool
) -> Lookups | None:
    """The names a partner file may use; with the groups the importer chose to create
    made first (in the import's transaction: a refused import leaves none behind) or,
    for a check, given stand-in ids."""
    if job.kind != "partners":
        return None
    lookups = Lookups.load(session, group_map=job.mapping.get("group_map"))
    create = job.mapping.get("create_groups") or False
    if create and who.is_admin and "group" in job.mapping["fields"]:
        wanted = None if create is True else {search_text(name) for name in create}
        names = _new_group_names(database, job, lookups, wanted)
        for number, (folded, name) in enumerate(sorted(names.items()), start=1):
            if dry_run:
                lookups.groups[folded] = -number  # a stand-in: nothing is written
            else:
                group = PartnerGroup(name=name)
                session.add(group)
                session.flush()
                lookups.groups[folded] = group.id
        lookups.new_groups = sorted(names.values())
    return lookups


def _new_group_names(
    database: Database, job: ImportJob, lookups: Lookups, wanted: set[str] | None
) -> dict[str, str]:
    """The group names of the file that no group has (and ``wanted``, if given), folded
    -> as first written; at most MAX_NEW_GROUPS (the rows of others are refused)."""
    position = job.mapping["fields"].index("group")
    names: dict[str, str] = {}
    try:
        with contextlib.closing(_iterate(database, job, None)) as rows:
            for _number, cells in rows:
                name = cells[position].strip() if position < len(cells) else ""
                folded = search_text(name) if name else ""
                if not folded or folded in lookups.groups or folded in names:
                    continue
                if wanted is None or folded in wanted:
                    names[folded] = name[:100]
                    if len(names) >= MAX_NEW_GROUPS:
                        break
    except csvfile.CsvError:
        pass  # the pass itself names the row that cannot be read
    return names


def _parser(
    job: ImportJob, index: dict[str, int], lookups: Lookups | None
) -> Callable[[list[str]], dict[str, Any]]:
    if lookups is not None:
        return lambda cells: partner_values(cells, index, lookups)
    if job.kind == "persons":
        return lambda cells: person_values(cells, index)
    return lambda cells: document_values(cells, index)


def _validate(
    database: Database, job_id: int, on_progress: Callable[[Progress], None] | None
) -> RunResult:
    with database.session() as session, session.begin():
        job = session.get(ImportJob, job_id)
        assert job is not None
        reporter = _Reporter(database, job_id, "validating", job.size, on_progress)
        total, problems, outcome = _process(session, database, job, reporter, dry_run=True)
    with database.transaction(actor_id=None, channel="job") as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        _store_problems(session, job, total, problems)
        job.processed_rows = 0
        job.status = "validated"
        job.summary = {**job.summary, "validated": outcome, "problems": len(problems)}
        job.updated_at = utcnow()
        return RunResult(job.status, job.summary)


class _Refused(Exception):
    """The commit met rows with errors and may not skip them: nothing is kept."""

    def __init__(self, total: int, problems: list[tuple[int, str, str]], outcome: dict[str, Any]):
        super().__init__(f"{len(problems)} problems")
        self.total, self.problems, self.outcome = total, problems, outcome


def _commit(
    database: Database, job_id: int, on_progress: Callable[[Progress], None] | None
) -> RunResult:
    with database.session() as read:
        job = read.get(ImportJob, job_id)
        assert job is not None
        user_id, channel = job.user_id, job.summary.get("channel", "job")
    try:
        with database.transaction(actor_id=user_id, channel=channel) as session:
            job = session.get(ImportJob, job_id)
            assert job is not None
            reporter = _Reporter(database, job_id, "committing", job.size, on_progress)
            total, problems, outcome = _process(session, database, job, reporter, dry_run=False)
            if problems and not job.skip_invalid:
                raise _Refused(total, problems, outcome)  # rolls everything back
            job.processed_rows = total - len({r for r, _c, _m in problems})
            job.status = "done"
            job.summary = {**job.summary, "committed": outcome, "skipped": len(problems)}
            job.finished_at = job.updated_at = utcnow()
            _store_problems(session, job, total, problems)
            return RunResult(job.status, job.summary)
    except _Refused as refused:
        # Keep the problems for the user (as a check would), and nothing else.
        with database.transaction(actor_id=None, channel="job") as session:
            job = session.get(ImportJob, job_id)
            assert job is not None
            _store_problems(session, job, refused.total, refused.problems)
            job.status = "validated"
            job.summary = {
                **job.summary,
                "validated": refused.outcome,
                "problems": len(refused.problems),
            }
            job.updated_at = utcnow()
        count = len({r for r, _c, _m in refused.problems})
        raise Invalid(
            {"": _l("%(count)s rows have errors; nothing was imported.", count=count)}
        ) from None


def _store_problems(
    session: Session, job: ImportJob, total: int, problems: list[tuple[int, str, str]]
) -> None:
    session.execute(delete(ImportRowError).where(ImportRowError.job_id == job.id))
    stored = problems[:MAX_STORED_ERRORS]
    if stored:
        session.execute(
            insert(ImportRowError),
            [
                {"job_id": job.id, "row": r, "column": c[:100], "message": m[:500]}
                for r, c, m in stored
            ],
        )
    job.total_rows = total
    job.error_rows = len({r for r, _c, _m in problems})


def resume_stale_jobs(session: Session, database: Database) -> list[tuple[int, str]]:
    """Jobs left running by a process that died (no progress for a while): the
    periodic job starts them again. Returns (job id, action) to run."""
    stale: list[tuple[int, str]] = []
    for job in session.scalars(
        select(ImportJob).where(ImportJob.status.in_(("validating", "committing")))
    ):
        progress = read_progress(database, job.id)
        last = max(progress.at if progress else 0.0, job.updated_at.timestamp())
        if time.time() - last > STALE_SECONDS:
            stale.append((job.id, "validate" if job.status == "validating" else "commit"))
    return stale


def start_in_background(database: Database, job_id: int, action: str) -> threading.Thread:
    """Run a job in a thread of this process (the web's way; the CLI runs it inline)."""

    def run() -> None:
        try:
            run_job(database, job_id, action)
        except Exception:
            log.exception("import %s (%s) failed", job_id, action)

    thread = threading.Thread(target=run, name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread


def delete_job(session: Session, database: Database, job: ImportJob) -> None:
    if job.status in ("validating", "committing"):
        raise Invalid({"": _l("This import is running.")})
    folder = import_dir(database)
    # (the scratch file of seen keys is left only by a pass whose process died)
    for path in (
        folder / job.stored_path,
        _progress_path(database, job.id),
        folder / f"{job.id}.seen",
    ):
        if job.stored_path and path.exists():
            path.unlink()
    session.delete(job)
    session.flush()


def _resume_job(session: Session, database: Database) -> int:
    """Imports whose process died are started again (a commit that was cut off left
    nothing behind, so it starts from the file). Each is claimed in this transaction
    (held under the job's lock on PostgreSQL), so that no other worker starts it too,
    and run once it has committed: by ``groupware run-jobs`` before it exits."""
    stale = resume_stale_jobs(session, database)
    for job_id, action in stale:
        job = session.get(ImportJob, job_id)
        assert job is not None
        job.updated_at = utcnow()
        defer(session, functools.partial(run_job, database, job_id, action))
    return len(stale)


RESUME_JOB = Job("resume-imports", _resume_job, "Start again CSV imports whose process died.")
