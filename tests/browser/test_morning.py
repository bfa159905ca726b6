"""A sales rep's morning, in Croatian, in Chromium, on the demo company.

Ivana (sales, Prodaja Zagreb) opens the dashboard and reads her own figures (checked
here against the database), finds a partner by typing a word of its name without its
diacritics, logs a call on the partner's page and sees it in the stream, schedules a
meeting with Tomislav from there (which his calendar program then finds in his CalDAV
calendar), shapes the deals list, saves it as a view, gives two deals to Tomislav and
exports what the list shows; and every main page fits her phone. Labels are looked up
in the Croatian catalogue, so the test reads the page as she does.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import caldav
import pytest
import vobject
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from groupware.accounts.models import User
from groupware.crm.models import Partner, Person
from groupware.db import Database, utcnow
from groupware.deals.models import Deal
from groupware.demo import DEMO_PASSWORD
from groupware.i18n import format_money, format_number, ngettext, translations, use_language
from groupware.mail.models import MailEntry
from groupware.phases.models import ProcessType
from groupware.tasks.models import Task
from tests.browser.conftest import log_in
from tests.browser.layout import walk_problems
from tests.browser.test_small_screens import MAIN_PAGES
from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

HR = translations("hr")


def hr(message: str, **params: object) -> str:
    """``message`` as the Croatian page shows it."""
    return HR.gettext(message) % params if params else HR.gettext(message)


def plain(text: str) -> str:
    """``text`` without its diacritics, as people type on a phone (đ has no
    decomposition: it is written dj)."""
    text = text.replace("đ", "dj").replace("Đ", "Dj")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Morning:
    ivana: int
    tomislav: int
    partner: Partner
    # type name -> (open deals, their value in euros)
    pipeline: dict[str, tuple[int, decimal.Decimal]]
    overdue: int
    unread: int
    pages: dict[str, str]  # the main pages, with records of her own


def _morning(database: Database) -> Morning:
    with database.session() as session:
        users = dict(
            session.execute(
                select(User.username, User.id).where(User.username.in_(("ivana", "tomislav")))
            ).all()
        )
        ivana = users["ivana"]
        # her first partner whose name has a letter with a diacritic in its first word
        partners = session.scalars(
            select(Partner).where(Partner.owner_id == ivana).order_by(Partner.id)
        )
        partner = next(p for p in partners if plain(p.name.split()[0]) != p.name.split()[0])
        session.expunge(partner)
        pipeline = {
            name: (int(count), decimal.Decimal(str(amount)).quantize(decimal.Decimal("0.01")))
            for name, count, amount in session.execute(
                select(ProcessType.name, func.count(), func.sum(Deal.amount))
                .join(ProcessType, ProcessType.id == Deal.type_id)
                .where(Deal.owner_id == ivana, Deal.status == "open", Deal.currency == "EUR")
                .group_by(ProcessType.name)
            )
        }
        overdue = session.scalar(
            select(func.count())
            .select_from(Task)
            .where(
                Task.owner_id == ivana,
                Task.status.in_(("open", "in_progress")),
                Task.due_at < utcnow(),
            )
        )
        unread = session.scalar(
            select(func.count())
            .select_from(MailEntry)
            .where(
                MailEntry.user_id == ivana,
                MailEntry.folder == "inbox",
                MailEntry.seen.is_(False),
            )
        )

        def first(query: Any) -> int:
            found = session.scalar(query)
            assert found is not None, query
            return int(found)

        hers = select(Partner.id).where(Partner.owner_id == ivana)
        person = first(select(func.min(Person.id)).where(Person.partner_id.in_(hers)))
        deal = first(select(func.min(Deal.id)).where(Deal.owner_id == ivana))
        task = first(select(func.min(Task.id)).where(Task.owner_id == ivana))
        message = first(select(func.max(MailEntry.id)).where(MailEntry.user_id == ivana))
    records = {
        "partner": f"/partners/{partner.id}",
        "person": f"/persons/{person}",
        "deal": f"/deals/{deal}",
        "task": f"/tasks/{task}",
        "message": f"/mail/{message}",
    }
    assert pipeline, "the demo gives Ivana open deals"
    pages = {**MAIN_PAGES, "search": "/search?q=zagreb", **records}
    return Morning(ivana, users["tomislav"], partner, pipeline, overdue or 0, unread or 0, pages)


def test_a_sales_reps_morning(chromium: Browser, demo_server: LiveServer, tmp_path: Path) -> None:
    live, database = demo_server, demo_server.database
    morning = _morning(database)
    context = chromium.new_context(
        locale="hr-HR", timezone_id="Europe/Zagreb", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    log_in(page, live, "ivana", password=DEMO_PASSWORD)

    _dashboard_shows_her_figures(page, morning)
    _search_finds_the_partner_without_diacritics(page, live, morning)
    _a_call_and_a_meeting_from_the_partner_page(page, live, morning)
    _the_deals_list_is_shaped_saved_reassigned_and_exported(page, database, morning, tmp_path)
    context.close()
    _every_main_page_fits_her_phone(chromium, live, morning, tmp_path)


def _dashboard_shows_her_figures(page: Page, morning: Morning) -> None:
    pipeline = page.locator('[data-widget="deals-pipeline"]')
    captions = pipeline.locator("figcaption")
    expect(captions).to_have_count(len(morning.pipeline))
    with use_language("hr"):
        for name, (count, amount) in morning.pipeline.items():
            caption = captions.filter(has_text=f"{name}:")
            counted = ngettext("%(num)d open deal", "%(num)d open deals", count)
            expect(caption).to_contain_text(f"{name}: {counted}")
            expect(caption).to_contain_text(format_money(amount, "EUR"))
        overdue, unread = format_number(morning.overdue), format_number(morning.unread)
    expect(page.get_by_test_id("tasks-overdue").locator(".figure-value")).to_have_text(overdue)
    expect(page.get_by_test_id("mail-unread").locator(".figure-value")).to_have_text(unread)


def _search_finds_the_partner_without_diacritics(
    page: Page, live: LiveServer, morning: Morning
) -> None:
    word = morning.partner.name.split()[0]
    box = page.get_by_role("combobox")
    box.fill(plain(word).lower())
    hits = page.locator("#search-results")
    hit = hits.get_by_role("option").filter(has_text=morning.partner.name).first
    expect(hit).to_be_visible()
    hit.click()
    expect(page).to_have_url(f"{live.url}/partners/{morning.partner.id}")
    expect(page.get_by_role("heading", name=morning.partner.name)).to_be_visible()
    # typed with its diacritics, the word finds it too
    box = page.get_by_role("combobox")
    box.fill(word.lower())
    expect(hits.get_by_role("option").filter(has_text=morning.partner.name).first).to_be_visible()
    box.press("Escape")


def _a_call_and_a_meeting_from_the_partner_page(
    page: Page, live: LiveServer, morning: Morning
) -> None:
    stream = page.get_by_test_id("stream")
    page.get_by_test_id("quick-actions").get_by_role("link", name=hr("Log a call")).click()
    form = page.get_by_test_id("call-form")
    form.get_by_label(hr("Minutes")).fill("20")
    form.get_by_label(hr("What was said")).fill("Žele ponudu za proljetnu narudžbu do petka")
    form.get_by_role("button", name=hr("Save")).click()
    expect(page.get_by_text(hr("The call is logged."))).to_be_visible()
    logged = stream.locator("li.call").first
    expect(logged).to_contain_text("Žele ponudu za proljetnu narudžbu")
    expect(logged).to_contain_text("20 min")

    page.get_by_role("link", name=hr("Schedule a meeting")).first.click()
    meeting = page.get_by_test_id("event-form")
    expect(meeting.get_by_label(hr("Partner"), exact=True)).to_have_value(str(morning.partner.id))
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    title = f"Dogovor o narudžbi, {morning.partner.name}"
    meeting.get_by_label(hr("Title")).fill(title)
    meeting.get_by_label(hr("Start date")).fill(tomorrow.isoformat())
    meeting.get_by_label(hr("Start time")).fill("10:00")
    meeting.get_by_label(hr("Invite colleagues")).select_option(str(morning.tomislav))
    meeting.get_by_role("button", name=hr("Save")).click()
    expect(page.get_by_text(hr("The event is saved."))).to_be_visible()
    expect(page).to_have_url(f"{live.url}/partners/{morning.partner.id}")
    expect(page.get_by_test_id("partner-meetings")).to_contain_text(title)

    # Tomislav's calendar program finds the meeting in his own calendar.
    with caldav.DAVClient(
        url=live.url + "/",
        username="tomislav",
        password=DEMO_PASSWORD,
        require_tls=False,
        enable_rfc6764=False,
    ) as dav:
        found = [
            vobject.readOne(event.data).vevent
            for calendar in dav.principal().calendars()
            for event in calendar.events()
        ]
    [event] = [e for e in found if e.summary.value == title]
    assert event.dtstart.value.date() == tomorrow
    assert event.organizer.value.lower().startswith("mailto:ivana@")


def _the_deals_list_is_shaped_saved_reassigned_and_exported(
    page: Page, database: Database, morning: Morning, tmp_path: Path
) -> None:
    page.locator("nav.mainnav").get_by_role("link", name=hr("Deals"), exact=True).click()
    table = page.get_by_test_id("list-deals")
    expect(table).to_be_visible()

    # Shaped: the type column out, the expected close in, sorted by amount, largest first.
    page.locator("details.columns-menu summary").click()
    chooser = page.locator("form.column-chooser")
    chooser.locator('input[name="cols"][value="type"]').uncheck()
    chooser.locator('input[name="cols"][value="expected_close"]').check()
    chooser.get_by_role("button", name=hr("Show these columns")).click()
    expect(table.locator('th[data-column="expected_close"]')).to_have_count(1)
    expect(table.locator('th[data-column="type"]')).to_have_count(0)
    table.locator('th[data-column="amount"] a').click()
    expect(table.locator('th[data-column="amount"]')).to_have_attribute("aria-sort", "ascending")
    table.locator('th[data-column="amount"] a').click()
    expect(table.locator('th[data-column="amount"]')).to_have_attribute("aria-sort", "descending")

    # Saved as her view, which the menu then names.
    page.locator("details.saved-views summary").click()
    page.get_by_label(hr("Save this view as")).fill("Najveći otvoreni poslovi")
    page.get_by_role("button", name=hr("Save the view")).click()
    expect(page.locator("details.saved-views summary")).to_contain_text("Najveći otvoreni poslovi")
    expect(table.locator('th[data-column="expected_close"]')).to_have_count(1)

    # Two of her deals go to Tomislav, with a confirmation; the list offers an undo.
    own = table.locator("tbody tr").filter(has_text="Ivana Babić")
    boxes = [own.nth(i).locator('input[name="ids"]') for i in (0, 1)]
    chosen = [int(box.get_attribute("value") or 0) for box in boxes]
    for box in boxes:
        box.check()
    page.get_by_label(hr("With the chosen rows")).select_option("reassign")
    page.get_by_role("button", name=hr("Continue")).click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm.locator("ul.chosen li")).to_have_count(2)
    confirm.locator("#bulk-value").select_option(str(morning.tomislav))
    confirm.get_by_role("button", name=hr("Yes, do it")).click()
    expect(page.get_by_test_id("undo")).to_be_visible()
    with database.session() as session:
        owners = session.scalars(select(Deal.owner_id).where(Deal.id.in_(chosen)))
        assert list(owners) == [morning.tomislav] * 2
    for deal_id in chosen:
        row = table.locator("tbody tr").filter(has=page.locator(f'input[value="{deal_id}"]'))
        expect(row).to_contain_text("Tomislav Novak")

    # The export is what the list shows: its columns, its order, its first rows.
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    exported = download.value.path().read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
    rows = list(csv.reader(io.StringIO(exported.decode("utf-8-sig")), delimiter=";"))
    headings = [h.strip() for h in table.locator("thead th[data-column]").all_inner_texts()]
    # each amount is followed by its currency, in a column of its own
    currency = hr("%(column)s: currency", column="")
    assert [h for h in rows[0] if not h.endswith(currency)] == headings
    shown = [t.strip() for t in table.locator("tbody tr td.lead a").all_inner_texts()]
    assert [row[0] for row in rows[1 : len(shown) + 1]] == shown
    (tmp_path / "deals.csv").write_bytes(exported)


def _every_main_page_fits_her_phone(
    chromium: Browser, live: LiveServer, morning: Morning, tmp_path: Path
) -> None:
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="hr-HR"
    )
    page = context.new_page()
    log_in(page, live, "ivana", password=DEMO_PASSWORD)
    problems = walk_problems(page, live.url, morning.pages, 390, tmp_path)
    context.close()
    assert problems == [], f"screenshots in {tmp_path}:\n" + "\n".join(problems)
