"""Saved views: named shapes of a list (its query string: filters, sort, columns).

A view is its owner's, or shared with one of the owner's teams: then every member of
that team finds it among the list's views too. A name is unique per owner and list;
saving under a name the owner used replaces that view. Only the owner changes or
deletes a view; a view the user may not see answers 404 like a missing one, so nothing
loads a saved view by id alone.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who
from groupware.accounts.models import Team
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.i18n import _l
from groupware.lists.models import SavedView

MAX_NAME = 100
MAX_QUERY = 2000


def _check(who: Who, name: str, query: str, team_id: int | None) -> None:
    if not name:
        raise Invalid({"name": _l("Give the view a name.")})
    if len(name) > MAX_NAME:
        raise Invalid({"name": _l("At most %(max)s characters.", max=MAX_NAME)})
    if len(query) > MAX_QUERY:
        raise Invalid({"query": _l("This view has too many conditions to keep.")})
    if team_id is not None and team_id not in who.team_ids:
        raise Invalid({"team_id": _l("You can share a view only with a team of yours.")})


def save_view(
    session: Session,
    who: Who,
    list_name: str,
    name: str,
    query: str,
    *,
    team_id: int | None = None,
) -> SavedView:
    """Keep ``query`` (a list's query string, with or without its "?") as ``who``'s view
    ``name`` of the list, shared with ``team_id`` (one of their teams) or private,
    replacing their view of the same name."""
    assert who.id is not None
    name = " ".join(name.split())
    query = query.strip().lstrip("?")
    _check(who, name, query, team_id)
    row = session.scalar(
        select(SavedView).where(
            SavedView.user_id == who.id, SavedView.list_name == list_name, SavedView.name == name
        )
    )
    if row is None:
        row = SavedView(user_id=who.id, list_name=list_name, name=name, query=query)
        session.add(row)
    row.query, row.team_id = query, team_id
    session.flush()
    return row


def _visible(who: Who) -> ColumnElement[bool]:
    mine = SavedView.user_id == who.id
    if not who.team_ids:
        return mine
    return or_(mine, SavedView.team_id.in_(who.team_ids))


def list_views(session: Session, who: Who, list_name: str) -> list[SavedView]:
    """The views of the list ``who`` may open: their own and their teams', by name."""
    return list(
        session.scalars(
            select(SavedView)
            .where(SavedView.list_name == list_name, _visible(who))
            .options(joinedload(SavedView.team))
            .order_by(SavedView.name, SavedView.id)
        )
    )


def get_view(
    session: Session, who: Who, list_name: str, view_id: int, *, change: bool = False
) -> SavedView:
    """A view ``who`` may open (404 otherwise); with ``change``, one they own (a
    team's view shared by a colleague is 403)."""
    row = session.scalar(
        select(SavedView).where(
            SavedView.id == view_id, SavedView.list_name == list_name, _visible(who)
        )
    )
    if row is None:
        raise NotFound(_l("There is no such saved view."))
    if change and row.user_id != who.id:
        raise Forbidden(_l("Only the person who saved this view can change it."))
    return row


def delete_view(session: Session, who: Who, list_name: str, view_id: int) -> None:
    session.delete(get_view(session, who, list_name, view_id, change=True))
    session.flush()


def share_choices(session: Session, who: Who) -> list[tuple[int, str]]:
    """The teams ``who`` may share a view with (their own), by name."""
    if not who.team_ids:
        return []
    rows = session.execute(
        select(Team.id, Team.name).where(Team.id.in_(who.team_ids)).order_by(Team.name)
    )
    return [(team_id, name) for team_id, name in rows]
