"""Input validation shared by web forms and the JSON API.

Schemas are pydantic models; :func:`validate` turns their errors into
:class:`groupware.errors.Invalid` with one translated message per field, so a form and
an API call with the same mistake get the same answer.

Numbers are the one difference: a person types them the way their language writes
them (``12.500,50`` in Croatian), a program sends JSON numbers or dot decimals. Every
number field of a schema is a :data:`LocalDecimal` or :data:`LocalWhole`; :func:`validate`
(forms, the command line) reads their text in the user's language, while the API
validates its JSON without that (``groupware.api``) and so keeps machine numbers.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from groupware.errors import Invalid
from groupware.i18n import _l, format_number, gettext, parse_date, parse_datetime, parse_decimal

S = TypeVar("S", bound=BaseModel)


class Schema(BaseModel):
    """Base of input schemas: unknown fields are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def fail(message: Any) -> PydanticCustomError:
    """An error for a custom validator; ``message`` is a lazy translatable string."""
    return PydanticCustomError("groupware", "{message}", {"message": message})


# Dates an input takes: wide enough for any business record, narrow enough that date
# arithmetic (a deal's planned phases, a time zone, a report's months) cannot leave
# Python's calendar (years 1-9999; year 9999 and year 1 were 500s).
FIRST_YEAR, LAST_YEAR = 1900, 2999
_OUTSIDE = _l("Enter a date between the years 1900 and 2999.")


def _in_calendar(value: Any) -> Any:
    if isinstance(value, dt.date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise fail(_OUTSIDE)
    return value


# On every date and time field of an input (tests/api/test_api_errors.py checks it).
IN_CALENDAR = AfterValidator(_in_calendar)


def _local_date(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return parse_date(value)
        except ValueError:
            raise fail(_l("Enter a date as dd.mm.yyyy.")) from None
    return value


LocalDate = Annotated[dt.date, BeforeValidator(_local_date), IN_CALENDAR]
OptionalLocalDate = Annotated[dt.date | None, BeforeValidator(_local_date), IN_CALENDAR]


def _local_datetime(value: Any) -> Any:
    """A time with its zone (ISO 8601, as the API sends it), or a local one typed in a
    form (taken in the company's time zone)."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            zoned = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            zoned = None
        if zoned is not None and zoned.tzinfo is not None:
            return _in_calendar(zoned).astimezone(dt.UTC)
        try:
            return parse_datetime(value)
        except OverflowError:  # the shift to UTC left the calendar
            raise fail(_OUTSIDE) from None
        except ValueError:
            raise fail(_l("Enter a date and time as dd.mm.yyyy. hh:mm.")) from None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        raise fail(_l("Give the time with its time zone."))
    return value


OptionalLocalDateTime = Annotated[dt.datetime | None, BeforeValidator(_local_datetime), IN_CALENDAR]
# An ISO 8601 time as pydantic reads it (the API's query parameters).
Moment = Annotated[dt.datetime, IN_CALENDAR]
OptionalMoment = Annotated[dt.datetime | None, IN_CALENDAR]


# The validation context key of input typed by a person (see the module's docstring).
_BY_PERSON = "typed_by_person"
_EXAMPLE = decimal.Decimal("12500.50")


def _typed(value: Any, info: ValidationInfo) -> str | None:
    """The text of a number a person typed; None for anything else (a JSON number, a
    string sent to the API, a blank left to the field's default or "required")."""
    by_person = bool(info.context and info.context.get(_BY_PERSON))
    return value if by_person and isinstance(value, str) and value.strip() else None


def _local_number(value: Any, info: ValidationInfo) -> Any:
    text = _typed(value, info)
    if text is None:
        return value
    try:
        return parse_decimal(text)
    except ValueError:
        example = format_number(_EXAMPLE, 2)
        raise fail(gettext("Enter a number such as %(example)s.", example=example)) from None


def _local_whole(value: Any, info: ValidationInfo) -> Any:
    text = _typed(value, info)
    if text is None:
        return value
    try:
        number = parse_decimal(text)
    except ValueError:
        number = None
    if number is None or number != number.to_integral_value():
        raise fail(gettext("Enter a whole number such as %(example)s.", example=25))
    return int(number)


LocalDecimal = Annotated[decimal.Decimal, BeforeValidator(_local_number)]
LocalWhole = Annotated[int, BeforeValidator(_local_whole)]


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


# Record ids are 32-bit integers in the database (PostgreSQL ``integer``): a bigger
# number cannot name a record, and sending it to the database would fail (500) instead
# of answering 404 or 422.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
OptionalId = Annotated[Id | None, BeforeValidator(_blank_to_none)]
# Any other whole number an input accepts (a position, a part number) is bounded too;
# tests/api/test_api_errors.py fails on an input model with an unbounded integer.
WholeNumber = Annotated[int, Field(ge=0, le=MAX_ID)]
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(text: str | None) -> int | None:
    """A record id typed in a URL or form, or None (ASCII digits only: ``str.isdigit``
    also accepts "²", which ``int`` refuses)."""
    if text is None or not _DIGITS.fullmatch(text.strip()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


# PostgreSQL text cannot hold NUL (psycopg refuses to send it: a 500), and no request
# needs one; half of a UTF-16 pair (JSON's "\ud800") pydantic refuses itself.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = _l("This text contains a character that cannot be stored.")


def unstorable_text(data: Any, path: str = "") -> dict[str, str]:
    """The places in request data (a form, a JSON body, a query) whose text holds a
    character no database can store, keyed by field path as :func:`errors_of` names
    them (a key holding one is named with U+FFFD in its place)."""
    found: dict[str, str] = {}
    if isinstance(data, str):
        if _UNSTORABLE.search(data):
            found[path] = str(UNSTORABLE_MESSAGE)
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            found |= unstorable_text(item, f"{path}.{index}" if path else str(index))
    elif isinstance(data, Mapping):
        for key, item in data.items():
            name = _UNSTORABLE.sub("\ufffd", str(key))
            where = f"{path}.{name}" if path else name
            found |= {where: str(UNSTORABLE_MESSAGE)} if name != key else {}
            found |= unstorable_text(item, where)
    return found


_MESSAGES: dict[str, Any] = {
    "missing": _l("This field is required."),
    "string_too_short": _l("This field is required."),
    "int_parsing": _l("Enter a whole number."),
    "int_type": _l("Enter a whole number."),
    "float_parsing": _l("Enter a number."),
    "decimal_parsing": _l("Enter a number."),
    "finite_number": _l("Enter a number."),
    "decimal_max_places": _l("At most %(decimal_places)s decimal places."),
    "decimal_max_digits": _l("This number is too large."),
    "decimal_whole_digits": _l("This number is too large."),
    "bool_parsing": _l("Choose yes or no."),
    "bool_type": _l("Choose yes or no."),
    "date_parsing": _l("Enter a date as dd.mm.yyyy."),
    "date_from_datetime_parsing": _l("Enter a date as dd.mm.yyyy."),
    "date_type": _l("Enter a date as dd.mm.yyyy."),
    "literal_error": _l("Choose one of the offered values."),
    "enum": _l("Choose one of the offered values."),
    "extra_forbidden": _l("This field is not expected."),
    "string_type": _l("Enter text."),
    "string_unicode": UNSTORABLE_MESSAGE,
    "string_pattern_mismatch": _l("This value has the wrong form."),
    "value_error": _l("This value is not valid."),
    "greater_than_equal": _l("Enter a number of at least %(ge)s."),
    "less_than_equal": _l("Enter a number of at most %(le)s."),
    "greater_than": _l("Enter a number above %(gt)s."),
    "model_type": _l("Send an object."),
    "list_type": _l("Send a list."),
}


def message_for(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "groupware":
        return str(ctx["message"])
    if kind == "string_too_long":
        return gettext("At most %(max)s characters.", max=ctx.get("max_length"))
    template = _MESSAGES.get(kind)
    if template is None:
        return str(error.get("msg", gettext("This value is not valid.")))
    text = str(template)
    try:
        return text % ctx if "%(" in text else text
    except (KeyError, TypeError):
        return text


def errors_of(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        errors.setdefault(field, message_for(error))
    return errors


def validate(schema: type[S], data: Mapping[str, Any]) -> S:
    """Validate what a person typed (numbers in their language) or raise :class:`Invalid`
    with a message per field. Values that are already numbers pass as they are."""
    if unstorable := unstorable_text(data):
        raise Invalid(unstorable)
    try:
        return schema.model_validate(dict(data), context={_BY_PERSON: True})
    except ValidationError as exc:
        raise Invalid(errors_of(exc)) from None
