"""What lists share about the filters other pages set and the values bulk actions
offer: a team named above the rows ("Team: North"), a code's labels as choices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.accounts.models import Team
from groupware.i18n import _
from groupware.lists.declare import Choices
from groupware.validation import parse_id


def team(session: Session, who: Who, value: str) -> str:
    """A ``team_id`` filter in words (the dashboard's team figures set it); "" for a
    team that is not there."""
    team_id = parse_id(value)
    name = session.scalar(select(Team.name).where(Team.id == team_id)) if team_id else None
    return _("Team: %(team)s", team=name) if name else ""


def labelled(labels: Mapping[str, Any]) -> Choices:
    """A bulk action's choices: every code of ``labels`` with its label, in order."""

    def choices(session: Session, who: Who) -> list[tuple[str, str]]:
        return [(code, str(label)) for code, label in labels.items()]

    return choices
