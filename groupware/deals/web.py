"""Deal pages: the list with filters, the pipeline board of a type, a deal's page (phase
timeline, moves, closing, its activity stream, documents, history) and its form.

The board opens on the user's own open deals, each column with its count, sum and
weighted sum. It works without JavaScript: every card has a small menu whose buttons
move the deal to another phase; ``/static/board.js`` adds dragging a card onto a
column and moving a focused card with the arrow keys (both send the card's menu form),
and folding columns (remembered in the browser). The partner 360° page gets a section with the
partner's deals, and deals follow a partner through a merge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import Who, can, require
from groupware.accounts.users import active_user_choices
from groupware.activities.web import card as stream_card
from groupware.crm.documents import CURRENCIES
from groupware.crm.models import Document, Partner
from groupware.crm.partner360_web import Section
from groupware.crm.partners import get_partner_for_user
from groupware.deals import queries, service, types
from groupware.deals.lists import DEALS
from groupware.deals.models import (
    DIRECTION_LABELS,
    PRIORITIES,
    PRIORITY_LABELS,
    SOURCE_LABELS,
    SOURCES,
    STATUS_LABELS,
    Deal,
)
from groupware.errors import Invalid
from groupware.i18n import _, _l, format_number, today
from groupware.lists import web as lists_web
from groupware.phases import engine
from groupware.phases.models import ProcessType
from groupware.stream import StreamAction, Target
from groupware.validation import parse_id, validate
from groupware.web import Ctx, NavItem, acted, page

MODULE = "deals"
nav = [NavItem(_l("Deals"), "deals", module=MODULE, order=40, icon="handshake")]
BOARD_LIMIT = 200  # cards per column; the list shows the rest
LABELS: dict[str, dict[str, Any]] = {
    "direction": DIRECTION_LABELS,
    "status": STATUS_LABELS,
    "priority": PRIORITY_LABELS,
    "source": SOURCE_LABELS,
}
FORM_FIELDS = (
    "direction",
    "title",
    "partner_id",
    "person_id",
    "type_id",
    "campaign_id",
    "priority",
    "source",
    "owner_id",
    "amount",
    "currency",
    "probability",
    "started_on",
    "expected_close",
    "description",
)


def _form_id(ctx: Ctx, name: str) -> int | None:
    return parse_id(str(ctx.form.get(name, ""))) if ctx.form is not None else None


# -- the list -------------------------------------------------------------------------


def _choices(ctx: Ctx) -> dict[str, Any]:
    return {
        "type_options": [(t.id, t.name) for t in types.list_types(ctx.db)],
        "owner_options": active_user_choices(ctx.db),
    }


@page()
def deals(ctx: Ctx) -> Response:
    # No module right needed: a user without one sees the deals shared with them.
    full = not lists_web.wants_results(ctx)
    found = lists_web.listing(ctx, DEALS, full=full)
    context = {"labels": LABELS, "may_create": ctx.acting.can(MODULE, "create")}
    if full:
        context |= _choices(ctx)
    return lists_web.render(ctx, "deals/list.html", found, **context)


# -- the board ------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardColumn:
    step: Any
    cards: list[Deal]
    count: int
    totals: list[queries.ColumnTotal]


def _board_owner(ctx: Ctx, everyone: str) -> int | None:
    """Whose deals the board shows: the user's own, unless they ask for every deal
    they may see."""
    return None if everyone == "all" else ctx.acting.id


@page()
def board(ctx: Ctx) -> Response:
    """The pipeline board of a type: the user's own open deals by default, a column per
    phase with its count, sum and weighted sum."""
    everyone = "all" if ctx.query("owner") == "all" else ""
    owner_id = _board_owner(ctx, everyone)
    # One campaign's deals, when asked for (a campaign the user may not see is no filter).
    campaign_id = parse_id(ctx.query("campaign_id"))
    campaign = queries.campaign_name(ctx.db, ctx.acting, campaign_id) if campaign_id else None
    if campaign is None:
        campaign_id = None
    all_types = types.list_types(ctx.db, active_only=True)
    chosen = parse_id(ctx.query("type_id")) or queries.first_type_with_deals(
        ctx.db, ctx.acting, owner_id, campaign_id
    )
    type_ = next((t for t in all_types if t.id == chosen), all_types[0] if all_types else None)
    columns: list[BoardColumn] = []
    if type_ is not None:
        by_step: dict[int | None, list[Deal]] = {}
        narrowed = {"owner_id": owner_id, "campaign_id": campaign_id}
        for deal in queries.board_deals(ctx.db, ctx.acting, type_.id, **narrowed):
            by_step.setdefault(deal.step_id, []).append(deal)
        totals = queries.board_totals(ctx.db, ctx.acting, type_.id, **narrowed)
        for step in type_.phases:
            cards = by_step.get(step.id, [])
            columns.append(
                BoardColumn(step, cards[:BOARD_LIMIT], len(cards), totals.get(step.id, []))
            )
    return ctx.render(
        "deals/board.html",
        types=all_types,
        type=type_,
        columns=columns,
        owner=everyone,
        campaign=campaign,
        campaign_id=campaign_id,
        # What every link of the board keeps: the campaign it shows.
        keep=f"&campaign_id={campaign_id}" if campaign_id else "",
        moved=parse_id(ctx.query("moved")),
        today=today(),
        labels=LABELS,
    )


@page()
def board_move(ctx: Ctx) -> Response:
    """Move a card to the phase of the template step it was dropped on (or chosen)."""
    deal = service.get_deal_for_user(ctx.db, ctx.acting, ctx.int_param("deal_id"), "edit")
    step_id = _form_id(ctx, "step_id")
    phase = next((p for p in service.phases_of(ctx.db, deal) if p.type_phase_id == step_id), None)
    if phase is None:
        raise Invalid({"step_id": _l("This phase does not belong to this record's type.")})
    service.move_deal(ctx.db, ctx.acting, deal.id, phase.id)
    ctx.flash(_("%(title)s moved to %(phase)s.", title=deal.title, phase=phase.name))
    form = ctx.form_dict()
    owner = "&owner=all" if form.get("owner") == "all" else ""
    campaign_id = parse_id(str(form.get("campaign_id", "")))
    owner += f"&campaign_id={campaign_id}" if campaign_id else ""
    return ctx.redirect(f"/deals/board?type_id={deal.type_id}{owner}&moved={deal.id}")


# -- one deal -------------------------------------------------------------------------


def _documents_of(ctx: Ctx, deal: Deal) -> tuple[list[Document], list[Document]]:
    """Documents linked to the deal, and the partner's others that could be linked."""
    rows = queries.partner_documents(ctx.db, ctx.acting, deal)
    return [d for d in rows if d.deal_id == deal.id], [d for d in rows if d.deal_id is None]


def _detail(
    ctx: Ctx, deal: Deal, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    phases = service.phases_of(ctx.db, deal)
    linked, linkable = _documents_of(ctx, deal)
    return ctx.render(
        "deals/detail.html",
        deal=deal,
        timeline=engine.timeline(phases, today()),
        stream=stream_card(ctx, Target("deals", deal.id, deal)),
        documents=linked,
        linkable=linkable,
        labels=LABELS,
        errors=errors or {},
        today=today(),
        may_edit=can(ctx.db, ctx.acting, deal, "edit"),
        status_code=status,
    )


@page()
def deal(ctx: Ctx) -> Response:
    row = service.get_deal_for_user(ctx.db, ctx.acting, ctx.int_param("deal_id"))
    return _detail(ctx, row)


def _acted(ctx: Ctx, deal_id: int, act: Callable[[], object], message: str) -> Response:
    """Run one change of a deal; a refused one shows the deal again with the reason."""

    def refused(errors: dict[str, str]) -> Response:
        row = service.get_deal_for_user(ctx.db, ctx.acting, deal_id)
        return _detail(ctx, row, errors=errors, status=422)

    return acted(ctx, act, message, f"/deals/{deal_id}", refused)


@page()
def deal_move(ctx: Ctx) -> Response:
    deal_id = ctx.int_param("deal_id")
    phase_id = _form_id(ctx, "phase_id") or 0
    return _acted(
        ctx,
        deal_id,
        lambda: service.move_deal(ctx.db, ctx.acting, deal_id, phase_id),
        _("The deal moved on."),
    )


@page()
def deal_close(ctx: Ctx) -> Response:
    deal_id = ctx.int_param("deal_id")
    form = ctx.form_dict()

    def close() -> None:
        service.close_deal(ctx.db, ctx.acting, deal_id, validate(service.CloseIn, form))

    return _acted(ctx, deal_id, close, _("The deal is closed."))


@page()
def deal_reopen(ctx: Ctx) -> Response:
    deal_id = ctx.int_param("deal_id")
    return _acted(
        ctx,
        deal_id,
        lambda: service.reopen_deal(ctx.db, ctx.acting, deal_id),
        _("The deal is open again."),
    )


@page()
def deal_link(ctx: Ctx) -> Response:
    deal_id = ctx.int_param("deal_id")
    document_id = _form_id(ctx, "document_id") or 0
    return _acted(
        ctx,
        deal_id,
        lambda: service.link_document(ctx.db, ctx.acting, deal_id, document_id),
        _("The document is linked to the deal."),
    )


# -- the form -------------------------------------------------------------------------


def _form(
    ctx: Ctx,
    deal: Deal | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    partner, person_options = queries.form_partner(
        ctx.db, ctx.acting, parse_id(str(form.get("partner_id") or ""))
    )
    return ctx.render(
        "deals/form.html",
        deal=deal,
        form=form,
        errors=errors,
        partner=partner,
        person_options=person_options,
        direction_options=list(LABELS["direction"].items()),
        priority_options=[(p, LABELS["priority"][p]) for p in PRIORITIES],
        source_options=[(s, LABELS["source"][s]) for s in SOURCES],
        currency_options=[(c, c) for c in CURRENCIES],
        deal_types=_form_types(ctx, deal),
        campaign_options=queries.campaign_choices(
            ctx.db, ctx.acting, deal.campaign_id if deal is not None else None
        ),
        lines=_form_lines(form),
        status_code=status,
        **_choices(ctx),
    )


def _form_types(ctx: Ctx, deal: Deal | None) -> list[ProcessType]:
    """The types a deal may take: those in use, and the deal's own even if retired. The
    form offers those of the chosen direction (``/static/deal_form.js`` follows a change)."""
    return [
        t
        for t in types.list_types(ctx.db)
        if t.is_active or (deal is not None and t.id == deal.type_id)
    ]


LINE_FIELDS = ("line_description", "line_quantity", "line_price")
EMPTY_LINES = 3  # blank rows the form offers for new lines


def _deal_in(form: dict[str, Any]) -> service.DealIn:
    values = {k: v for k, v in form.items() if k in FORM_FIELDS and v not in ("", None)}
    values["member_ids"] = form.get("member_ids", [])
    values["lines"] = [
        {"description": text, "quantity": quantity or "1", "unit_price": price or "0"}
        for text, quantity, price in _line_rows(form)
        if str(text).strip()
    ]
    if values["lines"]:
        values.pop("amount", None)  # the lines make the amount
    return validate(service.DealIn, values)


def _line_rows(form: dict[str, Any]) -> list[tuple[str, str, str]]:
    columns = [[str(v) for v in form.get(name, [])] for name in LINE_FIELDS]
    count = max((len(c) for c in columns), default=0)
    padded = [c + [""] * (count - len(c)) for c in columns]
    return list(zip(*padded, strict=True))


def _form_lines(form: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [row for row in _line_rows(form) if any(row)] + [("", "", "")] * EMPTY_LINES


@page()
def deal_new(ctx: Ctx) -> Response:
    require(ctx.acting, MODULE, "create")
    partner_id = ctx.query_id("partner_id")
    if partner_id is not None:
        get_partner_for_user(ctx.db, ctx.acting, partner_id)
    defaults = {
        "partner_id": partner_id or "",
        "person_id": ctx.query_id("person_id") or "",
        "direction": "sale",
        "currency": "EUR",
        "priority": "normal",
        "source": "other",
        "probability": "10",
        "started_on": today().isoformat(),
        "owner_id": ctx.acting.id,
    }
    return _form(ctx, None, defaults, {})


@page()
def deal_create(ctx: Ctx) -> Response:
    form = ctx.form_dict(lists=("member_ids", *LINE_FIELDS))
    try:
        row = service.create_deal(ctx.db, ctx.acting, _deal_in(form))
    except Invalid as exc:
        return _form(ctx, None, form, exc.errors, 422)
    ctx.flash(_("%(title)s is started.", title=row.title))
    return ctx.redirect(f"/deals/{row.id}")


@page()
def deal_edit(ctx: Ctx) -> Response:
    row = service.get_deal_for_user(ctx.db, ctx.acting, ctx.int_param("deal_id"), "edit")
    values: dict[str, Any] = {name: getattr(row, name) for name in FORM_FIELDS}
    # Shown the way the user types them back (12.500,50 in Croatian).
    values["amount"] = format_number(row.amount, 2)
    values["member_ids"] = [m.user_id for m in row.members]
    values["line_description"] = [x.description for x in row.lines]
    values["line_quantity"] = [format_number(x.quantity) for x in row.lines]
    values["line_price"] = [format_number(x.unit_price, 2) for x in row.lines]
    return _form(ctx, row, values, {})


@page()
def deal_save(ctx: Ctx) -> Response:
    row = service.get_deal_for_user(ctx.db, ctx.acting, ctx.int_param("deal_id"), "edit")
    form = ctx.form_dict(lists=("member_ids", *LINE_FIELDS))
    try:
        service.update_deal(ctx.db, ctx.acting, row.id, _deal_in(form))
    except Invalid as exc:
        return _form(ctx, row, form, exc.errors, 422)
    ctx.flash(_("The deal is saved."))
    return ctx.redirect(f"/deals/{row.id}")


# -- the partner's 360° page ----------------------------------------------------------


def _partner_deals(ctx: Ctx, partner: Partner) -> dict[str, Any]:
    if not ctx.acting.can(MODULE, "view"):
        return {"deals": None}
    rows = queries.deals_of_partner(ctx.db, ctx.acting, partner.id)
    return {"deals": rows, "labels": LABELS, "may_create": ctx.acting.can(MODULE, "create")}


PARTNER_SECTION = Section("deals", "deals/partner_section.html", _partner_deals, order=10)


def _new_deal_url(where: Target) -> str:
    person = f"&person_id={where.record_id}" if where.record_type == "persons" else ""
    return f"/deals/new?partner_id={where.partner_id}{person}"


def _may_start(who: Who, where: Target) -> bool:
    return who.can(MODULE, "create") and where.partner_id is not None


# A quick action of the partner's and the person's page: the deal form, for them.
NEW_DEAL = StreamAction(
    "deal",
    _l("New deal"),
    _new_deal_url,
    icon="handshake",
    serves=lambda record_type: record_type in ("partners", "persons"),
    allowed=_may_start,
    inline=False,
    order=50,
)


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    Route("/deals", deals, name="deals"),
    Route("/deals/board", board, name="deal_board"),
    Route("/deals/new", deal_new, name="deal_new"),
    _post("/deals/new", deal_create, "deal_create"),
    Route("/deals/{deal_id:int}", deal, name="deal"),
    Route("/deals/{deal_id:int}/edit", deal_edit, name="deal_edit"),
    _post("/deals/{deal_id:int}/edit", deal_save, "deal_save"),
    _post("/deals/{deal_id:int}/move", deal_move, "deal_move"),
    _post("/deals/{deal_id:int}/board-move", board_move, "deal_board_move"),
    _post("/deals/{deal_id:int}/close", deal_close, "deal_close"),
    _post("/deals/{deal_id:int}/reopen", deal_reopen, "deal_reopen"),
    _post("/deals/{deal_id:int}/documents", deal_link, "deal_link"),
]
