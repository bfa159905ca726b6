"""The announcements on the dashboard: those published to the user, pinned first."""

from __future__ import annotations

from typing import Any

from groupware.announcements.service import feed
from groupware.dashboard import Widget, WidgetArgs
from groupware.i18n import _l

SHOWN = 5


def announcement_figures(args: WidgetArgs) -> dict[str, Any]:
    return {"announcements": feed(args.session, args.who, limit=SHOWN)}


WIDGET = Widget(
    "announcements",
    _l("Announcements"),
    "announcements/_widget_feed.html",
    announcement_figures,
    order=70,
    wide=True,
)
