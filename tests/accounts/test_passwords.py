"""Password hashing: the costs GROUPWARE_PASSWORD_HASHING offers, and a hash of another
cost re-made at the next login (how an installation moves to a new cost, and how the
suite's cheap test hashes relate to production ones)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import extract_parameters
from sqlalchemy.orm import Session

from groupware.accounts import auth, passwords
from groupware.settings import PASSWORD_HASHINGS, Settings, SettingsError, load_settings
from tests.conftest import TEST_HASHING
from tests.factories import PASSWORD, Cast


@pytest.fixture
def production_cost() -> Iterator[None]:
    passwords.use_hashing(Settings().password_hashing)
    try:
        yield
    finally:
        passwords.use_hashing(TEST_HASHING["GROUPWARE_PASSWORD_HASHING"])


def test_every_cost_the_setting_names_is_argon2id_and_the_default_is_rfc_9106s() -> None:
    assert set(passwords.PROFILES) == set(PASSWORD_HASHINGS)
    assert Settings().password_hashing == "rfc9106-low-memory"
    with pytest.raises(SettingsError, match="GROUPWARE_PASSWORD_HASHING must be one of"):
        load_settings({"GROUPWARE_PASSWORD_HASHING": "md5"})


def test_the_production_cost_hashes_3_passes_over_64_mib(production_cost: None) -> None:
    made = extract_parameters(passwords.hash_password("correct horse battery"))
    assert (made.type.name, made.time_cost, made.memory_cost, made.parallelism) == (
        "ID",
        3,
        64 * 1024,
        4,
    )
    assert passwords.verify_password(passwords.hash_password("s3cret-pass"), "s3cret-pass")
    assert not passwords.verify_password(None, "s3cret-pass")  # an unknown user


def _login(db: Session, settings: Settings, password: str) -> auth.PasswordCheck:
    attempt = auth.begin(db, settings, username="alice", address="10.0.0.9")
    db.flush()
    return auth.check_password(db, attempt, password)


def test_a_hash_of_another_cost_is_remade_at_the_next_login(
    db: Session, cast: Cast, settings: Settings, production_cost: None
) -> None:
    cheap = cast.alice.password_hash
    assert cheap is not None and extract_parameters(cheap).memory_cost == 8
    assert not _login(db, settings, "not the password").new_hash  # only a right password
    check = _login(db, settings, PASSWORD)
    assert check.ok and check.new_hash is not None
    assert auth.record(db, check) is cast.alice
    assert extract_parameters(cast.alice.password_hash or "").memory_cost == 64 * 1024
    again = _login(db, settings, PASSWORD)
    assert again.ok and again.new_hash is None  # made once, then kept
