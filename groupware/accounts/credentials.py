"""Personal API tokens and app passwords.

Both are random secrets made by the server and shown once; only their SHA-256 is kept
(a fast hash is enough for 256 random bits, and a DAV client authenticates on every
request). A token reads ``gwt_<prefix>_<secret>``; an app password is four groups of
letters that are easy to type on a phone.
"""

from __future__ import annotations

import hashlib
import secrets
import string

from pydantic import Field
from sqlalchemy import select
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
    return "-".join(groups), groups[0]


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


def _touch(row: Credential) -> None:
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > _TOUCH_SECONDS:
        row.last_used_at = now


def user_for_token(session: Session, token: str) -> User | None:
    """The active user an API token belongs to, or None."""
    if not token.startswith("gwt_") or len(token) > 200:
        return None
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
        return None
    _touch(row)
    return row.user


def check_app_password(session: Session, user: User, password: str) -> bool:
    row = session.scalar(
        select(Credential).where(
            Credential.user_id == user.id,
            Credential.secret_hash == _digest(password.strip()),
            Credential.kind == "app_password",
            Credential.revoked_at.is_(None),
        )
    )
    if row is None:
        return False
    _touch(row)
    return True


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
