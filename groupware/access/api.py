"""API: the shares of any record, ``/records/{record_type}/{record_id}/shares``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from groupware.access import shares
from groupware.access.policy import get_for_user, record_models, require_share
from groupware.api import Api, Call, Out
from groupware.db import Base
from groupware.errors import NotFound
from groupware.i18n import _l
from groupware.validation import OptionalId, Schema

api = Api("sharing")


class ShareOut(Out):
    id: int
    user_id: int | None
    team_id: int | None
    grantee: str
    permission: str


class ShareIn(Schema):
    user_id: OptionalId = None
    team_id: OptionalId = None
    permission: Literal["read", "write"] = "read"


class SharesOut(BaseModel):
    items: list[ShareOut]


def _record(call: Call, *, share: bool = False) -> Base:
    """The record, for anyone who may see it; with ``share``, only for those who may
    change whom it is shared with (403 for the others who see it)."""
    model = record_models().get(call.param("record_type"))
    if model is None:
        raise NotFound(_l("There is no such record, or you may not see it."))
    record = get_for_user(call.db, call.who, model, call.int_param("record_id"))
    if share:
        require_share(call.db, call.who, record)
    return record


def _list(call: Call, record: Base) -> SharesOut:
    return SharesOut(
        items=[
            ShareOut.of(row.share, grantee=row.grantee)
            for row in shares.list_shares(call.db, record)
        ]
    )


@api.operation(
    "GET",
    "/records/{record_type}/{record_id}/shares",
    summary="Who a record is shared with",
    response=SharesOut,
)
def list_shares(call: Call) -> SharesOut:
    return _list(call, _record(call))


@api.operation(
    "POST",
    "/records/{record_type}/{record_id}/shares",
    summary="Share a record with a user or a team (owner, administrator or a right to share)",
    response=SharesOut,
    body=ShareIn,
)
def add_share(call: Call) -> SharesOut:
    record = _record(call, share=True)
    data: ShareIn = call.body
    shares.share(
        call.db,
        record,
        by_user_id=call.user.id,
        user_id=data.user_id,
        team_id=data.team_id,
        permission=data.permission,
    )
    return _list(call, record)


@api.operation(
    "DELETE",
    "/records/{record_type}/{record_id}/shares/{share_id}",
    summary="Stop sharing",
    status=204,
)
def remove_share(call: Call) -> None:
    shares.unshare(call.db, _record(call, share=True), call.int_param("share_id"))
