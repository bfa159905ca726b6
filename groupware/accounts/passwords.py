"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from groupware.errors import Invalid
from groupware.i18n import _l

MIN_LENGTH = 8
MAX_LENGTH = 256
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown user the same as
# for a known one, so response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; slow on purpose (run it off the event loop)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_policy(password: str, *, username: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid({"password": _l("Use at least 8 characters.")})
    if len(password) > MAX_LENGTH:
        raise Invalid({"password": _l("Use at most 256 characters.")})
    if username and password.lower() == username.lower():
        raise Invalid({"password": _l("The password must differ from the username.")})
