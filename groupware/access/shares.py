"""Sharing a record with a user or a team, to read or to write.

Callers check :func:`groupware.access.policy.may_share` first: only the record's owner,
an administrator or a role granting "share" may change whom a record is shared with.
Write access is not enough: a colleague a deal was shared with to write must neither
hand it on nor take the owner's shares away.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.models import Share
from groupware.access.policy import record_key, record_type
from groupware.accounts.models import Team, User
from groupware.db import Base
from groupware.errors import Invalid
from groupware.i18n import _l

PERMISSIONS = ("read", "write")


@dataclass(frozen=True)
class ShareRow:
    share: Share
    grantee: str
    kind: str  # user | team


def list_shares(session: Session, record: Base) -> list[ShareRow]:
    rows = session.execute(
        select(Share, User, Team)
        .outerjoin(User, User.id == Share.user_id)
        .outerjoin(Team, Team.id == Share.team_id)
        .where(Share.record_type == record_type(record), Share.record_id == record_key(record))
        .order_by(Share.id)
    ).all()
    return [
        ShareRow(share, str(user) if user else str(team), "user" if user else "team")
        for share, user, team in rows
    ]


def share(
    session: Session,
    record: Base,
    *,
    by_user_id: int | None,
    user_id: int | None = None,
    team_id: int | None = None,
    permission: str = "read",
) -> Share:
    """Share ``record``; sharing again with the same grantee changes the permission."""
    if permission not in PERMISSIONS:
        raise Invalid({"permission": _l("Choose read or write.")})
    if (user_id is None) == (team_id is None):
        raise Invalid({"grantee": _l("Choose one user or one team.")})
    user = session.get(User, user_id) if user_id is not None else None
    team = session.get(Team, team_id) if team_id is not None else None
    if user_id is not None and (user is None or not user.is_active):
        raise Invalid({"grantee": _l("There is no such active user.")})
    if team_id is not None and team is None:
        raise Invalid({"grantee": _l("There is no such team.")})
    rtype, rid = record_type(record), record_key(record)
    grantee = Share.user_id == user_id if user_id is not None else Share.team_id == team_id
    existing = session.scalar(
        select(Share).where(Share.record_type == rtype, Share.record_id == rid, grantee)
    )
    if existing is not None:
        existing.permission = permission
        return existing
    row = Share(
        record_type=rtype,
        record_id=rid,
        user=user,
        team=team,
        permission=permission,
        created_by_id=by_user_id,
    )
    session.add(row)
    session.flush()
    return row


def unshare(session: Session, record: Base, share_id: int) -> None:
    row = session.scalar(
        select(Share).where(
            Share.id == share_id,
            Share.record_type == record_type(record),
            Share.record_id == record_key(record),
        )
    )
    if row is None:
        raise Invalid({"share": _l("This share no longer exists.")})
    session.delete(row)
    session.flush()
