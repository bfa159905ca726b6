"""What answers a CalDAV request before Radicale sees it, and what turns Radicale's
bare refusals into ones that say why: every place where we override Radicale's own
answers (written against Radicale 3.9.0).

Before (:class:`DavGate`, ASGI, in front of a2wsgi):

* drop the headers with which a client could steer Radicale (``X-Script-Name`` sets
  the prefix of every href Radicale returns, ``X-Remote-Addr`` the address logins are
  throttled by), set the client address as the web app sees it (behind
  ``GROUPWARE_TRUSTED_PROXIES``, the forwarded one), and refuse a changing request that
  a browser says another site sent (a browser may replay cached Basic credentials);
* refuse ``DELETE`` of a calendar home (Radicale: 500) with 403;
* refuse a ``PUT`` of one item larger than ``GROUPWARE_DAV_MAX_ITEM_KB`` by its size,
  before reading or parsing it: at once when ``Content-Length`` says so, as soon as a
  streamed body grows past it otherwise (Radicale read and parsed 5 MB for 14 s, then
  answered a bare 400). The answer is ``413`` with the CalDAV precondition
  ``max-resource-size`` (RFC 4791 5.3.2.1) and a sentence: 413 because every HTTP
  client and proxy knows it means "too large, do not retry as is"; RFC 4791's 403
  reads as "no permission" to clients, and Radicale's own 412 (below) as an edit
  conflict, which Thunderbird answers by offering to overwrite;
* read a body sent without ``Content-Length`` (chunked) and hand it on with one:
  Radicale reads ``Content-Length`` bytes, and would take such a whole-calendar PUT
  for an empty calendar;
* check the XML body of ``PROPFIND``, ``PROPPATCH``, ``REPORT``, ``MKCALENDAR`` and
  ``MKCOL`` before Radicale parses it: a document type declaration (the way to
  entities: XXE, "billion laughs"), nesting deeper than :data:`MAX_XML_DEPTH` or
  malformed XML answer ``400`` with the reason, at the first offending byte (Radicale
  answered 500 to all three: defusedxml's refusal and the recursion error are not the
  parse error it catches).

After (:class:`Reasons`, WSGI, around Radicale):

* a refusal of our services during the request (:func:`storage.take_refusal`) answers
  with its own status and message, where Radicale answered a bare 400 (or 500: it
  does not catch a ValueError from a DELETE);
* Radicale's 412 to a PUT without ``If-Match`` or ``If-None-Match`` can only be its
  ``max_resource_size`` check (``OverflowError`` in ``app/put.py``): it answers 413 as
  the gate does.
"""

from __future__ import annotations

import http
import xml.parsers.expat
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groupware import i18n
from groupware.caldav import store
from groupware.caldav.storage import take_refusal
from groupware.errors import Forbidden, GroupwareError, Invalid, NotFound
from groupware.i18n import _
from groupware.settings import Settings
from groupware.web import client_address

STEERING_HEADERS = frozenset({b"x-script-name", b"x-remote-addr"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"})
XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR", "MKCOL"})
# CalDAV's deepest request (a calendar-query down to a text-match in a parameter of an
# alarm's property) nests about nine elements; Radicale's own handling recurses.
MAX_XML_DEPTH = 32
MAX_SIZE = "C:max-resource-size"


class BadXml(Exception):
    """A request body we do not hand to Radicale; the message says why."""


def check_xml(text: str) -> None:
    """Raise :class:`BadXml` for a document type declaration (entities), nesting deeper
    than :data:`MAX_XML_DEPTH` or malformed XML; expat stops at the first."""
    parser = xml.parsers.expat.ParserCreate()
    depth = 0

    def doctype(*_args: Any) -> None:
        raise BadXml(_("XML with a document type declaration (and entities) is not accepted."))

    def start(_name: str, _attributes: Any) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise BadXml(
                _("XML nested deeper than %(num)d elements is not accepted.", num=MAX_XML_DEPTH)
            )

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError as exc:
        raise BadXml(_("This is not well-formed XML: %(reason)s", reason=str(exc))) from None


def _decoded(body: bytes, content_type: str) -> str:
    """The body as Radicale 3.9 decodes it (``httputils.decode_request``): in the
    charset the request names, else UTF-8, else Latin-1 (which always succeeds)."""
    charset = content_type.partition("charset=")[2].split(";")[0].strip()
    for name in (charset, "utf-8"):
        try:
            return body.decode(name) if name else body.decode("utf-8")
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("iso8859-1")


def error_body(message: str, precondition: str = "") -> tuple[str, bytes]:
    """A refusal's content type and body: a WebDAV error naming ``precondition`` (RFC
    4918 16) with the sentence, or the sentence alone."""
    if not precondition:
        return "text/plain; charset=utf-8", message.encode()
    prefix, _sep, name = precondition.partition(":")
    namespace = {"C": "urn:ietf:params:xml:ns:caldav", "D": "DAV:"}[prefix]
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<D:error xmlns:D="DAV:" xmlns:P="{namespace}"><P:{name}/>'
        f"<D:responsedescription>{escape(message)}</D:responsedescription></D:error>"
    )
    return "application/xml; charset=utf-8", text.encode()


def _refuse(status: int, message: str, precondition: str = "") -> Response:
    content_type, body = error_body(message, precondition)
    return Response(body, status, media_type=content_type)


class DavGate:
    """The ASGI app in front of Radicale (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limits = store.Limits(max_item_bytes=settings.dav_max_item_kb * 1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        with i18n.use_language(_language(request.headers.get("Accept-Language"))):
            refusal, body = await self._check(request, scope, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        address = client_address(request, self.settings.trusted_proxies)
        client = scope.get("client") or ("", 0)
        headers = [(k, v) for k, v in scope["headers"] if k not in STEERING_HEADERS]
        if body is not None:  # read here: handed on whole, with its length
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            receive = _replay(body, receive)
        scope = {**scope, "headers": headers, "client": (address, client[1])}
        await self.app(scope, receive, send)

    async def _check(
        self, request: Request, scope: Scope, receive: Receive
    ) -> tuple[Response | None, bytes | None]:
        """A refusal, or None and the body when it had to be read here."""
        method = request.method
        if method not in SAFE_METHODS and request.headers.get("Sec-Fetch-Site") == "cross-site":
            return PlainTextResponse("Cross-site requests are refused.", 403), None
        depth = _depth(scope)
        if method == "DELETE" and depth <= 1:
            return _refuse(403, _("A calendar home cannot be deleted; delete its calendars.")), None
        declared = request.headers.get("Content-Length")
        limit = self.limits.max_item_bytes if method == "PUT" and depth == 3 else None
        if limit is not None and declared and declared.isdigit() and int(declared) > limit:
            return self._too_large(), None
        # Read here: XML to check it, and a PUT without a length (Radicale would read none).
        if method not in XML_METHODS and not (method == "PUT" and declared is None):
            return None, None
        body = await _read(receive, limit)
        if body is None:
            return self._too_large(), None
        if method in XML_METHODS and body:
            try:
                check_xml(_decoded(body, request.headers.get("Content-Type", "")))
            except BadXml as exc:
                return _refuse(400, str(exc)), None
        return None, body

    def _too_large(self) -> Response:
        return _refuse(413, store.too_large_message(self.limits), MAX_SIZE)


def _language(accept_language: str | None) -> str:
    return i18n.pick_language(accept_language) or "hr"


def _depth(scope: Scope) -> int:
    """How many segments the path has below ``/dav/``: 0 the root, 1 a home, 2 a
    calendar, 3 an item."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return len([part for part in path.split("/") if part])


async def _read(receive: Receive, limit: int | None) -> bytes | None:
    """The whole body, or None as soon as it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # what comes after the body: a disconnect

    return replay


# -- after Radicale ---------------------------------------------------------------------


class Reasons:
    """The WSGI app around Radicale (see the module docstring)."""

    def __init__(self, app: Any, limits: store.Limits) -> None:
        self.app = app
        self.limits = limits

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        take_refusal()  # nothing left over from the thread's last request
        with i18n.use_language(_language(environ.get("HTTP_ACCEPT_LANGUAGE"))):
            answer: list[Any] = []

            def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer[:] = [status, headers]
                return lambda _data: None

            body: Iterable[bytes] = self.app(environ, keep)
            status = int(answer[0].split(" ", 1)[0])
            refusal = take_refusal()
            replaced = None
            if refusal is not None and status >= 400:
                replaced = self._refusal(refusal)
            elif status == 412 and _size_check_failed(environ):
                replaced = (413, *error_body(store.too_large_message(self.limits), MAX_SIZE))
        if replaced is None:
            start_response(*answer)
            return body
        code, content_type, content = replaced
        phrase = http.HTTPStatus(code).phrase
        headers = [("Content-Type", content_type), ("Content-Length", str(len(content)))]
        start_response(f"{code} {phrase}", headers)
        return [content]

    @staticmethod
    def _refusal(refusal: GroupwareError) -> tuple[int, str, bytes]:
        message = str(refusal.message)
        if isinstance(refusal, store.ItemTooLarge):
            return (413, *error_body(message, MAX_SIZE))
        if isinstance(refusal, Invalid):
            message = "; ".join(str(v) for v in refusal.errors.values())
        status = (
            403 if isinstance(refusal, Forbidden) else 404 if isinstance(refusal, NotFound) else 400
        )
        return (status, *error_body(message))


def _size_check_failed(environ: dict[str, Any]) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "PUT"
        and not environ.get("HTTP_IF_MATCH")
        and not environ.get("HTTP_IF_NONE_MATCH")
    )
