"""API of CSV imports (``/imports``), and what its operations share with the import
pages (:mod:`.web`): who may import what, storing an upload, starting a step
once the request has committed, reading the progress.

The flow is the web's: upload the file (``POST /imports``, the CSV itself as the
request body), optionally correct the mapping and check it (``POST
/imports/{id}/validate``), poll ``GET /imports/{id}`` until the check is done and read
its problems, then ``POST /imports/{id}/commit`` and poll again. Checking and
committing run in the background; nothing is written before the commit, which lands
every accepted row or none.

The API framework reads JSON bodies only; the upload is the one operation whose body
is a file. :class:`ImportsApi` streams that body to a temporary file before the
operation runs (outside any transaction), and the handler hands it to the job.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import Who
from groupware.api import Api, BadBody, Call, PageQuery, page_of
from groupware.crm.importing import imports
from groupware.crm.models import ImportJob
from groupware.db import Database, utcnow
from groupware.errors import Forbidden, Invalid
from groupware.i18n import _, _l
from groupware.validation import Id, Schema

MODULE_OF = {"partners": "partners", "persons": "partners", "documents": "documents"}
RUNNING = ("validating", "committing")
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")
SHOWN_ERRORS = 100


# -- shared with the pages ------------------------------------------------------------


def may_import(who: Who, kind: str) -> bool:
    """Partners and persons need the right to create partners, documents the right to
    create documents."""
    module = MODULE_OF.get(kind)
    return module is not None and who.can(module, "create")


def require_import(who: Who, kind: str) -> None:
    if not may_import(who, kind):
        raise Forbidden(_("You may not import these records."))


def temporary_upload(database: Database) -> tuple[Any, Path]:
    """An open file beside the stored imports, so that the job takes it over with a
    rename; the caller deletes it if the job did not."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by the caller
        dir=imports.import_dir(database), prefix="upload-", suffix=".part", delete=False
    )
    return handle, Path(handle.name)


def store_upload(database: Database, source: Any) -> Path:
    """Copy an uploaded file object, a megabyte at a time, to a temporary file."""
    handle, path = temporary_upload(database)
    try:
        with handle:
            shutil.copyfileobj(source, handle, 1024 * 1024)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def queue_run(session: Session, database: Database, job: ImportJob, action: str) -> None:
    """Mark ``job`` as running in the caller's transaction and start the step
    (``validate`` or ``commit``) in a thread once that transaction commits: the thread
    then sees the new mapping, and a second click meanwhile finds the job running. If
    the process dies first, the periodic ``resume_stale_jobs`` starts it again."""
    if action == "commit":
        if job.status != "validated":
            raise Invalid({"": _("Check the file before importing it.")})
        if job.error_rows and not job.skip_invalid:
            raise Invalid(
                {"": _("The file has errors: correct them, or choose to skip those rows.")}
            )
    elif job.status in RUNNING or job.status == "done":
        raise Invalid({"": _("This import can no longer be changed.")})
    job.status = "validating" if action == "validate" else "committing"
    job.updated_at = utcnow()
    job_id = job.id
    event.listen(
        session,
        "after_commit",
        lambda _session: imports.start_in_background(database, job_id, action),
        once=True,
    )


def live_progress(database: Database, job: ImportJob) -> imports.Progress | None:
    """The progress of the running step; None until it has reported (the file an
    earlier step left does not count)."""
    progress = imports.read_progress(database, job.id)
    if progress is None or job.status not in RUNNING or progress.phase != job.status:
        return None
    return progress if progress.at >= job.updated_at.timestamp() - 1 else None


# -- the API ----------------------------------------------------------------------------


class ImportsApi(Api):
    """An :class:`Api` whose ``POST /imports`` receives the file as its body."""

    def routes(self) -> list[Route]:
        return [
            Route(r.path, _receiving_file(r.endpoint), methods=sorted(r.methods or ()))
            if r.path == "/imports"
            else r
            for r in super().routes()
        ]


def _receiving_file(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def receive(request: Request) -> Response:
        authorized = request.headers.get("Authorization", "").lower().startswith("bearer ")
        if request.method != "POST" or not authorized:
            return await endpoint(request)  # type: ignore[no-any-return]
        handle, path = temporary_upload(request.app.state.gw.database)
        try:
            with handle:
                # The app's body limit stops a body that grows too large (413).
                async for chunk in request.stream():
                    handle.write(chunk)
            request.state.upload = path
            return await endpoint(request)  # type: ignore[no-any-return]
        finally:
            path.unlink(missing_ok=True)

    return receive


api = ImportsApi("imports")

Kind = Literal["partners", "persons", "documents"]
Key = Literal["oib", "external_id", "email", "number"]


class CountsOut(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    assigned: int = 0
    unassigned: int = Field(default=0, description="Partners no assignment rule covers")


class ProgressOut(BaseModel):
    phase: Literal["validating", "committing"]
    percent: int = Field(description="Share of the file read, 0-100")
    rows: int
    errors: int


class ProblemOut(BaseModel):
    row: int = Field(description="The row as Excel numbers it (the header is row 1)")
    column: str = Field(description="The file's name of the column; empty for the whole row")
    message: str


class ImportOut(BaseModel):
    id: int
    kind: Kind
    filename: str
    user_id: int | None
    status: Literal["uploaded", "validating", "validated", "committing", "done", "failed"]
    encoding: str
    delimiter: str
    columns: list[str] = Field(description="The column names of the file's first row")
    fields: list[str | None] = Field(
        description="The field each column fills, in the order of the columns; null: ignored"
    )
    key: Key
    skip_invalid: bool
    total_rows: int
    error_rows: int = Field(description="Rows with at least one problem")
    problems: int = Field(description="Problems found (a row may have several)")
    checked: CountsOut | None = Field(description="What the commit would do, once checked")
    committed: CountsOut | None = Field(description="What the commit did")
    skipped: int = Field(description="Rows with problems left out by the commit")
    failure: str | None
    unknown_groups: dict[str, int] = Field(
        description="Group names of the file that no partner group has, with their rows "
        "(as the last check found); map or create them with POST /imports/{id}/validate"
    )
    group_map: dict[str, int] = Field(description="File group names taken as existing groups")
    create_groups: bool | list[str] = Field(
        description="Group names the import creates (true: every one the file has)"
    )
    progress: ProgressOut | None = Field(description="While checking or committing")
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ImportDetailOut(ImportOut):
    errors: list[ProblemOut] = Field(description=f"The first {SHOWN_ERRORS} problems, by row")


class UploadQuery(Schema):
    kind: Kind
    filename: str = Field(default="upload.csv", min_length=1, max_length=255)
    key: Key | None = Field(default=None, description="The upsert key (default: the first)")
    skip_invalid: bool = False


class MappingIn(Schema):
    fields: list[str | None] | None = Field(
        default=None,
        description="One field name (or null) per column; leave out to keep the mapping",
    )
    key: Key | None = None
    skip_invalid: bool | None = None
    group_map: dict[str, Id] | None = Field(
        default=None,
        description="Partner files: group names of the file to take as existing groups "
        "(name -> partner group id), added to those chosen before",
    )
    create_groups: bool | list[str] | None = Field(
        default=None,
        description="Partner files: create these group names of the file that no group has "
        "(true: every one), in the import's transaction; administrators only",
    )


class CommitQuery(Schema):
    skip_invalid: bool = Field(default=False, description="Leave out the rows with problems")


def _counts(value: Any) -> CountsOut | None:
    return CountsOut(**value) if isinstance(value, dict) else None


def import_out(
    database: Database, job: ImportJob, *, errors: list[ProblemOut] | None = None
) -> ImportOut:
    progress = live_progress(database, job)
    summary = job.summary or {}
    values: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "filename": job.filename,
        "user_id": job.user_id,
        "status": job.status,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "columns": job.mapping.get("columns", []),
        "fields": job.mapping.get("fields", []),
        "key": job.key,
        "skip_invalid": job.skip_invalid,
        "total_rows": job.total_rows,
        "error_rows": job.error_rows,
        "problems": summary.get("problems", 0),
        "checked": _counts(summary.get("validated")),
        "committed": _counts(summary.get("committed")),
        "skipped": summary.get("skipped", 0),
        "failure": summary.get("failure"),
        "unknown_groups": (summary.get("validated") or {}).get("unknown_groups", {})
        if job.status == "validated"
        else {},
        "group_map": job.mapping.get("group_map", {}),
        "create_groups": job.mapping.get("create_groups") or False,
        "progress": ProgressOut(
            phase=progress.phase,
            percent=progress.percent,
            rows=progress.rows,
            errors=progress.errors,
        )
        if progress is not None
        else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }
    if errors is None:
        return ImportOut(**values)
    return ImportDetailOut(**values, errors=errors)


@api.operation(
    "GET",
    "/imports",
    summary="Your imports, newest first (an administrator's: everyone's)",
    query=PageQuery,
    response=ImportOut,
    paginated=True,
)
def list_imports(call: Call) -> tuple[list[ImportOut], str | None]:
    query = select(ImportJob).order_by(ImportJob.id.desc()).limit(call.query.limit + 1)
    if not call.who.is_admin:
        query = query.where(ImportJob.user_id == call.who.id)
    after = call.query.after_id()
    if after is not None:
        query = query.where(ImportJob.id < after)
    jobs, cursor = page_of(list(call.db.scalars(query)), call.query.limit)
    return [import_out(call.gw.database, job) for job in jobs], cursor


@api.operation(
    "POST",
    "/imports",
    summary=(
        "Upload a CSV file to import: send the file itself as the body with "
        "Content-Type: text/csv (UTF-8, UTF-8 with BOM or Windows-1250; ; , or tab) and "
        "kind, key, skip_invalid and filename as query parameters. The encoding, "
        "delimiter and column mapping are detected; nothing is checked or written yet"
    ),
    query=UploadQuery,
    response=ImportOut,
    status=201,
    upload=CSV_TYPES,
)
def create_import(call: Call) -> ImportOut:
    content_type = call.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise BadBody(415, _l("Send the file as the body, with Content-Type: text/csv."))
    require_import(call.who, call.query.kind)
    key = call.query.key or imports.KEYS[call.query.kind][0]
    if key not in imports.KEYS[call.query.kind]:
        raise Invalid({"key": _("Choose the key from the offered ones.")})
    job = imports.create_job(
        call.db,
        call.gw.database,
        kind=call.query.kind,
        user_id=call.user.id,
        filename=Path(call.query.filename).name or "upload.csv",
        source=call.request.state.upload,
        channel="api",
        move=True,
    )
    job.key, job.skip_invalid = key, call.query.skip_invalid
    return import_out(call.gw.database, job)


@api.operation(
    "GET",
    "/imports/{import_id}",
    summary="An import: its status, counts, progress and first problems",
    response=ImportDetailOut,
)
def get_import(call: Call) -> ImportOut:
    job = imports.get_job_for_user(call.db, call.who, call.int_param("import_id"))
    problems = [
        ProblemOut(row=e.row, column=e.column, message=e.message)
        for e in imports.errors_of(call.db, job.id, limit=SHOWN_ERRORS)
    ]
    return import_out(call.gw.database, job, errors=problems)


@api.operation(
    "POST",
    "/imports/{import_id}/validate",
    summary=(
        "Check every row in the background, with a corrected mapping, key or "
        "skip_invalid if given ({} keeps them); poll the import until it is validated"
    ),
    body=MappingIn,
    response=ImportOut,
    status=202,
)
def validate_import(call: Call) -> ImportOut:
    job = imports.get_job_for_user(call.db, call.who, call.int_param("import_id"))
    require_import(call.who, job.kind)
    data: MappingIn = call.body
    fields = job.mapping.get("fields", []) if data.fields is None else data.fields
    imports.set_mapping(
        call.db,
        job,
        [f or None for f in fields],
        key=data.key or job.key,
        skip_invalid=job.skip_invalid if data.skip_invalid is None else data.skip_invalid,
    )
    if data.group_map is not None or data.create_groups is not None:
        imports.set_groups(
            call.db,
            call.who,
            job,
            group_map=data.group_map or {},
            create=data.create_groups or False,
        )
    queue_run(call.db, call.gw.database, job, "validate")
    return import_out(call.gw.database, job)


@api.operation(
    "POST",
    "/imports/{import_id}/commit",
    summary=(
        "Import the checked file in the background, all rows or none (with skip_invalid: "
        "the rows without problems); poll the import until it is done"
    ),
    query=CommitQuery,
    response=ImportOut,
    status=202,
)
def commit_import(call: Call) -> ImportOut:
    job = imports.get_job_for_user(call.db, call.who, call.int_param("import_id"))
    require_import(call.who, job.kind)
    if call.query.skip_invalid and job.status == "validated":
        job.skip_invalid = True
    queue_run(call.db, call.gw.database, job, "commit")
    return import_out(call.gw.database, job)


@api.operation(
    "DELETE",
    "/imports/{import_id}",
    summary="Delete an import that is not running, with its file",
    status=204,
)
def delete_import(call: Call) -> None:
    job = imports.get_job_for_user(call.db, call.who, call.int_param("import_id"))
    imports.delete_job(call.db, call.gw.database, job)
