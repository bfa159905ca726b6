"""The partner 360° page and the merge tool.

``/partners/{id}`` shows a partner with everything around it: reps, persons, branches,
ERP documents (totals per year, a revenue chart, open items, the latest documents),
merges and the record tabs. Other areas (deals, mail, tasks, inquiries) add a
:class:`Section` by declaring it (``Area.partner_sections``) instead of editing the page.

The merge tool picks a duplicate, previews what the kept partner keeps and takes from
it, merges (edit on the kept partner, delete on the other) and undoes a merge.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware import charts, wiring
from groupware.access.policy import can, may_share
from groupware.accounts.users import user_names
from groupware.crm import merge as merging
from groupware.crm.documents import latest_documents, open_items, revenue_by_month, totals_per_year
from groupware.crm.lists import DOCUMENT_LABELS
from groupware.crm.models import (
    PARTNER_KIND_LABELS,
    PARTNER_STATUS_LABELS,
    Partner,
    PartnerMerge,
)
from groupware.crm.partners import (
    PartnerFilter,
    get_partner_for_user,
    list_partners,
    reps_of,
    tags_of,
    visible_names,
)
from groupware.crm.persons import branches_of, persons_of
from groupware.crm.reference import country_choices
from groupware.errors import Invalid
from groupware.i18n import _, _l, current_language, format_money, format_money_short, today
from groupware.records import described, field_label
from groupware.validation import parse_id
from groupware.web import Ctx, NavItem, page

nav: list[NavItem] = []

PARTNER_LABELS: dict[str, dict[str, Any]] = {
    "kind": PARTNER_KIND_LABELS,
    "status": PARTNER_STATUS_LABELS,
    "source": {"rule": _l("by the assignment table"), "manual": _l("chosen by hand")},
}
# The rows of the partner's facts: fields declared with ``detail`` (records.describe);
# the page shows the others its own way (the name, chips, the address, links).
FACTS = {name: d for name, d in described(Partner).items() if d.detail}
LATEST_DOCUMENTS = 20


# -- sections that later modules add --------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A part of the 360° page: ``template`` is included with ``section`` (this object)
    and ``data`` (what ``load`` returned for the partner) in its context."""

    name: str
    template: str
    load: Callable[[Ctx, Partner], dict[str, Any]]
    order: int = 100


# -- the revenue chart ----------------------------------------------------------------

NET = charts.Series(_l("Invoiced net (EUR)"), "s2")
CREDIT = charts.Series(_l("Credit notes"), "neg")


@dataclass(frozen=True)
class Revenue:
    """The partner's invoiced net amount per month: the chart (``crm/_revenue_chart.html``
    draws it with the macro every chart uses) and the same figures for its table."""

    chart: charts.Chart
    months: list[tuple[str, decimal.Decimal]]  # (the month the local way, its amount)
    total: decimal.Decimal
    top: decimal.Decimal
    bottom: decimal.Decimal


def revenue_chart(series: list[tuple[dt.date, decimal.Decimal]]) -> Revenue:
    """Bars for amounts per month; credit notes can make a month negative (drawn below
    the zero line in their own colour). Narrow enough that the month labels stay
    legible on a phone: a label every six months."""
    zero = decimal.Decimal(0)
    months = [(charts.month_label(month), amount) for month, amount in series]
    groups = [
        charts.Group(
            label, (charts.Bar(amount, "", format_money(amount), css="" if amount >= 0 else "neg"),)
        )
        for label, amount in months
    ]
    bottom = min([zero, *(a for _m, a in series)])
    chart = charts.vertical(
        groups,
        (NET,),
        title=_("Invoiced net revenue per month, last 24 months (EUR)"),
        tick_text=format_money_short,
        width=480,
        height=240,
        values=False,
        max_labels=4,
        legend=(NET, CREDIT) if bottom < 0 else (NET,),
    )
    return Revenue(
        chart,
        months,
        total=sum((a for _m, a in series), zero),
        top=max([zero, *(a for _m, a in series)]),
        bottom=bottom,
    )


# -- the 360° page --------------------------------------------------------------------


def _merges(ctx: Ctx, partner: Partner) -> list[dict[str, Any]]:
    rows = merging.merges_of(ctx.db, partner.id)
    names = visible_names(ctx.db, ctx.acting, {m.merged_id for m in rows})
    users = user_names(ctx.db, (m.merged_by_id for m in rows))
    return [
        {"row": m, "name": names.get(m.merged_id), "by": users.get(m.merged_by_id or 0, "")}
        for m in rows
    ]


def _documents(ctx: Ctx, partner: Partner) -> dict[str, Any]:
    db, who = ctx.db, ctx.acting
    if not who.can("documents", "view"):
        return {"show_documents": False}
    return {
        "show_documents": True,
        "totals": totals_per_year(db, who, partner.id),
        "chart": revenue_chart(revenue_by_month(db, who, partner.id, today=today())),
        "open_items": open_items(db, who, partner.id),
        "latest": latest_documents(db, who, partner.id, limit=LATEST_DOCUMENTS),
        "today": today(),
    }


def _facts(partner: Partner) -> list[tuple[str, str]]:
    """(label, value) of the partner's declared facts that have a value."""
    rows = []
    for name, d in FACTS.items():
        value = getattr(partner, name)
        if value not in (None, ""):
            shown = d.show.choices.get(value, value) if d.show.kind == "choice" else value
            rows.append((str(d.label), str(shown)))
    return rows


@page()
def partner(ctx: Ctx) -> Response:
    db, who = ctx.db, ctx.acting
    row = get_partner_for_user(db, who, ctx.int_param("partner_id"))
    merged = row.status == "merged"
    into = visible_names(db, who, {row.merged_into_id}) if row.merged_into_id else {}
    return ctx.render(
        "crm/partner_detail.html",
        partner=row,
        labels=PARTNER_LABELS,
        document_labels=DOCUMENT_LABELS,
        tags=tags_of(db, row.id),
        facts=_facts(row),
        country_name=dict(country_choices(current_language())).get(row.country, row.country),
        emails=[e for e in [row.email, *row.emails.split(", ")] if e],
        reps=reps_of(db, row),
        persons=persons_of(db, row.id),
        branches=branches_of(db, row.id),
        merges=_merges(ctx, row),
        merged_into=(row.merged_into_id, into.get(row.merged_into_id or 0)),
        may_edit=not merged and can(db, who, row, "edit"),
        may_delete=can(db, who, row, "delete"),
        may_share=not merged and may_share(db, who, row),
        sections=[(s, s.load(ctx, row)) for s in wiring.current().partner_sections],
        **_documents(ctx, row),
    )


# -- merging --------------------------------------------------------------------------


@dataclass(frozen=True)
class MergePreview:
    other: Partner
    # (label, kept's value, the other's value, taken from the other)
    fields: list[tuple[str, str, str, bool]]
    moves: list[tuple[Any, int]]
    may_delete_other: bool
    problem: str


def _shown(partner: Partner, name: str, countries: dict[str, str]) -> str:
    value = getattr(partner, name)
    if name == "group_id":
        return partner.group.name if partner.group else ""
    if name == "county_id":
        return partner.county.name if partner.county else ""
    if name == "country":
        return countries.get(str(value), str(value))
    if name in PARTNER_LABELS:
        return str(PARTNER_LABELS[name].get(value, value))
    return "" if value is None else str(value)


def merge_preview(ctx: Ctx, kept: Partner, other: Partner) -> MergePreview:
    countries = dict(country_choices(current_language()))
    fields = []
    for name in ("name", "kind", "status", *merging.FILLED_FIELDS, "country"):
        mine, theirs = _shown(kept, name, countries), _shown(other, name, countries)
        if not mine and not theirs:
            continue
        taken = name in merging.FILLED_FIELDS and not getattr(kept, name) and bool(theirs)
        fields.append((field_label("partners", name), mine, theirs, taken))
    problem = ""
    if kept.id == other.id:
        problem = _("Choose two different partners.")
    elif "merged" in (kept.status, other.status):
        problem = _("One of these partners was merged already.")
    return MergePreview(
        other=other,
        fields=fields,
        moves=merging.moving_counts(ctx.db, kept, other),
        may_delete_other=can(ctx.db, ctx.acting, other, "delete"),
        problem=problem,
    )


def _candidates(ctx: Ctx, kept: Partner) -> list[Partner]:
    q = ctx.query("q")[:100]
    if not q:
        return []
    found = list_partners(ctx.db, ctx.acting, PartnerFilter(q=q), limit=21)
    return [p for p in found if p.id != kept.id][:20]


def _merge_page(
    ctx: Ctx, kept: Partner, other: Partner | None, *, error: str = "", status: int = 200
) -> Response:
    return ctx.render(
        "crm/merge_form.html",
        kept=kept,
        q=ctx.query("q"),
        candidates=_candidates(ctx, kept),
        preview=merge_preview(ctx, kept, other) if other is not None else None,
        error=error,
        status_code=status,
    )


@page()
def partner_merge(ctx: Ctx) -> Response:
    kept = get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    other_id = ctx.query_id("other")
    other = get_partner_for_user(ctx.db, ctx.acting, other_id) if other_id else None
    return _merge_page(ctx, kept, other)


@page()
def partner_merge_candidates(ctx: Ctx) -> Response:
    """The live search of the merge page (an htmx fragment)."""
    kept = get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    return ctx.render(
        "crm/merge_form.html",
        block="candidates",
        kept=kept,
        q=ctx.query("q"),
        candidates=_candidates(ctx, kept),
        preview=None,
        error="",
    )


@page()
def partner_merge_commit(ctx: Ctx) -> Response:
    kept = get_partner_for_user(ctx.db, ctx.acting, ctx.int_param("partner_id"), "edit")
    other_id = parse_id(str(ctx.form_dict().get("other", "")))
    if other_id is None:
        raise Invalid({"other": _("Choose the partner to merge into this one.")})
    other = get_partner_for_user(ctx.db, ctx.acting, other_id, "delete")
    try:
        merging.merge_partners(ctx.db, kept, other, by_user_id=ctx.me.id)
    except Invalid as exc:
        return _merge_page(ctx, kept, other, error=str(exc.message), status=422)
    ctx.flash(_("%(name)s was merged into this partner.", name=other.name))
    return ctx.redirect(ctx.url("partner", partner_id=kept.id))


@page()
def partner_merge_undo(ctx: Ctx) -> Response:
    row: PartnerMerge = merging.get_merge(ctx.db, ctx.int_param("merge_id"))
    kept = get_partner_for_user(ctx.db, ctx.acting, row.kept_id, "edit")
    # The retired partner is reached through the merge row, which the kept partner's
    # edit right covers; it may be outside the user's own sight.
    merged = merging.merged_partner(ctx.db, row)
    merging.undo_merge(ctx.db, row, kept, merged)
    ctx.flash(_("The merge is undone: %(name)s is a partner of its own again.", name=merged.name))
    return ctx.redirect(ctx.url("partner", partner_id=kept.id))


routes = [
    Route("/partners/{partner_id:int}", partner, name="partner"),
    Route("/partners/{partner_id:int}/merge", partner_merge, name="partner_merge"),
    Route(
        "/partners/{partner_id:int}/merge/candidates",
        partner_merge_candidates,
        name="partner_merge_candidates",
    ),
    Route(
        "/partners/{partner_id:int}/merge",
        partner_merge_commit,
        methods=["POST"],
        name="partner_merge_commit",
    ),
    Route(
        "/partner-merges/{merge_id:int}/undo",
        partner_merge_undo,
        methods=["POST"],
        name="partner_merge_undo",
    ),
]
