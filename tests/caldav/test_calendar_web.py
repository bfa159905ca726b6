"""The web calendar through the real server: the month and the week, the event form
(new, edit, repeat, delete), events a client made, and access (alice owns; bob sees
nothing of hers, or what she shares with him to read; charlie writes to what she
shares with his team; dave, her team lead, sees nothing she does not share)."""

from __future__ import annotations

import re
import urllib.parse

import httpx
import pytest

from groupware.access import shares
from groupware.accounts.models import Team, User
from groupware.caldav import store
from groupware.caldav.models import Calendar, CalendarItem
from groupware.db import Database
from tests.conftest import LiveServer, LoginAs
from tests.factories import Cast, browser, csrf_of, login

CLIENT_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//Calendar//EN
BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:STANDARD
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:client-1
DTSTAMP:20261101T090000Z
DTSTART;TZID=America/New_York:20261210T090000
DTEND;TZID=America/New_York:20261210T100000
SUMMARY:Poziv s New Yorkom
X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC
ATTENDEE;CN=Bob:mailto:bob@groupware.local
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Podsjetnik
TRIGGER:-PT15M
END:VALARM
END:VEVENT
END:VCALENDAR
"""

WEEKLY_WITH_EXDATE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:kolegij
DTSTAMP:20261101T090000Z
DTSTART:20261130T080000Z
DTEND:20261130T090000Z
RRULE:FREQ=WEEKLY;UNTIL=20261231T235959Z
EXDATE:20261214T080000Z
SUMMARY:Kolegij
END:VEVENT
END:VCALENDAR
"""


def personal_calendar(database: Database, user: User) -> Calendar:
    with database.transaction(actor_id=None, channel="cli") as session:
        calendars = store.ensure_defaults(session, session.get(User, user.id))  # type: ignore[arg-type]
        return next(c for c in calendars if c.kind == "personal")


def put(database: Database, calendar: Calendar, href: str, text: str) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        row = session.get(Calendar, calendar.id)
        assert row is not None
        store.put_item(session, row, href, store.parse_items(text)[0])


def share_with(
    database: Database,
    calendar: Calendar,
    owner: User,
    permission: str,
    *,
    user: User | None = None,
    team: Team | None = None,
) -> None:
    with database.transaction(actor_id=owner.id, channel="web") as session:
        row = session.get(Calendar, calendar.id)
        assert row is not None
        shares.share(
            session,
            row,
            by_user_id=owner.id,
            user_id=user.id if user else None,
            team_id=team.id if team else None,
            permission=permission,
        )


def items(database: Database, calendar: Calendar) -> list[CalendarItem]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return store.live_items(session, calendar.id)


def submit(client: httpx.Client, url: str, form_url: str, **values: str) -> httpx.Response:
    """Post a form with the CSRF token of the page it is on."""
    token = csrf_of(client.get(form_url).text)
    return client.post(url, data={"csrf_token": token, **values})


def event_form(calendar: Calendar, **values: str) -> dict[str, str]:
    return {
        "title": "Sastanak prodaje",
        "calendar_id": str(calendar.id),
        "start_date": "2026-12-07",
        "start_time": "09:00",
        "end_date": "2026-12-07",
        "end_time": "10:30",
        "location": "Dvorana A",
        "description": "Plan za 2027.",
        "repeat": "",
        "repeat_until": "",
        **values,
    }


def day_cell(html: str, day: str) -> str:
    """The month cell of one day (ISO date)."""
    match = re.search(rf'<td[^>]*data-date="{day}">(.*?)</td>', html, re.S)
    assert match, day
    return match.group(1)


def week_column(html: str, day: str) -> str:
    """Every cell of one day in the week grid, joined."""
    cells = re.findall(rf'<td data-date="{day}">(.*?)</td>', html, re.S)
    assert cells, day
    return "".join(cells)


def edit_url(calendar: Calendar, href: str) -> str:
    return f"/calendar/events/{calendar.id}/{urllib.parse.quote(href, safe='')}"


def test_an_event_made_in_the_form_shows_in_the_month_and_the_week_and_is_stored(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    alice = login_as_without_token("alice")
    calendar = personal_calendar(database, committed.alice)
    page = alice.get("/calendar/new?date=2026-12-07")
    assert page.status_code == 200 and 'value="2026-12-07"' in page.text
    made = submit(alice, "/calendar/new", "/calendar/new", **event_form(calendar))
    assert made.status_code == 303 and made.headers["location"].startswith("/calendar/week")

    (row,) = items(database, calendar)
    assert row.href == f"{row.uid}.ics" and row.uid.endswith("@groupware")
    assert "SUMMARY:Sastanak prodaje" in (row.ics or "")
    assert "DTSTART;TZID=Europe/Zagreb:20261207T090000" in (row.ics or "")
    assert "LOCATION:Dvorana A" in (row.ics or "") and not row.recurring

    month = alice.get("/calendar?month=2026-12").text
    assert "Sastanak prodaje" in day_cell(month, "2026-12-07")
    assert "09:00" in day_cell(month, "2026-12-07")
    assert "Sastanak prodaje" not in day_cell(month, "2026-12-08")
    week = alice.get("/calendar/week?week=2026-12-09").text  # any day: its Monday's week
    assert "Sastanak prodaje" in week_column(week, "2026-12-07")
    assert "Sastanak prodaje" not in alice.get("/calendar/week?week=2026-12-14").text


def test_dates_read_the_croatian_way_for_a_croatian_user(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        user = session.get(User, committed.alice.id)
        assert user is not None
        user.language = "hr"
    alice = login_as_without_token("alice")
    week = alice.get("/calendar/week?week=2026-12-07").text
    assert "07.12.2026." in week and "13.12.2026." in week
    assert "prosinac 2026" in alice.get("/calendar?month=2026-12").text


def test_an_all_day_event_shows_on_each_of_its_days_as_all_day(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    alice = login_as_without_token("alice")
    calendar = personal_calendar(database, committed.alice)
    form = event_form(calendar, title="Sajam", all_day="1", end_date="2026-12-09")
    assert submit(alice, "/calendar/new", "/calendar/new", **form).status_code == 303
    (row,) = items(database, calendar)
    assert "DTSTART;VALUE=DATE:20261207" in (row.ics or "")
    assert "DTEND;VALUE=DATE:20261210" in (row.ics or "")
    month = alice.get("/calendar?month=2026-12").text
    for day in ("2026-12-07", "2026-12-08", "2026-12-09"):
        assert "Sajam" in day_cell(month, day)
        assert 'class="event all-day"' in day_cell(month, day)
    assert "Sajam" not in day_cell(month, "2026-12-10")
    week = alice.get("/calendar/week?week=2026-12-07").text
    all_day_row = week.split('class="all-day-row"')[1].split("</tr>")[0]
    assert all_day_row.count(">Sajam</a>") == 3


def test_editing_a_client_event_changes_only_the_fields_of_the_form(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    put(database, calendar, "client-1.ics", CLIENT_EVENT)
    (before,) = items(database, calendar)
    alice = login_as_without_token("alice")
    url = edit_url(calendar, "client-1.ics")
    form = alice.get(url)
    assert form.status_code == 200
    # 9:00 in New York is 15:00 in Zagreb, where the page shows times.
    assert 'value="Poziv s New Yorkom"' in form.text and 'value="15:00"' in form.text
    values = event_form(
        calendar,
        title="Poziv s NY",
        start_date="2026-12-10",
        start_time="15:00",
        end_date="2026-12-10",
        end_time="16:00",
        location="",
        description="",
    )
    saved = submit(alice, url, url, **values)
    assert saved.status_code == 303

    (after,) = items(database, calendar)
    ics = after.ics or ""
    assert "SUMMARY:Poziv s NY" in ics and after.etag != before.etag
    assert after.revision > before.revision  # a syncing client hears of it
    # What the form did not change is as the client wrote it.
    assert "DTSTART;TZID=America/New_York:20261210T090000" in ics
    assert "BEGIN:VALARM" in ics and "TRIGGER:-PT15M" in ics
    assert "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC" in ics
    assert "mailto:bob@groupware.local" in ics
    assert "LOCATION" not in ics

    moved = submit(alice, url, url, **{**values, "start_time": "16:00", "end_time": "17:00"})
    assert moved.status_code == 303
    (after,) = items(database, calendar)
    assert "DTSTART;TZID=Europe/Zagreb:20261210T160000" in (after.ics or "")
    assert "SEQUENCE:1" in (after.ics or "") and "BEGIN:VALARM" in (after.ics or "")
    week = alice.get("/calendar/week?week=2026-12-07").text
    assert "Poziv s NY" in week_column(week, "2026-12-10") and "16:00" in week


def test_a_weekly_event_shows_every_week_in_range_but_not_on_an_excluded_date(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    put(database, calendar, "kolegij.ics", WEEKLY_WITH_EXDATE)
    alice = login_as_without_token("alice")
    month = alice.get("/calendar?month=2026-12").text
    for monday in ("2026-11-30", "2026-12-07", "2026-12-21", "2026-12-28"):
        assert "Kolegij" in day_cell(month, monday), monday
    assert "Kolegij" not in day_cell(month, "2026-12-14")  # the EXDATE
    assert "Kolegij" not in day_cell(month, "2026-12-08")
    for monday in ("2026-12-07", "2026-12-21"):
        week = alice.get(f"/calendar/week?week={monday}").text
        assert "Kolegij" in week_column(week, monday)
        assert "09:00" in week_column(week, monday)  # 08:00 UTC is 09:00 in Zagreb
    assert "Kolegij" not in alice.get("/calendar/week?week=2026-12-14").text
    assert "Kolegij" not in alice.get("/calendar/week?week=2027-01-04").text


def test_a_repeat_made_in_the_form_runs_until_its_end_date(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    alice = login_as_without_token("alice")
    calendar = personal_calendar(database, committed.alice)
    form = event_form(calendar, title="Tjedni plan", repeat="weekly", repeat_until="2026-12-21")
    assert submit(alice, "/calendar/new", "/calendar/new", **form).status_code == 303
    (row,) = items(database, calendar)
    assert row.recurring and "RRULE:FREQ=WEEKLY;UNTIL=20261221T225959Z" in (row.ics or "")
    month = alice.get("/calendar?month=2026-12").text
    for monday in ("2026-12-07", "2026-12-14", "2026-12-21"):
        assert "Tjedni plan" in day_cell(month, monday)
    assert "Tjedni plan" not in day_cell(month, "2026-12-28")
    page = alice.get(edit_url(calendar, row.href)).text
    assert '<option value="weekly" selected' in page and 'value="2026-12-21"' in page


def test_a_rule_the_form_cannot_show_is_kept_and_an_event_can_move_to_another_calendar(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    with database.transaction(actor_id=None, channel="cli") as session:
        other = store.create_calendar(session, committed.alice.id, "prodaja")
    custom = WEEKLY_WITH_EXDATE.replace("FREQ=WEEKLY;", "FREQ=WEEKLY;BYDAY=MO,WE;")
    put(database, calendar, "kolegij.ics", custom)
    alice = login_as_without_token("alice")
    url = edit_url(calendar, "kolegij.ics")
    page = alice.get(url).text
    assert '<option value="keep" selected' in page
    values = event_form(
        calendar,
        title="Kolegij uprave",
        calendar_id=str(other.id),
        start_date="2026-11-30",
        start_time="09:00",
        end_date="2026-11-30",
        end_time="10:00",
        location="",
        description="",
        repeat="keep",
    )
    assert submit(alice, url, url, **values).status_code == 303
    assert items(database, calendar) == []
    (moved,) = items(database, other)
    assert moved.href == "kolegij.ics" and "Kolegij uprave" in (moved.ics or "")
    assert "BYDAY=MO,WE" in (moved.ics or "") and "EXDATE:20261214T080000Z" in (moved.ics or "")
    assert "Kolegij uprave" in day_cell(alice.get("/calendar?month=2026-12").text, "2026-12-02")


def test_another_user_gets_404_for_alices_event_and_calendar(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    put(database, calendar, "kolegij.ics", WEEKLY_WITH_EXDATE)
    bob = login_as_without_token("bob")
    url = edit_url(calendar, "kolegij.ics")
    assert bob.get(url).status_code == 404
    assert submit(bob, url, "/calendar/new", **event_form(calendar)).status_code == 404
    assert submit(bob, url + "/delete", "/calendar/new").status_code == 404
    made = submit(bob, "/calendar/new", "/calendar/new", **event_form(calendar))
    assert made.status_code == 404
    assert "Kolegij" not in bob.get("/calendar?month=2026-12").text
    alice = login_as_without_token("alice")
    assert alice.get(edit_url(calendar, "nothing.ics")).status_code == 404
    assert [r.href for r in items(database, calendar)] == ["kolegij.ics"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": "  "}, "title", "The title is missing."),
        ({"start_time": ""}, "start_time", "The start time is missing."),
        ({"end_time": "08:00"}, "end_date", "The end is before the start."),
        ({"end_date": "2026-12-06", "end_time": ""}, "end_date", "The end is before the start."),
        ({"start_date": "31.02.2026."}, "start_date", "The start date is not a valid date."),
        ({"start_time": "25:00"}, "start_time", "The start time is not a valid time."),
        ({"repeat": "hourly"}, "repeat", "Choose how the event repeats."),
        (
            {"repeat": "weekly", "repeat_until": "2026-12-01"},
            "repeat_until",
            "The repeat ends before the event starts.",
        ),
    ],
)
def test_bad_input_shows_the_form_again_naming_the_field(
    login_as_without_token: LoginAs,
    committed: Cast,
    database: Database,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    alice = login_as_without_token("alice")
    calendar = personal_calendar(database, committed.alice)
    bad = submit(alice, "/calendar/new", "/calendar/new", **event_form(calendar, **values))
    assert bad.status_code == 422
    errors = re.findall(
        r'<div class="field invalid">\s*<label for="f-(\w+)">.*?<small class="error" '
        r'role="alert">([^<]*)</small>',
        bad.text,
        re.S,
    )
    assert (field, message) in [(f, m[: len(message)]) for f, m in errors], errors
    assert items(database, calendar) == []


def test_deleting_an_event_leaves_it_gone(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    alice = login_as_without_token("alice")
    calendar = personal_calendar(database, committed.alice)
    assert (
        submit(alice, "/calendar/new", "/calendar/new", **event_form(calendar)).status_code == 303
    )
    (row,) = items(database, calendar)
    url = edit_url(calendar, row.href)
    deleted = submit(alice, url + "/delete", url)
    assert deleted.status_code == 303
    assert items(database, calendar) == []
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        tombstone = session.get(CalendarItem, row.id)
        assert tombstone is not None and tombstone.ics is None  # syncing clients hear of it
    assert alice.get(url).status_code == 404
    assert "Sastanak prodaje" not in alice.get("/calendar?month=2026-12").text


def test_the_owner_shares_a_calendar_from_the_calendar_page(
    live: LiveServer, committed: Cast, database: Database
) -> None:
    with browser(live.url) as alice:
        login(alice, "alice")
        month = alice.get("/calendar")
        link = re.search(r'href="(/records/calendars/\d+/access)"', month.text)
        assert link, "no share link on the calendar page"
        panel = alice.get(link[1])
        assert panel.status_code == 200
    for other in ("bob", "dave"):  # dave leads alice's team: a calendar stays hers
        with browser(live.url) as client:
            login(client, other)
            assert client.get(link[1]).status_code == 404


def option_of(calendar: Calendar) -> str:
    return f'<option value="{calendar.id}"'


def test_a_calendar_shared_to_read_shows_its_events_but_they_cannot_be_changed(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    put(database, calendar, "kolegij.ics", WEEKLY_WITH_EXDATE)
    share_with(database, calendar, committed.alice, "read", user=committed.bob)
    bob = login_as_without_token("bob")
    url = edit_url(calendar, "kolegij.ics")

    month = bob.get("/calendar?month=2026-12").text
    assert "Kolegij" in day_cell(month, "2026-12-07")
    assert "Kolegij" not in day_cell(month, "2026-12-14")  # the EXDATE, as for alice
    assert url not in month  # no edit link
    legend = month.split('class="plain cal-legend"')[1].split("</ul>")[0]
    assert "shared by Alice" in legend and "read only" in legend
    assert f"/records/calendars/{calendar.id}/access" not in legend  # not his to share
    week = bob.get("/calendar/week?week=2026-12-07").text
    assert "Kolegij" in week_column(week, "2026-12-07") and url not in week

    assert bob.get(url).status_code == 403
    assert submit(bob, url, "/calendar/new", **event_form(calendar)).status_code == 403
    assert submit(bob, url + "/delete", "/calendar/new").status_code == 403
    assert option_of(calendar) not in bob.get("/calendar/new").text
    made = submit(bob, "/calendar/new", "/calendar/new", **event_form(calendar))
    assert made.status_code == 403
    assert bob.get(edit_url(calendar, "nothing.ics")).status_code == 404
    (row,) = items(database, calendar)
    assert row.href == "kolegij.ics" and "SUMMARY:Kolegij" in (row.ics or "")


def test_a_calendar_shared_with_a_team_to_write_takes_events_from_its_members(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    share_with(database, calendar, committed.alice, "write", team=committed.south)
    charlie = login_as_without_token("charlie")
    form = charlie.get("/calendar/new").text
    assert option_of(calendar) + ">Calendar (Alice)</option>" in form

    made = submit(charlie, "/calendar/new", "/calendar/new", **event_form(calendar))
    assert made.status_code == 303
    (row,) = items(database, calendar)
    assert "SUMMARY:Sastanak prodaje" in (row.ics or "")
    url = edit_url(calendar, row.href)
    month = charlie.get("/calendar?month=2026-12").text
    assert "Sastanak prodaje" in day_cell(month, "2026-12-07") and url in month
    assert "shared by Alice" in month and "read only" not in month

    page = charlie.get(url)
    assert page.status_code == 200 and 'value="Sastanak prodaje"' in page.text
    saved = submit(charlie, url, url, **event_form(calendar, title="Sastanak uprave"))
    assert saved.status_code == 303
    (after,) = items(database, calendar)
    assert after.href == row.href and "SUMMARY:Sastanak uprave" in (after.ics or "")
    alice = login_as_without_token("alice")
    assert "Sastanak uprave" in day_cell(alice.get("/calendar?month=2026-12").text, "2026-12-07")

    assert submit(charlie, url + "/delete", url).status_code == 303
    assert items(database, calendar) == []


def test_a_calendar_shared_with_someone_else_stays_invisible(
    login_as_without_token: LoginAs, committed: Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    put(database, calendar, "kolegij.ics", WEEKLY_WITH_EXDATE)
    share_with(database, calendar, committed.alice, "write", user=committed.bob)
    dave = login_as_without_token("dave")  # alice's team lead, but she shares nothing with him
    url = edit_url(calendar, "kolegij.ics")
    assert dave.get(url).status_code == 404
    assert submit(dave, url, "/calendar/new", **event_form(calendar)).status_code == 404
    assert submit(dave, url + "/delete", "/calendar/new").status_code == 404
    made = submit(dave, "/calendar/new", "/calendar/new", **event_form(calendar))
    assert made.status_code == 404
    month = dave.get("/calendar?month=2026-12").text
    assert "Kolegij" not in month and "shared by" not in month
    assert option_of(calendar) not in dave.get("/calendar/new").text
    assert [r.href for r in items(database, calendar)] == ["kolegij.ics"]
