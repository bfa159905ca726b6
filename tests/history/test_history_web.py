"""History pages through the real server, in English and Croatian: a deal's, a task's and
a partner's history, the dashboard's recent changes, /history and the API's history."""

from __future__ import annotations

import html as html_lib
import re

import httpx
import pytest

from tests.api.helpers import Api
from tests.conftest import LoginAs
from tests.history.conftest import World


def text_of(page: str) -> str:
    """What a person reads: the page without tags, entities or runs of spaces."""
    inline = re.sub(r"</?(?:a|span|strong|em)\b[^>]*>", "", page)
    # Runs of ASCII white space only: the non-breaking spaces of "40 %" are what we read.
    return re.sub(r"[ \t\r\n]+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", inline))).strip()


def speaking(client: httpx.Client, language: str) -> httpx.Client:
    """The user switches the UI to ``language``, as the menu does."""
    answer = client.post("/language", data={"language": language, "next": "/"})
    assert answer.status_code == 303
    return client


def recent_changes(client: httpx.Client) -> str:
    page = client.get("/").text
    return text_of(page.split('data-widget="recent-changes"')[1].split("</section>")[0])


DEAL_PANEL = {
    "en": [
        "Changed by Root",
        "Partner Konzum d.d. → hidden",
        "Status open → won",
        "Probability 40% → 100%",
        "Phase Qualify → Offer",
        "Created by Alice",
        "Partner Konzum d.d. Type Retail Amount €12,500.50 Responsible Alice"
        " Expected close 30/04/2026",
    ],
    "hr": [
        "Izmjena: Root",
        "Partner Konzum d.d. → skriveno",
        "Status otvoreno → dobiven",
        "Vjerojatnost 40\xa0% → 100\xa0%",
        "Faza Qualify → Offer",
        "Unos: Alice",
        "Partner Konzum d.d. Vrsta Retail Iznos 12.500,50\xa0€ Odgovorna osoba Alice"
        " Očekivano zatvaranje 30.04.2026.",
    ],
}


@pytest.mark.parametrize("language", ["en", "hr"])
def test_a_deals_history_panel_names_records_and_says_values_in_the_readers_language(
    committed_world: World, login_as: LoginAs, language: str
) -> None:
    world = committed_world
    alice = speaking(login_as("alice"), language)
    page = alice.get(f"/records/deals/{world.deal}/history")
    assert page.status_code == 200
    text = text_of(page.text)
    for expected in DEAL_PANEL[language]:
        assert expected in text, text[text.find("Vjer") :][:80]
    assert f'href="/partners/{world.konzum}"' in page.text
    # The partner alice may not see: neither its name nor its page nor its number.
    assert "Studenac" not in page.text and f"/partners/{world.studenac}" not in page.text
    assert f"→ {world.studenac}" not in text
    # Only the key fields of the new deal, not each of its sixteen.
    assert "Source" not in text and "Izvor" not in text and "Currency" not in text


@pytest.mark.parametrize(
    ("language", "hidden", "expected"),
    [
        ("en", "Due 04/05/2026 09:30 Partner hidden", "Charlie created Task “Inventura”"),
        (
            "hr",
            "Dospijeće 04.05.2026. 09:30 Partner skriveno",
            "Charlie: unos – Zadatak „Inventura“",
        ),
    ],
)
def test_a_tasks_history_says_hidden_for_a_partner_the_reader_may_not_see(
    committed_world: World, login_as: LoginAs, language: str, hidden: str, expected: str
) -> None:
    world = committed_world
    alice = speaking(login_as("alice"), language)
    page = alice.get("/history", params={"type": "tasks", "id": world.task})
    text = text_of(page.text)
    assert expected in text and hidden in text
    record_type = "Task" if language == "en" else "Zadatak"
    assert f'<option value="tasks" selected>{record_type}</option>' in page.text
    assert "Studenac" not in page.text and f"/partners/{world.studenac}" not in page.text
    charlie = speaking(login_as("charlie"), language)
    theirs = charlie.get("/history", params={"type": "tasks", "id": world.task}).text
    assert f'<a href="/partners/{world.studenac}">Studenac d.o.o.</a>' in theirs


@pytest.mark.parametrize(
    ("language", "summary", "left_out"),
    [
        ("en", "Created by Alice web Kind company City Zagreb", ("Postal code", "Country")),
        ("hr", "Unos: Alice web Vrsta tvrtka Grad Zagreb", ("Poštanski broj", "Država")),
    ],
)
def test_a_partners_history_opens_with_a_short_summary_of_the_new_partner(
    committed_world: World,
    login_as: LoginAs,
    language: str,
    summary: str,
    left_out: tuple[str, ...],
) -> None:
    alice = speaking(login_as("alice"), language)
    page = alice.get(f"/records/partners/{committed_world.konzum}/history").text
    text = text_of(page.split('id="record-panel"')[1])
    assert text.endswith(summary)  # the oldest change, last
    for every_other_field in left_out:
        assert every_other_field not in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "Alice changed Task “Inventura”",
                "Alice changed Deal “Blagajne”",
                "Alice created Deal “Blagajne”",
                "Alice changed Partner “Konzum d.d.”",  # its rep, filed on it
                "Alice created Partner “Konzum d.d.”",
            ],
        ),
        (
            "hr",
            [
                "Alice: izmjena – Zadatak „Inventura“",
                "Alice: izmjena – Posao „Blagajne“",
                "Alice: unos – Posao „Blagajne“",
                "Alice: izmjena – Partner „Konzum d.d.“",
                "Alice: unos – Partner „Konzum d.d.“",
            ],
        ),
    ],
)
def test_the_dashboards_recent_changes_say_what_changed_by_name(
    committed_world: World, login_as: LoginAs, language: str, expected: list[str]
) -> None:
    recent = recent_changes(speaking(login_as("alice"), language))
    said = [line for line in expected if line in recent]
    assert said == expected
    assert "#" not in recent


def test_switching_the_language_does_not_fill_recent_changes(
    committed_world: World, login_as: LoginAs, api: Api
) -> None:
    alice = login_as("alice")
    before = recent_changes(alice), text_of(alice.get("/history").text)
    in_croatian = recent_changes(speaking(alice, "hr"))
    assert "Korisnik" not in in_croatian  # the user record alice just changed
    speaking(alice, "en")
    assert (recent_changes(alice), text_of(alice.get("/history").text)) == before
    mine = api("alice").get("/history", params={"actor_id": api.cast.alice.id}).json()["items"]
    assert mine and not any("language" in c["changes"] for c in mine)


def test_the_api_keeps_raw_values_and_adds_words_that_hide_what_the_caller_may_not_see(
    committed_world: World, api: Api
) -> None:
    world = committed_world
    params = {"record_type": "deals", "record_id": world.deal}
    moved = api("alice").get("/history", params=params).json()["items"][0]
    assert moved["changes"] == {"partner_id": [world.konzum, world.studenac]}
    assert moved["text"] == "Root changed Deal “Blagajne”"
    assert moved["details"] == [
        {"field": "partner_id", "label": "Partner", "old": "Konzum d.d.", "new": "hidden"}
    ]
    croatian = api.client(api.token("alice"), **{"Accept-Language": "hr"})
    [said] = croatian.get("/history", params={**params, "limit": 1}).json()["items"]
    assert said["text"] == "Root: izmjena – Posao „Blagajne“"
    assert said["details"][0]["new"] == "skriveno"
    by_root = api("root").get("/history", params=params).json()["items"][0]
    assert by_root["details"][0]["new"] == "Studenac d.o.o."
