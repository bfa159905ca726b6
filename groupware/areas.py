"""The areas of the product, in order: the one list the app, the API document, the CLI,
the job runner, the migrations, the backup and the tests read (through
:func:`install` and ``groupware.wiring``).

What an area adds is declared in its ``area.py``, top to bottom. A new area writes its
declaration and takes its place here; nothing else needs to know about it.
"""

from __future__ import annotations

from groupware import wiring
from groupware.access.area import AREA as ACCESS
from groupware.accounts.area import AREA as ACCOUNTS
from groupware.activities.area import AREA as ACTIVITIES
from groupware.announcements.area import AREA as ANNOUNCEMENTS
from groupware.caldav.area import AREA as CALDAV
from groupware.campaigns.area import AREA as CAMPAIGNS
from groupware.crm.area import AREA as CRM
from groupware.db import never_reuse_ids
from groupware.deals.area import AREA as DEALS
from groupware.history.area import AREA as HISTORY
from groupware.lists.area import AREA as LISTS
from groupware.mail.area import AREA as MAIL
from groupware.notifications.area import AREA as NOTIFICATIONS
from groupware.phases.area import AREA as PHASES
from groupware.search.area import AREA as SEARCH
from groupware.tasks.area import AREA as TASKS

AREAS: tuple[wiring.Area, ...] = (
    ACCOUNTS,
    ACCESS,
    HISTORY,
    LISTS,
    NOTIFICATIONS,
    ANNOUNCEMENTS,
    CRM,
    PHASES,
    DEALS,
    CAMPAIGNS,
    TASKS,
    CALDAV,
    MAIL,
    ACTIVITIES,
    SEARCH,
)


def install() -> wiring.Wiring:
    """Gather :data:`AREAS` for the readers in ``groupware.wiring`` and run their
    set-up; whatever starts groupware calls this once (again is harmless)."""
    if wiring.installed():
        return wiring.current()
    gathered = wiring.gather(AREAS)
    never_reuse_ids()
    for area in AREAS:
        for setup in area.setup:
            setup()
    wiring.install(gathered)
    return gathered
