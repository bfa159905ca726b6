"""Croatian and English: message catalogs and the local formats of dates and money.

The catalogs are the ``.po`` files under ``groupware/locale``; they are compiled in
memory on first use, so no build step is needed. The language of the current request,
command or job lives in a context variable set with :func:`use_language`. Croatian
dates read ``dd.mm.yyyy.``, numbers ``1.234,56`` and money ``1.234,56 €``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import functools
import io
import re
import zoneinfo
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel import Locale, numbers
from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations

LANGUAGES = ("hr", "en")
LANGUAGE_NAMES = {"hr": "Hrvatski", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"
_DATE_PATTERNS = {"hr": "dd.MM.yyyy.", "en": "dd/MM/yyyy"}
_TIME_PATTERN = "HH:mm"

_language: ContextVar[str] = ContextVar("groupware_language", default="hr")
_timezone: ContextVar[str] = ContextVar("groupware_timezone", default="Europe/Zagreb")


@functools.cache
def translations(language: str) -> Translations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def current_language() -> str:
    return _language.get()


@contextlib.contextmanager
def use_language(language: str, timezone: str | None = None) -> Iterator[None]:
    token = _language.set(language if language in LANGUAGES else LANGUAGES[0])
    tz_token = _timezone.set(timezone) if timezone else None
    try:
        yield
    finally:
        _language.reset(token)
        if tz_token is not None:
            _timezone.reset(tz_token)


def set_default_timezone(timezone: str) -> None:
    _timezone.set(timezone)


def gettext(message: str, **params: Any) -> str:
    text = translations(_language.get()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(_language.get()).ngettext(singular, plural, n)
    return text % {"num": n, **params}


_ = gettext


def template_gettext(message: str) -> str:
    """For Jinja (newstyle gettext formats the result with the template's variables)."""
    return translations(_language.get()).gettext(message)


def template_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def lazy_gettext(message: str, **params: Any) -> Any:
    """A string translated when it is shown, in the language of that moment."""
    return LazyProxy(gettext, message, enable_cache=False, **params)


_l = lazy_gettext


def pick_language(accept_language: str | None) -> str | None:
    """The first of our languages named in an ``Accept-Language`` header."""
    if not accept_language:
        return None
    weighted: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _sep, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES:
            weighted.append((weight, primary))
    return max(weighted)[1] if weighted else None


# -- local formats ---------------------------------------------------------------


_LOCALES = {"hr": Locale.parse("hr_HR"), "en": Locale.parse("en_GB")}


def _locale() -> Locale:
    # Parsed once: Locale.parse on every date or number cost more than the formatting.
    return _LOCALES["hr" if _language.get() == "hr" else "en"]


def local_time(value: dt.datetime) -> dt.datetime:
    return value.astimezone(zoneinfo.ZoneInfo(_timezone.get()))


def today() -> dt.date:
    """Today in the company's time zone."""
    return dt.datetime.now(zoneinfo.ZoneInfo(_timezone.get())).date()


def format_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local_time(value).date()
    return _date_text(value, _language.get())


@functools.lru_cache(maxsize=4096)
def _date_text(value: dt.date, language: str) -> str:
    """Lists and alerts show the same few dates over and over."""
    return babel_dates.format_date(value, _DATE_PATTERNS[language], locale=_LOCALES[language])


def format_day_month(value: dt.date) -> str:
    """A date without the year (``07. 12.``, ``07/12``), where space is short."""
    return babel_dates.format_skeleton("dM", value, locale=_locale())


def format_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = local_time(value)
    return f"{format_date(local.date())} {babel_dates.format_time(local, _TIME_PATTERN)}"


def format_number(value: int | float | decimal.Decimal | None, digits: int | None = None) -> str:
    if value is None:
        return ""
    if digits is None:
        return numbers.format_decimal(value, locale=_locale())
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return numbers.format_decimal(value, format=pattern, locale=_locale())


def format_money(value: int | float | decimal.Decimal | None, currency: str = "EUR") -> str:
    if value is None:
        return ""
    return numbers.format_currency(value, currency, locale=_locale())


def format_money_short(value: int | float | decimal.Decimal, currency: str = "EUR") -> str:
    """An amount rounded for a chart's axis or bar: ``1,2 mil. €``, ``€1.2m``, ``950 €``."""
    amount = decimal.Decimal(str(value))
    if abs(amount) < 1000:
        amount = amount.quantize(decimal.Decimal(1))  # no cents where thousands lose them
    return numbers.format_compact_currency(amount, currency, locale=_locale(), fraction_digits=1)


def parse_date(text: str) -> dt.date:
    """Read a date typed the local way (``27.11.2026.``, ``27/11/2026``) or ISO."""
    cleaned = text.strip().rstrip(".")
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d. %m. %Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_datetime(text: str) -> dt.datetime:
    """Read a local date and time (``5.12.2026. 14:30``, or ``2026-12-05T14:30`` as a
    browser's datetime field sends it) in the company's time zone; returns it in UTC.
    A date alone means the end of that working day (17:00)."""
    cleaned = " ".join(text.strip().replace("T", " ").split())
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y. %H:%M", "%d.%m.%Y %H:%M"):
        try:
            naive = dt.datetime.strptime(cleaned, fmt)
            break
        except ValueError:
            continue
    else:
        naive = dt.datetime.combine(parse_date(cleaned), dt.time(17, 0))
    local = naive.replace(tzinfo=zoneinfo.ZoneInfo(_timezone.get()))
    return local.astimezone(dt.UTC)


# What a person types for a number: ASCII digits, a sign, the two separators, and spaces
# between groups of three. Babel alone would also take "NaN", "Infinity" and "1E+5".
_NUMBER_TEXT = re.compile(r"[+-]?[0-9.,]+")
_GROUP_SPACE = re.compile(r"(?<=[0-9])[ \u00a0\u202f](?=[0-9]{3}(?![0-9]))")


def parse_decimal(text: str) -> decimal.Decimal:
    """Read a number typed the local way: ``12.500,50`` or ``12500,50`` in Croatian,
    ``12,500.50`` or ``12500.50`` in English; a space may group thousands in either.

    Strict: a separator in the wrong place (``12.50`` in Croatian, ``12500,50`` in
    English) is an error rather than a guess, as its two readings differ a hundredfold.
    Raises ValueError.
    """
    cleaned = _GROUP_SPACE.sub("", text.strip())
    if not _NUMBER_TEXT.fullmatch(cleaned):
        raise ValueError(text)
    try:
        return numbers.parse_decimal(cleaned, locale=_locale(), strict=True)
    except numbers.NumberFormatError:
        raise ValueError(text) from None
