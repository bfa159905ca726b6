"""Every model of every area, imported so that ``Base.metadata`` is complete
(migrations, backups and tests need the whole schema), and the history recorder,
which must be listening before anything is flushed."""

import groupware.history.recorder  # noqa: F401 - registers the session hook
from groupware.access.models import Share
from groupware.accounts.models import (
    Credential,
    Grant,
    LoginAttempt,
    Role,
    Team,
    TeamMember,
    User,
    UserRole,
    WebSession,
)
from groupware.announcements.models import Announcement
from groupware.db import Base
from groupware.history.models import Change
from groupware.notifications.models import Notification

__all__ = [
    "Announcement",
    "Base",
    "Change",
    "Credential",
    "Grant",
    "LoginAttempt",
    "Notification",
    "Role",
    "Share",
    "Team",
    "TeamMember",
    "User",
    "UserRole",
    "WebSession",
]
