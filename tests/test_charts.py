"""Server-drawn bar charts (groupware/charts.py): round axes holding zero, bars to scale
on both sides of the zero line, every bar a link where it has a list, a legend naming
the series, local month names, nothing drawn outside the picture."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from groupware import charts
from groupware.i18n import use_language

D = decimal.Decimal
SERIES = (charts.Series("Value", "s1"), charts.Series("Weighted", "s2"))


def _group(label: str, *values: float) -> charts.Group:
    bars = [charts.Bar(D(str(v)), f"/list?{label}={i}", f"{v} €") for i, v in enumerate(values)]
    return charts.Group(label, bars, f"/list?{label}")


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        (0, [0.0, 1.0]),
        (7, [0, 2, 4, 6, 8]),
        (100, [0, 25, 50, 75, 100]),
        (771_000, [0, 200_000, 400_000, 600_000, 800_000]),
        (0.3, [0, 0.1, 0.2, 0.3]),
    ],
)
def test_axis_ticks_are_round_and_reach_the_top(top: float, expected: list[float]) -> None:
    found = charts.nice_ticks(0, top)
    assert [float(t) for t in found] == pytest.approx(expected)
    assert found[-1] >= D(str(top))


def test_ticks_are_round_and_hold_zero_and_the_extremes() -> None:
    assert charts.nice_ticks(D(0), D(1234)) == [D(0), D(500), D(1000), D(1500)]
    assert charts.nice_ticks(D(-50), D(100)) == [D(-50), D(0), D(50), D(100)]
    assert charts.nice_ticks(D(0), D(0)) == [D(0), D(1)]  # nothing to show: one step
    assert charts.nice_ticks(D(3), D(9)) == [D(0), D("2.5"), D(5), D("7.5"), D(10)]
    assert charts.nice_ticks(D(0), D(400), 3) == [D(0), D(200), D(400)]


def test_horizontal_bars_are_to_scale_and_link_to_their_lists() -> None:
    chart = charts.horizontal(
        [_group("Offer", 400, 100), _group("Won", 0, 0)],
        SERIES,
        title="Deals",
        tick_text=lambda v: f"{v:g}",
    )
    offer, weighted, won, nothing = chart.rects
    assert offer.width == pytest.approx(4 * weighted.width, abs=0.2)
    assert offer.x == weighted.x == chart.zero  # from the zero line
    assert (offer.css, weighted.css) == ("s1", "s2")
    assert offer.href == "/list?Offer=0" and offer.title == "Offer · Value: 400 €"
    assert won.width == nothing.width == 0  # nothing to draw (and to click) for nothing
    assert [t.text for t in chart.texts if t.css == "tick"] == ["0", "200", "400"]  # 3 steps: room
    labels = [t for t in chart.texts if t.css == "label"]
    assert [(t.text, t.href, t.anchor) for t in labels] == [
        ("Offer", "/list?Offer", "end"),
        ("Won", "/list?Won", "end"),
    ]
    assert [(e.css, e.label) for e in chart.legend] == [("s1", "Value"), ("s2", "Weighted")]
    assert all(e.y + 12 <= offer.y for e in chart.legend)  # the legend above the bars
    _inside(chart)


def test_a_small_figure_still_gets_a_bar_one_can_click() -> None:
    chart = charts.horizontal(
        [_group("Big", 1_000_000, 1)], SERIES, title="x", tick_text=lambda v: f"{v:g}"
    )
    assert chart.rects[1].width == 2.0


def test_long_labels_are_shortened_with_the_whole_in_the_tooltip() -> None:
    name = "Usporedba ponuda dobavljača (12)"
    chart = charts.horizontal([_group(name, 5, 1)], SERIES, title="x", tick_text=str)
    [label] = [t for t in chart.texts if t.css == "label"]
    assert label.text == "Usporedba ponuda…" and label.title == name


def test_vertical_groups_stand_side_by_side_on_a_common_scale() -> None:
    chart = charts.vertical(
        [_group("December", 300, 150), _group("Q4", 900, 600)],
        SERIES,
        title="Forecast",
        tick_text=lambda v: f"{v:g}",
    )
    month, month_won, quarter, quarter_won = chart.rects
    assert quarter.height == pytest.approx(3 * month.height, abs=0.2)
    assert month.y + month.height == quarter.y + quarter.height  # one baseline
    assert month.x < month_won.x < quarter.x < quarter_won.x
    assert [t.text for t in chart.texts if t.css == "label"] == ["December", "Q4"]
    assert [t.text for t in chart.texts if t.css == "value"] == ["300 €", "150 €", "900 €", "600 €"]
    _inside(chart)


def test_values_of_bars_of_about_the_same_height_are_written_side_by_side() -> None:
    def bar(value: int, text: str) -> charts.Bar:
        return charts.Bar(D(value), text=text, short=text)

    groups = [
        charts.Group("prosinac 2026", [bar(86_230, "86,2 tis. €"), bar(58_100, "58,1 tis. €")]),
        charts.Group("4. tromjesečje", [bar(86_230, "86,2 tis. €"), bar(843_250, "843,2 tis. €")]),
    ]
    chart = charts.vertical(groups, SERIES, title="Forecast", tick_text=lambda v: f"{v:g}")
    values = [t for t in chart.texts if t.css == "value"]
    for left, right in ((values[0], values[1]), (values[2], values[3])):
        half_widths = (len(left.text) + len(right.text)) / 2 * charts.CHAR_WIDTH
        assert right.x - left.x >= half_widths
    december, won = chart.rects[:2]
    assert won.x - (december.x + december.width) > 0  # the bars themselves apart
    _inside(chart)


def test_bars_stand_on_the_zero_line_at_their_scale_with_a_legend() -> None:
    forecast, won = charts.Series("Forecast", "s1"), charts.Series("Won", "s2")
    groups = [
        charts.Group(name, [charts.Bar(D(f), text=str(f)), charts.Bar(D(w), text=str(w))])
        for name, f, w in (("a", 100, 50), ("b", 0, 25), ("c", -50, 0))
    ]
    chart = charts.vertical(groups, (forecast, won), title="T", values=False)
    assert [(e.css, e.label) for e in chart.legend] == [("s1", "Forecast"), ("s2", "Won")]
    up, won_bar, _empty, quarter, down, _none = chart.rects
    assert up.y + up.height == pytest.approx(chart.zero)
    assert up.height == pytest.approx(2 * won_bar.height, abs=0.2)
    assert up.height == pytest.approx(4 * quarter.height, abs=0.2)
    assert down.y == chart.zero and down.height == pytest.approx(won_bar.height, abs=0.2)
    assert up.title == "a · Forecast: 100" and up.css == "s1" and won_bar.css == "s2"
    assert not up.href and not [t for t in chart.texts if t.css == "value"]
    ticks = [t for t in chart.texts if t.css == "tick"]
    assert [t.text for t in ticks] == ["-50", "0", "50", "100"]
    grid = [line.y1 for line in chart.lines if line.css == "grid"]
    assert grid[-1] == chart.plot.top and grid[0] == chart.plot.bottom
    _inside(chart)


def test_a_bar_may_have_a_colour_of_its_own_and_the_legend_more_entries() -> None:
    net, credit = charts.Series("Net", "s2"), charts.Series("Credit notes", "neg")
    groups = [charts.Group("x", [charts.Bar(D(-10), css="neg")])]
    chart = charts.vertical(groups, (net,), title="T", legend=(net, credit))
    [bar] = chart.rects
    assert bar.css == "neg" and [e.label for e in chart.legend] == ["Net", "Credit notes"]


def test_many_groups_are_labelled_every_few_and_a_wide_legend_wraps() -> None:
    series = [charts.Series(f"A long name of series {n}", f"s{n}") for n in range(1, 5)]
    groups = [charts.Group(f"m{n}", [charts.Bar(n)] * 4) for n in range(24)]
    chart = charts.vertical(groups, series, title="T", width=480, values=False, max_labels=4)
    assert [t.text for t in chart.texts if t.css == "label"] == ["m0", "m6", "m12", "m18"]
    assert len({e.y for e in chart.legend}) > 1  # more than one row
    assert all(e.x + 18 + 7 * len(e.label) <= chart.width for e in chart.legend)
    _inside(chart)


def test_months_are_written_the_local_way() -> None:
    with use_language("hr"):
        assert charts.month_label(dt.date(2026, 4, 1)) == "tra 2026"
        assert charts.month_label(dt.date(2026, 1, 1), long=True) == "siječanj 2026"
    with use_language("en"):
        assert charts.month_label(dt.date(2026, 4, 1)) == "Apr 2026"


def _inside(chart: charts.Chart) -> None:
    for rect in chart.rects:
        assert rect.x >= 0 and rect.x + rect.width <= chart.width
        assert rect.y >= 0 and rect.y + rect.height <= chart.height
    for line in chart.lines:
        assert min(line.x1, line.x2) >= 0 and max(line.x1, line.x2) <= chart.width
        assert min(line.y1, line.y2) >= 0 and max(line.y1, line.y2) <= chart.height
    for text in chart.texts:
        assert 0 <= text.x <= chart.width and 0 <= text.y <= chart.height
    for entry in chart.legend:
        assert 0 <= entry.x <= chart.width and 0 <= entry.y <= chart.height
