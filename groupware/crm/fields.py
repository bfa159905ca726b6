"""The rules for partner fields, as plain functions: the web and API form
(:class:`groupware.crm.partners.PartnerIn`) and the CSV importer, which checks a
million rows and cannot afford a pydantic model per row, apply the same ones.

Each ``check_*`` returns the cleaned value or raises :class:`FieldProblem` with a
translatable message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from groupware.crm.normalize import (
    clean_oib,
    clean_postal,
    clean_vat,
    email_is_valid,
    oib_is_valid,
    vat_is_valid,
)
from groupware.crm.reference import is_country, is_croatian_postal_code
from groupware.i18n import _l
from groupware.validation import fail

_TAG = re.compile(r"^[\w .&+-]{1,50}$")
_SPLIT = re.compile(r"[,;\s]+")
_HAS_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
_WEB = re.compile(r"^https?://[^\s/]+\.[^\s/]+(/\S*)?$", re.IGNORECASE)


class FieldProblem(ValueError):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


T = TypeVar("T")


def in_form(check: Callable[..., T], *args: Any) -> T:
    """Apply a check inside a pydantic validator: its problem becomes the field's error."""
    try:
        return check(*args)
    except FieldProblem as problem:
        raise fail(problem.message) from None


def check_oib(value: str) -> str:
    if not (len(value) == 11 and value.isascii() and value.isdigit()):
        value = clean_oib(value)
    if value and not oib_is_valid(value):
        raise FieldProblem(_l("This OIB is not valid (11 digits with a correct check digit)."))
    return value


def check_vat(value: str) -> str:
    value = clean_vat(value)
    if value and not vat_is_valid(value):
        raise FieldProblem(
            _l("This VAT id is not valid (country prefix and number, e.g. SI12345679).")
        )
    return value


def check_email(value: str) -> str:
    value = value.strip().lower()
    if value and not email_is_valid(value):
        raise FieldProblem(_l("Enter an e-mail address."))
    return value


def check_emails(value: str) -> str:
    single = value.strip()
    if "," not in single and ";" not in single and " " not in single:
        return check_email(single)
    addresses = [a.lower() for a in _SPLIT.split(value) if a]
    if any(not email_is_valid(a) for a in addresses):
        raise FieldProblem(_l("Enter e-mail addresses separated by commas."))
    return ", ".join(addresses)


def check_country(value: str) -> str:
    value = value.strip().upper()
    if not is_country(value):
        raise FieldProblem(_l("Choose a country."))
    return value


def check_postal(value: str, country: str) -> str:
    value = clean_postal(value)
    if country == "HR" and value and not is_croatian_postal_code(value):
        raise FieldProblem(_l("A Croatian postal code has five digits, e.g. 10000."))
    return value


def check_web(value: str) -> str:
    value = value.strip()
    if value and not _HAS_SCHEME.match(value):
        value = "https://" + value
    if value and not _WEB.match(value):
        raise FieldProblem(_l("Enter a web address."))
    return value


def check_tags(values: list[str]) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in values if t.strip()})
    if any(not _TAG.match(t) for t in cleaned):
        raise FieldProblem(_l("A tag is a word or a few (letters, digits, spaces, - & +)."))
    return cleaned


def check_vat_matches_oib(vat_id: str, oib: str) -> None:
    if vat_id.startswith("HR") and oib and vat_id != "HR" + oib:
        raise FieldProblem(_l("The Croatian VAT id is HR followed by the OIB."))
