"""Saved filters: named list views (a list page's query string) a user keeps per module.

A name is unique per user and module; saving under a name that exists replaces that
view. Only the owner lists, opens or deletes their views, so every function takes the
user's id and nothing loads a saved filter by id alone.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from groupware.crm.models import SavedFilter
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l

MAX_NAME = 100
MAX_QUERY = 2000


def save_filter(session: Session, user_id: int, module: str, name: str, query: str) -> SavedFilter:
    """Keep ``query`` (a query string, with or without its "?") as the user's view
    ``name`` of ``module``'s list, replacing a view of the same name."""
    name = " ".join(name.split())
    query = query.strip().lstrip("?")
    if not name:
        raise Invalid({"name": _l("Give the view a name.")})
    if len(name) > MAX_NAME:
        raise Invalid({"name": _l("At most %(max)s characters.", max=MAX_NAME)})
    if len(query) > MAX_QUERY:
        raise Invalid({"query": _l("This view has too many conditions to keep.")})
    row = session.scalar(
        select(SavedFilter).where(
            SavedFilter.user_id == user_id, SavedFilter.module == module, SavedFilter.name == name
        )
    )
    if row is None:
        row = SavedFilter(user_id=user_id, module=module, name=name, query=query)
        session.add(row)
    else:
        row.query = query
    session.flush()
    return row


# Built once: every list page runs it.
_FILTERS = (
    select(SavedFilter)
    .where(SavedFilter.user_id == bindparam("user_id"), SavedFilter.module == bindparam("module"))
    .order_by(SavedFilter.name, SavedFilter.id)
)


def list_filters(session: Session, user_id: int, module: str) -> list[SavedFilter]:
    """The user's views of ``module``'s list, by name."""
    return list(session.scalars(_FILTERS, {"user_id": user_id, "module": module}))


def get_filter(session: Session, user_id: int, module: str, filter_id: int) -> SavedFilter:
    """One of the user's views; another user's answers 404 like a missing one."""
    row = session.scalar(
        select(SavedFilter).where(
            SavedFilter.id == filter_id,
            SavedFilter.user_id == user_id,
            SavedFilter.module == module,
        )
    )
    if row is None:
        raise NotFound(_l("There is no such saved view."))
    return row


def delete_filter(session: Session, user_id: int, module: str, filter_id: int) -> None:
    session.delete(get_filter(session, user_id, module, filter_id))
    session.flush()
