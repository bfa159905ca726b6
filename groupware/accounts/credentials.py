"""Personal API tokens and app passwords.

Both are random secrets made by the server and shown once; only their SHA-256 is kept
(a fast hash is enough for secrets of 128 random bits and more, and a DAV client
authenticates on every request). A token reads ``gwt_<prefix>_<secret>``; an app
password is five groups of five letters, easy to type on a phone.
"""

from __future__ import annotations

import hashlib
import secrets
import string

from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from groupware.accounts.models import Credential, User
from groupware.db import utcnow
from groupware.errors import NotFound
from groupware.i18n import _l
from groupware.validation import Schema

KINDS = ("api_token", "app_password")
_ALPHABET = string.ascii_lowercase + string.digits
# Updating last_used_at on every DAV request would turn reads into writes.
_TOUCH_SECONDS = 300


class CredentialIn(Schema):
    name: str = Field(min_length=1, max_length=100)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(kind: str) -> tuple[str, str]:
    if kind == "api_token":
        prefix = secrets.token_hex(4)
        return f"gwt_{prefix}_{secrets.token_urlsafe(32)}", prefix
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(5)]
    # The prefix only tells app passwords apart in lists; it is no part of the secret.
    return "-".join(groups), secrets.token_hex(3)


def create_credential(
    session: Session, user: User, *, kind: str, name: str
) -> tuple[str, Credential]:
    """Make a new token or app password; returns the secret (shown once) and the row."""
    if kind not in KINDS:
        raise ValueError(kind)
    secret, prefix = _new_secret(kind)
    row = Credential(
        user_id=user.id, kind=kind, name=name, prefix=prefix, secret_hash=_digest(secret)
    )
    session.add(row)
    session.flush()
    return secret, row


def is_stale(row: Credential) -> bool:
    """Whether noting this use is worth a write (at most every few minutes)."""
    last = row.last_used_at
    return last is None or (utcnow() - last).total_seconds() > _TOUCH_SECONDS


def touch(session: Session, credential_id: int) -> None:
    """Note that a credential was used; callers do it in a short write transaction of its
    own, so that checking a credential never turns a read into a write."""
    session.execute(
        update(Credential).where(Credential.id == credential_id).values(last_used_at=utcnow())
    )


def user_for_token(session: Session, token: str) -> tuple[User | None, int | None]:
    """The active user an API token belongs to (or None), and the token's id when its
    use should be noted with :func:`touch`. Reads only."""
    if not token.startswith("gwt_") or len(token) > 200:
        return None, None
    row = session.scalar(
        select(Credential)
        .where(
            Credential.secret_hash == _digest(token),
            Credential.kind == "api_token",
            Credential.revoked_at.is_(None),
        )
        .options(joinedload(Credential.user))
    )
    if row is None or not row.user.is_active:
        return None, None
    return row.user, (row.id if is_stale(row) else None)


def app_password(session: Session, user: User, password: str) -> Credential | None:
    """The live app password of ``user`` that ``password`` is, if any. Reads only."""
    return session.scalar(
        select(Credential).where(
            Credential.user_id == user.id,
            Credential.secret_hash == _digest(password.strip()),
            Credential.kind == "app_password",
            Credential.revoked_at.is_(None),
        )
    )


def list_credentials(session: Session, user_id: int, kind: str) -> list[Credential]:
    return list(
        session.scalars(
            select(Credential)
            .where(Credential.user_id == user_id, Credential.kind == kind)
            .order_by(Credential.revoked_at.is_not(None), Credential.id.desc())
        )
    )


def revoke(session: Session, user_id: int, credential_id: int) -> Credential:
    row = session.get(Credential, credential_id)
    if row is None or row.user_id != user_id:
        raise NotFound(_l("There is no such token or app password."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return row
