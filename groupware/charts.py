"""Bar charts drawn on the server as SVG: no script, no chart library.

The Content-Security-Policy allows neither script nor inline style, so the functions
here place every bar, tick, label and legend entry, and the macro ``bar_chart`` of
``web/templates/_chart.html`` only writes them out. Colours and type sizes are classes
of ``/static/app.css`` (SVG geometry is attributes, which the policy allows).

A chart is groups of bars, one bar per series: a deal phase with its value and weighted
value, a month with its forecast, won and invoiced amounts. :func:`vertical` stands
the groups side by side (bars up from the zero line, a negative value down from it);
:func:`horizontal` gives each group a row. Every chart has a value axis of round ticks
(:func:`nice_ticks`) written the reader's way, and a legend naming each series beside
a swatch of its colour. A bar's tooltip has its value in full; a bar and a group's
label may each be a link to the list behind them. The pages put the same figures in a
table beside the chart, for those who would rather read than look.

Months are written the local way by :func:`month_label` ("sij 2026" in Croatian,
"Jan 2026" in English).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel import dates as babel_dates

from groupware.i18n import current_language, format_number

Number = int | float | decimal.Decimal
Amount = decimal.Decimal
TickText = Callable[[Amount], str]
CHAR_WIDTH = 7.0  # about the width of a character of the charts' 12-13px text


def month_label(month: dt.date, *, long: bool = False) -> str:
    """A month the local way: "sij 2026" / "siječanj 2026" in Croatian."""
    locale = "hr_HR" if current_language() == "hr" else "en_GB"
    return babel_dates.format_date(month, "LLLL yyyy" if long else "LLL yyyy", locale=locale)


def nice_ticks(low: Number, high: Number, count: int = 4) -> list[Amount]:
    """Round values for an axis from at most ``low`` to at least ``high``, zero among
    them: about ``count`` steps of 1, 2, 2.5 or 5 times a power of ten."""
    low, high = min(Amount(str(low)), Amount(0)), max(Amount(str(high)), Amount(0))
    if high == low:
        return [Amount(0), Amount(1)]
    rough = (high - low) / count
    power = Amount(10) ** rough.adjusted()
    step = next(
        power * m
        for m in (Amount(1), Amount(2), Amount("2.5"), Amount(5), Amount(10))
        if power * m >= rough
    )
    first = (low / step).to_integral_value(rounding=decimal.ROUND_FLOOR) * step
    ticks = [first]
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    # Written plainly (500, not 5E+2; 2.5, not 2.50).
    return [t.quantize(Amount(1)) if t == t.to_integral_value() else t.normalize() for t in ticks]


# -- what a chart shows ---------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One kind of bar: its name in the legend and its colour class (``s1`` to ``s4``;
    ``neg`` for what is below zero, such as credit notes)."""

    label: Any
    css: str


@dataclass(frozen=True)
class Bar:
    """One figure: its value, the list behind it, the value written out in full (its
    tooltip) and short (written beside the bar when the chart writes values), and a
    colour class of its own when it differs from its series' (a credit note)."""

    value: Number
    href: str = ""
    text: str = ""
    short: str = ""
    css: str = ""


@dataclass(frozen=True)
class Group:
    """The bars of one category (a phase, a month), one per series, in their order."""

    label: str
    bars: Sequence[Bar]
    href: str = ""


# -- where everything goes ------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    href: str
    title: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""
    href: str = ""
    title: str = ""


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str = "grid"


@dataclass(frozen=True)
class LegendEntry:
    """A series' swatch at (x, y) and its name beside it."""

    x: float
    y: float
    css: str
    label: str


@dataclass(frozen=True)
class Box:
    """Where the bars are drawn, between the axes."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    plot: Box
    zero: float  # where the value 0 is: a y for a vertical chart, an x for a horizontal
    legend: list[LegendEntry] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


SWATCH = 12
LEGEND_ROW = 20


def _legend(series: Sequence[Series], left: float, width: float) -> tuple[list[LegendEntry], float]:
    """The legend's entries in rows from the top left, each row as wide as the chart
    allows; and the height they take."""
    entries: list[LegendEntry] = []
    x, y = left, 6.0
    for kind in series:
        label = str(kind.label)
        room = SWATCH + 6 + CHAR_WIDTH * len(label) + 16
        if entries and x + room > width:
            x, y = left, y + LEGEND_ROW
        entries.append(LegendEntry(_round(x), y, kind.css, label))
        x += room
    return entries, (y + LEGEND_ROW + 4 if entries else 0.0)


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: max(length - 1, 1)].rstrip() + "…"


def _round(value: float) -> float:
    return round(value, 1)


def _values(groups: Sequence[Group]) -> list[float]:
    return [float(bar.value) for group in groups for bar in group.bars]


@dataclass(frozen=True)
class _Scale:
    """Values to places along the value axis: ``ticks[0]`` at ``start``, ``ticks[-1]``
    at ``end``."""

    ticks: list[Amount]
    start: float
    end: float

    def at(self, value: Number) -> float:
        low, high = float(self.ticks[0]), float(self.ticks[-1])
        return self.start + (self.end - self.start) * (float(value) - low) / (high - low)


def _length(scale: _Scale, value: Number) -> float:
    """A bar's length: to scale, and long enough to see and click when not zero."""
    length = abs(scale.at(value) - scale.at(0))
    return max(length, 2.0) if value else 0.0


def _tip(group: Group, kind: Series, bar: Bar, tick_text: TickText) -> str:
    return f"{group.label} · {kind.label}: {bar.text or tick_text(Amount(str(bar.value)))}"


def horizontal(
    groups: Sequence[Group],
    series: Sequence[Series],
    *,
    title: str,
    tick_text: TickText = format_number,
    width: int = 480,
    label_width: int = 150,
    values: bool = True,
    legend: Sequence[Series] | None = None,
) -> Chart:
    """Bars from the zero line to the right (a negative value to the left), a group per
    row: labels on the left, the value axis below, the legend above."""
    entries, top = _legend(legend if legend is not None else series, label_width + 8, width)
    bar_height, bar_gap, group_gap, axis = 16, 2, 12, 22
    top = max(top, 6.0)
    group_height = len(series) * (bar_height + bar_gap) - bar_gap + group_gap
    height = int(top + len(groups) * group_height + axis)
    found = _values(groups)
    ticks = nice_ticks(min(found, default=0), max(found, default=0), 3)
    left = label_width + 8
    right = width - (84 if values else 12)  # room for the value beside the longest bar
    scale = _Scale(ticks, left, right)
    bottom = height - axis
    chart = Chart(title, width, height, Box(left, top, right, bottom), _round(scale.at(0)))
    chart.legend.extend(entries)
    for tick in ticks:
        x = _round(scale.at(tick))
        chart.lines.append(Line(x, top, x, bottom))
        chart.texts.append(Text(x, bottom + 15, tick_text(tick), "middle", "tick"))
    for index, group in enumerate(groups):
        y = top + index * group_height
        middle = y + (group_height - group_gap) / 2 + 4
        label = _shortened(group.label, int(label_width / CHAR_WIDTH) - 3)
        chart.texts.append(
            Text(label_width, _round(middle), label, "end", "label", group.href, group.label)
        )
        for number, (bar, kind) in enumerate(zip(group.bars, series, strict=True)):
            bar_y = _round(y + number * (bar_height + bar_gap))
            length = _length(scale, bar.value)
            x = chart.zero if bar.value >= 0 else chart.zero - length
            tip = _tip(group, kind, bar, tick_text)
            css = bar.css or kind.css
            chart.rects.append(
                Rect(_round(x), bar_y, _round(length), bar_height, css, bar.href, tip)
            )
            if values:
                at, anchor = (x + length + 4, "start") if bar.value >= 0 else (x - 4, "end")
                short = bar.short or bar.text
                chart.texts.append(Text(_round(at), bar_y + bar_height - 4, short, anchor, "value"))
    chart.lines.append(Line(chart.zero, top, chart.zero, bottom, "axis"))
    chart.lines.append(Line(left, bottom, right, bottom, "axis"))
    return chart


def vertical(
    groups: Sequence[Group],
    series: Sequence[Series],
    *,
    title: str,
    tick_text: TickText = format_number,
    width: int = 420,
    height: int = 240,
    values: bool = True,
    max_labels: int = 12,
    legend: Sequence[Series] | None = None,
) -> Chart:
    """Bars up from the zero line (a negative value down from it), groups side by side:
    labels below (of every few groups when there are more than ``max_labels`` or they
    are longer than a group is wide), the value axis on the left, the legend above.
    ``values`` writes each bar's value at its end (a chart of few bars; one of many
    leaves them to its table)."""
    found = _values(groups)
    ticks = nice_ticks(min(found, default=0), max(found, default=0))
    tick_texts = [tick_text(t) for t in ticks]
    left = max(24.0, 10 + CHAR_WIDTH * max(len(t) for t in tick_texts))
    right = width - 8.0
    entries, legend_height = _legend(legend if legend is not None else series, left, width)
    value_room = 14.0 if values else 6.0
    top = legend_height + value_room
    below = value_room if values and ticks[0] < 0 else 0.0
    bottom = height - 28.0 - below
    scale = _Scale(ticks, bottom, top)
    chart = Chart(title, width, height, Box(left, top, right, bottom), _round(scale.at(0)))
    chart.legend.extend(entries)
    for tick, text in zip(ticks, tick_texts, strict=True):
        y = _round(scale.at(tick))
        chart.lines.append(Line(left, y, right, y))
        chart.texts.append(Text(left - 6, y + 4, text, "end", "tick"))
    slot = (right - left) / max(len(groups), 1)
    bar_width = min(48.0, slot * 0.8 / max(len(series), 1))
    gap = 2.0 if bar_width > 6 else 0.0
    # The bars of a group stand as far apart as their values are wide (within the
    # group's room), so that two bars of about the same height do not write their
    # values over each other.
    pitch = bar_width
    if values and len(series) > 1:
        widest = max((len(b.short or b.text) for g in groups for b in g.bars), default=0)
        room = (slot * 0.95 - bar_width) / (len(series) - 1)
        pitch = max(bar_width, min(widest * CHAR_WIDTH + 6, room))
    spread = pitch * (len(series) - 1) + bar_width
    # Every few groups get their label: no more than ``max_labels``, and the longest
    # fits in the room of the groups it stands for (shortened only if one does not).
    longest = max((len(group.label) for group in groups), default=0) + 1
    every = max(math.ceil(len(groups) / max(max_labels, 1)), math.ceil(longest * CHAR_WIDTH / slot))
    for index, group in enumerate(groups):
        start = left + index * slot + (slot - spread) / 2
        for number, (bar, kind) in enumerate(zip(group.bars, series, strict=True)):
            x = _round(start + number * pitch)
            length = _length(scale, bar.value)
            y = chart.zero - length if bar.value >= 0 else chart.zero
            tip = _tip(group, kind, bar, tick_text)
            css = bar.css or kind.css
            chart.rects.append(
                Rect(x, _round(y), _round(bar_width - gap), _round(length), css, bar.href, tip)
            )
            if values:
                at = y - 4 if bar.value >= 0 else y + length + 12
                middle = _round(x + (bar_width - gap) / 2)
                short = bar.short or bar.text
                chart.texts.append(Text(middle, _round(at), short, "middle", "value"))
        if index % every == 0:
            middle = _round(left + index * slot + slot / 2)
            label = _shortened(group.label, int(slot * every / CHAR_WIDTH) - 1)
            chart.texts.append(
                Text(middle, height - 10, label, "middle", "label", group.href, group.label)
            )
    chart.lines.append(Line(left, top, left, bottom, "axis"))
    chart.lines.append(Line(left, chart.zero, right, chart.zero, "axis"))
    return chart
