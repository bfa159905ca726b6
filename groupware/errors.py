"""Errors services raise; the web and API layers turn them into 4xx responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from groupware.i18n import _l

CONFLICT_MESSAGE = _l("This clashes with a change made at the same moment; try again.")


class GroupwareError(Exception):
    status_code = 400

    def __init__(self, message: Any = "") -> None:
        super().__init__(str(message))
        self.message = message


class CommandError(Exception):
    """A command of the command line cannot do what was asked; the message is one line."""


class NotFound(GroupwareError):
    """The record does not exist, or the user may not know that it does."""

    status_code = 404


class Forbidden(GroupwareError):
    """The user may see the record or module but not do this to it."""

    status_code = 403


class Conflict(GroupwareError):
    status_code = 409


class Invalid(GroupwareError):
    """Input failed validation; ``errors`` maps a field name (or ``""``) to a message."""

    status_code = 422

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else str(v) for k, v in errors.items()))
        self.errors = dict(errors)
