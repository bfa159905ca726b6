"""A shaped list as CSV: exactly the rows its filters match that the user may export,
in its order, with its chosen columns, as Excel in Croatia reads it (UTF-8 with a BOM,
``;``), headers and values in the user's language.

Every cell is defused against spreadsheet formulas: text starting with a sign gets a
leading apostrophe here ("+385..." stays a phone, "-2+3" is not a sum), and
``write_csv`` does the same for = @ tab and CR. Amounts are numbers with their
currency in a column of its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.crm.importing.csvfile import write_csv
from groupware.i18n import _, format_date, format_datetime, format_number, today
from groupware.lists import engine
from groupware.lists.declare import Column
from groupware.lists.shape import Shape


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(("+", "-")) else text


def cell(column: Column, row: Row[Any]) -> str:
    """One value of ``row`` as the export writes it."""
    value = row._mapping[column.key]
    if value is None:
        return ""
    show = column.show
    if show == "money":
        return format_number(value, 2)
    if show in ("number", "percent"):
        return format_number(value)
    if show == "date":
        return format_date(value)
    if show == "datetime":
        return format_datetime(value)
    if show == "yes_no":
        return _("yes") if value else _("no")
    if show == "choice":
        return _text(column.choices.get(value, value))
    return _text(value)


def header(columns: list[Column]) -> list[str]:
    names: list[str] = []
    for column in columns:
        names.append(str(column.label))
        if column.currency is not None:
            names.append(_("%(column)s: currency", column=column.label))
    return names


def _rows(session: Session, shape: Shape, who: Who) -> Iterator[list[str]]:
    columns = engine.chosen(shape)
    yield header(columns)
    for batch in engine.export_rows(session, shape, who):
        for row in batch:
            cells: list[str] = []
            for column in columns:
                cells.append(cell(column, row))
                if column.currency is not None:
                    cells.append(str(row._mapping[f"{column.key}__cur"] or ""))
            yield cells


def write(session: Session, shape: Shape, who: Who, out: IO[bytes]) -> None:
    """Write the shape's rows ``who`` may export to ``out``; the caller checks the
    "export" right of the list's module."""
    write_csv(_rows(session, shape, who), out)


def filename(shape: Shape) -> str:
    """``partneri-2026-12-08.csv``: the list's name in the user's language, in ASCII."""
    plain = unicodedata.normalize("NFKD", str(shape.listdef.label).lower())
    stem = "".join(
        c if c.isascii() and c.isalnum() else "-" for c in plain if not unicodedata.combining(c)
    )
    return f"{stem.strip('-') or shape.listdef.name}-{today().isoformat()}.csv"
