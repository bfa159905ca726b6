"""What the UI needs to know about each kind of record: a name, a page and labels for
its fields. Areas register their record types; history, notifications and search use
this to show "Announcement: Holiday hours" with a link instead of a table name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from groupware.i18n import _l


@dataclass(frozen=True)
class RecordType:
    name: str  # the table name, as in history rows and shares
    label: Any
    url: str = ""  # with {id}; empty when the record has no page
    fields: dict[str, Any] = field(default_factory=dict)
    # Where every record of this type a user may see is listed: a page and an API
    # collection (empty when there is none). The differential access test holds each
    # against the access policy's per-record answer.
    list_url: str = ""
    api_url: str = ""


RECORD_TYPES: dict[str, RecordType] = {}

COMMON_FIELDS: dict[str, Any] = {
    "title": _l("Title"),
    "body": _l("Text"),
    "name": _l("Name"),
    "description": _l("Description"),
    "status": _l("Status"),
    "owner_id": _l("Owner"),
    "team_id": _l("Team"),
    "user_id": _l("User"),
    "share": _l("Shared with"),
}


def register_record_type(record_type: RecordType) -> RecordType:
    RECORD_TYPES[record_type.name] = record_type
    return record_type


def record_label(name: str) -> str:
    known = RECORD_TYPES.get(name)
    return str(known.label) if known else name


def record_url(name: str, record_id: int) -> str:
    known = RECORD_TYPES.get(name)
    return known.url.format(id=record_id) if known and known.url else ""


def field_label(name: str, field_name: str) -> str:
    known = RECORD_TYPES.get(name)
    label = (known.fields.get(field_name) if known else None) or COMMON_FIELDS.get(field_name)
    return str(label) if label is not None else field_name


register_record_type(
    RecordType(
        "users",
        _l("User"),
        "/admin/users/{id}",
        {
            "username": _l("Username"),
            "full_name": _l("Full name"),
            "email": _l("E-mail"),
            "language": _l("Language"),
            "is_active": _l("Active"),
            "role": _l("Role"),
            "credential": _l("Token or app password"),
        },
    )
)
register_record_type(RecordType("teams", _l("Team"), "/admin/teams/{id}", {"member": _l("Member")}))
register_record_type(
    RecordType(
        "roles",
        _l("Role"),
        "/admin/roles/{id}",
        {"is_builtin": _l("Built-in"), "grant": _l("Right")},
    )
)
