"""Bar charts drawn on the server as SVG: the Content-Security-Policy allows no script and
no inline style, so the numbers here place every bar, tick and label, and the macro of
``web/templates/_chart.html`` only writes them out. A chart has a value axis with
round ticks, a legend naming each series, and the same figures in a table beside it
(the page's), for those who would rather read than look.

Month labels come from :func:`month_label` (Babel: "sij 2026" in Croatian, "Jan 2026"
in English).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from babel import dates as babel_dates

from groupware.i18n import current_language, format_number

Amount = decimal.Decimal
# The colours of the series, in order (classes styled in app.css).
SERIES_CLASSES = ("s1", "s2", "s3", "s4")


def month_label(month: dt.date, *, long: bool = False) -> str:
    """A month the local way: "sij 2026" / "siječanj 2026" in Croatian."""
    locale = "hr_HR" if current_language() == "hr" else "en_GB"
    return babel_dates.format_date(month, "LLLL yyyy" if long else "LLL yyyy", locale=locale)


def nice_ticks(low: Amount, high: Amount, count: int = 4) -> list[Amount]:
    """Round values from at most ``low`` to at least ``high`` (about ``count`` steps of
    1, 2, 2.5 or 5 times a power of ten), zero among them."""
    low, high = min(low, Amount(0)), max(high, Amount(0))
    if high == low:
        high = low + 1
    rough = (high - low) / count
    power = Amount(10) ** (rough.adjusted())
    step = next(
        power * m
        for m in (Amount(1), Amount(2), Amount("2.5"), Amount(5), Amount(10))
        if power * m >= rough
    )
    first = (low / step).to_integral_value(rounding=decimal.ROUND_FLOOR) * step
    ticks = [first]
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return [t.normalize() if t else Amount(0) for t in ticks]


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Amount]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Category:
    label: str
    x: float  # the middle of its bars
    bars: list[Bar]
    labelled: bool  # whether its label is written under it (room for every few)


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    categories: list[Category]
    ticks: list[Tick]
    legend: list[tuple[str, str]]  # (class, series label)
    width: int
    height: int
    left: float
    plot_top: float
    plot_bottom: float
    zero_y: float

    @property
    def right(self) -> float:
        return self.width - 8


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_text: Callable[[Amount], str],
    width: int = 640,
    height: int = 300,
    max_labels: int = 12,
) -> BarChart:
    """Grouped bars: one group per category, one bar per series (negative values go
    below the zero line). ``value_text`` writes a value in a bar's tooltip."""
    values = [v for s in series for v in s.values]
    ticks = nice_ticks(min(values, default=Amount(0)), max(values, default=Amount(0)))
    low, high = ticks[0], ticks[-1]
    tick_texts = [format_number(t) for t in ticks]
    left = 10 + 7.5 * max(len(t) for t in tick_texts)
    plot_top, plot_bottom = 40.0, height - 34.0
    scale = (plot_bottom - plot_top) / float(high - low)

    def y_of(value: Amount) -> float:
        return round(plot_bottom - float(value - low) * scale, 1)

    zero_y = y_of(Amount(0))
    step = (width - 8 - left) / max(len(categories), 1)
    bar_width = step * 0.8 / max(len(series), 1)
    every = max(1, -(-len(categories) // max_labels))
    groups = []
    for index, name in enumerate(categories):
        start = left + index * step + step * 0.1
        bars = []
        for number, one in enumerate(series):
            value = one.values[index]
            top = y_of(max(value, Amount(0)))
            bars.append(
                Bar(
                    x=round(start + number * bar_width, 1),
                    y=top,
                    width=round(bar_width, 1),
                    height=round(abs(y_of(value) - zero_y), 1),
                    css=SERIES_CLASSES[number % len(SERIES_CLASSES)],
                    title=f"{name} · {one.label}: {value_text(value)}",
                )
            )
        groups.append(Category(name, round(start + step * 0.4, 1), bars, index % every == 0))
    return BarChart(
        title=title,
        categories=groups,
        ticks=[Tick(y_of(t), text) for t, text in zip(ticks, tick_texts, strict=True)],
        legend=[(SERIES_CLASSES[n % len(SERIES_CLASSES)], s.label) for n, s in enumerate(series)],
        width=width,
        height=height,
        left=round(left, 1),
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        zero_y=zero_y,
    )
