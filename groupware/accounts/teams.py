"""Teams: groups of users with optional leads. Records owned by a team's members are
the "team" scope of its members' roles; a team lead gets their team's alerts."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from groupware.access.models import Share
from groupware.accounts.models import Team, TeamMember, User
from groupware.db import holder_of
from groupware.errors import Conflict, Invalid, NotFound
from groupware.i18n import _l
from groupware.validation import Schema


class TeamIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(
        Team, team_id, options=[selectinload(Team.members).selectinload(TeamMember.user)]
    )
    if team is None:
        raise NotFound(_l("There is no such team."))
    return team


def _check_name(session: Session, name: str, team_id: int | None) -> None:
    if holder_of(session, Team.name, name) not in (None, team_id):
        raise Invalid({"name": _l("Another team has this name.")})


def create_team(session: Session, data: TeamIn) -> Team:
    _check_name(session, data.name, None)
    team = Team(name=data.name, description=data.description)
    session.add(team)
    session.flush()
    return team


def update_team(session: Session, team: Team, data: TeamIn) -> Team:
    _check_name(session, data.name, team.id)
    team.name = data.name
    team.description = data.description
    session.flush()
    return team


def delete_team(session: Session, team: Team) -> None:
    """Delete a team and its shares (so each shared record's history shows it);
    refused while records still belong to the team."""
    for share in session.scalars(select(Share).where(Share.team_id == team.id)):
        session.delete(share)
    try:
        with session.begin_nested():
            session.delete(team)
    except IntegrityError:
        raise Conflict(_l("Records still belong to this team; move them first.")) from None


def set_member(session: Session, team: Team, user: User, *, is_lead: bool = False) -> TeamMember:
    for member in team.members:
        if member.user_id == user.id:
            member.is_lead = is_lead
            session.flush()
            return member
    member = TeamMember(user=user, is_lead=is_lead)
    team.members.append(member)
    session.flush()
    return member


def remove_member(session: Session, team: Team, user_id: int) -> None:
    for member in list(team.members):
        if member.user_id == user_id:
            team.members.remove(member)
            session.flush()
            return
    raise Invalid({"user_id": _l("This user is not a member of the team.")})


def list_teams(session: Session) -> list[tuple[Team, int]]:
    """Every team with its number of members, by name."""
    counts = (
        select(TeamMember.team_id, func.count().label("n")).group_by(TeamMember.team_id).subquery()
    )
    rows = session.execute(
        select(Team, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.team_id == Team.id)
        .order_by(Team.name)
    ).all()
    return [(team, int(n)) for team, n in rows]


def leads_of(session: Session, user_id: int) -> list[User]:
    """The leads of the teams ``user_id`` belongs to (for escalating alerts)."""
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    return list(
        session.scalars(
            select(User)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id.in_(teams), TeamMember.is_lead, User.id != user_id)
            .distinct()
        )
    )
