"""The web mail over real HTTP: reading, replying in the thread, HTML shown safely,
attachments both ways, drafts, search and paging, filing by hand, and the refusals
(someone else's message, a missing CSRF token, a record one may not see)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import html
import re
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select

from groupware.access.policy import SYSTEM
from groupware.accounts.models import Team, User
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.mail import addresses, routing
from groupware.mail.models import MailEntry, MailMessage
from groupware.settings import Settings
from tests.conftest import LiveServer, LoginAs
from tests.factories import Cast, csrf_of, make_partner


def mail(
    database: Database,
    settings: Settings,
    sender: User,
    to: str,
    subject: str = "Ponuda",
    text: str = "Pozdrav, Alice!",
    html: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
) -> int:
    """``sender`` sends a message as their mail program would; its id."""
    message = EmailMessage()
    message["From"] = f"{sender.full_name} <{sender.email}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="test.example")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        name, kind, data = attachment
        main, sub = kind.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    with database.transaction(actor_id=sender.id, channel="smtp") as session:
        user = session.get(User, sender.id)
        assert user is not None
        recipients = [address.strip() for address in to.split(",")]
        sent = routing.submit(session, user, bytes(message), recipients, settings)
        return sent.id


def entry_id(database: Database, user: User, message_id: int, folder: str = "inbox") -> int:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        found = session.scalar(
            select(MailEntry.id).where(
                MailEntry.user_id == user.id,
                MailEntry.message_id == message_id,
                MailEntry.folder == folder,
            )
        )
    assert found is not None
    return found


def post(client: httpx.Client, path: str, page: str, **form: str) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**form, "csrf_token": token})


def hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def nav_count(page: str) -> str | None:
    found = re.search(r'data-testid="nav-count">(\d+)', page)
    return found[1] if found else None


def test_a_message_is_read_answered_and_the_answer_joins_the_thread(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
) -> None:
    message = mail(database, settings, committed.bob, "alice@groupware.local", "Ponuda")
    alice, bob = login_as_without_token("alice"), login_as_without_token("bob")
    page = f"/mail/{entry_id(database, committed.alice, message)}"

    assert nav_count(alice.get("/").text) == "1"
    listed = alice.get("/mail").text
    assert 'class="unread"' in listed and f'href="{page}"' in listed
    shown = alice.get(page)
    assert shown.status_code == 200 and "Pozdrav, Alice!" in shown.text
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    assert nav_count(shown.text) is None  # read: nothing waits any more
    form = alice.get(f"/mail/compose?reply={page.rsplit('/', 1)[1]}").text
    assert 'value="Re: Ponuda"' in form and "&gt; Pozdrav, Alice!" in form
    token = csrf_of(form)
    fields = hidden_fields(form)
    sent = alice.post(
        "/mail/compose",
        data={**fields, "csrf_token": token, "to": "Bob <bob@groupware.local>",
              "subject": "Re: Ponuda", "text": "Hvala!", "action": "send"},
        files={"attachments": ("", b"", "application/octet-stream")},
    )  # fmt: skip
    assert sent.status_code == 303, sent.text[:1000]
    assert "Re: Ponuda" in alice.get("/mail?folder=sent").text
    assert nav_count(bob.get("/").text) == "1"
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        reply = session.scalar(select(MailMessage).where(MailMessage.subject == "Re: Ponuda"))
        assert reply is not None
        reply_id = reply.id
    thread = bob.get(f"/mail/{entry_id(database, committed.bob, reply_id)}").text
    listed = thread[thread.index('data-testid="thread"') :]
    assert listed.index(">Ponuda</a>") < listed.index("Re: Ponuda")  # oldest first


def test_html_mail_is_sanitised_and_remote_images_wait_for_the_reader(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
) -> None:
    html = (
        "<p>Akcija!<script>document.title='pwned'</script></p>"
        '<img src="https://tracker.example/open.gif" alt="logo" onerror="alert(1)">'
    )
    message = mail(database, settings, committed.bob, "alice@groupware.local", "Akcija", html=html)
    alice = login_as_without_token("alice")
    page = f"/mail/{entry_id(database, committed.alice, message)}"

    held = alice.get(page)
    assert "Akcija!" in held.text
    assert "pwned" not in held.text and "onerror" not in held.text
    assert "tracker.example" not in held.text
    assert 'data-testid="images-blocked"' in held.text
    assert "img-src 'self' data:;" in held.headers["content-security-policy"]
    assert held.headers["referrer-policy"] == "no-referrer"
    shown = alice.get(page + "?images=1")
    assert 'src="https://tracker.example/open.gif"' in shown.text
    assert "img-src 'self' data: https: http:" in shown.headers["content-security-policy"]


def test_attachments_are_sent_and_downloaded_safely(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
) -> None:
    bob = login_as_without_token("bob")
    token = csrf_of(bob.get("/mail/compose").text)
    sent = bob.post(
        "/mail/compose",
        data={"csrf_token": token, "to": "alice@groupware.local", "subject": "Cjenik",
              "text": "U prilogu.", "action": "send"},
        files=[("attachments", ("cjenik.pdf", b"%PDF-1.4", "application/pdf")),
               ("attachments", ("stranica.html", b"<script>x</script>", "text/html"))],
    )  # fmt: skip
    assert sent.status_code == 303, sent.text[:1000]
    alice = login_as_without_token("alice")
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        message = session.scalar(select(MailMessage.id).where(MailMessage.subject == "Cjenik"))
    page = f"/mail/{entry_id(database, committed.alice, message)}"
    text = alice.get(page).text
    links = re.findall(rf'href="({page}/parts/\d+)" download>([^<]+)<', text)
    assert [name for _url, name in links] == ["cjenik.pdf", "stranica.html"]
    pdf = alice.get(links[0][0])
    assert pdf.content == b"%PDF-1.4"
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith('attachment; filename="cjenik.pdf"')
    assert pdf.headers["x-content-type-options"] == "nosniff"
    html = alice.get(links[1][0])
    assert html.headers["content-type"] == "application/octet-stream"  # never as a page
    assert html.headers["content-disposition"].startswith("attachment;")
    assert alice.get(f"{page}/parts/99").status_code == 404


def test_an_unreachable_recipient_is_shown_on_the_form_with_its_values(
    live: LiveServer, committed: Cast, login_as_without_token: LoginAs
) -> None:
    bob = login_as_without_token("bob")
    refused = post(
        bob, "/mail/compose", "/mail/compose",
        to="nobody@groupware.local", subject="Važno", text="Tekst poruke", action="send",
    )  # fmt: skip
    assert refused.status_code == 422
    assert "nobody@groupware.local: no such mailbox here." in refused.text
    assert 'value="Važno"' in refused.text and "Tekst poruke" in refused.text


def test_a_draft_is_saved_reopened_and_sent(
    live: LiveServer, committed: Cast, database: Database, login_as_without_token: LoginAs
) -> None:
    bob = login_as_without_token("bob")
    saved = post(
        bob, "/mail/compose", "/mail/compose",
        to="alice@groupware.local", bcc="dave@groupware.local", subject="Nacrt", action="draft",
    )  # fmt: skip
    assert saved.status_code == 303
    draft_page = saved.headers["location"]
    assert draft_page.startswith("/mail/compose?draft=")
    draft = bob.get(draft_page).text
    assert 'value="dave@groupware.local"' in draft and "Discard the draft" in draft
    assert "Nacrt" in bob.get("/mail?folder=drafts").text
    fields = hidden_fields(draft)
    sent = bob.post(
        "/mail/compose",
        data={**fields, "csrf_token": csrf_of(draft), "to": "alice@groupware.local",
              "bcc": "dave@groupware.local", "subject": "Nacrt", "text": "", "action": "send"},
    )  # fmt: skip
    assert sent.status_code == 303
    assert "Nacrt" not in bob.get("/mail?folder=drafts").text
    assert "Nacrt" in login_as_without_token("dave").get("/mail").text


def test_search_and_paging_answer_htmx_with_rows_only(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
) -> None:
    for n in range(52):
        mail(database, settings, committed.bob, "alice@groupware.local", f"Poruka {n}")
    mail(database, settings, committed.dave, "alice@groupware.local", "Godišnji odmor")
    alice = login_as_without_token("alice")

    first = alice.get("/mail").text
    assert first.count('data-testid="message-row"') == 50
    older = re.search(r'rel="next" href="(/mail\?[^"]+)"', first)
    assert older is not None
    rest = alice.get(older[1].replace("&amp;", "&"), headers={"HX-Request": "true"}).text
    assert "<html" not in rest and rest.count('data-testid="message-row"') == 3
    found = alice.get("/mail?folder=inbox&q=godišnji", headers={"HX-Request": "true"}).text
    assert "<html" not in found and found.count('data-testid="message-row"') == 1
    assert "No message matches your search." in alice.get("/mail?q=nema").text


def test_address_completion_offers_colleagues(
    live: LiveServer, login_as_without_token: LoginAs
) -> None:
    found = login_as_without_token("alice").get("/mail/addresses?q=bo").json()
    assert found == [
        {
            "name": "Bob",
            "address": "bob@groupware.local",
            "label": "Bob <bob@groupware.local>",
            "kind": "user",
            "kind_label": "colleague",
        }
    ]


def test_nobody_reads_moves_or_downloads_someone_elses_message(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
) -> None:
    message = mail(
        database, settings, committed.bob, "alice@groupware.local",
        attachment=("a.pdf", "application/pdf", b"%PDF"),
    )  # fmt: skip
    page = f"/mail/{entry_id(database, committed.alice, message)}"
    charlie = login_as_without_token("charlie")

    for path in (page, f"{page}/parts/2", f"{page}/records?q=x", f"/mail/compose?reply={page[6:]}"):
        assert charlie.get(path).status_code == 404, path
    for action, form in (
        ("move", {"folder": "trash"}),
        ("seen", {"seen": "1"}),
        ("private", {"private": "1"}),
        ("delete", {}),
        ("links", {"record_type": "deals", "record_id": "1"}),
        ("links/1/remove", {}),
    ):
        response = post(charlie, f"{page}/{action}", "/mail", **form)
        assert response.status_code == 404, action
    alice = login_as_without_token("alice")
    assert alice.get("/mail").status_code == 200
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        entry = session.get(MailEntry, int(page[6:]))
        assert entry is not None and (entry.folder, entry.seen) == ("inbox", False)


def test_unsafe_requests_need_the_csrf_token(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
) -> None:
    message = mail(database, settings, committed.bob, "alice@groupware.local")
    page = f"/mail/{entry_id(database, committed.alice, message)}"
    alice = login_as_without_token("alice")

    assert alice.post(f"{page}/move", data={"folder": "trash"}).status_code == 403
    forged = {"to": "bob@groupware.local", "subject": "x", "action": "send", "csrf_token": "x" * 40}
    assert alice.post("/mail/compose", data=forged).status_code == 403
    assert alice.post("/mail/trash/empty").status_code == 403
    assert "Ponuda" in alice.get("/mail").text


@dataclasses.dataclass
class Sale:
    partner_id: int
    deal_id: int


@pytest.fixture
def sale(committed: Cast, database: Database) -> Sale:
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.")
        partner.owner_id = committed.alice.id
        phases = [StepIn(name="Ponuda", planned_days=5)]
        kind = save_type(
            session, SYSTEM, None, TypeIn(name="Prodaja", direction="sale", phases=phases)
        )
        deal = Deal(
            title="Blagajne",
            partner_id=partner.id,
            type_id=kind.id,
            owner_id=committed.alice.id,
            started_on=dt.date(2026, 12, 1),
        )
        session.add(deal)
        session.flush()
        return Sale(partner.id, deal.id)


def test_filing_by_hand_on_a_deal_and_refusing_one_out_of_sight(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
    sale: Sale,
) -> None:
    message = mail(
        database, settings, committed.bob, "alice@groupware.local, charlie@groupware.local"
    )
    alice_page = f"/mail/{entry_id(database, committed.alice, message)}"
    charlie_page = f"/mail/{entry_id(database, committed.charlie, message)}"
    alice, charlie = login_as_without_token("alice"), login_as_without_token("charlie")

    choices = alice.get(f"{alice_page}/records?q=blag", headers={"HX-Request": "true"}).text
    assert "<html" not in choices and "Blagajne" in choices
    filed = post(
        alice, f"{alice_page}/links", alice_page,
        record_type="deals", record_id=str(sale.deal_id),
    )  # fmt: skip
    assert filed.status_code == 303
    shown = alice.get(alice_page).text
    assert f'href="/deals/{sale.deal_id}">Blagajne</a>' in shown
    assert "Blagajne" not in charlie.get(f"{charlie_page}/records?q=blag").text
    refused = post(
        charlie, f"{charlie_page}/links", charlie_page,
        record_type="deals", record_id=str(sale.deal_id),
    )  # fmt: skip
    assert refused.status_code == 404
    assert "Blagajne" not in charlie.get(charlie_page).text
    link_id = re.search(r'/links/(\d+)/remove"', shown)
    assert link_id is not None
    removed = post(alice, f"{alice_page}/links/{link_id[1]}/remove", alice_page)
    assert removed.status_code == 303
    assert "Blagajne" not in alice.get(alice_page).text


def test_moving_marking_unread_and_private_from_the_message_page(
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
    login_as_without_token: LoginAs,
) -> None:
    message = mail(database, settings, committed.bob, "alice@groupware.local")
    page = f"/mail/{entry_id(database, committed.alice, message)}"
    alice = login_as_without_token("alice")

    assert post(alice, f"{page}/private", page, private="1").status_code == 303
    assert 'data-testid="private"' in alice.get(page).text
    unread = post(alice, f"{page}/seen", page, seen="0")
    assert unread.headers["location"] == "/mail?folder=inbox"
    assert nav_count(alice.get("/mail").text) == "1"
    assert post(alice, f"{page}/move", page, folder="archive").status_code == 303
    assert "Ponuda" in alice.get("/mail?folder=archive").text
    assert post(alice, f"{page}/move", page, folder="drafts").status_code == 422
    assert post(alice, f"{page}/move", page, folder="trash").status_code == 303
    assert post(alice, f"{page}/move", page, folder="back").status_code == 303
    assert "Ponuda" in alice.get("/mail?folder=inbox").text
    assert post(alice, f"{page}/delete", page).status_code == 422  # not from the inbox
    post(alice, f"{page}/move", page, folder="trash")
    emptied = post(alice, "/mail/trash/empty", "/mail?folder=trash")
    assert emptied.status_code == 303
    assert alice.get(page).status_code == 404


def test_the_web_mail_sends_only_as_ones_own_addresses(
    live: LiveServer, committed: Cast, database: Database, login_as_without_token: LoginAs
) -> None:
    """The From list offers one's own address, aliases and team addresses; a colleague's
    typed in by hand is refused with the reason, as over SMTP."""
    with database.transaction(actor_id=None, channel="cli") as session:
        north = session.get_one(Team, committed.north.id)
        addresses.add_team_address(session, north, "sjever", mail_domain="groupware.local")
    alice = login_as_without_token("alice")
    form = alice.get("/mail/compose").text
    offered = re.findall(r'<option value="([^"]+)"', form.split('name="from_address"')[1])
    assert offered == ["alice@groupware.local", "sjever@groupware.local"]
    refused = post(
        alice, "/mail/compose", "/mail/compose", from_address="bob@groupware.local",
        to="charlie@groupware.local", subject="Kao Bob", action="send",
    )  # fmt: skip
    assert refused.status_code == 422
    assert "You may not send as bob@groupware.local" in html.unescape(refused.text)
    sent = post(
        alice, "/mail/compose", "/mail/compose", from_address="sjever@groupware.local",
        to="charlie@groupware.local", subject="Tim", action="send",
    )  # fmt: skip
    assert sent.status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        kept = session.execute(select(MailMessage.subject, MailMessage.from_address)).all()
    assert [tuple(row) for row in kept] == [("Tim", "sjever@groupware.local")]
