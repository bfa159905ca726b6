"""The mail figures of the dashboard: the unread messages of the user's inbox, the
count a link to the inbox narrowed to them."""

from __future__ import annotations

from typing import Any

from groupware.dashboard import Widget, WidgetArgs
from groupware.i18n import _l
from groupware.mail import mailbox

SHOWN = 5


def mail_figures(args: WidgetArgs) -> dict[str, Any]:
    newest = mailbox.folder_query(args.who, "inbox", unread=True).limit(SHOWN)
    return {
        "count": mailbox.unread_inbox(args.session, args.user_id),
        "entries": list(args.session.scalars(newest)),
        "href": "/mail?folder=inbox&unread=1",
    }


WIDGET = Widget(
    "mail-unread",
    _l("Unread mail"),
    "mail/_widget_unread.html",
    mail_figures,
    order=50,
)
