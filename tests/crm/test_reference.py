"""Reference data: counties and postal codes, demo towns and names, country choices."""

from __future__ import annotations

import pytest

from groupware.crm import reference
from groupware.crm.reference import (
    CITIES,
    COUNTIES,
    COUNTY_BY_CODE,
    country_choices,
    county_for_postal,
    is_country,
    is_croatian_postal_code,
)


def test_twenty_one_counties_with_iso_codes() -> None:
    assert [c.code for c in COUNTIES] == [f"HR-{n:02}" for n in range(1, 22)]
    assert len({c.name for c in COUNTIES}) == 21
    assert COUNTY_BY_CODE["HR-01"].name == "Zagrebačka županija"
    assert COUNTY_BY_CODE["HR-20"].name == "Međimurska županija"
    assert COUNTY_BY_CODE["HR-21"].name == "Grad Zagreb"


def test_postal_prefixes_are_unique_digits_and_fit_the_column() -> None:
    seen: set[str] = set()
    for county in COUNTIES:
        assert county.postal_prefixes, county.code
        for prefix in county.postal_prefixes:
            assert prefix.isdigit() and 2 <= len(prefix) <= 5
            assert prefix not in seen
            seen.add(prefix)
        # counties.postal_prefixes is a comma-separated String(100).
        assert len(",".join(county.postal_prefixes)) <= 100


@pytest.mark.parametrize(
    ("postal_code", "county"),
    [
        ("10000", "HR-21"),
        ("10010", "HR-21"),
        ("10020", "HR-21"),
        ("10040", "HR-21"),
        ("10090", "HR-21"),
        ("10110", "HR-21"),
        ("10250", "HR-21"),
        ("10257", "HR-21"),
        ("10360", "HR-21"),
        ("10362", "HR-21"),
        ("10373", "HR-21"),
        ("10255", "HR-01"),
        ("10290", "HR-01"),
        ("10310", "HR-01"),
        ("10340", "HR-01"),
        ("10370", "HR-01"),
        ("10372", "HR-01"),
        ("10380", "HR-01"),
        ("10408", "HR-01"),
        ("10410", "HR-01"),
        ("10430", "HR-01"),
        ("10431", "HR-01"),
        ("10450", "HR-01"),
        ("10457", "HR-01"),
        ("20000", "HR-19"),
        ("21000", "HR-17"),
        ("22000", "HR-15"),
        ("23000", "HR-13"),
        ("23440", "HR-13"),
        ("31000", "HR-14"),
        ("32100", "HR-16"),
        ("33000", "HR-10"),
        ("34000", "HR-11"),
        ("35000", "HR-12"),
        ("40000", "HR-20"),
        ("42000", "HR-05"),
        ("43000", "HR-07"),
        ("44000", "HR-03"),
        ("47000", "HR-04"),
        ("48000", "HR-06"),
        ("49000", "HR-02"),
        ("51000", "HR-08"),
        ("52100", "HR-18"),
        ("53000", "HR-09"),
        ("53291", "HR-09"),
    ],
)
def test_county_for_postal(postal_code: str, county: str) -> None:
    assert county_for_postal(postal_code) == county
    assert is_croatian_postal_code(postal_code)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1000",
        "100000",
        "10 000",
        " 10000",
        "HR-10000",
        "abcde",
        "１００００",  # full-width digits
        "²1000",
        "09999",
        "11000",  # Belgrade
        "19000",
        "30000",
        "41000",
        "50000",
        "54000",
        "99999",
        "10200",  # 10xxx codes no post office uses
        "10300",
        "10390",
    ],
)
def test_invalid_postal_codes(value: str) -> None:
    assert county_for_postal(value) is None
    assert not is_croatian_postal_code(value)


def test_every_city_resolves_to_its_own_county() -> None:
    for city in CITIES:
        assert county_for_postal(city.postal_code) == city.county_code, city
        assert is_croatian_postal_code(city.postal_code), city


def test_cities_cover_croatia_with_zagreb_heaviest() -> None:
    assert 100 <= len(CITIES) <= 150
    assert len({c.name for c in CITIES}) == len(CITIES)
    assert {c.county_code for c in CITIES} == {c.code for c in COUNTIES}
    assert all(c.weight > 0 for c in CITIES)
    by_name = {c.name: c for c in CITIES}
    ranking = sorted(CITIES, key=lambda c: c.weight, reverse=True)
    assert [c.name for c in ranking[:4]] == ["Zagreb", "Split", "Rijeka", "Osijek"]
    for name, postal_code in [
        ("Split", "21000"),
        ("Pula", "52100"),
        ("Velika Gorica", "10410"),
        ("Vinkovci", "32100"),
        ("Kaštel Sućurac", "21212"),
        ("Opatija", "51410"),
        ("Umag", "52470"),
        ("Đakovo", "31400"),
    ]:
        assert by_name[name].postal_code == postal_code


def test_demo_word_lists() -> None:
    for words, minimum in [
        (reference.STREETS, 50),
        (reference.COMPANY_WORDS, 40),
        (reference.FIRST_NAMES, 50),
        (reference.LAST_NAMES, 50),
        (reference.LEGAL_FORMS, 4),
    ]:
        assert len(words) >= minimum
        assert len(set(words)) == len(words)
        assert all(w == w.strip() and w for w in words)
    assert {"d.o.o.", "d.d.", "j.d.o.o.", "obrt"} <= set(reference.LEGAL_FORMS)
    assert {"Ivan", "Ana", "Đuro"} <= set(reference.FIRST_NAMES)
    assert {"Horvat", "Kovačević", "Šarić", "Đurić"} <= set(reference.LAST_NAMES)
    assert {"Ilica", "Trg bana Jelačića", "Put Supavla"} <= set(reference.STREETS)


@pytest.mark.parametrize(("language", "croatia"), [("hr", "Hrvatska"), ("en", "Croatia")])
def test_country_choices_start_with_croatia_then_eu_and_neighbours(
    language: str, croatia: str
) -> None:
    choices = country_choices(language)
    codes = [code for code, _ in choices]
    assert choices[0] == ("HR", croatia)
    assert len(codes) == len(set(codes)) > 240
    preferred = reference.PREFERRED_COUNTRIES - {"HR"}
    assert set(codes[1 : 1 + len(preferred)]) == preferred
    assert {"SI", "BA", "RS", "ME", "HU", "AT", "DE", "IT"} <= preferred
    for not_a_country in ("EU", "EZ", "UN", "ZZ", "QO", "001"):
        assert not_a_country not in codes
    assert all(is_country(code) for code in codes)


def test_country_names_are_localised_and_sorted() -> None:
    hr = dict(country_choices("hr"))
    en = dict(country_choices("en"))
    assert hr["DE"] == "Njemačka" and en["DE"] == "Germany"
    assert hr["US"] == "Sjedinjene Američke Države" and en["US"] == "United States"
    names = [name for _, name in country_choices("hr")]
    # Croatian alphabet: Č after C, Nj after N, Š after S.
    assert names.index("Crna Gora") < names.index("Češka") < names.index("Danska")
    assert names.index("Nizozemska") < names.index("Njemačka") < names.index("Poljska")
    assert names.index("Srbija") < names.index("Španjolska") < names.index("Švedska")
    rest = names[len(reference.PREFERRED_COUNTRIES) :]
    assert rest.index("Curaçao") < rest.index("Čad") < rest.index("Čile") < rest.index("Dominika")
    english = [name for _, name in country_choices("en")]
    rest_en = english[len(reference.PREFERRED_COUNTRIES) :]
    # Accents are folded: Åland sorts with the A's.
    assert rest_en.index("Afghanistan") < rest_en.index("Åland Islands") < rest_en.index("Albania")


def test_country_choices_return_a_fresh_list() -> None:
    first = country_choices("hr")
    first.clear()
    assert country_choices("hr")[0] == ("HR", "Hrvatska")


def test_is_country() -> None:
    assert is_country("HR")
    assert is_country("GB")
    assert is_country("XK")
    assert not is_country("hr")
    assert not is_country("EU")
    assert not is_country("ZZ")
    assert not is_country("")
    assert not is_country("HRV")
