"""Internal mail: the SMTP server, mailboxes on the web and the API, mail filed on deals
and partners (in their activity streams), the relay to a smarthost, and alerts sent as
mail."""

from groupware.crm.merge import MergeLink
from groupware.i18n import _l
from groupware.mail import (
    addresses,
    addresses_web,
    alerts,
    api,
    dashboard,
    lists,
    mailbox,
    relay,
    timeline,
    web,
)
from groupware.mail.models import MailAddress, MailEntry, MailLink, MailMessage, MailOutbox
from groupware.search import Provider
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "mail",
    models=(MailMessage, MailEntry, MailLink, MailAddress, MailOutbox),
    record_types=(addresses.MAIL_ADDRESSES_RECORD,),
    pages=(web, addresses_web),
    apis=(api.api,),
    jobs=(relay.RELAY_JOB,),
    alert_channels=(alerts.mail_alerts,),
    stream_sources=(timeline.SOURCE,),
    lists=(lists.MAIL,),
    merge_links=(
        MergeLink(
            "mail",
            MailLink.record_id,
            _l("Filed mail"),
            record_type=MailLink.record_type,
            unique=(MailLink.message_id,),
        ),
    ),
    dashboard_widgets=(dashboard.WIDGET,),
    # A hit is the user's own entry of the message.
    search_providers=(
        Provider(
            "mail", _l("Mail"), mailbox.search_rows, url="/mail/{id}", more="/mail?q={q}", order=50
        ),
    ),
    quick_create=(QuickCreate(_l("Message"), "mail_compose", order=60),),
)
