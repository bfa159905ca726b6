"""Every model of every area, imported so that ``Base.metadata`` is complete
(migrations, backups and tests need the whole schema), and the history recorder,
which must be listening before anything is flushed."""

import groupware.deals.alerts  # registers what the alert job looks at
import groupware.deals.calendar  # a client moving a CRM meeting
import groupware.history.recorder
import groupware.mail.alerts  # alerts go out as mail too
import groupware.mail.relay  # registers the relay-mail job
import groupware.mail.timeline  # mail filed on deals, in their timelines
import groupware.tasks.alerts
import groupware.tasks.calendar  # noqa: F401 - a client's change of a task's VTODO
from groupware.access.models import Share
from groupware.accounts.models import (
    Credential,
    Grant,
    LoginCounter,
    Role,
    Team,
    TeamMember,
    User,
    UserRole,
    WebSession,
)
from groupware.announcements.models import Announcement
from groupware.caldav.models import Calendar, CalendarItem, CalendarOccurrence
from groupware.crm.models import (
    AssignmentRule,
    AssignmentRuleRep,
    Branch,
    County,
    Document,
    ImportJob,
    ImportRowError,
    Partner,
    PartnerGroup,
    PartnerMerge,
    PartnerRep,
    PartnerTag,
    Person,
    SavedFilter,
    Tag,
    Territory,
    TerritoryArea,
)
from groupware.db import Base
from groupware.deals.models import Deal, DealActivity, DealLine, DealMember
from groupware.history.models import Change
from groupware.mail.models import MailEntry, MailLink, MailMessage
from groupware.notifications.models import Notification
from groupware.phases.models import Alert, Phase, ProcessType, TypePhase
from groupware.tasks.models import Task, TaskDelegation

__all__ = [
    "Alert",
    "Announcement",
    "AssignmentRule",
    "AssignmentRuleRep",
    "Base",
    "Branch",
    "Calendar",
    "CalendarItem",
    "CalendarOccurrence",
    "Change",
    "County",
    "Credential",
    "Deal",
    "DealActivity",
    "DealLine",
    "DealMember",
    "Document",
    "Grant",
    "ImportJob",
    "ImportRowError",
    "LoginCounter",
    "MailEntry",
    "MailLink",
    "MailMessage",
    "Notification",
    "Partner",
    "PartnerGroup",
    "PartnerMerge",
    "PartnerRep",
    "PartnerTag",
    "Person",
    "Phase",
    "ProcessType",
    "Role",
    "SavedFilter",
    "Share",
    "Tag",
    "Task",
    "TaskDelegation",
    "Team",
    "TeamMember",
    "Territory",
    "TerritoryArea",
    "TypePhase",
    "User",
    "UserRole",
    "WebSession",
]


def _never_reuse_ids() -> None:
    # History, shares and notifications name records by type and id; SQLite would
    # otherwise hand a deleted record's id (and so its history) to the next record.
    for table in Base.metadata.tables.values():
        if "id" in table.c and table.c.id.primary_key and table.c.id.type.python_type is int:
            table.dialect_kwargs["sqlite_autoincrement"] = True


_never_reuse_ids()
