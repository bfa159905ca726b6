"""The global search's page: the header box's list as the user types (an htmx fragment,
a few hits per kind of record) and the results page for Enter or a browser without
scripts (more hits per kind, each with a link to its own list)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from groupware.search import MAX_LENGTH, PAGE_LIMIT, TYPING_LIMIT
from groupware.search import service as search_service
from groupware.web import Ctx, page

# The id of the header's list of hits: htmx names it in HX-Target.
TYPING_TARGET = "search-results"


@page()
def search(ctx: Ctx) -> Response:
    q = ctx.query("q")[:MAX_LENGTH]
    typing = ctx.wants_fragment and ctx.request.headers.get("HX-Target") == TYPING_TARGET
    limit = TYPING_LIMIT if typing else PAGE_LIMIT
    groups = search_service.search(ctx.db, ctx.acting, q, limit=limit)
    return ctx.render(
        "search/results.html",
        block="hits" if typing else None,
        q=q,
        groups=groups,
        typing=typing,
    )


routes = [Route("/search", search, name="search")]
