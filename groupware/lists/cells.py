"""A shaped list's cells as HTML, written in Python: a page of 50 rows and 8 columns
is 400 cells, and two template macros a cell were two thirds of the partner list's time
(measured in bench/README.md, global_search). The markup is the one the list's
template wrote: ``<td data-label>`` (a narrow screen shows the label beside the value),
``num``/``lead`` classes, the value as a link when the column has one, its chip."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from groupware.i18n import _, format_date, format_datetime, format_money, format_number
from groupware.lists.declare import Column


def value(column: Column, row: Mapping[str, Any]) -> str:
    """The cell's value as text (not escaped), "" when there is none."""
    v = row[column.key]
    if v is None or v == "":
        return ""
    show = column.show
    if show == "money":
        return format_money(v, row[column.key + "__cur"] or "EUR")
    if show == "number":
        return format_number(v)
    if show == "percent":
        return f"{format_number(v)} %"
    if show == "date":
        return format_date(v)
    if show == "datetime":
        return format_datetime(v)
    if show == "choice":
        return str(column.choices.get(v, v))
    if show == "yes_no":
        return _("yes") if v else _("no")
    return str(v).strip()


class Cells:
    """The cells of one page: each column's ``<td ...>`` is worked out once (its label
    translated and escaped), then each row is one join of strings. The values are
    escaped by markupsafe's ``escape`` and joined as plain strings (Markup's ``+``
    escapes again and makes a new object for every piece: a tenth of a list page).

    ``chip(column, row)``, when given, is markup put after the value of a column with
    ``overdue`` dates (the list's template passes ``ui.overdue``)."""

    def __init__(
        self,
        columns: Sequence[Column],
        chip: Callable[[Column, Mapping[str, Any]], str] | None = None,
    ) -> None:
        self.columns = tuple(columns)
        self._chip = chip
        self._openings: dict[tuple[str, bool], str] = {}
        for column in columns:
            label = escape(str(column.label))
            for lead in (False, True):
                classes = " ".join(c for c, on in (("num", column.numeric), ("lead", lead)) if on)
                shown = f' class="{classes}"' if classes else ""
                self._openings[column.key, lead] = f'<td data-label="{label}"{shown}>'

    def _cell(self, column: Column, row: Mapping[str, Any], lead: bool, after: str) -> str:
        text = str(escape(value(column, row)))
        if column.show == "email" and text:
            text = f'<a href="mailto:{text}">{text}</a>'
        if column.link is not None and row[column.key + "__id"] is not None:
            href = escape(column.link[0].replace("{id}", str(row[column.key + "__id"])))
            text = f'<a href="{href}">{text or "—"}</a>'
        if column.badge is not None:
            labels = column.badge[1]
            code = row[column.key + "__badge"]
            if code in labels:
                text += f' <span class="chip">{escape(str(labels[code]))}</span>'
        return f"{self._openings[column.key, lead]}{text}{after}</td>"

    def row(self, row: Mapping[str, Any]) -> Markup:
        """Every ``<td>`` of ``row``, the first column as the row's lead."""
        parts = []
        for index, column in enumerate(self.columns):
            after = ""
            if column.overdue and self._chip is not None:
                after = " " + str(escape(self._chip(column, row)))
            parts.append(self._cell(column, row, index == 0, after))
        # Every value, label, link and chip above went through escape().
        return Markup("".join(parts))  # noqa: S704
