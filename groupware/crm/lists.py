"""The CRM's list pages as people shape them (:mod:`groupware.lists`): partners,
persons and ERP documents, each a :class:`~groupware.lists.declare.ListDef` declared
in the CRM's ``area.py``.

The partner list must stay fast at a million partners: its default sort (the name) and
the sorts by city, OIB and creation walk the partners' indexes (``Column.sort`` names
their columns); a sort by a name of another table (county, group, rep, territory)
sorts the rows the filters leave. Its page is found by ids on those indexes first
(``ListDef.ids_first``), and on SQLite a search few partners match is read among the
ids the trigram table gives (``ListDef.few``, :func:`groupware.crm.partner_list.few_matches`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, case, func, literal
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.accounts.models import User
from groupware.crm import partner_bulk, partner_list, partners, persons
from groupware.crm.documents import DocumentFilter, filtered_documents
from groupware.crm.models import (
    Branch,
    County,
    Document,
    Partner,
    PartnerGroup,
    Person,
    Territory,
)
from groupware.i18n import _l, ngettext
from groupware.lists import narrow
from groupware.lists.bulk import delete_action, field_action
from groupware.lists.declare import BulkAction, Column, ListDef
from groupware.records import described
from groupware.validation import parse_id, validate

PARTNER_STATUS_LABELS: dict[str, Any] = {
    "prospect": _l("prospect"),
    "active": _l("active"),
    "inactive": _l("inactive"),
}
PARTNER_KIND_LABELS: dict[str, Any] = {"company": _l("company"), "person": _l("private person")}
DOCUMENT_LABELS: dict[str, dict[str, Any]] = {
    "kind": {
        "offer": _l("offer"),
        "order": _l("order"),
        "invoice": _l("invoice"),
        "delivery_note": _l("delivery note"),
    },
    "status": {
        "draft": _l("draft"),
        "open": _l("open"),
        "closed": _l("closed"),
        "cancelled": _l("cancelled"),
    },
}

# -- partners -------------------------------------------------------------------------

PARTNER_FILTERS = tuple(name for name in partners.PartnerFilter.model_fields if name != "sort")


def _partner_rows(who: Who, filters: Mapping[str, str], action: str) -> Select[Any]:
    return partners.partner_query(who, validate(partners.PartnerFilter, filters), action=action)


def _few_partners(session: Session, filters: Mapping[str, str]) -> list[int] | None:
    return partner_list.few_matches(session, filters.get("q", "")[:100])


def _described(name: str, show: str = "text") -> Column:
    """A plain column of the partner, labelled as the partner's field declares it."""
    return Column(name, described(Partner)[name].label, getattr(Partner, name), show=show)


PARTNERS = ListDef(
    name="partners",
    label=_l("Partners"),
    endpoint="partners",
    model=Partner,
    module="partners",
    query=_partner_rows,
    filters=PARTNER_FILTERS,
    filter_labels={
        "q": _l("Search"),
        "city": _l("City"),
        "county_id": _l("County"),
        "group_id": _l("Group"),
        "territory_id": _l("Territory"),
        "rep_id": _l("Rep"),
        "tag": _l("Tag"),
        "status": _l("Status"),
        "kind": _l("Kind"),
        "unassigned": _l("Without a rep only"),
    },
    columns=(
        Column(
            "name",
            _l("Name"),
            Partner.name,
            link=("/partners/{id}", Partner.id),
            sort=(Partner.name_search, Partner.id),
            badge=(Partner.kind, {"person": _l("person")}),
        ),
        Column("oib", _l("OIB"), Partner.oib, sort=(Partner.oib, Partner.id)),
        Column(
            "city", _l("City"), Partner.city, sort=(Partner.city, Partner.name_search, Partner.id)
        ),
        Column("county", _l("County"), County.name, join=("county",)),
        Column("group", _l("Group"), PartnerGroup.name, join=("group",)),
        Column(
            "rep",
            _l("Primary rep"),
            User.full_name,
            join=("rep",),
            badge=(
                case((Partner.owner_id.is_(None), literal("none")), else_=literal("")),
                {"none": _l("no rep")},
            ),
        ),
        Column("territory", _l("Territory"), Territory.name, join=("territory",)),
        Column(
            "status", _l("Status"), Partner.status, show="choice", choices=PARTNER_STATUS_LABELS
        ),
        Column("kind", _l("Kind"), Partner.kind, show="choice", choices=PARTNER_KIND_LABELS),
        _described("vat_id"),
        _described("street"),
        _described("postal_code"),
        _described("country"),
        _described("phones"),
        _described("email", "email"),
        _described("emails"),
        _described("web"),
        _described("external_id"),
        _described("notes"),
        Column(
            "created",
            _l("Created"),
            Partner.created_at,
            show="date",
            sort=(Partner.created_at, Partner.id),
        ),
    ),
    joins={
        "county": lambda q: q.outerjoin(County, County.id == Partner.county_id),
        "group": lambda q: q.outerjoin(PartnerGroup, PartnerGroup.id == Partner.group_id),
        "rep": lambda q: q.outerjoin(User, User.id == Partner.owner_id),
        "territory": lambda q: q.outerjoin(Territory, Territory.id == Partner.territory_id),
    },
    default_columns=("name", "oib", "city", "county", "group", "rep", "territory", "status"),
    default_sort="name",
    bulk=(
        BulkAction(
            "reassign",
            _l("Give to another rep"),
            partner_bulk.reassign,
            partner_bulk.take_back_reassign,
            choices=partner_bulk.rep_choices,
            value_label=_l("New primary rep"),
        ),
        BulkAction(
            "tag",
            _l("Add a tag"),
            partner_bulk.tag,
            partner_bulk.untag,
            typed=_l("Tag"),
        ),
        field_action(
            "status",
            _l("Change the status"),
            Partner,
            "status",
            choices=narrow.labelled(PARTNER_STATUS_LABELS),
            value_label=_l("New status"),
        ),
        delete_action(
            _l("Delete"), Partner, lambda session, p: partners.delete_partner(session, p)
        ),
    ),
    row_class=lambda: case((Partner.status == "inactive", literal("muted")), else_=literal("")),
    count=lambda n: ngettext("%(num)d partner", "%(num)d partners", n),
    # A million partners: the page found by ids on the partners' indexes, a rare search
    # on SQLite among what the trigram table finds (groupware.crm.partner_list).
    ids_first=True,
    few=_few_partners,
)

# -- persons --------------------------------------------------------------------------


def _person_rows(who: Who, filters: Mapping[str, str], action: str) -> Select[Any]:
    return persons.person_query(
        who,
        partner_id=parse_id(filters.get("partner_id", "")),
        q=filters.get("q", "")[:100],
        action=action,
    )


PERSONS = ListDef(
    name="persons",
    label=_l("Persons"),
    endpoint="persons",
    model=Person,
    module="partners",
    query=_person_rows,
    filters=("q", "partner_id"),
    columns=(
        Column(
            "name",
            _l("Name"),
            func.trim(Person.first_name + literal(" ") + Person.last_name),
            link=("/persons/{id}", Person.id),
            sort=(Person.last_name, Person.first_name, Person.id),
        ),
        Column(
            "partner",
            _l("Partner"),
            Partner.name,
            link=("/partners/{id}", Person.partner_id),
            join=("partner",),
            sort=(Partner.name_search, Person.id),
        ),
        Column("branch", _l("Branch"), Branch.name, join=("branch",)),
        Column("function", _l("Function"), Person.function),
        Column("phones", _l("Phones"), Person.phones),
        Column("email", _l("E-mail"), Person.email, show="email"),
        Column("consent", _l("Mailings"), Person.mailing_consent, show="yes_no"),
        Column("external_id", _l("External id"), Person.external_id),
    ),
    joins={
        "partner": lambda q: q.join(Partner, Partner.id == Person.partner_id),
        "branch": lambda q: q.outerjoin(Branch, Branch.id == Person.branch_id),
    },
    default_columns=("name", "partner", "function", "phones", "email"),
    default_sort="name",
    bulk=(delete_action(_l("Delete"), Person, persons.delete_person),),
    count=lambda n: ngettext("%(num)d person", "%(num)d persons", n),
)

# -- ERP documents --------------------------------------------------------------------


def _document_rows(who: Who, filters: Mapping[str, str], action: str) -> Select[Any]:
    return filtered_documents(who, validate(DocumentFilter, filters), action=action)


DOCUMENTS = ListDef(
    name="documents",
    label=_l("ERP documents"),
    endpoint="documents",
    model=Document,
    module="documents",
    query=_document_rows,
    filters=tuple(DocumentFilter.model_fields),
    filter_labels={
        "kind": _l("Kind"),
        "status": _l("Status"),
        "partner": _l("Partner name"),
        "partner_id": _l("Partner"),
        "date_from": _l("From"),
        "date_to": _l("Until"),
    },
    columns=(
        Column("number", _l("Number"), Document.number, link=("/documents/{id}", Document.id)),
        Column("date", _l("Date"), Document.date, show="date", sort=(Document.date, Document.id)),
        Column("kind", _l("Kind"), Document.kind, show="choice", choices=DOCUMENT_LABELS["kind"]),
        Column(
            "partner",
            _l("Partner"),
            Partner.name,
            link=("/partners/{id}", Document.partner_id),
            join=("partner",),
        ),
        Column(
            "net",
            _l("Net"),
            Document.net_amount,
            show="money",
            currency=Document.currency,
            total=True,
        ),
        Column(
            "gross",
            _l("Gross"),
            Document.gross_amount,
            show="money",
            currency=Document.currency,
            total=True,
        ),
        Column(
            "status",
            _l("Status"),
            Document.status,
            show="choice",
            choices=DOCUMENT_LABELS["status"],
        ),
        Column(
            "open",
            _l("Open"),
            Document.open_amount,
            show="money",
            currency=Document.currency,
            total=True,
        ),
        Column("due", _l("Due"), Document.due_date, show="date"),
    ),
    joins={"partner": lambda q: q.join(Partner, Partner.id == Document.partner_id)},
    default_columns=("number", "date", "kind", "partner", "net", "gross", "status", "open"),
    default_sort="-date",
    count=lambda n: ngettext("%(num)d document", "%(num)d documents", n),
)

LISTS = (PARTNERS, PERSONS, DOCUMENTS)
