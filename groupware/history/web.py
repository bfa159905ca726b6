"""The global history page, filtered by record type, person, channel, action and dates."""

from __future__ import annotations

import datetime as dt
import urllib.parse
import zoneinfo

from starlette.responses import Response
from starlette.routing import Route

from groupware.accounts.users import list_users
from groupware.db import CHANNELS
from groupware.history.display import describe
from groupware.history.service import ACTIONS, list_changes
from groupware.i18n import _l, parse_date
from groupware.records import record_label, record_types
from groupware.validation import parse_id
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("History"), "history", order=120, icon="history")]
PAGE_SIZE = 50


def _day_start(ctx: Ctx, text: str, *, next_day: bool = False) -> dt.datetime | None:
    try:
        day = parse_date(text)
    except ValueError:
        return None
    if next_day:
        day += dt.timedelta(days=1)
    tz = zoneinfo.ZoneInfo(ctx.gw.settings.timezone)
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


@page()
def history(ctx: Ctx) -> Response:
    filters = {
        "record_type": ctx.query("type"),
        "record_id": ctx.query("id"),
        "actor": ctx.query("actor"),
        "channel": ctx.query("channel"),
        "action": ctx.query("action"),
        "since": ctx.query("since"),
        "until": ctx.query("until"),
    }
    changes = list_changes(
        ctx.db,
        ctx.acting,
        record_type=filters["record_type"] or None,
        record_id=parse_id(filters["record_id"]),
        actor_id=parse_id(filters["actor"]),
        channel=filters["channel"] if filters["channel"] in CHANNELS else None,
        action=filters["action"] if filters["action"] in ACTIONS else None,
        since=_day_start(ctx, filters["since"]) if filters["since"] else None,
        until=_day_start(ctx, filters["until"], next_day=True) if filters["until"] else None,
        before_id=ctx.query_id("before"),
        limit=PAGE_SIZE + 1,
    )
    more = len(changes) > PAGE_SIZE
    changes = changes[:PAGE_SIZE]
    params = {k: v for k, v in ctx.request.query_params.items() if k != "before"}
    older_url = "?" + urllib.parse.urlencode({**params, "before": changes[-1].id}) if more else ""
    return ctx.render(
        "history/list.html",
        block="results",
        changes=describe(ctx.db, ctx.acting, changes),
        more=more,
        older_url=older_url,
        filters=filters,
        people=list_users(ctx.db, limit=1000),
        record_types=sorted(
            ((name, record_label(name)) for name in record_types()), key=lambda pair: pair[1]
        ),
        channels=CHANNELS,
        actions=ACTIONS,
    )


routes = [Route("/history", history, name="history")]
