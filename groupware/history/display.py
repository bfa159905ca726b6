"""How a change reads to a person: a sentence, field labels, and values in words.

The sentence names who did what to which record. Croatian would make a past participle
agree with the actor's gender ("je promijenio/promijenila") or with the record type's
("promijenjen posao", "promijenjena osoba"), and we know neither reliably; so the
Croatian sentences name the action with a verbal noun after the actor and a colon, and
keep the record type in the nominative as a label:

    en  Ana Horvat changed Deal “Blagajne”         Changed by Ana Horvat
    hr  Ana Horvat: izmjena – Posao „Blagajne“     Izmjena: Ana Horvat

(the second form is for a record's own history, where the record goes without saying).
No word of either shape depends on a gender or a case, so any record type fits.

Values follow the field's declaration in :mod:`groupware.records`: codes become their
labels, dates and amounts take the reader's locale, and an id becomes the linked
record's name. Every id a page refers to is looked up once per record type through the
access policy (:func:`~groupware.access.policy.visible`), so a page of 50 changes costs
a few queries, not 50; a linked record the reader may not see reads "hidden", never its
name. A new record shows its type's few key fields, not every field it was made with.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, pk_column, record_key, record_models, visible
from groupware.db import Base
from groupware.history.models import Change
from groupware.i18n import _l, format_date, format_datetime, format_money, format_number, gettext
from groupware.records import (
    Show,
    field_label,
    field_show,
    record_label,
    record_summary,
    record_url,
)

# (with the record, without it); see the module's docstring for the shapes.
_SENTENCES: dict[str, tuple[Any, Any]] = {
    "create": (_l("%(actor)s created %(record)s"), _l("Created by %(actor)s")),
    "update": (_l("%(actor)s changed %(record)s"), _l("Changed by %(actor)s")),
    "delete": (_l("%(actor)s deleted %(record)s"), _l("Deleted by %(actor)s")),
}
_RECORD = _l("%(type)s “%(name)s”")
LONG_TEXT = 200  # characters of a text value shown before "…"
# Labels of parts written before they had a name of their own ("<... object at 0x...>").
_REPR = re.compile(r"^<[\w.]+ object at 0x[0-9a-f]+>$")


@dataclass(frozen=True)
class Value:
    """One value as shown: its text, a link when the reader may open the record it
    names, and ``muted`` for what stands in for a value (none, hidden, deleted)."""

    text: str
    url: str = ""
    muted: bool = False

    def html(self) -> Markup:
        if self.url:
            return Markup('<a href="{}">{}</a>').format(self.url, self.text)
        if self.muted:
            return Markup('<span class="muted">{}</span>').format(self.text)
        return escape(self.text)


@dataclass(frozen=True)
class FieldChange:
    field: str  # the key in Change.changes
    label: str
    old: Value
    new: Value


@dataclass(frozen=True)
class ChangeView:
    """A change as a person reads it. ``fields`` are what changed (an update), the key
    fields of the new record (a creation), or nothing (a deletion)."""

    change: Change
    actor: str
    record_type: str  # its label
    record: Value
    fields: tuple[FieldChange, ...]

    def sentence(self, with_record: bool = True) -> Markup:
        record = escape(str(_RECORD)) % {"type": self.record_type, "name": self.record.html()}
        return escape(self._pattern(with_record)) % {"actor": self.actor, "record": record}

    def text(self, with_record: bool = True) -> str:
        record = str(_RECORD) % {"type": self.record_type, "name": self.record.text}
        return self._pattern(with_record) % {"actor": self.actor, "record": record}

    def _pattern(self, with_record: bool) -> str:
        return str(_SENTENCES[self.change.action][0 if with_record else 1])


EMPTY = Value("—", muted=True)


def _hidden() -> Value:
    return Value(gettext("hidden"), muted=True)


def _deleted() -> Value:
    return Value(gettext("deleted"), muted=True)


# -- linked records -------------------------------------------------------------------


def _models() -> dict[str, type[Base]]:
    return {
        str(mapper.class_.__tablename__): mapper.class_
        for mapper in Base.registry.mappers
        if getattr(mapper.class_, "__tablename__", None)
    }


class _Names:
    """The records a page refers to, looked up per record type in one go."""

    def __init__(self, session: Session, who: Who) -> None:
        self.session = session
        self.who = who
        self.wanted: dict[str, set[int]] = defaultdict(set)
        self.found: dict[tuple[str, int], Value] = {}

    def want(self, record_type: str, value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.wanted[record_type].add(value)

    def load(self) -> None:
        models, guarded = _models(), record_models()
        for record_type, ids in self.wanted.items():
            model = models.get(record_type)
            if model is not None:
                self._load(record_type, model, sorted(ids), guarded=record_type in guarded)

    def _load(self, record_type: str, model: type[Base], ids: list[int], *, guarded: bool) -> None:
        pk = pk_column(model)
        query = select(model).where(pk.in_(ids))
        if guarded:
            query = query.where(visible(model, self.who))
        for row in self.session.scalars(query):
            key = record_key(row)
            # Only records with access rules have pages anyone may open; the others
            # (users, teams, phases, territories) are named, their pages are for admins.
            url = record_url(record_type, key) if guarded else ""
            self.found[(record_type, key)] = Value(str(row), url)
        # A record with access rules that is not found is hidden, whether it exists or
        # not: telling "deleted" from "hidden" would tell what became of a record the
        # reader may not see. Reference data without rules can only be gone.
        missing = _hidden() if guarded else _deleted()
        for key in ids:
            self.found.setdefault((record_type, key), missing)

    def get(self, record_type: str, value: Any) -> Value:
        if not isinstance(value, int) or isinstance(value, bool):
            return Value(str(value))
        return self.found.get((record_type, value)) or _deleted()


# -- values -----------------------------------------------------------------------------


def _iso(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" == value[7:8]


def _guess(value: Any) -> str:
    if isinstance(value, bool):
        return "yes_no"
    if _iso(value):
        return "date" if len(value) == 10 else "datetime"
    return "text"


def _decimal(value: Any) -> decimal.Decimal | None:
    try:
        return decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        return None


def _text(value: Any) -> str:
    text = str(value)
    if _REPR.match(text):
        return gettext("unnamed")
    return text if len(text) <= LONG_TEXT else text[: LONG_TEXT - 1] + "…"


def _number(value: Any) -> str:
    number = _decimal(value)
    return format_number(number) if number is not None else _text(value)


def _money(value: Any, currency: Any) -> str:
    amount = _decimal(value)
    if amount is None:
        return _text(value)
    return format_money(amount, currency) if currency else format_number(amount, 2)


def _percent(value: Any) -> str:
    return gettext("%(number)s%%", number=_number(value))


def _date(value: Any) -> str:
    try:
        return format_date(dt.date.fromisoformat(str(value)[:10]))
    except ValueError:
        return _text(value)


def _datetime(value: Any) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return _text(value)
    if moment.tzinfo is None:  # written as UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return format_datetime(moment)


def _yes_no(value: Any) -> str:
    return gettext("yes") if value else gettext("no")


@dataclass(frozen=True)
class _Context:
    names: _Names
    currency: Any  # the record's currency at that side of the change, if it says


_FORMATS: dict[str, Callable[[Show, Any, _Context], Value]] = {
    "text": lambda show, value, ctx: Value(_text(value)),
    "number": lambda show, value, ctx: Value(_number(value)),
    "money": lambda show, value, ctx: Value(_money(value, ctx.currency)),
    "percent": lambda show, value, ctx: Value(_percent(value)),
    "date": lambda show, value, ctx: Value(_date(value)),
    "datetime": lambda show, value, ctx: Value(_datetime(value)),
    "yes_no": lambda show, value, ctx: Value(_yes_no(value)),
    "ref": lambda show, value, ctx: ctx.names.get(show.ref, value),
    "choice": lambda show, value, ctx: Value(
        str(show.choices.get(value, value) if isinstance(value, str) else value)
    ),
}


def show_value(show: Show | None, value: Any, ctx: _Context) -> Value:
    if value is None or value == "":
        return EMPTY
    if show is None:
        show = Show(_guess(value))
    return _FORMATS[show.kind](show, value, ctx)


# -- changes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """A key of ``Change.changes``: a field, or a field of a part filed on the record
    (``"delegation Ivana: response"``: the part's kind, its name, the field)."""

    key: str
    name: str
    part: str = ""
    part_name: str = ""

    @classmethod
    def parse(cls, key: str) -> _Field:
        head, sep, name = key.rpartition(": ")
        if not sep or " " not in head:
            return cls(key, key)
        part, _space, part_name = head.partition(" ")
        return cls(key, name, part, "" if _REPR.match(part_name) else part_name)

    def label(self, record_type: str) -> str:
        label = field_label(record_type, self.name, self.part)
        if not self.part:
            return label
        part = field_label(record_type, self.part)
        if self.part_name:
            part = f"{part} ({self.part_name})"
        return f"{part}: {label}"


def _fields(change: Change) -> list[_Field]:
    if change.action == "update":
        return [_Field.parse(key) for key in change.changes]
    if change.action == "create":
        return [_Field(key, key) for key in record_summary(change.record_type)]
    return []


def _show(change: Change, field: _Field) -> Show | None:
    return field_show(change.record_type, field.name, field.part)


def _side(pair: Any, index: int) -> Any:
    return pair[index] if isinstance(pair, list | tuple) and len(pair) == 2 else None


def _field_change(change: Change, field: _Field, names: _Names) -> FieldChange | None:
    pair = change.changes.get(field.key)
    if pair is None:
        return None
    currency = change.changes.get("currency")
    show = _show(change, field)
    old = show_value(show, _side(pair, 0), _Context(names, _side(currency, 0)))
    new = show_value(show, _side(pair, 1), _Context(names, _side(currency, 1)))
    if change.action == "create" and new is EMPTY:
        return None
    return FieldChange(field.key, field.label(change.record_type), old, new)


def _record(change: Change, names: _Names) -> Value:
    found = names.get(change.record_type, change.record_id)
    label = change.label if change.label and not _REPR.match(change.label) else ""
    if found.muted:  # deleted since (or, for a part, never named)
        return Value(label or f"#{change.record_id}")
    return Value(label or found.text, "" if change.action == "delete" else found.url)


def describe(session: Session, who: Who, changes: Sequence[Change]) -> list[ChangeView]:
    """The changes of one page as ``who`` reads them (a few queries for the page)."""
    names = _Names(session, who)
    for change in changes:
        names.want(change.record_type, change.record_id)
        for field in _fields(change):
            show = _show(change, field)
            if show is not None and show.kind == "ref":
                for value in _pair(change.changes.get(field.key)):
                    names.want(show.ref, value)
    names.load()
    return [_view(change, names) for change in changes]


def _pair(pair: Any) -> Iterable[Any]:
    return pair if isinstance(pair, list | tuple) else ()


def _view(change: Change, names: _Names) -> ChangeView:
    fields = (_field_change(change, field, names) for field in _fields(change))
    return ChangeView(
        change=change,
        actor=change.actor.full_name if change.actor else gettext("System"),
        record_type=record_label(change.record_type),
        record=_record(change, names),
        fields=tuple(f for f in fields if f is not None),
    )
