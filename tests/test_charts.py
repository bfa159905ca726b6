"""Server-drawn bar charts (groupware/charts.py): round axes, bars to scale, every bar a
link, nothing drawn outside the picture."""

from __future__ import annotations

import decimal

import pytest

from groupware import charts

SERIES = (charts.Series("Value", "s0"), charts.Series("Weighted", "s1"))


def _group(label: str, *values: float) -> charts.Group:
    bars = [
        charts.Bar(decimal.Decimal(str(v)), f"/list?{label}={i}", f"{v} €")
        for i, v in enumerate(values)
    ]
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
    found = charts.ticks(top)
    assert found == pytest.approx(expected)
    assert found[-1] >= top


def test_horizontal_bars_are_to_scale_and_link_to_their_lists() -> None:
    chart = charts.horizontal(
        [_group("Offer", 400, 100), _group("Won", 0, 0)],
        SERIES,
        title="Deals",
        tick_text=lambda v: f"{v:g}",
    )
    offer, weighted, won, nothing = chart.rects
    assert offer.width == pytest.approx(4 * weighted.width, abs=0.2)
    assert (offer.css, weighted.css) == ("s0", "s1")
    assert offer.href == "/list?Offer=0" and offer.title == "Offer · Value: 400 €"
    assert won.width == nothing.width == 0  # nothing to draw (and to click) for nothing
    assert [t.text for t in chart.texts if t.css == "tick"] == ["0", "200", "400"]  # 3 steps: room
    labels = [t for t in chart.texts if t.css == "label"]
    assert [(t.text, t.href, t.anchor) for t in labels] == [
        ("Offer", "/list?Offer", "end"),
        ("Won", "/list?Won", "end"),
    ]
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


def _inside(chart: charts.Chart) -> None:
    for rect in chart.rects:
        assert rect.x >= 0 and rect.x + rect.width <= chart.width
        assert rect.y >= 0 and rect.y + rect.height <= chart.height
    for line in chart.lines:
        assert min(line.x1, line.x2) >= 0 and max(line.x1, line.x2) <= chart.width
        assert min(line.y1, line.y2) >= 0 and max(line.y1, line.y2) <= chart.height
    for text in chart.texts:
        assert 0 <= text.x <= chart.width and 0 <= text.y <= chart.height
