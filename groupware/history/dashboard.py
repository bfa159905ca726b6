"""The user's own recent changes on the dashboard (of records they may still see)."""

from __future__ import annotations

from typing import Any

from groupware.dashboard import Widget, WidgetArgs
from groupware.history.display import describe
from groupware.history.service import list_changes
from groupware.i18n import _l

SHOWN = 8


def change_figures(args: WidgetArgs) -> dict[str, Any]:
    changes = list_changes(args.session, args.who, actor_id=args.user_id, limit=SHOWN)
    return {"changes": describe(args.session, args.who, changes)}


WIDGET = Widget(
    "recent-changes",
    _l("Your recent changes"),
    "history/_widget_recent.html",
    change_figures,
    order=80,
)
