"""CSV import pages: upload a file, correct its mapping, check it, watch the progress,
commit it, download its problems.

The work is the import engine's (:mod:`groupware.crm.importing.imports`); these handlers mirror
the command-line flow (:mod:`groupware.crm.importing.cli`). Checking and committing run
in a thread of the server, started once the request that asked for it has committed,
while the job page polls a progress fragment. Partners and persons need the right to
create partners, ERP documents the right to create documents; a job is seen only by
whoever uploaded it and by administrators.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from groupware.access.policy import Who
from groupware.accounts.models import User
from groupware.crm.importing import csvfile, imports
from groupware.crm.importing.api import (
    RUNNING,
    live_progress,
    may_import,
    queue_run,
    require_import,
    store_upload,
)
from groupware.crm.models import ImportJob, Partner
from groupware.crm.partners import groups as partner_groups
from groupware.db import Database
from groupware.errors import Invalid
from groupware.i18n import _, _l, format_number, ngettext
from groupware.records import described
from groupware.web import Ctx, NavItem, page

nav: list[NavItem] = []
PREVIEW_ROWS = 5
SHOWN_PROBLEMS = 500

KIND_LABELS: dict[str, Any] = {
    "partners": _l("Partners"),
    "persons": _l("Persons"),
    "documents": _l("ERP documents"),
}
STATUS_LABELS: dict[str, Any] = {
    "uploaded": _l("uploaded"),
    "validating": _l("checking"),
    "validated": _l("checked"),
    "committing": _l("importing"),
    "done": _l("imported"),
    "failed": _l("failed"),
}
KEY_LABELS: dict[str, Any] = {
    "oib": _l("OIB"),
    "external_id": _l("External id"),
    "email": _l("E-mail"),
    "number": _l("Document kind and number"),
}
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "cp1250": "Windows-1250",
    "iso-8859-2": "ISO-8859-2",
}
# A partner field's label is its column's (records.describe); the others name what
# only files have (a group or county by name, a person's partner key, a document's).
FIELD_LABELS: dict[str, Any] = {
    **{name: field.label for name, field in described(Partner).items()},
    "county": _l("County"),
    "group": _l("Group"),
    "tags": _l("Tags"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "function": _l("Function"),
    "partner_key": _l("Partner (OIB or external id)"),
    "mailing_consent": _l("Agrees to mailings"),
    "number": _l("Number"),
    "kind": _l("Kind"),
    "date": _l("Date"),
    "due_date": _l("Due date"),
    "net_amount": _l("Net amount"),
    "gross_amount": _l("Gross amount"),
    "currency": _l("Currency"),
    "status": _l("Status"),
    "open_amount": _l("Open amount"),
}


# -- pages ----------------------------------------------------------------------------


def _kinds(who: Who) -> list[tuple[str, str]]:
    return [(kind, str(label)) for kind, label in KIND_LABELS.items() if may_import(who, kind)]


def _list_page(
    ctx: Ctx, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    jobs = imports.list_jobs(ctx.db, ctx.acting)
    owners: dict[int | None, str] = {}
    if ctx.acting.is_admin:  # administrators see everyone's imports: say whose
        ids = {job.user_id for job in jobs}
        query = select(User.id, User.full_name).where(User.id.in_(ids))
        owners = {user_id: name for user_id, name in ctx.db.execute(query)}
    return ctx.render(
        "crm/import_list.html",
        jobs=jobs,
        owners=owners,
        kinds=_kinds(ctx.acting),
        form=form,
        errors=errors,
        labels={"kind": KIND_LABELS, "status": STATUS_LABELS},
        status_code=status,
    )


@page()
def imports_page(ctx: Ctx) -> Response:
    kinds = _kinds(ctx.acting)
    return _list_page(ctx, {"kind": kinds[0][0] if kinds else ""}, {})


@page()
def import_upload(ctx: Ctx) -> Response:
    form = ctx.form
    kind = str(form.get("kind", "")) if form is not None else ""
    upload = form.get("file") if form is not None else None
    if kind not in KIND_LABELS:
        return _list_page(ctx, {}, {"kind": _("Choose what the file holds.")}, 422)
    require_import(ctx.acting, kind)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _list_page(ctx, {"kind": kind}, {"file": _("Choose a CSV file.")}, 422)
    database = ctx.gw.database
    stored = store_upload(database, upload.file)
    try:
        job = imports.create_job(
            ctx.db,
            database,
            kind=kind,
            user_id=ctx.me.id,
            filename=Path(upload.filename).name or "upload.csv",
            source=stored,
            channel="web",
            move=True,
        )
    except Invalid as exc:
        return _list_page(ctx, {"kind": kind}, {"file": _message(exc)}, 422)
    finally:
        stored.unlink(missing_ok=True)
    return ctx.redirect(ctx.url("import_job", import_id=job.id))


def _message(exc: Invalid) -> str:
    return "; ".join(str(m) for m in exc.errors.values())


def preview(database: Database, job: ImportJob) -> tuple[list[tuple[int, list[str]]], str]:
    """The first data rows of the file, for the mapping table, or why they cannot be read."""
    path = imports.import_dir(database) / job.stored_path
    try:
        dialect = csvfile.detect(
            path, encoding=job.encoding, delimiter=job.delimiter, has_header=True
        )
        # A generator: closing it closes the file at once.
        found = cast(Generator[tuple[int, list[str]]], csvfile.rows(path, dialect))
        try:
            return list(itertools.islice(found, PREVIEW_ROWS)), ""
        finally:
            found.close()
    except csvfile.CsvError as exc:
        return [], imports.csv_message(exc)
    except OSError:
        return [], _("The uploaded file is gone; upload it again.")


def _job_page(
    ctx: Ctx,
    job: ImportJob,
    *,
    chosen: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    database = ctx.gw.database
    rows: list[tuple[int, list[str]]] = []
    preview_error = ""
    if job.status in ("uploaded", "validated", "failed"):
        rows, preview_error = preview(database, job)
    columns: list[str] = job.mapping.get("columns", [])
    chosen = chosen or {
        "fields": job.mapping.get("fields", []),
        "key": job.key,
        "skip_invalid": job.skip_invalid,
    }
    return ctx.render(
        "crm/import_job.html",
        job=job,
        columns=columns,
        sample_rows=[number for number, _cells in rows],
        samples=[
            [cells[i] if i < len(cells) else "" for _n, cells in rows] for i in range(len(columns))
        ],
        preview_error=preview_error,
        chosen=chosen,
        errors=errors or {},
        field_options=[(f, str(FIELD_LABELS.get(f, f))) for f in imports.FIELDS[job.kind]],
        required=[str(FIELD_LABELS.get(f, f)) for f in imports.REQUIRED[job.kind]],
        key_options=[(k, str(KEY_LABELS[k])) for k in imports.KEYS[job.kind]],
        problems=imports.errors_of(ctx.db, job.id, limit=SHOWN_PROBLEMS)
        if job.status in ("validated", "done")
        else [],
        progress=live_progress(database, job),
        may_change=may_import(ctx.acting, job.kind),
        unknown_groups=_unknown_groups(job),
        groups=[(g.id, g.name) for g in partner_groups(ctx.db)] if _unknown_groups(job) else [],
        is_admin=ctx.acting.is_admin,
        labels={"kind": KIND_LABELS, "status": STATUS_LABELS, **_button_labels(job)},
        encodings=ENCODINGS,
        status_code=status,
    )


def _button_labels(job: ImportJob) -> dict[str, str]:
    # Here, not in the template: its ngettext formats nothing but %(num)d.
    valid = job.total_rows - job.error_rows
    return {
        "commit": ngettext(
            "Import %(count)s row", "Import %(count)s rows", valid, count=format_number(valid)
        ),
        "skip": ngettext(
            "Skip the row with errors and import the rest",
            "Skip the %(count)s rows with errors and import the rest",
            job.error_rows,
            count=format_number(job.error_rows),
        ),
    }


@page()
def import_job(ctx: Ctx) -> Response:
    job = imports.get_job_for_user(ctx.db, ctx.acting, ctx.int_param("import_id"))
    return _job_page(ctx, job)


@page()
def import_validate(ctx: Ctx) -> Response:
    job = imports.get_job_for_user(ctx.db, ctx.acting, ctx.int_param("import_id"))
    require_import(ctx.acting, job.kind)
    form = ctx.form
    assert form is not None
    fields = [str(v).strip() or None for v in form.getlist("field")]
    key, skip = str(form.get("key", "")), "skip_invalid" in form
    chosen = {"fields": fields, "key": key, "skip_invalid": skip}
    try:
        imports.set_mapping(ctx.db, job, fields, key=key, skip_invalid=skip)
        queue_run(ctx.db, ctx.gw.database, job, "validate")
    except Invalid as exc:
        return _job_page(ctx, job, chosen=chosen, errors=exc.errors, status=422)
    return ctx.redirect(ctx.url("import_job", import_id=job.id))


def _unknown_groups(job: ImportJob) -> dict[str, int]:
    """Group names of the file no group has, with their rows, as the last check found."""
    if job.status != "validated":
        return {}
    return dict(imports.by_rows(job.summary.get("validated", {}).get("unknown_groups", {})))


@page()
def import_groups(ctx: Ctx) -> Response:
    """What becomes of the group names the file has and the database lacks: each is
    created (administrators), taken as an existing group, or left (its rows refused);
    then the file is checked again."""
    job = imports.get_job_for_user(ctx.db, ctx.acting, ctx.int_param("import_id"))
    require_import(ctx.acting, job.kind)
    form = ctx.form
    assert form is not None
    group_map: dict[str, int] = {}
    create: list[str] = []
    for value, choice in zip(form.getlist("value"), form.getlist("choice"), strict=False):
        if choice == "new":
            create.append(str(value))
        elif str(choice).isdigit():
            group_map[str(value)] = int(str(choice))
    try:
        imports.set_groups(ctx.db, ctx.acting, job, group_map=group_map, create=create)
        queue_run(ctx.db, ctx.gw.database, job, "validate")
    except Invalid as exc:
        return _job_page(ctx, job, errors=exc.errors, status=422)
    return ctx.redirect(ctx.url("import_job", import_id=job.id))


@page()
def import_commit(ctx: Ctx) -> Response:
    job = imports.get_job_for_user(ctx.db, ctx.acting, ctx.int_param("import_id"))
    require_import(ctx.acting, job.kind)
    if ctx.form is not None and "skip_invalid" in ctx.form and job.status == "validated":
        # Skipping does not change what the check found, so it needs no new check.
        job.skip_invalid = True
    try:
        queue_run(ctx.db, ctx.gw.database, job, "commit")
    except Invalid as exc:
        return _job_page(ctx, job, errors=exc.errors, status=422)
    return ctx.redirect(ctx.url("import_job", import_id=job.id))


@page()
def import_progress(ctx: Ctx) -> Response:
    """The progress bar the job page polls; once the step has ended, it has htmx
    reload the page to show the outcome."""
    job = imports.get_job_for_user(ctx.db, ctx.acting, ctx.int_param("import_id"))
    url = ctx.url("import_job", import_id=job.id)
    if not ctx.wants_fragment:  # typed in or boosted: the page it belongs to
        return ctx.redirect(url)
    headers = {"HX-Refresh": "true"} if job.status not in RUNNING else None
    return ctx.render(
        "crm/import_job.html",
        block="progress",
        job=job,
        progress=live_progress(ctx.gw.database, job),
        headers=headers,
    )


@page()
def import_errors_csv(ctx: Ctx) -> Response:
    job = imports.get_job_for_user(ctx.db, ctx.acting, ctx.int_param("import_id"))
    header = [_("Row"), _("Column"), _("Problem")]
    return StreamingResponse(
        _error_lines(ctx.gw.database, job.id, header),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )


def _error_lines(database: Database, job_id: int, header: list[str]) -> Iterator[bytes]:
    """Every stored problem, streamed after the request's session has closed, from a
    read session of its own."""
    with database.session() as session:
        lines = (
            [str(row), column, message]
            for row, column, message in imports.error_rows(session, job_id)
        )
        yield from csvfile.iter_csv(itertools.chain([header], lines))


@page()
def import_delete(ctx: Ctx) -> Response:
    job = imports.get_job_for_user(ctx.db, ctx.acting, ctx.int_param("import_id"))
    imports.delete_job(ctx.db, ctx.gw.database, job)
    ctx.flash(_("The import is deleted."))
    return ctx.redirect(ctx.url("imports"))


routes: list[BaseRoute] = [
    Route("/imports", imports_page, name="imports"),
    Route("/imports", import_upload, methods=["POST"], name="import_upload"),
    Route("/imports/{import_id:int}", import_job, name="import_job"),
    Route(
        "/imports/{import_id:int}/validate",
        import_validate,
        methods=["POST"],
        name="import_validate",
    ),
    Route("/imports/{import_id:int}/groups", import_groups, methods=["POST"], name="import_groups"),
    Route("/imports/{import_id:int}/commit", import_commit, methods=["POST"], name="import_commit"),
    Route("/imports/{import_id:int}/progress", import_progress, name="import_progress"),
    Route("/imports/{import_id:int}/errors.csv", import_errors_csv, name="import_errors_csv"),
    Route("/imports/{import_id:int}/delete", import_delete, methods=["POST"], name="import_delete"),
]
