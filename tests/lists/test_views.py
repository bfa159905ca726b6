"""Saved views: a list's shape kept by name, private or shared with a team."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from groupware.access.policy import load_who
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.lists import views
from tests.conftest import LoginAs
from tests.factories import Cast
from tests.lists.conftest import Shop


def headers(html: str) -> list[str]:
    """The keys of a shaped list's columns, in order."""
    return re.findall(r'<th[^>]*data-column="(\w+)"', html)


def test_a_view_keeps_the_chosen_columns_their_order_and_the_sort(
    live_shop: Shop, login_as: LoginAs
) -> None:
    alice = login_as("alice")
    # Chosen in the column menu: amount and title, partner moved first; then sorted.
    shaped = alice.get(
        "/deals",
        params=[("cols", "title"), ("cols", "amount"), ("cols", "partner"), ("up", "partner")],
    )
    assert headers(shaped.text) == ["title", "partner", "amount"]
    sorted_page = alice.get("/deals?cols=title,partner,amount&sort=-amount")
    assert 'aria-sort="descending" data-column="amount"' in sorted_page.text
    query = re.search(r'name="query" value="([^"]*)"', sorted_page.text)
    assert query is not None and query[1] == "sort=-amount&amp;cols=title%2Cpartner%2Camount"
    saved = alice.post(
        "/lists/deals/views", data={"name": "Big ones", "query": query[1].replace("&amp;", "&")}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/deals?sort=-amount&cols=title%2Cpartner%2Camount"
    page = alice.get("/deals").text  # the default view, with the saved one in the menu
    link = re.search(r'<a href="([^"]+)">Big ones</a>', page)
    assert link is not None
    opened = alice.get(link[1].replace("&amp;", "&")).text
    assert headers(opened) == ["title", "partner", "amount"]
    assert 'aria-sort="descending" data-column="amount"' in opened
    titles = re.findall(r'href="/deals/\d+">([^<]+)<', opened)
    assert titles == ["Blagajne", "Stari posao", "Police", "Vage"]  # every deal, largest first
    assert "Views: Big ones" in opened  # the menu says which view this is


def test_a_team_view_is_seen_by_the_team_and_by_no_one_else(db: Session, cast: Cast) -> None:
    alice, bob = load_who(db, cast.alice), load_who(db, cast.bob)
    charlie = load_who(db, cast.charlie)
    shared = views.save_view(db, alice, "deals", "Team's", "status=won", team_id=cast.north.id)
    private = views.save_view(db, alice, "deals", "Mine", "?status=lost")
    assert private.query == "status=lost" and private.team_id is None
    assert [v.name for v in views.list_views(db, alice, "deals")] == ["Mine", "Team's"]
    assert [v.name for v in views.list_views(db, bob, "deals")] == ["Team's"]  # same team
    assert views.list_views(db, charlie, "deals") == []
    assert views.list_views(db, alice, "partners") == []
    assert views.get_view(db, bob, "deals", shared.id).query == "status=won"
    with pytest.raises(NotFound):
        views.get_view(db, charlie, "deals", shared.id)
    with pytest.raises(NotFound):
        views.get_view(db, bob, "deals", private.id)
    with pytest.raises(Forbidden):  # bob sees the team's view but may not change it
        views.delete_view(db, bob, "deals", shared.id)
    with pytest.raises(Invalid):  # one may share only with a team of one's own
        views.save_view(db, alice, "deals", "South", "", team_id=cast.south.id)
    with pytest.raises(Invalid):
        views.save_view(db, alice, "deals", "x" * 101, "")
    # The same name again replaces the view (and may make it private).
    again = views.save_view(db, alice, "deals", " Team's ", "status=open")
    assert again.id == shared.id and again.team_id is None
    assert views.list_views(db, bob, "deals") == []
    views.delete_view(db, alice, "deals", shared.id)
    assert [v.name for v in views.list_views(db, alice, "deals")] == ["Mine"]


def test_a_view_shared_on_the_web_is_in_the_teams_menu(
    live_shop: Shop, login_as: LoginAs, committed: Cast
) -> None:
    alice, bob, charlie = login_as("alice"), login_as("bob"), login_as("charlie")
    form = {"name": "Won", "query": "status=won", "team_id": str(committed.north.id)}
    assert alice.post("/lists/deals/views", data=form).status_code == 303
    assert '<a href="/deals?status=won">Won</a>' in bob.get("/deals").text
    assert "status=won" not in charlie.get("/deals").text
    view_id = re.search(r"/lists/deals/views/(\d+)/delete", alice.get("/deals").text)
    assert view_id is not None
    assert f"/lists/deals/views/{view_id[1]}/delete" not in bob.get("/deals").text
    assert bob.post(f"/lists/deals/views/{view_id[1]}/delete").status_code == 403
    assert charlie.post(f"/lists/deals/views/{view_id[1]}/delete").status_code == 404
    south = {**form, "team_id": str(committed.south.id)}
    refused = alice.post("/lists/deals/views", data=south)
    assert refused.status_code == 303  # back to the list, which says why
    assert "only with a team of yours" in alice.get("/deals").text
