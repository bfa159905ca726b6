"""Task pages: the lists "my tasks", "delegated by me" and "my team", a task's page
(details, delegation chain, answer, hand on, take, progress, cancel, its activity
stream, sharing and history) and its form, also as a record page's quick action; the
partner page's open tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from groupware import stream
from groupware.access.policy import Who, require
from groupware.accounts.models import Team, User
from groupware.activities.web import card as stream_card
from groupware.crm.models import Partner
from groupware.crm.partner360_web import Section
from groupware.errors import Invalid
from groupware.i18n import _, _l, local_time
from groupware.lists import web as lists_web
from groupware.stream import StreamAction, Target
from groupware.tasks import service
from groupware.tasks.lists import TASKS, VIEWS
from groupware.tasks.models import (
    PRIORITIES,
    PRIORITY_LABELS,
    RESPONSE_LABELS,
    STATUS_LABELS,
    Task,
)
from groupware.tasks.stream import LINKED, open_tasks
from groupware.validation import validate
from groupware.web import Ctx, NavItem, acted, page

MODULE = "tasks"
nav = [NavItem(_l("Tasks"), "tasks", module=MODULE, order=50, icon="square-check-big")]
LABELS: dict[str, dict[str, Any]] = {
    "status": STATUS_LABELS,
    "response": RESPONSE_LABELS,
    "priority": PRIORITY_LABELS,
}


def _local_input(value: dt.datetime | None) -> str:
    """A time as a browser's datetime field shows it, in the company's time zone."""
    return local_time(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def _people(ctx: Ctx) -> dict[str, Any]:
    users = ctx.db.scalars(select(User).where(User.is_active).order_by(User.full_name))
    teams = ctx.db.scalars(select(Team).order_by(Team.name))
    return {
        "user_options": [(u.id, u.full_name) for u in users],
        "team_options": [(t.id, t.name) for t in teams],
        "priority_options": [(p, LABELS["priority"][p]) for p in PRIORITIES],
    }


@page()
def tasks(ctx: Ctx) -> Response:
    full = not lists_web.wants_results(ctx)
    found = lists_web.listing(ctx, TASKS, full=full)
    view = found.shape.filters.get("view", "mine")
    return lists_web.render(
        ctx,
        "tasks/list.html",
        found,
        view=view if view in VIEWS else "mine",
        views=VIEWS,
        closed=found.shape.filters.get("closed") == "1",
        may_create=ctx.acting.can(MODULE, "create"),
    )


def _detail(
    ctx: Ctx, task: Task, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    who = ctx.acting
    return ctx.render(
        "tasks/detail.html",
        task=task,
        labels=LABELS,
        errors=errors or {},
        status_code=status,
        may_answer=task.owner_id == who.id and task.response == "pending",
        may_hand_on=who.id in (task.owner_id, task.created_by_id) or who.is_admin,
        may_take=task.owner_id is None and task.team_id in who.team_ids,
        may_edit=ctx.acting.can(MODULE, "edit"),
        is_open=task.status in ("open", "in_progress"),
        stream=stream_card(ctx, Target("tasks", task.id, task)),
        **_people(ctx),
    )


@page()
def task(ctx: Ctx) -> Response:
    return _detail(ctx, service.get_task_for_user(ctx.db, ctx.acting, ctx.int_param("task_id")))


def _acted(ctx: Ctx, task_id: int, act: Callable[[], object], message: str) -> Response:
    """Run one change of a task; a refused one shows the task again with the reason."""

    def refused(errors: dict[str, str]) -> Response:
        row = service.get_task_for_user(ctx.db, ctx.acting, task_id)
        return _detail(ctx, row, errors=errors, status=422)

    return acted(ctx, act, message, f"/tasks/{task_id}", refused)


@page()
def task_answer(ctx: Ctx) -> Response:
    task_id = ctx.int_param("task_id")
    form = ctx.form_dict()
    data = {"accept": form.get("answer") == "accept", "reason": form.get("reason", "")}

    def answer() -> None:
        service.answer_task(ctx.db, ctx.acting, task_id, validate(service.AnswerIn, data))

    message = _("You accepted the task.") if data["accept"] else _("You rejected the task.")
    return _acted(ctx, task_id, answer, message)


@page()
def task_delegate(ctx: Ctx) -> Response:
    task_id = ctx.int_param("task_id")
    form = ctx.form_dict()

    def hand_on() -> None:
        service.delegate_task(ctx.db, ctx.acting, task_id, validate(service.DelegateIn, form))

    return _acted(ctx, task_id, hand_on, _("The task is handed on."))


@page()
def task_take(ctx: Ctx) -> Response:
    task_id = ctx.int_param("task_id")
    return _acted(
        ctx,
        task_id,
        lambda: service.take_task(ctx.db, ctx.acting, task_id),
        _("The task is yours."),
    )


@page()
def task_progress(ctx: Ctx) -> Response:
    task_id = ctx.int_param("task_id")
    form = ctx.form_dict()
    if not form.get("status"):
        form.pop("status", None)

    def progress() -> None:
        service.set_progress(ctx.db, ctx.acting, task_id, validate(service.ProgressIn, form))

    return _acted(ctx, task_id, progress, _("The task is updated."))


@page()
def task_cancel(ctx: Ctx) -> Response:
    task_id = ctx.int_param("task_id")
    return _acted(
        ctx,
        task_id,
        lambda: service.cancel_task(ctx.db, ctx.acting, task_id),
        _("The task is cancelled."),
    )


def _form(
    ctx: Ctx, task: Task | None, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    back = str(form.get("back", ""))
    return ctx.render(
        "tasks/form.html",
        block="task_form",
        task=task,
        form=form,
        errors=errors,
        status_code=status,
        # Made from a record page's quick action: it goes back there, linked to it.
        back=back if stream.page_of(back) else "",
        back_url=stream.page_of(back),
        **_people(ctx),
    )


@page()
def task_new(ctx: Ctx) -> Response:
    require(ctx.acting, MODULE, "create")
    defaults = {
        "priority": "normal",
        "assignee_id": ctx.acting.id,
        "partner_id": ctx.query_id("partner_id") or "",
        "deal_id": ctx.query_id("deal_id") or "",
        "back": ctx.query("back"),
    }
    return _form(ctx, None, defaults, {})


@page()
def task_create(ctx: Ctx) -> Response:
    form = ctx.form_dict()
    back = str(form.pop("back", ""))
    try:
        row = service.create_task(ctx.db, ctx.acting, validate(service.TaskIn, form))
    except Invalid as exc:
        return _form(ctx, None, {**form, "back": back}, exc.errors, 422)
    ctx.flash(_("The task is saved."))
    return ctx.redirect(stream.page_of(back) or f"/tasks/{row.id}")


@page()
def task_edit(ctx: Ctx) -> Response:
    row = service.get_task_for_user(ctx.db, ctx.acting, ctx.int_param("task_id"), "edit")
    form = {
        "title": row.title,
        "description": row.description,
        "priority": row.priority,
        "starts_at": _local_input(row.starts_at),
        "due_at": _local_input(row.due_at),
        "partner_id": row.partner_id or "",
        "deal_id": row.deal_id or "",
    }
    return _form(ctx, row, form, {})


@page()
def task_save(ctx: Ctx) -> Response:
    task_id = ctx.int_param("task_id")
    row = service.get_task_for_user(ctx.db, ctx.acting, task_id, "edit")
    form = ctx.form_dict()
    try:
        service.update_task(ctx.db, ctx.acting, task_id, validate(service.TaskEdit, form))
    except Invalid as exc:
        return _form(ctx, row, form, exc.errors, 422)
    ctx.flash(_("The task is saved."))
    return ctx.redirect(f"/tasks/{task_id}")


# -- on other records' pages ----------------------------------------------------------


def _partner_tasks(ctx: Ctx, partner: Partner) -> dict[str, Any]:
    return {
        "tasks": open_tasks(ctx.db, ctx.acting, partner.id),
        "labels": LABELS,
        "now": dt.datetime.now(dt.UTC),
    }


PARTNER_SECTION = Section("tasks", "tasks/partner_section.html", _partner_tasks, order=20)


def _new_task_url(where: Target) -> str:
    links = [("partner_id", where.partner_id), ("deal_id", where.deal_id)]
    query = "&".join(f"{name}={value}" for name, value in links if value is not None)
    return f"/tasks/new?{query}&back={where.key}"


def _may_make(who: Who, where: Target) -> bool:
    return who.can(MODULE, "create")


# A quick action of the pages of the records a task links to (a person's: its partner).
NEW_TASK = StreamAction(
    "task",
    _l("New task"),
    _new_task_url,
    icon="square-check-big",
    serves=lambda record_type: record_type in (*LINKED, "persons"),
    allowed=_may_make,
    order=40,
)


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    Route("/tasks", tasks, name="tasks"),
    Route("/tasks/new", task_new, name="task_new"),
    _post("/tasks/new", task_create, "task_create"),
    Route("/tasks/{task_id:int}", task, name="task"),
    Route("/tasks/{task_id:int}/edit", task_edit, name="task_edit"),
    _post("/tasks/{task_id:int}/edit", task_save, "task_save"),
    _post("/tasks/{task_id:int}/answer", task_answer, "task_answer"),
    _post("/tasks/{task_id:int}/delegate", task_delegate, "task_delegate"),
    _post("/tasks/{task_id:int}/take", task_take, "task_take"),
    _post("/tasks/{task_id:int}/progress", task_progress, "task_progress"),
    _post("/tasks/{task_id:int}/cancel", task_cancel, "task_cancel"),
]
