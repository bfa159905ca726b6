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

import re
from typing import Any

_RFC6868 = {"^": "^^", '"': "^'", "\n": "^n"}
# Other control characters (RFC 5545 allows none but HTAB in a parameter) are dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def text(value: str) -> str:
    """``value`` as a parameter value: RFC 6868 escapes, no other control characters."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(_RFC6868.get(char, char) for char in value)


def set_text(prop: Any, name: str, value: str) -> None:
    """Set parameter ``name`` of a vobject property to the text ``value``."""
    prop.params[name] = [text(value)]
