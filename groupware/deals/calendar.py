"""A deal's current phase deadline as a to-do in its owner's CRM task list
(:mod:`groupware.phases.deadlines`: UID ``deal-<id>@groupware``, titled with the phase
and the deal), put once per writer when it takes a deal through several steps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from groupware.deals.models import Deal
from groupware.i18n import _
from groupware.phases.deadlines import put_deadline

PREFIX = "deal"
_DEFERRED = "deals.calendar.deferred"  # Session.info: the deals whose push waits


@contextmanager
def pushed_once(session: Session) -> Iterator[None]:
    """Within the block, each deal's to-do is put once, when the block ends: for a
    writer that takes a deal through several steps at once (the demo walks each deal
    through its phases; its to-do was rewritten at every move)."""
    pending: dict[int, Deal] = {}
    session.info[_DEFERRED] = pending
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    for deal in pending.values():
        push(session, deal)


def push(session: Session, deal: Deal) -> None:
    """Put the deal's deadline into its owner's task list, and out of anybody else's."""
    pending = session.info.get(_DEFERRED)
    if pending is not None:
        pending[deal.id] = deal
        return

    def summary() -> str:
        return deadline_summary(deal.phase.name if deal.phase is not None else "", deal.title)

    due = deal.phase_due if deal.status == "open" else None
    put_deadline(session, PREFIX, deal.id, deal.owner_id, due, summary, f"/deals/{deal.id}")


def deadline_summary(phase: str, title: str) -> str:
    """What a deal's deadline to-do is called, in the current language."""
    return _("%(phase)s: %(title)s", phase=phase, title=title)
