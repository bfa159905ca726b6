"""Reading a raw message: the direct path for one text part and the email package's
parser for the rest agree, and both decode what Croatian mail programs send."""

from __future__ import annotations

import asyncio
import email.policy
from email.message import EmailMessage

import pytest

from groupware.mail import parsing
from groupware.mail.parsing import parse

CRLF = email.policy.SMTP


def simple(**headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = headers.pop("From", "Šime Ćorić <sime@firma.hr>")
    mail["To"] = headers.pop("To", '"Horvat, Ana" <ana@firma.hr>, bob@firma.hr')
    mail["Subject"] = headers.pop("Subject", "Ponuda za čokoladu i šećer")
    mail["Date"] = "Fri, 27 Nov 2026 10:00:00 +0100"
    mail["Message-ID"] = "<a1@firma.hr>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    return mail


def through_the_email_package(raw: bytes) -> parsing.Parsed:
    """What :func:`parse` gives when it takes the general path for the body."""
    original = parsing._simple_body
    parsing._simple_body = lambda headers, body: None  # type: ignore[assignment]
    try:
        return parse(raw)
    finally:
        parsing._simple_body = original  # type: ignore[assignment]


BODY = "Poštovani,\nšaljem ponudu za 12 blagajni.\n" + "Lijep pozdrav, " * 30 + "\n"


@pytest.mark.parametrize("cte", ["8bit", "quoted-printable", "base64"])
@pytest.mark.parametrize("charset", ["utf-8", "windows-1250", "iso-8859-2"])
def test_one_text_part_reads_the_same_both_ways(cte: str, charset: str) -> None:
    mail = simple(Cc="Marko <marko@firma.hr>", References="<r0@x> <r1@x>")
    mail.set_content(BODY, charset=charset, cte=cte)
    raw = mail.as_bytes(policy=CRLF)
    fast, general = parse(raw), through_the_email_package(raw)
    assert fast == general
    assert fast.text.replace("\r\n", "\n") == BODY
    assert fast.subject == "Ponuda za čokoladu i šećer"
    assert (fast.from_name, fast.from_address) == ("Šime Ćorić", "sime@firma.hr")
    assert fast.to == ["ana@firma.hr", "bob@firma.hr"]
    assert fast.cc == ["marko@firma.hr"]
    assert fast.thread == parsing.thread_key("", "", "<r0@x>")
    assert fast.sent_at is not None and fast.sent_at.utcoffset() is not None


def test_html_only_mail_gets_its_text_for_search() -> None:
    mail = simple()
    mail.set_content("<p>Cijena: <b>1.200 €</b></p><script>x()</script>", subtype="html")
    parsed = parse(mail.as_bytes(policy=CRLF))
    assert "<b>" in parsed.html
    assert parsed.text == "Cijena: 1.200 €"


def test_raw_utf8_headers_and_undeclared_8bit_text() -> None:
    raw = "From: Ana <ana@x.hr>\r\nTo: c@d.hr\r\nSubject: čaj\r\n\r\nčaj i kava\r\n".encode()
    parsed = parse(raw)
    assert (parsed.subject, parsed.text, parsed.from_name) == ("čaj", "čaj i kava\r\n", "Ana")


def test_a_long_folded_subject_and_encoded_words() -> None:
    raw = (
        b"From: =?utf-8?q?=C5=A0ime?= <s@x.hr>\r\nTo: c@d.hr\r\n"
        b"Subject: =?iso-8859-2?q?=E8okolada?=\r\n =?utf-8?b?aSDFoWXEh2Vy?=\r\n\r\nx\r\n"
    )
    parsed = parse(raw)
    assert parsed.subject == "čokoladai šećer"
    assert parsed.from_name == "Šime"


def test_several_parts_go_through_the_email_package() -> None:
    mail = simple()
    mail.set_content(BODY)
    mail.add_alternative("<p>Poštovani</p>", subtype="html")
    mail.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename="ponuda čokolada.pdf"
    )
    parsed = parse(mail.as_bytes(policy=CRLF))
    assert parsed.text.replace("\r\n", "\n") == BODY
    assert parsed.html.startswith("<p>Poštovani")
    assert parsed.attachments == [
        {"name": "ponuda čokolada.pdf", "type": "application/pdf", "size": 8}
    ]


def test_a_single_part_with_a_file_name_is_an_attachment() -> None:
    raw = (
        b"From: a@b.hr\r\nTo: c@d.hr\r\nSubject: cjenik\r\n"
        b'Content-Type: text/plain; charset=utf-8; name="cjenik.txt"\r\n'
        b'Content-Disposition: attachment; filename="cjenik.txt"\r\n\r\nx;y\r\n'
    )
    parsed = parse(raw)
    assert parsed.text == ""
    assert parsed.attachments == [{"name": "cjenik.txt", "type": "text/plain", "size": 5}]


def test_broken_input_never_stops_delivery() -> None:
    for raw in (
        b"",
        b"no headers at all",
        b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@",
    ):
        parse(raw)


PATHS = [
    "<ana@bench.local>",
    "<ana@bench.local> SIZE=5000",
    " <a.b+c@x.hr>  BODY=8BITMIME",
    "<>",
    "ana@x.hr",
    '<"q t"@x.hr>',
    "<ana@[127.0.0.1]>",
    "<ana@bench.local>SIZE=1",
    "<a..b@x.hr>",
    "<.a@x.hr>",
    "<a@x..hr>",
    "<a b@x.hr>",
    "<a@x.hr> SIZE=1 ",
    "<a@x.hr>\tBODY=7BIT",
    "<ž@x.hr>",
    "<a@x.hr",
    "",
]


@pytest.mark.parametrize("limit", [0, 3])
def test_smtp_paths_read_as_aiosmtpd_reads_them(limit: int) -> None:
    from aiosmtpd.smtp import SMTP

    from groupware.mail.aiosmtpd_compat import GroupwareSMTP

    class Handler:
        pass

    # A loop of their own, closed after: without one, aiosmtpd makes a loop and leaves it
    # open, and its sockets are reported as unclosed in whichever later test collects them.
    loop = asyncio.new_event_loop()
    try:
        ours, theirs = GroupwareSMTP(Handler(), loop=loop), SMTP(Handler(), loop=loop)
        ours.local_part_limit = theirs.local_part_limit = limit
        for path in PATHS:
            assert ours._getaddr(path) == theirs._getaddr(path), path
    finally:
        loop.close()


@pytest.mark.parametrize(
    "value",
    [
        "ana@x.hr",
        "Ana Horvat <ana@x.hr>",
        "<ana@x.hr>",
        '"Horvat, Ana" <ana@x.hr>',
        "=?utf-8?q?=C5=A0ime?= <s@x.hr>",
        "ana@x.hr (Ana)",
        "Ana <ana@x.hr",
        "Ana Horvat",
        "",
    ],
)
def test_the_sender_reads_as_the_email_package_reads_it(value: str) -> None:
    import email.utils

    name, address = email.utils.parseaddr(value)
    assert parsing.sender_of(value) == (parsing._words(name), address)
