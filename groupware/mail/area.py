"""Internal mail: the SMTP server, mailboxes on the web and the API, mail filed on deals
and partners, the relay to a smarthost, and alerts sent as mail."""

from groupware.mail import addresses, addresses_web, alerts, api, relay, timeline, web
from groupware.mail.models import MailAddress, MailEntry, MailLink, MailMessage, MailOutbox
from groupware.wiring import Area

AREA = Area(
    "mail",
    models=(MailMessage, MailEntry, MailLink, MailAddress, MailOutbox),
    record_types=(addresses.MAIL_ADDRESSES_RECORD,),
    pages=(web, addresses_web),
    apis=(api.api,),
    jobs=(relay.RELAY_JOB,),
    alert_channels=(alerts.mail_alerts,),
    partner_sections=(timeline.PARTNER_SECTION,),
    deal_timelines=(timeline.deal_mail,),
)
