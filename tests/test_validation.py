"""The shared input types: a number typed by a person in a form is read in their
language, while the API (validating without that context) keeps machine numbers."""

from __future__ import annotations

import decimal

import pytest
from pydantic import Field, ValidationError

from groupware.errors import Invalid
from groupware.i18n import use_language
from groupware.validation import LocalDecimal, LocalWhole, Schema, validate


class Line(Schema):
    price: LocalDecimal = Field(default=decimal.Decimal(0), max_digits=14, decimal_places=2)
    days: LocalWhole = Field(default=7, ge=0, le=100_000)


def test_a_form_is_read_in_the_users_language() -> None:
    with use_language("hr"):
        line = validate(Line, {"price": "12.500,50", "days": "10.000"})
        assert (line.price, line.days) == (decimal.Decimal("12500.50"), 10_000)
    with use_language("en"):
        line = validate(Line, {"price": "12,500.50", "days": "10,000"})
        assert (line.price, line.days) == (decimal.Decimal("12500.50"), 10_000)


def test_a_wrong_number_in_a_form_is_answered_with_an_example_in_the_language() -> None:
    with use_language("hr"), pytest.raises(Invalid) as refused:
        validate(Line, {"price": "12.50", "days": "2,5"})
    assert refused.value.errors == {
        "price": "Unesite broj, npr. 12.500,50.",
        "days": "Unesite cijeli broj, npr. 25.",
    }
    with use_language("en"), pytest.raises(Invalid) as refused:
        validate(Line, {"price": "12500,50", "days": "1.5"})
    assert refused.value.errors == {
        "price": "Enter a number such as 12,500.50.",
        "days": "Enter a whole number such as 25.",
    }
    with use_language("en"), pytest.raises(Invalid) as refused:
        validate(Line, {"price": "1.505"})
    assert refused.value.errors == {"price": "At most 2 decimal places."}


def test_values_that_are_numbers_already_pass_as_they_are() -> None:
    with use_language("hr"):
        line = validate(Line, {"price": decimal.Decimal("12.5"), "days": 3})
        assert (line.price, line.days) == (decimal.Decimal("12.5"), 3)
    # A blank is no number in any language: the field's own rules answer it (forms
    # leave out the blanks that mean "the default").
    with use_language("hr"), pytest.raises(Invalid) as refused:
        validate(Line, {"price": "", "days": " "})
    assert refused.value.errors == {"price": "Unesite broj.", "days": "Unesite cijeli broj."}


def test_the_api_reads_machine_numbers_whatever_the_language() -> None:
    with use_language("hr"):
        line = Line.model_validate({"price": "12500.50", "days": 3})
        assert line.price == decimal.Decimal("12500.50")
        assert Line.model_validate({"price": 12500.5}).price == decimal.Decimal("12500.5")
        with pytest.raises(ValidationError):
            Line.model_validate({"price": "12.500,50"})
