"""Access: sharing one record with a colleague or a team, on the web and the API."""

from groupware.access import api, web
from groupware.access.models import Share
from groupware.wiring import Area

AREA = Area("access", models=(Share,), pages=(web,), apis=(api.api,))
