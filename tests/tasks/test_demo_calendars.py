"""The demo company's calendars and tasks."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from groupware.caldav import occupancy
from groupware.caldav.models import CalendarItem
from groupware.tasks.models import Task
from tests.conftest import Demo


def test_the_demo_fills_calendars_and_tasks_at_every_stage(demo_company: Demo) -> None:
    assert demo_company.loaded is True
    with demo_company.reading() as session:
        events = session.scalar(
            select(func.count()).where(
                CalendarItem.component == "VEVENT", CalendarItem.ics.is_not(None)
            )
        )
        assert events is not None and events > 100
        tasks = list(session.scalars(select(Task)))
        answers = Counter(t.response for t in tasks)
        assert all(answers[a] > 0 for a in ("pending", "accepted", "rejected")), answers
        assert any(t.status == "done" for t in tasks)
        assert any(t.owner_id is None and t.team_id for t in tasks)  # waiting in a team
        live_todos = (CalendarItem.source.like("task:%"), CalendarItem.ics.is_not(None))
        todos = session.scalar(select(func.count()).where(*live_todos))
        assert todos == sum(1 for t in tasks if t.owner_id is not None)
        ivana = next(t.owner_id for t in tasks if t.title == "Obilazak Konzuma")
        assert ivana is not None
        now = dt.datetime.now(dt.UTC)
        busy = occupancy.busy(
            session, ivana, [ivana], now - dt.timedelta(days=7), now + dt.timedelta(days=14)
        )
        assert {b.kind for b in busy} == {"event", "task"}
