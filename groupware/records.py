"""What the UI needs to know about each kind of record: a name, a page, labels for its
fields and how to show their values. Areas declare their record types (``groupware.wiring``);
history, notifications and search use this to show "Deal: Blagajne" with a link instead of a
table name, and "Partner: Konzum d.d." instead of ``partner_id: 3121``.

A record type is data: labels, a URL pattern and, per field, a :class:`Show` saying
what kind of value the field holds (a reference to another record type, a code with
labels, a date, an amount). Whoever shows a value reads the declaration; nothing here
formats or queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from groupware import wiring
from groupware.i18n import _l

# The kinds of value a field may hold (see Show).
KINDS = ("text", "number", "money", "percent", "date", "datetime", "yes_no", "ref", "choice")


@dataclass(frozen=True)
class Show:
    """How one field's value reads to a person.

    ``kind`` is one of :data:`KINDS`. A ``ref`` field holds the id of a record of the
    type named in ``ref`` (a table name): it is shown by that record's name, as a link
    when the reader may open it, and as "hidden" when they may not see it. A
    ``choice`` field holds a code that ``choices`` puts in words. ``money`` is shown
    in the currency of the record's ``currency`` field when the change names it.
    """

    kind: str = "text"
    ref: str = ""
    choices: Mapping[str, Any] = field(default_factory=dict)


def ref(record_type: str) -> Show:
    return Show("ref", ref=record_type)


def choice(labels: Mapping[str, Any]) -> Show:
    return Show("choice", choices=labels)


TEXT = Show("text")
NUMBER = Show("number")
MONEY = Show("money")
PERCENT = Show("percent")
DATE = Show("date")
DATETIME = Show("datetime")
YES_NO = Show("yes_no")


@dataclass(frozen=True)
class Described:
    """What a column is to people, declared once on the column itself
    (``mapped_column(..., info=describe(_l("VAT id")))``): its label and how its value
    reads. The record type's labels and value formats, the record's page, exports,
    the JSON API and merging read these declarations instead of listing the fields
    again (see :func:`described`).

    ``detail``: a row of the record page's facts when it has a value (fields the page
    shows its own way say ``False``); ``export``: a column of the CSV export; ``api``:
    a field of the API's answer; ``ref``: for a foreign key, the relationship whose
    record is shown by name (``group_id`` -> ``group``); ``fill_on_merge``: a merge
    fills the kept record's empty value from the other's.
    """

    label: Any
    show: Show = TEXT
    detail: bool = True
    export: bool = True
    api: bool = True
    ref: str = ""
    fill_on_merge: bool = False


def describe(label: Any, **options: Any) -> dict[str, Described]:
    """A column's ``info`` declaring it (see :class:`Described`)."""
    return {"described": Described(label, **options)}


def described(model: Any) -> dict[str, Described]:
    """The declared columns of a mapped class, by attribute name, in column order."""
    return {
        column.key: column.info["described"]
        for column in model.__table__.columns
        if "described" in column.info
    }


@dataclass(frozen=True)
class RecordType:
    name: str  # the table name, as in history rows and shares
    label: Any
    url: str = ""  # with {id}; empty when the record has no page
    fields: dict[str, Any] = field(default_factory=dict)
    # Where every record of this type a user may see is listed: a page and an API
    # collection (empty when there is none). The differential access test holds each
    # against the access policy's per-record answer.
    list_url: str = ""
    api_url: str = ""
    # How values are shown, per field; a field not named here is shown by COMMON_VALUES
    # or by its JSON type (yes/no, ISO dates, text). Parts filed on the record (a deal's
    # line) may be named "part.field" ("delegation.response").
    values: dict[str, Show] = field(default_factory=dict)
    # The few fields that say what a new record is, shown when it is created (history
    # shows "created Deal «X»" with these, not every field).
    summary: tuple[str, ...] = ()
    # Its page shows its activity stream (groupware.stream), and notes, logged calls
    # and meetings may be put on it.
    stream: bool = False


def record_types() -> dict[str, RecordType]:
    """Every record type the areas declare, by name."""
    return wiring.current().record_types


COMMON_FIELDS: dict[str, Any] = {
    "title": _l("Title"),
    "body": _l("Text"),
    "name": _l("Name"),
    "description": _l("Description"),
    "status": _l("Status"),
    "priority": _l("Priority"),
    "owner_id": _l("Owner"),
    "team_id": _l("Team"),
    "user_id": _l("User"),
    "created_by_id": _l("Created by"),
    "partner_id": _l("Partner"),
    "deal_id": _l("Deal"),
    "is_active": _l("Active"),
    "street": _l("Street"),
    "postal_code": _l("Postal code"),
    "city": _l("City"),
    "county_id": _l("County"),
    "country": _l("Country"),
    "phones": _l("Phones"),
    "email": _l("E-mail"),
    "notes": _l("Notes"),
    "note": _l("Note"),
    "currency": _l("Currency"),
    "external_id": _l("External id"),
    "share": _l("Shared with"),
}

COMMON_VALUES: dict[str, Show] = {
    "owner_id": ref("users"),
    "user_id": ref("users"),
    "created_by_id": ref("users"),
    "team_id": ref("teams"),
    "partner_id": ref("partners"),
    "deal_id": ref("deals"),
    "county_id": ref("counties"),
}


def record_label(name: str) -> str:
    known = record_types().get(name)
    return str(known.label) if known else name


def record_url(name: str, record_id: int) -> str:
    known = record_types().get(name)
    return known.url.format(id=record_id) if known and known.url else ""


def field_label(name: str, field_name: str, part: str = "") -> str:
    """The label of a field of a record type (or of a part filed on it)."""
    fields = known.fields if (known := record_types().get(name)) else {}
    label = (
        (fields.get(f"{part}.{field_name}") if part else None)
        or fields.get(field_name)
        or COMMON_FIELDS.get(field_name)
    )
    return str(label) if label is not None else field_name


def field_show(name: str, field_name: str, part: str = "") -> Show | None:
    """How a field of a record type (or of a part filed on it) is shown, if declared."""
    known = record_types().get(name)
    values = known.values if known else {}
    if part and f"{part}.{field_name}" in values:
        return values[f"{part}.{field_name}"]
    return values.get(field_name) or COMMON_VALUES.get(field_name)


def record_summary(name: str) -> tuple[str, ...]:
    known = record_types().get(name)
    return known.summary if known else ()
