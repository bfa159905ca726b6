"""Server-drawn bar charts: round ticks, bars on the right scale, local month names."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from groupware import charts
from groupware.i18n import use_language

D = decimal.Decimal


def test_ticks_are_round_and_hold_zero_and_the_extremes() -> None:
    assert charts.nice_ticks(D(0), D(1234)) == [D(0), D(500), D(1000), D(1500)]
    assert charts.nice_ticks(D(-50), D(100)) == [D(-50), D(0), D(50), D(100)]
    assert charts.nice_ticks(D(0), D(0)) == [D(0), D("0.25"), D("0.5"), D("0.75"), D(1)]
    assert charts.nice_ticks(D(3), D(9)) == [D(0), D("2.5"), D(5), D("7.5"), D(10)]


def test_bars_stand_on_the_zero_line_at_their_scale_with_a_legend() -> None:
    series = [
        charts.Series("Forecast", [D(100), D(0), D(-50)]),
        charts.Series("Won", [D(50), D(25), D(0)]),
    ]
    chart = charts.bar_chart("T", ["a", "b", "c"], series, value_text=str)
    assert chart.legend == [("s1", "Forecast"), ("s2", "Won")]
    (up, won), (_empty, quarter), (down, _none) = (c.bars for c in chart.categories)
    assert up.y + up.height == pytest.approx(chart.zero_y)
    assert up.height == pytest.approx(2 * won.height, abs=0.2)
    assert up.height == pytest.approx(4 * quarter.height, abs=0.2)
    assert down.y == chart.zero_y and down.height == pytest.approx(won.height, abs=0.2)
    assert up.title == "a · Forecast: 100" and up.css == "s1" and won.css == "s2"
    assert [t.label for t in chart.ticks] == ["-50", "0", "50", "100"]
    assert chart.ticks[-1].y == chart.plot_top and chart.ticks[0].y == chart.plot_bottom


def test_months_are_written_the_local_way() -> None:
    with use_language("hr"):
        assert charts.month_label(dt.date(2026, 4, 1)) == "tra 2026"
        assert charts.month_label(dt.date(2026, 1, 1), long=True) == "siječanj 2026"
    with use_language("en"):
        assert charts.month_label(dt.date(2026, 4, 1)) == "Apr 2026"
