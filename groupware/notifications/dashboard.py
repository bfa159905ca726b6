"""The notification figures of the dashboard: the user's unread notifications."""

from __future__ import annotations

from typing import Any

from groupware.dashboard import Widget, WidgetArgs
from groupware.i18n import _l
from groupware.notifications import service

SHOWN = 5


def notification_figures(args: WidgetArgs) -> dict[str, Any]:
    return {
        "count": service.unread_count(args.session, args.user_id),
        "notifications": service.list_for(
            args.session, args.user_id, unread_only=True, limit=SHOWN
        ),
        "href": "/notifications?unread=1",
    }


WIDGET = Widget(
    "notifications-unread",
    _l("Unread notifications"),
    "notifications/_widget_unread.html",
    notification_figures,
    order=60,
)
