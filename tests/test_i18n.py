from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from groupware.i18n import (
    format_date,
    format_datetime,
    format_money,
    format_number,
    gettext,
    ngettext,
    parse_date,
    parse_decimal,
    pick_language,
    use_language,
)

LOCALE = Path(__file__).resolve().parent.parent / "groupware" / "locale"


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", ["hr", "en"])
def test_catalogs_are_complete(language: str) -> None:
    missing = []
    for message in _catalog(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or "fuzzy" in message.flags:
            missing.append(message.id)
    assert not missing, f"untranslated in {language}: {missing[:10]}"


def test_catalogs_hold_every_string_of_the_code(repo_root: Path, tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=repo_root,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    for language in ("hr", "en"):
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(language) if m.id}
        assert not wanted - have, (
            f"run `make messages`: {sorted(wanted - have)[:10]} missing in {language}"
        )


def test_croatian_formats() -> None:
    with use_language("hr", "Europe/Zagreb"):
        assert format_date(dt.date(2026, 3, 5)) == "05.03.2026."
        assert (
            format_datetime(dt.datetime(2026, 7, 1, 10, 30, tzinfo=dt.UTC)) == "01.07.2026. 12:30"
        )
        assert format_number(decimal.Decimal("1234567.891"), 2) == "1.234.567,89"
        assert format_money(decimal.Decimal("1234.5")) == "1.234,50\xa0€"
        assert parse_decimal("1.234,56") == decimal.Decimal("1234.56")
        assert gettext("Log in") == "Prijava"


def test_english_formats() -> None:
    with use_language("en", "Europe/Zagreb"):
        assert format_date(dt.date(2026, 3, 5)) == "05/03/2026"
        assert format_money(decimal.Decimal("1234.5")) == "€1,234.50"
        assert parse_decimal("1,234.56") == decimal.Decimal("1234.56")


def test_croatian_plural_forms() -> None:
    with use_language("hr"):
        forms = [
            ngettext("%(num)d unread notification", "%(num)d unread notifications", n)
            for n in (1, 3, 5, 21)
        ]
    assert forms[0].startswith("1 ") and forms[3].startswith("21 ")
    assert forms[0].split(" ", 1)[1] == forms[3].split(" ", 1)[1]
    assert (
        len({forms[0].split(" ", 1)[1], forms[1].split(" ", 1)[1], forms[2].split(" ", 1)[1]}) == 3
    )


@pytest.mark.parametrize(
    "text", ["27.11.2026.", "27.11.2026", "27. 11. 2026.", "2026-11-27", "27/11/2026"]
)
def test_dates_typed_the_local_way_are_understood(text: str) -> None:
    assert parse_date(text) == dt.date(2026, 11, 27)


def test_accept_language_picks_our_language() -> None:
    assert pick_language("de-DE,de;q=0.9,hr;q=0.8,en;q=0.7") == "hr"
    assert pick_language("en-GB,en;q=0.9") == "en"
    assert pick_language("fr") is None


@pytest.mark.parametrize(
    ("language", "text", "number"),
    [
        ("hr", "12500,50", "12500.50"),
        ("hr", "12.500,50", "12500.50"),
        ("hr", "12 500,50", "12500.50"),
        ("hr", "1\u00a0234\u00a0567,8", "1234567.8"),
        ("hr", "-0,5", "-0.5"),
        ("hr", "1.000", "1000"),
        ("en", "12,500.50", "12500.50"),
        ("en", "12500.50", "12500.50"),
        ("en", "12 500.50", "12500.50"),
    ],
)
def test_numbers_typed_the_local_way_are_understood(language: str, text: str, number: str) -> None:
    with use_language(language):
        assert parse_decimal(text) == decimal.Decimal(number)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("hr", "12.50"),  # 12,50 or 1.250? Not guessed.
        ("hr", "12,500.50"),
        ("en", "12500,50"),
        ("en", "12.500,50"),
        ("hr", "NaN"),
        ("en", "Infinity"),
        ("en", "1e5"),
        ("hr", "12 €"),
        ("hr", "1 2,5"),
        ("hr", "١٢"),  # digits of another script
        ("en", ""),
    ],
)
def test_numbers_not_written_the_local_way_are_refused(language: str, text: str) -> None:
    with use_language(language), pytest.raises(ValueError):
        parse_decimal(text)
