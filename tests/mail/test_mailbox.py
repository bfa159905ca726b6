"""The mailbox services with a real database: folders, search, counts, threads, moves,
the trash, drafts, filing by hand, composing (reply, reply to all, forward, Bcc), and
the sanitiser that shows HTML mail."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, Who
from groupware.crm.models import Person
from groupware.deals.models import Deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.errors import Invalid, NotFound
from groupware.i18n import use_language
from groupware.mail import compose, mailbox, routing, sanitize
from groupware.mail.models import MailEntry, MailLink, MailMessage
from groupware.settings import Settings
from tests.factories import Cast, make_partner


def who(db: Session, cast: Cast, name: str) -> Who:
    return cast.who(db, getattr(cast, name))


def send(
    db: Session,
    cast: Cast,
    settings: Settings,
    sender: str,
    to: str,
    subject: str = "Ponuda",
    text: str = "Pozdrav!",
    **extra: object,
) -> MailMessage:
    data = compose.MailIn(to=to, subject=subject, text=text, **extra)  # type: ignore[arg-type]
    return compose.send(db, getattr(cast, sender), data, settings)


def entry_of(db: Session, user_id: int, message: MailMessage, folder: str = "inbox") -> MailEntry:
    found = db.scalar(
        select(MailEntry).where(
            MailEntry.user_id == user_id,
            MailEntry.message_id == message.id,
            MailEntry.folder == folder,
        )
    )
    assert found is not None
    return found


def subjects(entries: list[MailEntry]) -> list[str]:
    return [e.message.subject for e in entries]


# -- folders, search, counts ------------------------------------------------------------


def test_a_sent_message_is_in_the_recipients_inbox_and_the_senders_sent_folder(
    db: Session, cast: Cast, settings: Settings
) -> None:
    send(db, cast, settings, "bob", "alice@groupware.local", "Sastanak")

    assert subjects(mailbox.list_folder(db, who(db, cast, "alice"), "inbox")) == ["Sastanak"]
    assert subjects(mailbox.list_folder(db, who(db, cast, "bob"), "sent")) == ["Sastanak"]
    assert mailbox.list_folder(db, who(db, cast, "charlie"), "inbox") == []
    counts = mailbox.folder_counts(db, who(db, cast, "alice"))
    assert counts["inbox"] == mailbox.Counts(total=1, unread=1)
    assert counts["trash"] == mailbox.Counts()
    assert mailbox.unread_inbox(db, cast.alice.id) == 1


def test_search_matches_subject_sender_recipient_and_text_in_any_case(
    db: Session, cast: Cast, settings: Settings
) -> None:
    send(db, cast, settings, "bob", "alice@groupware.local", "Ponuda za Konzum", "Cijene")
    send(db, cast, settings, "dave", "alice@groupware.local", "Godišnji odmor", "Čaj u 5")
    alice = who(db, cast, "alice")

    def found(q: str) -> list[str]:
        return subjects(mailbox.list_folder(db, alice, "inbox", q=q))

    assert found("konzum") == ["Ponuda za Konzum"]
    assert found("DAVE") == ["Godišnji odmor"]  # the sender
    assert found("čaj") == ["Godišnji odmor"]  # the text, in any case
    assert found("ČAJ") == ["Godišnji odmor"]
    assert found("alice@groupware") == ["Godišnji odmor", "Ponuda za Konzum"]  # a recipient
    assert found("ponuda cijene") == ["Ponuda za Konzum"]  # every word
    assert found("100%") == []  # LIKE's wildcards are taken literally
    html = compose.MailIn(to="alice@groupware.local", subject="Bilten")
    raw = compose.build(cast.bob, html, attachments=[], settings=settings)
    raw.set_content("<p>Novi <b>katalog</b></p>", subtype="html")
    routing.submit(db, cast.bob, bytes(raw), ["alice@groupware.local"], settings)
    assert found("katalog") == ["Bilten"]  # an HTML-only message, by its HTML
    with pytest.raises(Invalid):
        mailbox.list_folder(db, alice, "spam")


def test_a_folder_is_paged_newest_first(db: Session, cast: Cast, settings: Settings) -> None:
    for n in range(5):
        send(db, cast, settings, "bob", "alice@groupware.local", f"Poruka {n}")
    alice = who(db, cast, "alice")

    first = mailbox.list_folder(db, alice, "inbox", limit=2)
    assert subjects(first) == ["Poruka 4", "Poruka 3", "Poruka 2"]  # one more: there are more
    second = mailbox.list_folder(db, alice, "inbox", before=first[1].id, limit=2)
    assert subjects(second) == ["Poruka 2", "Poruka 1", "Poruka 0"]


# -- access -----------------------------------------------------------------------------


def test_nobody_reaches_someone_elses_entry(db: Session, cast: Cast, settings: Settings) -> None:
    message = send(db, cast, settings, "bob", "alice@groupware.local")
    entry = entry_of(db, cast.alice.id, message)
    charlie = who(db, cast, "charlie")

    for act in (
        lambda: mailbox.get_entry_for_user(db, charlie, entry.id),
        lambda: mailbox.mark_seen(db, charlie, entry.id),
        lambda: mailbox.move(db, charlie, entry.id, "trash"),
        lambda: mailbox.set_private(db, charlie, entry.id, True),
        lambda: mailbox.delete_entry(db, charlie, entry.id),
    ):
        with pytest.raises(NotFound):
            act()
    assert not entry.seen and entry.folder == "inbox"


# -- read, move, trash ------------------------------------------------------------------


def test_read_unread_archive_trash_restore_and_delete(
    db: Session, cast: Cast, settings: Settings
) -> None:
    message = send(db, cast, settings, "bob", "alice@groupware.local")
    alice = who(db, cast, "alice")
    entry = entry_of(db, cast.alice.id, message)

    mailbox.mark_seen(db, alice, entry.id)
    assert mailbox.unread_inbox(db, cast.alice.id) == 0
    mailbox.mark_seen(db, alice, entry.id, False)
    assert mailbox.unread_inbox(db, cast.alice.id) == 1
    mailbox.move(db, alice, entry.id, "archive")
    assert subjects(mailbox.list_folder(db, alice, "archive")) == ["Ponuda"]
    with pytest.raises(Invalid):
        mailbox.delete_entry(db, alice, entry.id)  # only from the trash
    with pytest.raises(Invalid):
        mailbox.move(db, alice, entry.id, "drafts")
    mailbox.move(db, alice, entry.id, "trash")
    assert mailbox.home_folder(db, alice, entry, settings.mail_domain) == "inbox"
    mailbox.delete_entry(db, alice, entry.id)
    assert mailbox.list_folder(db, alice, "trash") == []
    # bob still has his copy, so the message stays.
    assert db.get(MailMessage, message.id) is not None
    bob = who(db, cast, "bob")
    sent = entry_of(db, cast.bob.id, message, "sent")
    mailbox.move(db, bob, sent.id, "trash")
    assert mailbox.home_folder(db, bob, sent, settings.mail_domain) == "sent"
    assert mailbox.empty_trash(db, bob) == 1
    db.expire_all()
    assert db.get(MailMessage, message.id) is None  # nobody has it any more


def test_private_is_a_flag_of_ones_own_copy(db: Session, cast: Cast, settings: Settings) -> None:
    message = send(db, cast, settings, "bob", "alice@groupware.local")
    entry = mailbox.set_private(
        db, who(db, cast, "alice"), entry_of(db, cast.alice.id, message).id, True
    )
    assert entry.private
    assert not entry_of(db, cast.bob.id, message, "sent").private


# -- threads ----------------------------------------------------------------------------


def test_a_reply_joins_the_thread_of_its_original(
    db: Session, cast: Cast, settings: Settings
) -> None:
    first = send(db, cast, settings, "bob", "alice@groupware.local", "Ponuda")
    send(db, cast, settings, "bob", "alice@groupware.local", "Nešto drugo")
    alice_entry = entry_of(db, cast.alice.id, first)
    form = compose.prefill(db, cast.alice, settings, kind="reply", entry_id=alice_entry.id)
    reply = compose.send(db, cast.alice, compose.MailIn(**form), settings)

    assert reply.thread == first.thread
    bob = who(db, cast, "bob")
    bob_reply = entry_of(db, cast.bob.id, reply)
    assert subjects(mailbox.thread_of(db, bob, bob_reply)) == ["Ponuda", "Re: Ponuda"]
    headers = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert headers["In-Reply-To"] == first.message_id
    assert first.message_id in headers["References"]


# -- composing --------------------------------------------------------------------------


def test_reply_quotes_and_prefixes_without_doubling(
    db: Session, cast: Cast, settings: Settings
) -> None:
    message = send(
        db, cast, settings, "bob", "alice@groupware.local", "Re: Ponuda", "Prvi red\n\nTreći"
    )
    entry = entry_of(db, cast.alice.id, message)

    with use_language("en"):
        form = compose.prefill(db, cast.alice, settings, kind="reply", entry_id=entry.id)
        forward = compose.prefill(db, cast.alice, settings, kind="forward", entry_id=entry.id)
    assert form["subject"] == "Re: Ponuda"
    assert form["to"] == "Bob <bob@groupware.local>"
    assert "> Prvi red\n>\n> Treći" in form["text"]
    assert "Bob wrote:" in form["text"]
    assert forward["subject"] == "Fwd: Re: Ponuda"
    assert "Prvi red" in forward["text"] and "Forwarded message" in forward["text"]
    with use_language("hr"):
        form = compose.prefill(db, cast.alice, settings, kind="reply", entry_id=entry.id)
    assert "Bob je napisao/la:" in form["text"]
    assert compose.forward_subject("FWD: x") == "FWD: x"
    assert compose.reply_subject("RE[2]: x") == "RE[2]: x"
    assert compose.reply_subject("") == "Re:"


def test_reply_all_leaves_out_ones_own_addresses(
    db: Session, cast: Cast, settings: Settings
) -> None:
    message = send(
        db, cast, settings, "bob", "alice@groupware.local, dave@groupware.local",
        cc="Charlie <charlie@groupware.local>, alice@groupware.local",
    )  # fmt: skip
    entry = entry_of(db, cast.alice.id, message)

    form = compose.prefill(db, cast.alice, settings, kind="reply_all", entry_id=entry.id)
    assert form["to"] == "Bob <bob@groupware.local>, dave@groupware.local"
    assert form["cc"] == "Charlie <charlie@groupware.local>"


def test_bcc_recipients_get_the_message_but_nobody_sees_them(
    db: Session, cast: Cast, settings: Settings
) -> None:
    message = send(
        db, cast, settings, "bob", "alice@groupware.local", bcc="charlie@groupware.local"
    )

    assert entry_of(db, cast.charlie.id, message) is not None
    assert b"charlie" not in message.raw.lower()
    parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert parsed["From"] == "Bob <bob@groupware.local>"
    assert parsed["Message-ID"].endswith("@groupware.local>")
    assert parsed["Date"]


def test_unreachable_and_malformed_addresses_are_refused_before_anything_is_kept(
    db: Session, cast: Cast, settings: Settings
) -> None:
    before = db.scalar(select(func.count()).select_from(MailMessage))
    with pytest.raises(Invalid) as nobody:
        send(db, cast, settings, "bob", "alice@groupware.local, nobody@groupware.local")
    assert "nobody@groupware.local" in nobody.value.errors["to"]
    with pytest.raises(Invalid) as outside:
        send(db, cast, settings, "bob", "ivan@konzum.example")  # no smarthost set up
    assert "ivan@konzum.example" in outside.value.errors["to"]
    with pytest.raises(Invalid) as malformed:
        send(db, cast, settings, "bob", "alice@groupware.local", cc="not an address")
    assert "cc" in malformed.value.errors
    with pytest.raises(Invalid) as empty:
        send(db, cast, settings, "bob", "")
    assert "to" in empty.value.errors
    assert db.scalar(select(func.count()).select_from(MailMessage)) == before


def test_attachments_are_sent_and_a_forward_keeps_the_originals(
    db: Session, cast: Cast, settings: Settings
) -> None:
    data = compose.MailIn(to="alice@groupware.local", subject="Cjenik", text="U prilogu.")
    files = [compose.Upload("cjenik.pdf", "application/pdf", b"%PDF-1.4 cjenik")]
    message = compose.send(db, cast.bob, data, settings, uploads=files)
    entry = entry_of(db, cast.alice.id, message)
    [part] = mailbox.attachments(message)
    assert (part.name, part.type) == ("cjenik.pdf", "application/pdf")
    assert mailbox.part_payload(message, part.number)[1] == b"%PDF-1.4 cjenik"
    with pytest.raises(NotFound):
        mailbox.part_payload(message, 99)

    form = compose.prefill(db, cast.alice, settings, kind="forward", entry_id=entry.id)
    assert form["keep"] == [part.number]
    forwarded = compose.send(
        db, cast.alice, compose.MailIn(**{**form, "to": "dave@groupware.local"}), settings
    )
    assert [p.name for p in mailbox.attachments(forwarded)] == ["cjenik.pdf"]
    # Someone else's message cannot be the source of a forward's attachments.
    with pytest.raises(NotFound):
        compose.send(
            db, cast.charlie, compose.MailIn(**{**form, "to": "dave@groupware.local"}), settings
        )


# -- drafts -----------------------------------------------------------------------------


def test_a_draft_keeps_bcc_and_attachments_and_leaves_the_drafts_when_sent(
    db: Session, cast: Cast, settings: Settings
) -> None:
    data = compose.MailIn(to="alice@groupware.local", bcc="dave@groupware.local", subject="Nacrt")
    files = [compose.Upload("plan.txt", "text/plain", b"plan")]
    draft = compose.save_draft(db, cast.bob, data, settings, uploads=files)
    assert draft.folder == "drafts"
    bob = who(db, cast, "bob")
    edited = {"subject": "Nacrt 2", "draft_id": draft.id, "source_id": draft.id, "keep": [2]}
    again = compose.save_draft(
        db, cast.bob, compose.MailIn(**{**data.model_dump(), **edited}), settings
    )
    assert again.id == draft.id
    form = compose.prefill(db, cast.bob, settings, kind="draft", entry_id=draft.id)
    assert (form["subject"], form["bcc"], form["draft_id"]) == (
        "Nacrt 2",
        "dave@groupware.local",
        draft.id,
    )
    assert form["keep"] == [2]
    message = compose.send(db, cast.bob, compose.MailIn(**form), settings)

    assert mailbox.list_folder(db, bob, "drafts") == []
    assert [p.name for p in mailbox.attachments(message)] == ["plan.txt"]
    assert entry_of(db, cast.dave.id, message) is not None
    with pytest.raises(Invalid):
        compose.prefill(
            db,
            cast.bob,
            settings,
            kind="draft",
            entry_id=entry_of(db, cast.bob.id, message, "sent").id,
        )


# -- filing by hand ---------------------------------------------------------------------


@dataclass
class Records:
    partner_id: int
    deal_id: int


@pytest.fixture
def records(db: Session, cast: Cast) -> Records:
    partner = make_partner(db, SYSTEM, "Konzum d.d.")
    partner.owner_id = cast.alice.id
    partner.email = "info@konzum.example"
    db.add(
        Person(
            partner_id=partner.id,
            first_name="Ivan",
            last_name="Horvat",
            email="ivan@konzum.example",
        )
    )
    kind = save_type(
        db, SYSTEM, None,
        TypeIn(name="Prodaja", direction="sale", phases=[StepIn(name="Ponuda", planned_days=5)]),
    )  # fmt: skip
    deal = Deal(
        title="Blagajne za Konzum",
        partner_id=partner.id,
        type_id=kind.id,
        owner_id=cast.alice.id,
        started_on=dt.date(2026, 12, 1),
    )
    db.add(deal)
    db.flush()
    return Records(partner.id, deal.id)


def test_filing_by_hand_on_a_record_one_may_see_and_taking_it_back(
    db: Session, cast: Cast, settings: Settings, records: Records
) -> None:
    message = send(db, cast, settings, "charlie", "alice@groupware.local, dave@groupware.local")
    alice, dave = who(db, cast, "alice"), who(db, cast, "dave")
    entry = entry_of(db, cast.alice.id, message)

    link = mailbox.link_record(db, alice, entry.id, "deals", records.deal_id)
    assert (link.how, link.record_type, link.record_id) == ("manual", "deals", records.deal_id)
    assert mailbox.link_record(db, alice, entry.id, "deals", records.deal_id).id == link.id
    mailbox.link_record(db, alice, entry.id, "partners", records.partner_id)
    filed = mailbox.filed_on(db, alice, message.id)
    assert [(f.record_type, f.label) for f in filed] == [
        ("deals", "Blagajne za Konzum"),
        ("partners", "Konzum d.d."),
    ]
    # Charlie's own copy: he may not see alice's deal or partner, so cannot file on them
    # and is not told they are there.
    charlie = who(db, cast, "charlie")
    sent = entry_of(db, cast.charlie.id, message, "sent")
    with pytest.raises(NotFound):
        mailbox.link_record(db, charlie, sent.id, "deals", records.deal_id)
    with pytest.raises(NotFound):
        mailbox.link_record(db, charlie, sent.id, "partners", records.partner_id)
    with pytest.raises(Invalid):
        mailbox.link_record(db, alice, entry.id, "tasks", 1)
    assert mailbox.filed_on(db, charlie, message.id) == []
    with pytest.raises(NotFound):
        mailbox.unlink_record(db, charlie, sent.id, link.id)
    # dave, alice's team lead, sees the filings on his own copy.
    assert [f.label for f in mailbox.filed_on(db, dave, message.id)] == [
        "Blagajne za Konzum",
        "Konzum d.d.",
    ]
    mailbox.unlink_record(db, alice, entry.id, link.id)
    assert [f.record_type for f in mailbox.filed_on(db, dave, message.id)] == ["partners"]


def test_automatic_filings_are_not_taken_back_by_hand(
    db: Session, cast: Cast, settings: Settings, records: Records
) -> None:
    message = send(db, cast, settings, "alice", f"deal-{records.deal_id}@groupware.local", "Ponuda")
    entry = entry_of(db, cast.alice.id, message, "sent")
    [filed] = [
        f
        for f in mailbox.filed_on(db, who(db, cast, "alice"), message.id)
        if f.record_type == "deals"
    ]
    assert filed.how == "address"
    with pytest.raises(Invalid):
        mailbox.unlink_record(db, who(db, cast, "alice"), entry.id, filed.link_id)
    assert db.get(MailLink, filed.link_id) is not None


def test_record_choices_and_address_book_offer_only_what_one_may_see(
    db: Session, cast: Cast, records: Records
) -> None:
    alice, charlie = who(db, cast, "alice"), who(db, cast, "charlie")

    assert [(c.record_type, c.label) for c in mailbox.record_choices(db, alice, "konzum")] == [
        ("deals", "Blagajne za Konzum"),
        ("partners", "Konzum d.d."),
    ]
    assert mailbox.record_choices(db, charlie, "konzum") == []
    assert [(c.kind, c.address) for c in compose.address_book(db, alice, "konzum")] == [
        ("person", "ivan@konzum.example"),
        ("partner", "info@konzum.example"),
    ]
    assert compose.address_book(db, charlie, "konzum") == []
    assert [c.label for c in compose.address_book(db, charlie, "ALI")] == [
        "Alice <alice@groupware.local>"
    ]
    assert len(compose.address_book(db, alice, "groupware", limit=3)) == 3


# -- showing HTML -----------------------------------------------------------------------


def test_html_is_sanitised_and_remote_images_wait_for_the_reader() -> None:
    source = (
        '<p onclick="steal()" style="color: red; position: fixed">Hi<script>alert(1)</script></p>'
        '<img src="https://tracker.example/p.gif" alt="logo"><img src="//tracker.example/q.gif">'
        '<div style="background: url(http://tracker.example/bg.png) red">bg</div>'
        '<a href="javascript:alert(1)">js</a><a href="/admin/users">inside</a>'
        '<a href="https://konzum.example">site</a><img src="cid:logo@x">'
        '<iframe src="https://evil.example"></iframe><form action="/x"><input name="q"></form>'
    )
    held = sanitize.render_html(source, cid_url=sanitize.cid_mapper({"logo@x": "/mail/1/parts/3"}))
    html = str(held.html)
    assert held.blocked == 3
    for absent in (
        "script",
        "onclick",
        "tracker.example",
        "javascript",
        "/admin",
        "iframe",
        "form",
        "position",
    ):
        assert absent not in html, absent
    assert 'style="color:red"' in html
    assert '<a href="https://konzum.example" target="_blank" rel="noopener noreferrer">' in html
    assert 'src="/mail/1/parts/3"' in html
    shown = sanitize.render_html(source, allow_remote=True)
    assert shown.blocked == 0
    assert 'src="https://tracker.example/p.gif"' in str(shown.html)
    assert 'src="https://tracker.example/q.gif"' in str(shown.html)  # made https
    assert "url(" in str(shown.html)


def test_plain_text_is_escaped_with_its_links() -> None:
    html = str(sanitize.render_text("Vidi https://konzum.example/a?b=1. <b>x</b>"))
    assert (
        '<a href="https://konzum.example/a?b=1" target="_blank" rel="noopener noreferrer">' in html
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert sanitize.html_to_text("<p>Prvi&amp;</p><p>drugi<br>treći</p>") == "Prvi&\ndrugi\ntreći"
