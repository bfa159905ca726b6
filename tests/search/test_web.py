"""The global search over HTTP (the results page and the header's htmx fragment) and
the header's "+" menu, against the live server."""

from __future__ import annotations

import re

from groupware.accounts.roles import RoleIn, create_role
from groupware.accounts.users import UserUpdate, update_user
from groupware.crm.persons import PersonIn, save_person
from groupware.db import Database
from tests.conftest import LoginAs
from tests.factories import MAIL_DOMAIN, Cast, make_partner, make_user

TYPING = {"HX-Request": "true", "HX-Target": "search-results"}


def _partners(database: Database, cast: Cast) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        for user, name in (
            (cast.alice, "Čakovec Mlin d.o.o."),
            (cast.charlie, "Čakovec Tajna d.d."),
        ):
            who = cast.who(session, user)
            partner = make_partner(session, who, name, city="Čakovec", postal_code="40000")
            save_person(session, who, None, PersonIn(partner_id=partner.id, last_name="Horvat"))


def _options(html: str) -> list[str]:
    return re.findall(r'role="option" id="([^"]+)"', html)


def test_the_results_page_shows_what_the_user_may_see(
    login_as: LoginAs, committed: Cast, database: Database
) -> None:
    _partners(database, committed)
    alice = login_as("alice")
    page = alice.get("/search", params={"q": "cakovec"})
    assert page.status_code == 200
    assert "Čakovec Mlin d.o.o." in page.text and "Tajna" not in page.text
    assert "<html" in page.text and 'href="/partners?q=cakovec"' not in page.text
    assert _options(page.text) == []  # a page of links, not the header's list
    empty = alice.get("/search")
    assert empty.status_code == 200 and "Nothing found" not in empty.text
    nothing = alice.get("/search", params={"q": "tajna"})
    assert "Nothing found for «tajna»." in nothing.text
    assert "Tajna" in login_as("charlie").get("/search", params={"q": "čakovec"}).text


def test_the_header_gets_a_fragment_of_options_as_the_user_types(
    login_as: LoginAs, committed: Cast, database: Database
) -> None:
    _partners(database, committed)
    alice = login_as("alice")
    fragment = alice.get("/search", params={"q": "ČAKOV"}, headers=TYPING)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "Čakovec Mlin d.o.o." in fragment.text
    assert "Tajna" not in fragment.text
    options = _options(fragment.text)
    assert options[0] == "search-hit-partners-1" and options[-1] == "search-all"
    assert 'href="/search?q=%C4%8CAKOV"' in fragment.text
    horvat = alice.get("/search", params={"q": "horv"}, headers=TYPING).text
    assert _options(horvat) == ["search-hit-persons-1", "search-all"]
    assert _options(alice.get("/search", params={"q": ""}, headers=TYPING).text) == []
    long = alice.get("/search", params={"q": "x" * 500}, headers=TYPING)
    assert long.status_code == 200


def test_the_plus_menu_offers_only_what_the_user_may_create(
    login_as: LoginAs, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        reader = create_role(session, RoleIn(name="reader", grants=[("partners", "view", "all")]))
        frank = make_user(session, "frank", roles=())
        update_user(session, frank, UserUpdate(role_ids=[reader.id]), mail_domain=MAIL_DOMAIN)

    def menu(username: str) -> list[str]:
        html = login_as(username).get("/").text
        found = re.search(r'<details class="quick-create".*?</details>', html, re.S)
        return re.findall(r'<a href="([^"]+)">', found.group(0)) if found else []

    assert menu("alice") == [
        "/partners/new",
        "/persons/new",
        "/deals/new",
        "/tasks/new",
        "/calendar/new",
        "/mail/compose",
        "/announcements/new",
    ]
    # partners to read but nothing to create: only what every user has (a calendar and
    # a mailbox of their own)
    assert menu("frank") == ["/calendar/new", "/mail/compose"]
    for url in menu("alice"):
        assert login_as("alice").get(url).status_code == 200, url


def test_a_new_person_starts_from_a_partner_the_user_may_change(
    login_as: LoginAs, committed: Cast, database: Database
) -> None:
    _partners(database, committed)
    alice = login_as("alice")
    page = alice.get("/persons/new", params={"q": "čakovec"})
    assert "Čakovec Mlin d.o.o." in page.text and "Tajna" not in page.text
    link = re.search(r'href="(/partners/\d+/persons/new)"', page.text)
    assert link and alice.get(link.group(1)).status_code == 200
