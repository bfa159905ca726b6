"""Reading a list's shape from its query string and writing it back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from groupware.crm.lists import PARTNERS
from groupware.deals.lists import DEALS
from groupware.lists.shape import default, read
from groupware.tasks.lists import TASKS


def test_a_bare_list_opens_on_its_default_view() -> None:
    shape = default(DEALS)
    assert dict(shape.filters) == {"status": "open"}
    assert shape.sort == "expected_close" and shape.columns == DEALS.default_columns
    assert shape.is_default and shape.query() == "status=open"
    assert default(PARTNERS).query() == ""


def test_any_parameter_of_the_list_leaves_the_default_view() -> None:
    every = read(DEALS, [("status", "")])
    assert dict(every.filters) == {} and not every.is_default
    # Its address must not bring the default view back.
    assert every.query() == "status="
    assert read(DEALS, [("sort", "-amount")]).query() == "sort=-amount"
    assert dict(read(DEALS, [("offset", "50")]).filters) == {}
    assert dict(read(DEALS, [("unrelated", "1")]).filters) == {"status": "open"}


def test_columns_are_chosen_ordered_and_moved() -> None:
    shape = read(PARTNERS, [("cols", "name,city"), ("cols", "rep,nothing,city")])
    assert shape.columns == ("name", "city", "rep")
    assert read(PARTNERS, [("cols", "name,city,rep"), ("down", "name")]).columns == (
        "city",
        "name",
        "rep",
    )
    assert read(PARTNERS, [("cols", "name,city,rep"), ("up", "rep")]).columns == (
        "name",
        "rep",
        "city",
    )
    assert read(PARTNERS, [("cols", "")]).columns == PARTNERS.default_columns
    assert shape.query() == "cols=name%2Ccity%2Crep"


def test_a_sort_turns_around_and_an_unknown_one_is_refused() -> None:
    shape = read(PARTNERS, [("sort", "city"), ("offset", "100"), ("q", "konzum")])
    assert shape.sort_link("city") == "q=konzum&sort=-city"
    assert shape.sort_link("name") == "q=konzum"  # the default sort is left out
    assert shape.query() == "q=konzum&sort=city&offset=100"
    wrong = read(PARTNERS, [("sort", "password")])
    assert wrong.sort == "name" and "sort" in wrong.errors


def test_forms_carry_the_rest_of_the_shape() -> None:
    shape = read(PARTNERS, [("cols", "city,name"), ("sort", "-city"), ("city", "Split")])
    assert shape.hidden(columns=True) == [("sort", "-city"), ("cols", "city,name")]
    assert shape.hidden(filters=True) == [("city", "Split"), ("sort", "-city")]


def test_a_filter_form_carries_the_filters_it_does_not_offer() -> None:
    # the dashboard's link to a phase's deals: the filter form keeps step_id and the
    # currency when its own fields change, and the next page keeps them too
    shape = read(DEALS, [("status", "open"), ("step_id", "7"), ("currency", "EUR")])
    assert shape.hidden(columns=True) == [("step_id", "7"), ("currency", "EUR")]
    assert shape.query(offset=50) == "status=open&step_id=7&currency=EUR&offset=50"


def test_a_list_narrows_only_by_its_own_filters() -> None:
    with pytest.raises(ValueError, match="no filter"):
        replace(TASKS, narrowing={**TASKS.narrowing, "colour": lambda s, w, v: v})
