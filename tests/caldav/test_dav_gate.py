"""What /dav/ refuses before Radicale parses it, and says why: hostile XML, items over
the size limit (declared or streamed), the deletion of a calendar home; over a real
socket against the live server."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests import factories
from tests.caldav.test_caldav import event
from tests.conftest import LiveServer
from tests.factories import PASSWORD

AUTH = ("alice", PASSWORD)
ENGLISH = {"Accept-Language": "en"}  # the reasons are in the client's language
ENTITIES = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10 if n else "lol"}">' for n in range(10))
LAUGHS = (
    f'<?xml version="1.0"?><!DOCTYPE d [{ENTITIES}]>'
    '<propfind xmlns="DAV:"><prop><displayname>&l9;</displayname></prop></propfind>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    '<propfind xmlns="DAV:"><prop><displayname>&e;</displayname></prop></propfind>'
)
DEEP = '<propfind xmlns="DAV:"><prop>' + "<x>" * 50_000 + "</x>" * 50_000 + "</prop></propfind>"
TARGETS = {
    "PROPFIND": "/dav/alice/",
    "PROPPATCH": "/dav/alice/calendar/",
    "REPORT": "/dav/alice/calendar/",
    "MKCALENDAR": "/dav/alice/new-one/",
    "MKCOL": "/dav/alice/new-two/",
}


@pytest.mark.parametrize("method", sorted(TARGETS))
@pytest.mark.parametrize(
    ("body", "reason"),
    [(LAUGHS, "document type"), (XXE, "document type"), (DEEP, "nested deeper")],
    ids=["billion-laughs", "xxe", "deep"],
)
def test_hostile_xml_is_refused_with_400_and_the_reason(
    live: LiveServer, committed: factories.Cast, method: str, body: str, reason: str
) -> None:
    response = httpx.request(
        method,
        live.url + TARGETS[method],
        content=body,
        auth=AUTH,
        headers={"Depth": "0", **ENGLISH},
    )
    assert response.status_code == 400, response.text
    assert reason in response.text and "root:" not in response.text
    calendars = httpx.request(
        "PROPFIND", live.url + "/dav/alice/", auth=AUTH, headers={"Depth": "1"}
    )
    assert "new-one" not in calendars.text and "new-two" not in calendars.text


def test_malformed_xml_is_refused_with_the_reason_in_the_clients_language(
    live: LiveServer, committed: factories.Cast
) -> None:
    url = live.url + "/dav/alice/calendar/"
    for language, reason in (("en", "not well-formed"), ("hr", "nije ispravno oblikovan")):
        headers = {"Accept-Language": language}
        response = httpx.request("REPORT", url, content="<a><b></a>", auth=AUTH, headers=headers)
        assert response.status_code == 400 and reason in response.text


def test_deleting_ones_own_home_is_refused_and_keeps_it(
    live: LiveServer, committed: factories.Cast
) -> None:
    httpx.request("PROPFIND", live.url + "/dav/alice/", auth=AUTH)  # the home is made
    response = httpx.request("DELETE", live.url + "/dav/alice/", auth=AUTH, headers=ENGLISH)
    assert response.status_code == 403 and "home" in response.text
    listed = httpx.request("PROPFIND", live.url + "/dav/alice/", auth=AUTH, headers={"Depth": "1"})
    assert listed.status_code == 207 and "/dav/alice/calendar/" in listed.text


@pytest.fixture
def raw(live: LiveServer) -> Iterator[socket.socket]:
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        yield sock


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", f"Authorization: Basic {token}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket) -> tuple[int, str]:
    """The status and body of the server's answer (by Content-Length, or chunked)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _sep, body = data.partition(b"\r\n\r\n")
    fields = dict(line.lower().split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
    if fields.get(b"transfer-encoding", b"").strip() == b"chunked":
        while not body.endswith(b"0\r\n\r\n"):
            body += sock.recv(65536)
        pieces, rest = [], body
        while (size := int(rest.split(b"\r\n", 1)[0], 16)) > 0:
            rest = rest.split(b"\r\n", 1)[1]
            pieces.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(pieces)
    else:
        while len(body) < int(fields.get(b"content-length", b"0")):
            body += sock.recv(65536)
    return int(head.split(b" ")[1]), body.decode()


def test_an_item_declared_too_large_is_refused_before_its_body_is_sent(
    committed: factories.Cast, raw: socket.socket
) -> None:
    """The server answers 413 to the headers alone: it neither waits for the 5 MB
    nor parses them (a server that read first would never answer here)."""
    headers = {"Content-Type": "text/calendar", "Content-Length": str(5 * 1024 * 1024)}
    raw.sendall(_head("PUT", "/dav/alice/calendar/big.ics", headers))
    status, body = _answer(raw)
    assert status == 413
    assert "max-resource-size" in body and "1024 KB" in body


def test_a_streamed_item_is_refused_as_soon_as_it_grows_past_the_limit(
    committed: factories.Cast, raw: socket.socket
) -> None:
    raw.sendall(_head("PUT", "/dav/alice/calendar/big.ics", {"Transfer-Encoding": "chunked"}))
    piece = b"x" * 65536
    for _n in range(17):  # 1088 KB, and the stream is never ended
        raw.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    status, body = _answer(raw)
    assert status == 413 and "max-resource-size" in body


def test_a_streamed_item_under_the_limit_is_stored(
    live: LiveServer, committed: factories.Cast, raw: socket.socket
) -> None:
    text = event("streamed", "20261202T090000Z", "20261202T100000Z", "Potok").encode()
    raw.sendall(_head("PUT", "/dav/alice/calendar/streamed.ics", {"Transfer-Encoding": "chunked"}))
    for start in range(0, len(text), 100):
        piece = text[start : start + 100]
        raw.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    raw.sendall(b"0\r\n\r\n")
    status, _body = _answer(raw)
    assert status == 201
    stored = httpx.get(live.url + "/dav/alice/calendar/streamed.ics", auth=AUTH)
    assert "SUMMARY:Potok" in stored.text


def test_a_streamed_whole_calendar_is_stored_not_taken_for_an_empty_one(
    live: LiveServer, committed: factories.Cast, raw: socket.socket
) -> None:
    url = live.url + "/dav/alice/calendar/"
    put = httpx.put(
        url + "kept.ics", content=event("kept", "20261202T090000Z", "20261202T100000Z"), auth=AUTH
    )
    assert put.status_code == 201
    whole = event("kept", "20261202T090000Z", "20261202T100000Z", "Zadržan").encode()
    raw.sendall(_head("PUT", "/dav/alice/calendar/", {"Transfer-Encoding": "chunked"}))
    raw.sendall(f"{len(whole):x}\r\n".encode() + whole + b"\r\n0\r\n\r\n")
    status, _body = _answer(raw)
    assert status in (201, 204)
    assert "SUMMARY:Zadržan" in httpx.get(url + "kept.ics", auth=AUTH).text


def test_a_whole_calendar_with_an_item_too_large_changes_nothing_and_says_why(
    live: LiveServer, committed: factories.Cast
) -> None:
    url = live.url + "/dav/alice/calendar/"
    httpx.put(
        url + "kept.ics", content=event("kept", "20261202T090000Z", "20261202T100000Z"), auth=AUTH
    )
    big = event(
        "big", "20261203T090000Z", "20261203T100000Z", extra=f"DESCRIPTION:{'x' * 1_100_000}\n"
    )
    small = event("small", "20261204T090000Z", "20261204T100000Z")
    both = small.replace("END:VCALENDAR\n", "") + big[big.index("BEGIN:VEVENT") :]
    response = httpx.put(url, content=both, auth=AUTH, headers={"Content-Type": "text/calendar"})
    assert response.status_code == 413 and "max-resource-size" in response.text
    assert httpx.get(url + "kept.ics", auth=AUTH).status_code == 200
    assert httpx.get(url + "small.ics", auth=AUTH).status_code == 404


def test_calendars_tell_clients_the_size_limit_they_are_held_to(
    live: LiveServer, committed: factories.Cast
) -> None:
    body = (
        '<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<prop><C:max-resource-size/></prop></propfind>"
    )
    httpx.request("PROPFIND", live.url + "/dav/alice/", auth=AUTH)  # the home is made
    answer = httpx.request(
        "PROPFIND",
        live.url + "/dav/alice/calendar/",
        content=body,
        auth=AUTH,
        headers={"Depth": "0"},
    )
    assert answer.status_code == 207 and "max-resource-size>1048576<" in answer.text
