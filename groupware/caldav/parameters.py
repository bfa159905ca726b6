"""iCalendar property parameters (``CN=...``, RFC 5545 section 3.2) written from our data.

A parameter value may not hold a double quote or a line break, and vobject refuses to
serialise one that does (``VObjectError``), so a person named ``Tomislav "Tomo" Novak``
would make every VTODO naming them fail. RFC 6868 says how to carry those characters:
``^'`` for ``"``, ``^n`` for a line break and ``^^`` for ``^``; clients (the
``icalendar`` library, Thunderbird, DAVx5) decode them back. Every parameter value that
comes from a person's input goes through :func:`set_text`; one copied from a parsed item
(a PARTSTAT in an iMIP reply) is already in that form and is copied as it is.
"""

from __future__ import annotations

from typing import Any

_RFC6868 = {"^": "^^", '"': "^'", "\n": "^n"}
# Other control characters (RFC 5545 allows none but HTAB in a parameter) are dropped.
_CONTROL = [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]
_TABLE = str.maketrans({**_RFC6868, **dict.fromkeys(map(chr, _CONTROL))})


def text(value: str) -> str:
    """``value`` as a parameter value: RFC 6868 escapes, no other control characters
    (one pass: a bulk writer names thousands of people)."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.translate(_TABLE)


def set_text(prop: Any, name: str, value: str) -> None:
    """Set parameter ``name`` of a vobject property to the text ``value``."""
    prop.params[name] = [text(value)]
