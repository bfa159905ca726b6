"""A shaped list's cells as HTML, written in Python: a page of 50 rows and 8 columns
is 400 cells, and two template macros a cell were two thirds of the partner list's time
(measured in bench/README.md, global_search). The markup is the one the list's
template wrote: ``<td data-label>`` (a narrow screen shows the label beside the value),
``num``/``lead`` classes, the value as a link when the column has one, its chip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    translated and escaped), then each row's cell is a few string joins."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._openings: dict[tuple[str, bool], Markup] = {}
        for column in columns:
            label = escape(str(column.label))
            for lead in (False, True):
                classes = " ".join(c for c, on in (("num", column.numeric), ("lead", lead)) if on)
                shown = Markup(' class="') + classes + Markup('"') if classes else ""
                self._openings[column.key, lead] = (
                    Markup('<td data-label="') + label + Markup('"') + shown + Markup(">")
                )

    def td(self, column: Column, row: Mapping[str, Any], lead: bool, after: str = "") -> Markup:
        """The ``<td>`` of ``column`` in ``row``; ``after`` is markup put after the
        value (the overdue chip, which the template writes; plain text is escaped).
        Markup's ``+`` escapes what is not markup yet."""
        text = escape(value(column, row))
        if column.show == "email" and text:
            text = Markup('<a href="mailto:') + text + Markup('">') + text + Markup("</a>")
        if column.link is not None and row[column.key + "__id"] is not None:
            href = column.link[0].replace("{id}", str(row[column.key + "__id"]))
            text = Markup('<a href="') + href + Markup('">') + (text or "—") + Markup("</a>")
        if column.badge is not None:
            labels = column.badge[1]
            code = row[column.key + "__badge"]
            if code in labels:
                text += Markup(' <span class="chip">') + str(labels[code]) + Markup("</span>")
        return self._openings[column.key, lead] + text + escape(after) + Markup("</td>")
