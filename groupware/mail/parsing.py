"""What the web mail, search and filing need out of a raw message: headers, the text,
the HTML, attachments' names and sizes, calendar parts, and the conversation it belongs
to. The raw bytes are kept as they came; this only reads them.

Parsing is on the SMTP server's hot path, so a message of one text part (most mail
between people) is read directly: the header block is split by hand and the body
decoded by its transfer encoding and charset. Anything else (several parts,
attachments, parameters in RFC 2231 form) goes through the :mod:`email` package's
parser, with header values kept raw: its modern policy's header objects cost six times
the rest of the parse.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email
import email.errors
import email.header
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

TEXT_LIMIT = 1_000_000  # characters of text or HTML kept for display and search


@dataclass
class Parsed:
    message_id: str = ""
    in_reply_to: str = ""
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    sent_at: dt.datetime | None = None
    text: str = ""
    html: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    calendars: list[str] = field(default_factory=list)  # text/calendar parts (iMIP)
    thread: str = ""


MSGID = re.compile(r"<[^<>\s]+>")


def thread_key(message_id: str, in_reply_to: str, references: str) -> str:
    """The conversation of a message: a digest of the first Message-ID it refers to
    (References, then In-Reply-To), or of its own (a new conversation)."""
    for header in (references, in_reply_to, message_id):
        first = MSGID.search(header)
        if first is not None:
            return hashlib.sha1(first[0].lower().encode(), usedforsecurity=False).hexdigest()
    return ""


# -- header values ----------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unfold(value: str) -> str:
    """A raw header value on one line; raw UTF-8 (SMTPUTF8) decoded."""
    value = _FOLD.sub("", value).strip()
    if any("\udc80" <= c <= "\udcff" for c in value):
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    return value


def _words(value: str) -> str:
    """A header value unfolded, with its encoded words (RFC 2047) decoded."""
    value = _unfold(value)
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, ValueError, email.errors.HeaderParseError):
        return value


_NEEDS_PARSER = re.compile(r'[()"\\;:]')


def _address_list(values: list[str]) -> list[str]:
    """The addresses of To or Cc values; plain lists (``a@b, Name <c@d>``) are split
    directly, anything with quotes, comments or groups by :mod:`email.utils`."""
    found: list[str] = []
    for raw in values:
        value = _unfold(raw)
        if _NEEDS_PARSER.search(value):
            found.extend(a for _n, a in email.utils.getaddresses([value]) if a)
            continue
        for item in value.split(","):
            item = item.strip()
            if "<" in item:
                item = item[item.rfind("<") + 1 :].partition(">")[0].strip()
            if item and " " not in item:
                found.append(item)
    return found


def sender_of(value: str) -> tuple[str, str]:
    """The From header's name and address (``a@b`` and ``Name <a@b>`` read directly)."""
    value = _unfold(value)
    if not _NEEDS_PARSER.search(value) and "," not in value:
        name, angle, rest = value.partition("<")
        if not angle and " " not in value:
            return "", value
        if angle and rest.endswith(">") and " " not in rest:
            return _words(name.strip()), rest[:-1]
    name, address = email.utils.parseaddr(value)
    return _words(name), address


# -- the simple case: one text part -----------------------------------------------------

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE = re.compile(r"\r?\n(?![ \t])")
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


def _split(raw: bytes) -> tuple[dict[str, list[str]], bytes]:
    end = _HEAD_END.search(raw)
    head, body = (raw[: end.start()], raw[end.end() :]) if end else (raw, b"")
    return _fields(head), body


def _fields(head: bytes) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for line in _LINE.split(head.decode("ascii", "surrogateescape")):
        name, colon, value = line.partition(":")
        if colon and name and " " not in name:
            headers.setdefault(name.lower(), []).append(value)
    return headers


def header_values(raw: bytes, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Every value of each header in ``names`` (lower case), unfolded, as :func:`parse`
    reads the header block."""
    end = _HEAD_END.search(raw)
    fields = _fields(raw[: end.start()] if end else raw)
    return {name: [_unfold(v) for v in fields.get(name, [])] for name in names}


def _decoded(body: bytes, encoding: str) -> bytes | None:
    encoding = encoding.strip().lower()
    if encoding in {"", "7bit", "8bit", "binary"}:
        return body
    try:
        if encoding == "quoted-printable":
            return binascii.a2b_qp(body)
        if encoding == "base64":
            return binascii.a2b_base64(body)
    except (binascii.Error, ValueError):
        return None
    return None


def _as_text(payload: bytes, charset: str) -> str:
    charset = charset.lower()
    if charset in {"", "us-ascii", "ascii"}:  # undeclared 8-bit text is UTF-8 in practice
        charset = "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _simple_body(headers: dict[str, list[str]], body: bytes) -> tuple[str, str] | None:
    """(kind, text) of a message that is one text/plain or text/html part, else None."""
    content_type = _unfold(headers.get("content-type", ["text/plain"])[-1])
    kind = content_type.partition(";")[0].strip().lower()
    if kind not in {"text/plain", "text/html"} or "*" in content_type:
        return None
    disposition = _unfold(headers.get("content-disposition", [""])[-1])
    if disposition and not disposition.lower().startswith("inline"):
        return None
    if "name=" in content_type.lower() or "name" in disposition.lower():
        return None
    payload = _decoded(body, _unfold(headers.get("content-transfer-encoding", [""])[-1]))
    if payload is None:
        return None
    charset = _CHARSET.search(content_type)
    return kind, _as_text(payload, charset[1] if charset else "")


# -- everything else, through the email package ----------------------------------------


class _RawHeaders(email.policy.Compat32):
    """Header values exactly as they came (decoded by :func:`_words`)."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_RAW = _RawHeaders()


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _as_text(payload, part.get_content_charset() or "")


def _walk(parsed: Parsed, message: Message) -> None:
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        kind = part.get_content_type()
        filename = part.get_filename()
        if kind == "text/calendar":
            parsed.calendars.append(_text(part))
        if disposition == "attachment" or (filename and disposition != "inline"):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            parsed.attachments.append({"name": _words(filename or ""), "type": kind, "size": size})
            continue
        if kind == "text/plain" and not parsed.text:
            parsed.text = _text(part)[:TEXT_LIMIT]
        elif kind == "text/html" and not parsed.html:
            parsed.html = _text(part)[:TEXT_LIMIT]


def parse(raw: bytes) -> Parsed:
    """What the web mail shows of a message; a broken part never stops delivery."""
    headers, body = _split(raw)

    def one(name: str) -> str:
        values = headers.get(name)
        return _words(values[0]) if values else ""

    parsed = Parsed(
        message_id=one("message-id")[:998],
        in_reply_to=one("in-reply-to")[:998],
        subject=one("subject")[:998],
        to=_address_list(headers.get("to", [])),
        cc=_address_list(headers.get("cc", [])),
    )
    parsed.thread = thread_key(parsed.message_id, parsed.in_reply_to, one("references"))
    if "from" in headers:
        name, address = sender_of(headers["from"][0])
        parsed.from_name, parsed.from_address = name[:300], address[:320]
    try:
        when = email.utils.parsedate_to_datetime(one("date"))
        parsed.sent_at = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    except (TypeError, ValueError):
        parsed.sent_at = None
    simple = _simple_body(headers, body)
    if simple is not None:
        kind, text = simple
        if kind == "text/plain":
            parsed.text = text[:TEXT_LIMIT]
        else:
            parsed.html = text[:TEXT_LIMIT]
    else:
        _walk(parsed, email.message_from_bytes(raw, policy=_RAW))
    if not parsed.text and parsed.html:  # HTML-only mail: its text, for search and quotes
        from groupware.mail.sanitize import html_to_text

        parsed.text = html_to_text(parsed.html)[:TEXT_LIMIT]
    return parsed
