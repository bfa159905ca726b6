"""The demo company as its users first see it: a few unread notifications of late
work among the read ones of the weeks before, no alert e-mail about the past, and
late deals the minority of the open ones."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from groupware.accounts.models import User
from groupware.deals.models import Deal
from groupware.demo import STEPS, USERS
from groupware.i18n import today
from groupware.mail.models import MailEntry, MailMessage
from groupware.notifications.models import Notification
from groupware.notifications.service import unread_count
from groupware.phases.models import Alert
from tests.conftest import Demo

MOST_UNREAD = 12  # what a person may find waiting on a Monday morning


def test_the_demo_users_start_with_a_few_unread_notifications(demo_company: Demo) -> None:
    with demo_company.reading() as session:
        users = list(session.scalars(select(User).where(User.username.in_([u[0] for u in USERS]))))
        assert len(users) == len(USERS)
        unread = {u.username: unread_count(session, u.id) for u in users}
        assert all(1 <= n <= MOST_UNREAD for n in unread.values()), unread
        # The alerts of the weeks before are there, read, on the days they were raised.
        read = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.read_at.is_not(None))
        )
        assert read and read > sum(unread.values())
        raised = list(session.scalars(select(Alert.raised_at)))
        assert raised and min(raised).date() < today() - dt.timedelta(days=14)


def test_the_demo_mails_nobody_about_alerts_of_its_past(demo_company: Demo) -> None:
    with demo_company.reading() as session:
        digests = session.scalar(
            select(func.count())
            .select_from(MailEntry)
            .join(MailMessage)
            .where(MailMessage.subject.contains("alert"))
        )
        assert digests == 0


def test_late_deals_are_the_minority_of_the_open_ones(demo_company: Demo) -> None:
    day = today()
    with demo_company.reading() as session:
        open_deals = list(session.scalars(select(Deal).where(Deal.status == "open")))
        late = Counter(
            (d.phase_due is not None and d.phase_due < day)
            or (d.expected_close is not None and d.expected_close < day)
            for d in open_deals
        )
        assert 0 < late[True] < len(open_deals) / 2, late


def test_the_demo_tells_each_step_of_its_load(demo_company: Demo) -> None:
    assert demo_company.loaded is True
    assert demo_company.steps == tuple(f"{n} {name}" for n, name in enumerate(STEPS))
