"""Partners as CSV: any filtered list, for a spreadsheet.

:func:`write_partners_csv` writes the partners a user may export that match a
:class:`~groupware.crm.partners.PartnerFilter` to a binary file, as Excel in Croatia
reads it (UTF-8 with a BOM, ``;``), with headers in the current language. Rows come
from the database in batches of :data:`EXPORT_BATCH` (a server-side cursor on
PostgreSQL), so a million partners never sit in memory, and every cell is defused
against spreadsheet formula injection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import IO, Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.accounts.models import User
from groupware.crm.importing.csvfile import write_csv
from groupware.crm.models import County, Partner, PartnerGroup, PartnerTag, Tag, Territory
from groupware.crm.partners import PartnerFilter, partner_query
from groupware.i18n import _l, current_language, local_time
from groupware.records import described

# What a reference column is exported as: the name of the record it names (the tables
# :func:`join_names` joins).
_NAME_OF: dict[str, Any] = {
    "group_id": PartnerGroup.name,
    "county_id": County.name,
    "owner_id": User.full_name,
    "territory_id": Territory.name,
}
_EXPORTED = {name: d for name, d in described(Partner).items() if d.export}
# (header, column) in the file's order: the id, every field declared for export (the
# columns' ``records.describe``), then the tags (``None``: read per batch).
EXPORT_COLUMNS: tuple[tuple[Any, Any], ...] = (
    (_l("ID"), Partner.id),
    *((d.label, _NAME_OF.get(name, getattr(Partner, name))) for name, d in _EXPORTED.items()),
    (_l("Tags"), None),
)
# How a cell reads, per position after the id: a code in words, a time as a local date.
_CHOICES = [d.show.choices if d.show.kind == "choice" else None for d in _EXPORTED.values()]
EXPORT_BATCH = 2000


def _cell(value: object) -> str:
    """A cell of the export. Every partner field is text, so a leading sign is never a
    number's: "+385…" stays a phone and "-1" is not a negative number to a spreadsheet
    (``write_csv`` handles = @ and the rest)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(("+", "-")) else text


def _export_rows(db: Session, query: Select[*tuple[Any, ...]]) -> Iterator[list[str]]:
    date_format = "%d.%m.%Y." if current_language() == "hr" else "%d/%m/%Y"
    yield [str(label) for label, _column in EXPORT_COLUMNS]
    result = db.execute(query, execution_options={"yield_per": EXPORT_BATCH})
    for batch in result.partitions():
        ids = [row[0] for row in batch]
        tags: dict[int, list[str]] = {}
        for partner_id, name in db.execute(
            select(PartnerTag.partner_id, Tag.name)
            .join(Tag, Tag.id == PartnerTag.tag_id)
            .where(PartnerTag.partner_id.in_(ids))
            .order_by(Tag.name)
        ):
            tags.setdefault(partner_id, []).append(name)
        for row in batch:
            yield _export_row(row, tags.get(row[0], ()), date_format)


def _export_row(row: Row[Any], tags: Sequence[str], date_format: str) -> list[str]:
    cells = [str(row[0])]
    value: Any
    for value, choices in zip(row[1:], _CHOICES, strict=True):
        if choices is not None:
            value = choices.get(value, value)
        elif isinstance(value, dt.datetime):
            value = local_time(value).strftime(date_format)
        cells.append(_cell(value))
    cells.append(_cell(", ".join(tags)))
    return cells


def join_names(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """``query`` over partners (with columns of these tables) joined to the names of
    their group, county, primary rep (``User``) and territory."""
    return (
        query.select_from(Partner)
        .outerjoin(PartnerGroup, PartnerGroup.id == Partner.group_id)
        .outerjoin(County, County.id == Partner.county_id)
        .outerjoin(User, User.id == Partner.owner_id)
        .outerjoin(Territory, Territory.id == Partner.territory_id)
    )


def export_query(who: Who, f: PartnerFilter) -> Select[*tuple[Any, ...]]:
    """The export's columns for the partners ``who`` may export that match ``f``."""
    columns = [column for _label, column in EXPORT_COLUMNS if column is not None]
    return join_names(partner_query(who, f, action="export").with_only_columns(*columns))


def write_partners_csv(session: Session, who: Who, f: PartnerFilter, out: IO[bytes]) -> None:
    """Write the partners ``who`` may export that match ``f`` to ``out`` (see above);
    the caller checks the "export" right of the partners module."""
    write_csv(_export_rows(session, export_query(who, f)), out)
