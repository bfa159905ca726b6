"""Headless Chromium on the pipeline board: it opens on the user's own deals with each
column's count, sum and weighted sum; a card moves by its menu and by the arrow keys
(the totals follow); a folded column stays folded. The ``chromium`` fixture fails the
test on any console error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import log_in
from tests.conftest import LiveServer
from tests.lists.conftest import Shop, live_shop

__all__ = ["live_shop"]  # a fixture used here
pytestmark = pytest.mark.browser


def column(page: Page, step: int) -> str:
    return f".column[data-step='{step}']"


def test_the_board_totals_and_moves_by_menu_and_by_keyboard(
    chromium: Browser, live: LiveServer, live_shop: Shop
) -> None:
    qualify, offer, negotiate = live_shop.steps
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    log_in(page, live, "alice")
    page.goto(f"{live.url}/deals/board")
    # Her own open deals, all in the first phase; the won one and bob's are not here.
    expect(page.locator(f"{column(page, qualify)} .deal-card")).to_have_count(3)
    expect(page.get_by_test_id(f"count-{qualify}")).to_have_text("3")
    total = page.get_by_test_id(f"total-{qualify}")
    expect(total).to_contain_text("€1,200.00")
    expect(total).to_contain_text("weighted €520.00")
    expect(total).to_contain_text("US$300.00")
    expect(page.get_by_text("Hladnjaci")).to_have_count(0)

    # By its menu: Blagajne (1,000 at 50 %) goes to Offer, and the totals follow.
    card = page.locator(".deal-card", has_text="Blagajne")
    card.locator("summary", has_text="Move Blagajne").click()
    card.get_by_role("button", name="To Offer").click()
    expect(page.locator(f"{column(page, offer)} .deal-card")).to_contain_text("Blagajne")
    expect(page.get_by_test_id(f"total-{offer}")).to_contain_text("€1,000.00")
    expect(page.get_by_test_id(f"total-{offer}")).to_contain_text("weighted €500.00")
    expect(page.get_by_test_id(f"total-{qualify}")).to_contain_text("€200.00")

    # By keyboard: the focused card moves right, and keeps the focus to move on.
    page.locator(".deal-card", has_text="Vage").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"{column(page, offer)} .deal-card", has_text="Vage")).to_be_visible()
    expect(page.locator(".deal-card", has_text="Vage")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"{column(page, negotiate)} .deal-card", has_text="Vage")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.locator(f"{column(page, offer)} .deal-card", has_text="Vage")).to_be_visible()
    expect(page.get_by_test_id(f"count-{offer}")).to_have_text("2")

    # A folded column stays folded when the board is opened again.
    page.get_by_role("button", name="Fold or unfold Negotiate").click()
    expect(page.locator(column(page, negotiate))).to_have_class("column folded")
    page.goto(f"{live.url}/deals/board")
    expect(page.locator(column(page, negotiate))).to_have_class("column folded")
    expect(page.locator(f"{column(page, negotiate)} .cards")).to_be_hidden()
    page.get_by_role("button", name="Fold or unfold Negotiate").click()
    expect(page.locator(column(page, negotiate))).to_have_class("column")
    expect(page.get_by_test_id(f"total-{negotiate}")).to_be_visible()
    context.close()


def test_everyone_s_deals_are_a_click_away(
    chromium: Browser, live: LiveServer, live_shop: Shop
) -> None:
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    log_in(page, live, "dave")  # manages alice and bob; owns no deal himself
    page.goto(f"{live.url}/deals/board")
    expect(page.locator(".deal-card")).to_have_count(0)
    page.get_by_role("link", name="Every deal I may see").click()
    expect(page.locator(".deal-card")).to_have_count(4)
    expect(page.get_by_test_id(f"total-{live_shop.steps[0]}")).to_contain_text("€6,200.00")
    context.close()
