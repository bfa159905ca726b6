"""The dashboard: widgets the areas declare, the scope whose figures they show, and the
order and visibility a user chose.

An area that has figures for the dashboard declares :class:`Widget` values in its
``area.py`` (``dashboard_widgets``): a name, a title, a default place, a function that
reads the figures and a template fragment that shows them. The dashboard page asks
each widget the user may have for its figures and renders the fragments in the user's
order (``groupware.accounts.dashboard`` keeps it).

Figures about many people's records follow a :class:`Scope`: the user's own records, a
team's (the records owned by its members) or the company's. Which scopes a user gets
follows their rights: a team when their roles reach team records (a manager), the
company when they reach every record somewhere (an administrator). A scope only
narrows; every figure is also limited by :func:`groupware.access.policy.visible`, so
a scope never shows what its user may not see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.accounts.models import Team, TeamMember
from groupware.i18n import _

ScopeKind = Literal["own", "team", "all"]


@dataclass(frozen=True)
class Scope:
    """Whose records a scoped widget counts: ``user_id``'s, team ``team_id``'s members',
    or everyone's (``all``)."""

    kind: ScopeKind
    label: str
    user_id: int | None = None
    team_id: int | None = None

    @property
    def key(self) -> str:
        """The scope as the dashboard's address names it (``?scope=team-3``)."""
        return f"team-{self.team_id}" if self.kind == "team" else self.kind

    def members(self) -> Any:
        """The ids of the team's members (a subquery), for a team scope."""
        return select(TeamMember.user_id).where(TeamMember.team_id == self.team_id)

    def owned(self, owner: Any) -> ColumnElement[bool]:
        """The condition "the record's ``owner`` column is in this scope"."""
        if self.kind == "own":
            clause: ColumnElement[bool] = owner == self.user_id
        elif self.kind == "team":
            clause = owner.in_(self.members())
        else:
            clause = true()
        return clause


def _reach(who: Who) -> set[str]:
    """The scopes any of the user's roles grant to view records with."""
    if who.system:
        return {"all"}
    return {
        scope for (_module, action), by in who.grants.items() if action == "view" for scope in by
    }


def scopes_for(session: Session, who: Who) -> list[Scope]:
    """The scopes ``who`` may switch between: always their own; each of their teams
    (teams they lead first) when their roles reach team records, every team when they
    reach all records; the company when they reach all records."""
    assert who.id is not None
    reach = _reach(who)
    scopes = [Scope("own", _("Mine"), user_id=who.id)]
    teams: list[tuple[int, str]] = []
    if "all" in reach:
        teams = [(t.id, t.name) for t in session.scalars(select(Team).order_by(Team.name))]
    elif "team" in reach and who.team_ids:
        rows = session.execute(
            select(Team.id, Team.name)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == who.id)
            .order_by(TeamMember.is_lead.desc(), Team.name)
        )
        teams = [(team_id, name) for team_id, name in rows]
    scopes += [
        Scope("team", _("Team %(name)s", name=name), user_id=who.id, team_id=team_id)
        for team_id, name in teams
    ]
    if "all" in reach:
        scopes.append(Scope("all", _("The whole company"), user_id=who.id))
    return scopes


def default_scope(scopes: Sequence[Scope]) -> Scope:
    """What a user sees first: the company for those who reach all records, their
    (first) team for a manager, else their own figures."""
    for kind in ("all", "team"):
        found = next((s for s in scopes if s.kind == kind), None)
        if found is not None:
            return found
    return scopes[0]


def pick_scope(scopes: Sequence[Scope], key: str) -> Scope | None:
    """The scope ``key`` names, among the user's; None for one that is not theirs."""
    if not key:
        return default_scope(scopes)
    return next((s for s in scopes if s.key == key), None)


@dataclass(frozen=True)
class WidgetArgs:
    """What a widget's figures are read with: the request's session, the user's rights,
    the scope chosen, and the company's day and moment (fixed once per page)."""

    session: Session
    who: Who
    scope: Scope
    today: dt.date
    now: dt.datetime

    @property
    def user_id(self) -> int:
        assert self.who.id is not None
        return self.who.id


@dataclass(frozen=True)
class Widget:
    """One box of the dashboard, declared by the area that owns its figures."""

    name: str
    title: Any  # a lazy translation
    # The fragment under web/templates that shows the figures (as ``data``).
    template: str
    # Reads the figures: its result is the fragment's ``data``.
    figures: Callable[[WidgetArgs], Mapping[str, Any]]
    # Its place on a dashboard nobody rearranged (smaller first).
    order: int = 100
    # Offered to users whose roles let them view records of this module (None: all).
    module: str | None = None
    # Whether its figures follow the scope switcher (else they are the user's own).
    scoped: bool = False
    # Whether it takes the whole width of the page.
    wide: bool = False

    def offered_to(self, who: Who) -> bool:
        return self.module is None or who.can(self.module, "view")
