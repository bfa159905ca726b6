"""Bar charts drawn on the server as inline SVG: no script, no chart library.

A chart is groups of bars, one bar per series (a deal phase with its value and weighted
value; a month with its forecast and realised amount). :func:`horizontal` and
:func:`vertical` work out where everything goes; ``web/templates/_chart.html`` draws
the result. Every bar and group label may be a link to the list behind it. Colours and
type sizes are classes of ``/static/dashboard.css`` (the Content-Security-Policy
forbids inline styles; SVG geometry is attributes, which it allows), and the legend is
the series' names beside swatches of the same classes.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Number = int | float | decimal.Decimal


@dataclass(frozen=True)
class Series:
    """One kind of bar: its name in the legend and its colour class (``s0``, ``s1``)."""

    label: Any
    css: str


@dataclass(frozen=True)
class Bar:
    """One figure: its value, the list behind it, the value written out in full (for
    its tooltip) and short (beside the bar)."""

    value: Number
    href: str
    text: str
    short: str = ""


@dataclass(frozen=True)
class Group:
    label: str
    bars: Sequence[Bar]
    href: str = ""


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
class Chart:
    title: str
    width: int
    height: int
    series: tuple[Series, ...]
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


def ticks(top: float, count: int = 4) -> list[float]:
    """Round values for an axis from 0 to at least ``top``: about ``count`` steps of 1,
    2, 2.5 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _round(value: float) -> float:
    return round(value, 1)


def _scale(groups: Sequence[Group], count: int = 4) -> list[float]:
    top = max((float(bar.value) for group in groups for bar in group.bars), default=0.0)
    return ticks(top, count)


def horizontal(
    groups: Sequence[Group],
    series: Sequence[Series],
    *,
    title: str,
    tick_text: Callable[[float], str],
    width: int = 480,
    label_width: int = 150,
) -> Chart:
    """Bars from left to right, a group per row (labels on the left, the value axis
    below)."""
    bar_height, bar_gap, group_gap, top, axis = 16, 2, 12, 6, 22
    group_height = len(series) * (bar_height + bar_gap) - bar_gap + group_gap
    height = top + len(groups) * group_height + axis
    left, right = label_width + 8, width - 84  # room for the value beside the longest bar
    scale = _scale(groups, 3)

    def x_of(value: float) -> float:
        return left + (right - left) * value / scale[-1]

    chart = Chart(title, width, height, tuple(series))
    for index, group in enumerate(groups):
        y = top + index * group_height
        middle = y + (group_height - group_gap) / 2 + 4
        label = _shortened(group.label, 18)  # about 150 units of 13px text
        chart.texts.append(
            Text(label_width, _round(middle), label, "end", "label", group.href, group.label)
        )
        for number, (bar, kind) in enumerate(zip(group.bars, series, strict=True)):
            bar_y = y + number * (bar_height + bar_gap)
            length = x_of(float(bar.value)) - left
            if bar.value > 0:
                length = max(length, 2.0)
            tip = f"{group.label} · {kind.label}: {bar.text}"
            chart.rects.append(
                Rect(left, bar_y, _round(length), bar_height, kind.css, bar.href, tip)
            )
            value_at = _round(left + length + 4)
            chart.texts.append(
                Text(value_at, bar_y + bar_height - 4, bar.short or bar.text, css="value")
            )
    bottom = height - axis
    for tick in scale:
        x = _round(x_of(tick))
        chart.lines.append(Line(x, top, x, bottom))
        chart.texts.append(Text(x, bottom + 15, tick_text(tick), "middle", "tick"))
    chart.lines.append(Line(left, top, left, bottom, "axis"))
    chart.lines.append(Line(left, bottom, right, bottom, "axis"))
    return chart


def vertical(
    groups: Sequence[Group],
    series: Sequence[Series],
    *,
    title: str,
    tick_text: Callable[[float], str],
    width: int = 420,
    height: int = 230,
) -> Chart:
    """Bars from the bottom up, groups side by side (labels below, the value axis on
    the left)."""
    left, right, top, bottom = 72, width - 8, 18, height - 30
    scale = _scale(groups)
    slot = (right - left) / max(len(groups), 1)
    bar_width = min(48.0, slot * 0.7 / max(len(series), 1))

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / scale[-1]

    chart = Chart(title, width, height, tuple(series))
    for tick in scale:
        y = _round(y_of(tick))
        chart.lines.append(Line(left, y, right, y))
        chart.texts.append(Text(left - 6, y + 4, tick_text(tick), "end", "tick"))
    for index, group in enumerate(groups):
        start = left + index * slot + (slot - bar_width * len(series)) / 2
        for number, (bar, kind) in enumerate(zip(group.bars, series, strict=True)):
            x = _round(start + number * bar_width)
            length = bottom - y_of(float(bar.value))
            if bar.value > 0:
                length = max(length, 2.0)
            tip = f"{group.label} · {kind.label}: {bar.text}"
            chart.rects.append(
                Rect(
                    x,
                    _round(bottom - length),
                    _round(bar_width - 2),
                    _round(length),
                    kind.css,
                    bar.href,
                    tip,
                )
            )
            chart.texts.append(
                Text(
                    _round(x + bar_width / 2 - 1),
                    _round(bottom - length - 4),
                    bar.short or bar.text,
                    "middle",
                    "value",
                )
            )
        middle = _round(left + index * slot + slot / 2)
        chart.texts.append(Text(middle, height - 10, group.label, "middle", "label", group.href))
    chart.lines.append(Line(left, top, left, bottom, "axis"))
    chart.lines.append(Line(left, bottom, right, bottom, "axis"))
    return chart
