"""Where groupware changes aiosmtpd's SMTP class: one subclass, written against one
version of aiosmtpd and checked against it.

Each override below replaces a method of ``aiosmtpd.smtp.SMTP`` (or uses one of its
private attributes: ``_handler_coroutine``, ``_reader``, ``_writer``, ``_timeout_handle``,
``_timeout_cb``, ``_set_post_data_state``, ``_call_handler_hook``) and was measured or
needed for a rule (bench/README.md, smtp_ingest; README, Mail). A new aiosmtpd may
rename any of them, so :func:`check_version` refuses to start the SMTP server with
another version until these are read again against it: then update
:data:`WRITTEN_FOR`. Everything else the server does goes through aiosmtpd's public
handler hooks (``groupware.mail.smtp.Handler``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from importlib.metadata import version
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP

log = logging.getLogger("groupware.smtp")

WRITTEN_FOR = "1.4.6"
DATA_PIECE = 1 << 20  # bytes read at most before DATA looks for its end again
MAX_FAILED_LOGINS = 3  # failed AUTHs before a connection is closed


def check_version(found: str | None = None) -> None:
    """Raise unless the installed aiosmtpd (or ``found``) is :data:`WRITTEN_FOR`."""
    found = found or version("aiosmtpd")
    if found != WRITTEN_FOR:
        raise RuntimeError(
            f"groupware.mail.aiosmtpd_compat was written for aiosmtpd {WRITTEN_FOR}, "
            f"found {found}: read its overrides against the new version first"
        )


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(
    rf"\s*<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>\s*(.*)", re.DOTALL
)


class GroupwareSMTP(SMTP):
    """aiosmtpd's SMTP with our limits."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address of MAIL FROM and RCPT TO. A plain ``<local@domain>`` is read
        with one expression; anything else (quoted local parts, address literals, the
        null sender) by aiosmtpd's full parser, which builds a class on every call and
        was a quarter of the server's time per message."""
        plain = _PLAIN_PATH.fullmatch(arg)
        if plain is None:
            return super()._getaddr(arg)
        address, rest = plain[1], plain[2]
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    async def smtp_AUTH(self, arg: str) -> None:
        """aiosmtpd's AUTH; after :data:`MAX_FAILED_LOGINS` failed logins on one
        connection it is closed (a guesser reconnects, and pays for it)."""
        await super().smtp_AUTH(arg)
        session: Any = self.session
        if getattr(session, "groupware_failed_logins", 0) >= MAX_FAILED_LOGINS:
            await self.push("421 4.7.0 Too many failed logins; closing the connection")
            assert self._handler_coroutine is not None and self.transport is not None
            self._handler_coroutine.cancel()
            self.transport.close()

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, with the message read in large pieces instead of line by
        line (its loop over lines was a fifth of the server's time per message). The
        same rules: only a line that is a lone dot (``CRLF . CRLF``) ends the data, so
        bare CR or LF never do (no SMTP smuggling); lines over 1000 characters get 500,
        more than the size limit 552 (after the rest was read); dots are unstuffed."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            data = await self._read_data()
        except asyncio.CancelledError:
            log.info("Connection lost during DATA")
            self._writer.close()
            raise
        if data is None:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            return
        if any(len(line) > self.line_length_limit - 2 for line in data.split(b"\r\n")):
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            return
        if data.startswith(b"."):
            data = data[1:]
        content = data.replace(b"\r\n.", b"\r\n")
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> bytes | None:
        """The data up to the lone dot (its last line's CRLF kept, the dot line not),
        or None when it was over the size limit (read to its end all the same)."""
        reader = self._reader
        line_limit = getattr(reader, "_limit")  # noqa: B009 - asyncio's, no setter
        setattr(reader, "_limit", DATA_PIECE)  # noqa: B010
        try:
            pieces: list[bytes] = []
            size, over = 0, False
            tail = b"\r\n"  # the data begins at the start of a line
            while True:
                try:
                    piece = await reader.readuntil(b".\r\n")
                except asyncio.LimitOverrunError as exc:  # no ".CRLF" in DATA_PIECE bytes
                    piece = await reader.read(exc.consumed)
                size += len(piece)
                if self.data_size_limit and size > self.data_size_limit + 3:
                    over = True
                    pieces.clear()
                elif not over:
                    pieces.append(piece)
                if (tail + piece).endswith(b"\r\n.\r\n"):
                    break
                tail = (tail + piece)[-2:]
        finally:
            setattr(reader, "_limit", line_limit)  # noqa: B010
        return None if over else b"".join(pieces)[:-3]

    def _reset_timeout(self, duration: float | None = None) -> None:
        """Push the idle deadline back. aiosmtpd cancels and schedules a timer on every
        command; one timer that looks at the deadline when it fires (and waits on if
        the client was busy meanwhile) does the same for a fraction of the work."""
        self._idle_until = self.loop.time() + (duration or self._timeout_duration)
        if self._timeout_handle is None or self._timeout_handle.cancelled():
            self._timeout_handle = self.loop.call_at(self._idle_until, self._idle_check)

    def _idle_check(self) -> None:
        if self.loop.time() < self._idle_until:
            self._timeout_handle = self.loop.call_at(self._idle_until, self._idle_check)
        else:
            self._timeout_cb()  # type: ignore[no-untyped-call]
