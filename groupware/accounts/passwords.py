"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from groupware.errors import Invalid
from groupware.i18n import _l

MIN_LENGTH = 8
MAX_LENGTH = 256
# The costs GROUPWARE_PASSWORD_HASHING chooses from (argon2-cffi's own profiles).
PROFILES = {
    "rfc9106-low-memory": profiles.RFC_9106_LOW_MEMORY,
    "rfc9106-high-memory": profiles.RFC_9106_HIGH_MEMORY,
    "test-only-cheapest": profiles.CHEAPEST,
}
_hashing = "rfc9106-low-memory"
_hasher = PasswordHasher.from_parameters(PROFILES[_hashing])


def use_hashing(name: str) -> None:
    """Hash new passwords with the cost ``name`` (a GROUPWARE_PASSWORD_HASHING value),
    for the whole process: the app and the CLI call it with their settings. Hashes of
    another cost still verify (each carries its own) and are re-made at the next login."""
    global _hasher, _hashing
    if name != _hashing:
        _hasher, _hashing = PasswordHasher.from_parameters(PROFILES[name]), name


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Verifying against this keeps the time of a login for an unknown user the same as
    # for a known one, so response times do not reveal which usernames exist.
    return hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; slow on purpose (run it off the event loop)."""
    hasher = _hasher
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and bool(password_hash)
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
