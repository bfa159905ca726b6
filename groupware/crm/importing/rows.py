"""Turning one CSV row into a partner, person or document, quickly.

A million-row import checks every row with the same rules as the forms
(:mod:`groupware.crm.fields`), but as plain functions over the row's cells, and looks
up names (groups, counties, countries) in dictionaries loaded once. A problem with a
cell raises :class:`RowProblem` naming the column.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.crm import fields
from groupware.crm.documents import CURRENCIES
from groupware.crm.importing.csvfile import parse_bool, parse_local_date, parse_local_decimal
from groupware.crm.models import County, PartnerGroup
from groupware.crm.normalize import fold, search_text
from groupware.crm.reference import country_choices, county_for_postal
from groupware.i18n import _l


class RowProblem(ValueError):
    def __init__(self, column: str, message: Any) -> None:
        super().__init__(str(message))
        self.column = column
        self.message = message


_KINDS = {
    "company": "company",
    "tvrtka": "company",
    "pravna osoba": "company",
    "poduzece": "company",
    "firma": "company",
    "person": "person",
    "fizicka osoba": "person",
    "osoba": "person",
    "private": "person",
    "obrt": "company",
}
_STATUSES = {
    "active": "active",
    "aktivan": "active",
    "aktivno": "active",
    "prospect": "prospect",
    "potencijalni": "prospect",
    "potencijalan": "prospect",
    "inactive": "inactive",
    "neaktivan": "inactive",
    "neaktivno": "inactive",
}
_DOCUMENT_KINDS = {
    "offer": "offer",
    "ponuda": "offer",
    "order": "order",
    "narudzba": "order",
    "narudzbenica": "order",
    "invoice": "invoice",
    "racun": "invoice",
    "faktura": "invoice",
    "delivery note": "delivery_note",
    "delivery_note": "delivery_note",
    "otpremnica": "delivery_note",
}
_DOCUMENT_STATUSES = {
    "draft": "draft",
    "nacrt": "draft",
    "open": "open",
    "otvoren": "open",
    "otvoreno": "open",
    "closed": "closed",
    "zatvoren": "closed",
    "zatvoreno": "closed",
    "placeno": "closed",
    "paid": "closed",
    "cancelled": "cancelled",
    "storniran": "cancelled",
    "stornirano": "cancelled",
    "storno": "cancelled",
}


# How many group names the file has and the database lacks are reported (by name, with
# their rows); a file naming more is probably mapped wrong.
SHOWN_UNKNOWN_GROUPS = 50


@dataclass
class Lookups:
    """Names a file may use for groups, counties and countries, folded for matching."""

    groups: dict[str, int] = field(default_factory=dict)
    counties: dict[str, int] = field(default_factory=dict)
    county_codes: dict[str, int] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    # group names the database lacks: folded name -> [the file's spelling, rows]
    unknown_groups: dict[str, list[Any]] = field(default_factory=dict)
    new_groups: list[str] = field(default_factory=list)  # created by (or for) this import
    _group_cache: dict[str, int] = field(default_factory=dict)
    _tag_cache: dict[str, list[str]] = field(default_factory=dict)
    _postal_cache: dict[tuple[str, str], tuple[str, int | None]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, group_map: Mapping[str, int] | None = None) -> Lookups:
        """``group_map``: file values (folded) the importer chose an existing group for."""
        found = cls()
        for group in session.scalars(select(PartnerGroup)):
            found.groups[search_text(group.name)] = group.id
        known = set(found.groups.values())
        for name, group_id in (group_map or {}).items():
            if group_id in known:  # a group deleted since it was chosen is not used
                found.groups.setdefault(search_text(name), group_id)
        for county in session.scalars(select(County)):
            found.county_codes[county.code] = county.id
            found.counties[search_text(county.name)] = county.id
            short = search_text(county.name.replace("županija", "").replace("Grad ", ""))
            found.counties.setdefault(short, county.id)
            found.counties[county.code.lower()] = county.id
        for language in ("hr", "en"):
            for code, name in country_choices(language):
                found.countries[search_text(name)] = code
                found.countries[code.lower()] = code
        return found

    def group(self, name: str) -> int | None:
        if not name:
            return None
        group_id = self._group_cache.get(name)
        if group_id is None:
            folded = search_text(name)
            group_id = self.groups.get(folded)
            if group_id is None:
                self._unknown_group(folded, name)
                raise RowProblem(
                    "group", _l('There is no partner group "%(name)s".', name=name.strip())
                )
            self._group_cache[name] = group_id
        return group_id

    def _unknown_group(self, folded: str, name: str) -> None:
        known = self.unknown_groups.get(folded)
        if known is not None:
            known[1] += 1
        elif len(self.unknown_groups) < SHOWN_UNKNOWN_GROUPS:
            self.unknown_groups[folded] = [name.strip(), 1]

    def tags(self, raw: str) -> list[str]:
        known = self._tag_cache.get(raw)
        if known is None:
            known = fields.check_tags(raw.replace(";", ",").split(","))
            self._tag_cache[raw] = known
        return known

    def postal(self, value: str, country: str) -> tuple[str, int | None]:
        """A checked postal code and the county it implies (Croatia), cached: a file
        repeats a few hundred codes a million times."""
        key = (value, country)
        known = self._postal_cache.get(key)
        if known is None:
            cleaned = fields.check_postal(value, country)
            code = county_for_postal(cleaned) if country == "HR" and cleaned else None
            known = (cleaned, self.county_codes.get(code) if code else None)
            self._postal_cache[key] = known
        return known

    def country(self, name: str) -> str:
        if not name:
            return "HR"
        code = self.countries.get(search_text(name))
        if code is None:
            raise RowProblem("country", _l("Unknown country."))
        return code

    def county(self, name: str, country: str, postal: str) -> int | None:
        if name:
            county_id = self.counties.get(search_text(name))
            if county_id is None:
                raise RowProblem("county", _l("Unknown county."))
            return county_id
        if country == "HR" and postal:
            code = county_for_postal(postal)
            return self.county_codes.get(code) if code else None
        return None


def _cell(cells: Sequence[str], index: Mapping[str, int], name: str) -> str:
    position = index.get(name)
    if position is None or position >= len(cells):
        return ""
    return cells[position]


def _checked(column: str, check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except fields.FieldProblem as problem:
        raise RowProblem(column, problem.message) from None


def _limited(column: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise RowProblem(column, _l("At most %(max)s characters.", max=limit))
    return value


_TEXT_LIMITS = (("street", 200), ("city", 100), ("phones", 200), ("notes", 20000))


def partner_values(
    cells: Sequence[str], index: Mapping[str, int], lookups: Lookups
) -> dict[str, Any]:
    """The partner a row describes; only the columns the file has (``index``) appear.

    Written for speed (it runs a million times per import): plain lookups, caches for
    values that repeat (postal codes, groups), one ``try`` around the field checks.
    """
    width = len(cells)
    get = index.get

    def cell(name: str) -> str:
        position = get(name)
        return cells[position] if position is not None and position < width else ""

    values: dict[str, Any] = {}
    column = ""
    try:
        if "name" in index:
            column = "name"
            name = cell("name")
            if not name:
                raise fields.FieldProblem(_l("This field is required."))
            values["name"] = _limited("name", name, 200)
        if "kind" in index:
            column = "kind"
            kind = cell("kind")
            values["kind"] = _KINDS.get(fold(kind), "") if kind else "company"
            if not values["kind"]:
                raise fields.FieldProblem(_l("Write company or person."))
        if "status" in index:
            column = "status"
            status = cell("status")
            values["status"] = _STATUSES.get(fold(status), "") if status else "active"
            if not values["status"]:
                raise fields.FieldProblem(_l("Write active, prospect or inactive."))
        if "oib" in index:
            column = "oib"
            values["oib"] = fields.check_oib(cell("oib"))
        if "vat_id" in index:
            column = "vat_id"
            values["vat_id"] = fields.check_vat(cell("vat_id")) if cell("vat_id") else ""
        if "external_id" in index:
            values["external_id"] = _limited("external_id", cell("external_id"), 64)
        country = "HR"
        if "country" in index:
            country = lookups.country(cell("country"))
            values["country"] = country
        postal = ""
        if "postal_code" in index:
            column = "postal_code"
            postal, county_from_postal = lookups.postal(cell("postal_code"), country)
            values["postal_code"] = postal
        for name_, limit in _TEXT_LIMITS:
            if name_ in index:
                values[name_] = _limited(name_, cell(name_), limit)
        if "county" in index and cell("county"):
            values["county_id"] = lookups.county(cell("county"), country, postal)
        elif "county" in index or "postal_code" in index:
            values["county_id"] = county_from_postal if postal else None
        if "group" in index:
            values["group_id"] = lookups.group(cell("group"))
        if "email" in index:
            column = "email"
            addresses = fields.check_emails(cell("email")).split(", ") if cell("email") else []
            values["email"] = addresses[0] if addresses else ""
            if len(addresses) > 1:
                values["emails"] = ", ".join(addresses[1:])
        if "emails" in index:
            column = "emails"
            values["emails"] = fields.check_emails(cell("emails"))
        if "web" in index:
            column = "web"
            values["web"] = fields.check_web(_limited("web", cell("web"), 200))
        if "tags" in index:
            column = "tags"
            raw = cell("tags")
            values["tags"] = lookups.tags(raw) if raw else []
        if "vat_id" in values and "oib" in values:
            column = "vat_id"
            fields.check_vat_matches_oib(values["vat_id"], values["oib"])
    except fields.FieldProblem as problem:
        raise RowProblem(column, problem.message) from None
    return values


def person_values(cells: Sequence[str], index: Mapping[str, int]) -> dict[str, Any]:
    values: dict[str, Any] = {}

    def cell(name: str) -> str:
        return _cell(cells, index, name)

    if "last_name" in index:
        if not cell("last_name"):
            raise RowProblem("last_name", _l("This field is required."))
        values["last_name"] = _limited("last_name", cell("last_name"), 100)
    for name, limit in (
        ("first_name", 100),
        ("function", 100),
        ("phones", 200),
        ("external_id", 64),
        ("notes", 20000),
    ):
        if name in index:
            values[name] = _limited(name, cell(name), limit)
    if "email" in index:
        values["email"] = _checked("email", fields.check_email, cell("email"))
    if "mailing_consent" in index:
        try:
            values["mailing_consent"] = parse_bool(cell("mailing_consent"))
        except ValueError:
            raise RowProblem("mailing_consent", _l("Write yes or no.")) from None
    values["partner_key"] = cell("partner_key")
    return values


def document_values(cells: Sequence[str], index: Mapping[str, int]) -> dict[str, Any]:
    values: dict[str, Any] = {}

    def cell(name: str) -> str:
        return _cell(cells, index, name)

    kind = _DOCUMENT_KINDS.get(fold(cell("kind")))
    if kind is None:
        raise RowProblem("kind", _l("Write offer, order, invoice or delivery note."))
    values["kind"] = kind
    number = cell("number")
    if not number:
        raise RowProblem("number", _l("This field is required."))
    values["number"] = _limited("number", number, 64)
    values["date"] = _date("date", cell("date"), required=True)
    values["due_date"] = (
        _date("due_date", cell("due_date"), required=False) if "due_date" in index else None
    )
    values["net_amount"] = _amount("net_amount", cell("net_amount"))
    gross = cell("gross_amount")
    values["gross_amount"] = _amount("gross_amount", gross) if gross else values["net_amount"]
    currency = (cell("currency") or "EUR").upper().replace("€", "EUR")
    if currency not in CURRENCIES:
        raise RowProblem("currency", _l("Unknown currency."))
    values["currency"] = currency
    status = cell("status")
    values["status"] = _DOCUMENT_STATUSES.get(fold(status)) if status else "open"
    if values["status"] is None:
        raise RowProblem("status", _l("Write open, closed or cancelled."))
    open_amount = cell("open_amount")
    values["open_amount"] = (
        _amount("open_amount", open_amount) if open_amount else decimal.Decimal(0)
    )
    if abs(values["gross_amount"]) < abs(values["net_amount"]):
        raise RowProblem(
            "gross_amount", _l("The gross amount cannot be smaller than the net amount.")
        )
    if kind != "invoice" and (values["net_amount"] < 0 or values["gross_amount"] < 0):
        raise RowProblem(
            "net_amount", _l("Only invoices (credit notes) may have negative amounts.")
        )
    if values["due_date"] is not None and values["due_date"] < values["date"]:
        raise RowProblem("due_date", _l("The due date is before the document date."))
    values["partner_key"] = cell("partner_key")
    return values


def _date(column: str, text: str, *, required: bool) -> dt.date | None:
    if not text:
        if required:
            raise RowProblem(column, _l("This field is required."))
        return None
    try:
        return parse_local_date(text)
    except ValueError:
        raise RowProblem(column, _l("Enter a date as dd.mm.yyyy.")) from None


def _amount(column: str, text: str) -> decimal.Decimal:
    try:
        value = parse_local_decimal(text)
    except (ValueError, decimal.InvalidOperation):
        raise RowProblem(column, _l("Enter an amount, e.g. 1.234,56.")) from None
    if abs(value) >= 10**12:
        raise RowProblem(column, _l("This amount is too large."))
    return value.quantize(decimal.Decimal("0.01"))
