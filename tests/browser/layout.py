"""Layout checks a browser test runs on a page: does it fit the screen's width, and does
any text sit on other text.

:func:`layout_problems` returns what is wrong, as sentences naming the elements, so a
failing test says where to look (the screenshot beside it shows it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

# layout.js runs in the page; ``width`` is the viewport's width in CSS pixels.
#
# Overflow: the document wider than the screen means a phone user scrolls sideways to
# read the page. The elements reported are the outermost ones past the right edge that
# are not inside a box that scrolls on its own (a wide table in an ``overflow: auto``
# box is fine: that box scrolls, the page does not).
#
# Overlap: each piece of text is measured as it is laid out, one box per line
# (``Range.getClientRects`` on its text nodes), form fields as their boxes, each cut to
# what its clipping ancestors let show (an ellipsis, a scrolling box, a screen-reader
# only text of 1 px). Two such boxes of different elements that cross by more than a
# sliver (3 px across, and a third of the lower one's height) are text drawn on text.
# What is meant to lie on top is left out: the content of an open dropdown (an
# absolutely placed box inside an open <details>) and what is invisible (the content
# of a closed <details> too: a closed menu).
_CHECK = (Path(__file__).parent / "layout.js").read_text(encoding="utf-8")


def layout_problems(page: Page, width: int) -> list[str]:
    """What does not fit on ``page`` shown ``width`` CSS pixels wide."""
    found: dict[str, Any] = page.evaluate(_CHECK, width)
    problems = [f"wider than the screen: {item}" for item in found["overflow"][:8]]
    problems += [f"text on text: {item}" for item in found["overlaps"][:8]]
    return problems


def walk_problems(
    page: Page, base_url: str, pages: dict[str, str], width: int, shots: Path
) -> list[str]:
    """Load each of ``pages`` (name: path) in ``page``, which is ``width`` pixels wide,
    and check it with :func:`shot_and_check` (screenshots into ``shots``); what does
    not fit, each problem naming its page."""
    problems: list[str] = []
    for name, path in pages.items():
        response = page.goto(base_url + path)
        assert response is not None and response.ok, path
        shot = shots / f"{width}-{name}"
        found = shot_and_check(page, width, shot)
        problems += [f"{name} {path} at {width} px: {p}" for p in found]
    return problems


def shot_and_check(page: Page, width: int, path: Path) -> list[str]:
    """Take the screen's screenshot of ``page`` (``path``, a JPEG) and check its layout;
    a page with problems gets a full-page PNG beside it, to look at. (A full-page PNG of
    every page took half the time of the small-screen test.)"""
    page.screenshot(path=path.with_suffix(".jpg"), type="jpeg", quality=70)
    problems = layout_problems(page, width)
    if problems:
        page.screenshot(path=path.with_suffix(".png"), full_page=True)
    return problems
