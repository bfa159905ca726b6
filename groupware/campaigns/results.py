"""A campaign's results beyond its deals' totals (``service.results``): its targets by
status and how many answered against the expected responses, and what happened when,
per week and per phase of the campaign: responses, deals opened, won and lost, revenue
won in the campaign's currency. Everything through the access filter (targets of the
partners the reader may see, deals the reader may see), from a few grouped queries:
counts per day, bucketed here."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, String, and_, case, cast, func, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, visible
from groupware.campaigns import targets
from groupware.campaigns.models import RESPONSES, Campaign, CampaignTarget
from groupware.campaigns.service import phases_of
from groupware.crm.models import Partner
from groupware.db import cents
from groupware.deals.models import Deal
from groupware.i18n import today
from groupware.phases.models import Phase

MAX_WEEKS = 104  # a longer campaign shows its last two years by week


@dataclass
class Period:
    """What happened in a period (a week, a phase)."""

    label: str
    starts: dt.date
    ends: dt.date  # the last day
    responses: int = 0
    opened: int = 0
    won: int = 0
    lost: int = 0
    revenue: decimal.Decimal = field(default_factory=lambda: decimal.Decimal("0.00"))

    def add(self, day: Day) -> None:
        self.responses += day.responses
        self.opened += day.opened
        self.won += day.won
        self.lost += day.lost
        self.revenue += day.revenue


@dataclass
class Day:
    responses: int = 0
    opened: int = 0
    won: int = 0
    lost: int = 0
    revenue: decimal.Decimal = field(default_factory=lambda: decimal.Decimal("0.00"))


@dataclass(frozen=True)
class TargetResults:
    """The targets by status, and the responses against the expected ones."""

    statuses: dict[str, int]
    expected: int

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def responses(self) -> int:
        return sum(self.statuses[s] for s in RESPONSES)

    @property
    def response_rate(self) -> decimal.Decimal | None:
        """Responses as a percentage of the targets; None without targets."""
        if not self.total:
            return None
        return (decimal.Decimal(self.responses) * 100 / self.total).quantize(decimal.Decimal("0.1"))

    @property
    def goal_rate(self) -> decimal.Decimal | None:
        """Responses as a percentage of the expected ones; None without a goal."""
        if not self.expected:
            return None
        rate = decimal.Decimal(self.responses) * 100 / self.expected
        return rate.quantize(decimal.Decimal("0.1"))


def target_results(session: Session, who: Who, campaign: Campaign) -> TargetResults:
    return TargetResults(targets.status_counts(session, who, campaign), campaign.expected_responses)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def days(session: Session, who: Who, campaign: Campaign) -> dict[dt.date, Day]:
    """The campaign's events per day: first responses of its targets, its deals opened
    (by their start), won and lost (by their close), revenue won in its currency."""
    found: dict[dt.date, Day] = {}
    if session.get_bind().dialect.name == "sqlite":  # its CAST AS DATE gives the year
        answered: Any = func.date(CampaignTarget.responded_at, type_=String)
    else:
        answered = cast(CampaignTarget.responded_at, Date)
    rows = session.execute(
        select(answered, func.count())
        .join(Partner, Partner.id == CampaignTarget.partner_id)
        .where(
            CampaignTarget.campaign_id == campaign.id,
            CampaignTarget.responded_at.is_not(None),
            visible(Partner, who),
        )
        .group_by(answered)
    )
    for day, count in rows:
        found.setdefault(_as_date(day), Day()).responses += int(count)
    mine = (Deal.campaign_id == campaign.id, visible(Deal, who, whole=True))
    for day, count in session.execute(
        select(Deal.started_on, func.count()).where(*mine).group_by(Deal.started_on)
    ):
        found.setdefault(_as_date(day), Day()).opened += int(count)
    won_here = case(
        (and_(Deal.status == "won", Deal.currency == campaign.currency), Deal.amount), else_=0
    )
    closed = session.execute(
        select(
            Deal.closed_on,
            func.sum(case((Deal.status == "won", 1), else_=0)),
            func.sum(case((Deal.status == "lost", 1), else_=0)),
            func.sum(won_here),
        )
        .where(*mine, Deal.closed_on.is_not(None))
        .group_by(Deal.closed_on)
    )
    for day, won, lost, revenue in closed:
        entry = found.setdefault(_as_date(day), Day())
        entry.won += int(won or 0)
        entry.lost += int(lost or 0)
        entry.revenue += cents(revenue)
    return found


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weeks(campaign: Campaign, by_day: dict[dt.date, Day]) -> list[Period]:
    """Week by week from the campaign's start (or its first event) to its end (or
    today, or its last event), the last :data:`MAX_WEEKS` of them."""
    first = min([campaign.starts_on, *by_day])
    last = max([campaign.ends_on or today(), *by_day])
    start = _monday(first)
    if (last - start).days // 7 >= MAX_WEEKS:
        start = _monday(last) - dt.timedelta(weeks=MAX_WEEKS - 1)
    found: list[Period] = []
    for monday in _mondays(start, last):
        found.append(Period(monday.isoformat(), monday, monday + dt.timedelta(days=6)))
    for day, counts in by_day.items():
        index = (day - start).days // 7
        if 0 <= index < len(found):
            found[index].add(counts)
    return found


def _mondays(start: dt.date, last: dt.date) -> Iterator[dt.date]:
    monday = start
    while monday <= last:
        yield monday
        monday += dt.timedelta(weeks=1)


def phases(
    session: Session,
    campaign: Campaign,
    by_day: dict[dt.date, Day],
    rows: Sequence[Phase] | None = None,
) -> list[Period]:
    """Each phase of the campaign (``rows`` when the caller has read them) with what
    happened while it ran (its actual dates, else the planned ones): an event counts in
    the first phase that had not ended by its day (one after the last phase, in the
    last)."""
    found: list[Period] = []
    for phase in rows if rows is not None else phases_of(session, campaign):
        starts = phase.actual_start or phase.planned_start
        ends = phase.actual_end or phase.planned_end
        found.append(Period(phase.name, starts, max(starts, ends)))
    if found:
        for day, counts in by_day.items():
            _period_of(found, day).add(counts)
    return found


def _period_of(periods: list[Period], day: dt.date) -> Period:
    for period in periods:
        if day <= period.ends:
            return period
    return periods[-1]


def csv_rows(
    campaign: Campaign, by_phase: Iterable[Period], by_week: Iterable[Period], head: list[str]
) -> Iterator[list[str]]:
    """The results as CSV rows: the header, then each phase and each week."""
    yield head
    for kind, periods in (("phase", by_phase), ("week", by_week)):
        for p in periods:
            yield [kind, p.label, p.starts.isoformat(), p.ends.isoformat(), str(p.responses),
                   str(p.opened), str(p.won), str(p.lost), f"{p.revenue:.2f}",
                   campaign.currency]  # fmt: skip
