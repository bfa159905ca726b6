"""A record's changes as entries of its activity stream (:mod:`groupware.stream`): who
changed what, when, with the fields as :mod:`groupware.history.display` words them."""

from __future__ import annotations

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, access_spec, can
from groupware.history.display import describe
from groupware.history.models import Change
from groupware.i18n import _l
from groupware.stream import Change as Field
from groupware.stream import StreamItem, StreamSource, Target, Window, ordered

KIND = "change"


def stream_items(session: Session, who: Who, on: Target, window: Window) -> list[StreamItem]:
    """The record's own changes, newest first (a record published to everyone keeps its
    history to those who work on it, as its history panel does)."""
    if access_spec(type(on.record)).public is not None and not can(
        session, who, on.record, "view", public=False
    ):
        return []
    query = (
        select(Change)
        .where(
            Change.record_type == on.record_type,
            Change.record_id == on.record_id,
            window.clause(KIND, Change.at, Change.id),
        )
        .options(joinedload(Change.actor))
        .order_by(*ordered(window, Change.at, Change.id))
        .limit(window.limit)
    )
    views = describe(session, who, list(session.scalars(query)))
    return [
        StreamItem(
            at=view.change.at,
            kind=KIND,
            ident=view.change.id,
            title=view.sentence(with_record=False),
            changes=tuple(
                Field(
                    f.label,
                    Markup("") if view.change.action == "create" else f.old.html(),
                    f.new.html(),
                )
                for f in view.fields
            ),
        )
        for view in views
    ]


SOURCE = StreamSource(KIND, _l("Changes"), _l("change"), stream_items, order=90)
