"""The global history page: the changes the user may see, filtered by record type,
record, person, channel, action and dates, shaped as a list (:mod:`groupware.history.lists`)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from groupware.accounts.users import list_users
from groupware.db import CHANNELS
from groupware.history.lists import HISTORY
from groupware.history.service import ACTIONS
from groupware.i18n import _l
from groupware.lists import web as lists_web
from groupware.records import record_label, record_types
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("History"), "history", order=120, icon="history")]


@page()
def history(ctx: Ctx) -> Response:
    full = not lists_web.wants_results(ctx)
    found = lists_web.listing(ctx, HISTORY, full=full)
    context = {}
    if full:
        context = {
            "people": list_users(ctx.db, limit=1000),
            "record_types": sorted(
                ((name, record_label(name)) for name in record_types()), key=lambda pair: pair[1]
            ),
            "channels": CHANNELS,
            "actions": ACTIONS,
        }
    return lists_web.render(ctx, "history/list.html", found, **context)


routes = [Route("/history", history, name="history")]
