"""The shared pieces of the look (web/templates/_ui.html): icons and the overdue mark."""

from __future__ import annotations

import datetime as dt

from groupware.app import make_templates
from groupware.i18n import use_language

TODAY = dt.date(2026, 12, 7)
ui = make_templates().globals["ui"]


def test_an_icon_is_hidden_beside_words_and_named_alone() -> None:
    assert str(ui.icon("mail")) == (
        '<svg class="icon" aria-hidden="true" focusable="false">'
        '<use href="/static/icons/icons.svg#mail"></use></svg>'
    )
    assert 'role="img" aria-label="Pošta"' in str(ui.icon("mail", "Pošta"))


def test_nothing_is_marked_that_is_not_late() -> None:
    with use_language("en"):
        assert str(ui.overdue(TODAY, 3, None)).strip() == ""
        assert str(ui.overdue(TODAY, 3, TODAY, TODAY + dt.timedelta(days=2))).strip() == ""


def test_late_within_the_grace_days_is_calm_and_past_them_red() -> None:
    with use_language("en"):
        calm = str(ui.overdue(TODAY, 3, TODAY - dt.timedelta(days=2)))
        red = str(ui.overdue(TODAY, 3, None, TODAY - dt.timedelta(days=9), TODAY))
    assert 'class="chip overdue"' in calm and "2 days late" in calm and "#clock" in calm
    assert 'class="chip overdue escalated"' in red and "9 days late" in red
    assert "#triangle-alert" in red


def test_a_task_due_earlier_today_is_overdue_in_words() -> None:
    now = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
    with use_language("hr"):
        mark = str(ui.overdue(now, 3, now - dt.timedelta(hours=3)))
        days = str(ui.overdue(now, 3, now - dt.timedelta(days=1, hours=1)))
    assert "dospjelo" in mark and "escalated" not in mark
    assert "1 dan kašnjenja" in days
