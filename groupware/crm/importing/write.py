"""Writing imported rows in bulk: partners by the thousand, with their reps, tags and
history, through ``COPY`` on PostgreSQL and ``executemany`` on SQLite.

A batch of checked rows is matched against existing partners by the chosen key; new
partners get ids reserved in one statement, their territory and reps from the
assignment table, and a history row each; existing ones are updated where a cell says
something new (an empty cell changes nothing), re-assigned when their address or group
changed, and get a history row with the old and new values. Unique values (OIB,
external id) are checked against the file and the database before anything is
written, so the final transaction cannot fail half-way on a constraint.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Index, Integer, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.schema import (
    AddConstraint,
    CreateIndex,
    DropConstraint,
    DropIndex,
    ForeignKeyConstraint,
)

from groupware.access.policy import Who, visible
from groupware.crm.importing.rows import RowProblem
from groupware.crm.models import Partner, PartnerRep, PartnerTag, Tag
from groupware.crm.normalize import city_key, clean_postal, dedup_key, search_text
from groupware.crm.partners import NULL_WHEN_EMPTY, taken_by
from groupware.crm.territories.assignment import Assignment, Matcher
from groupware.db import (
    copy_rows,
    may_skip_triggers,
    reserve_ids,
    sqlite_value,
    triggers_skipped,
    utcnow,
)
from groupware.i18n import _l

KEY_COLUMNS = {"oib": "oib", "external_id": "external_id", "email": "email"}
PLACE_FIELDS = ("country", "county_id", "city", "postal_code", "group_id")
_COLUMNS = Partner.__table__.columns
# What the import fills itself rather than from the file's fields.
_BOOKKEEPING = frozenset(
    {"id", "name_search", "city_search", "dedup_key", "owner_id", "territory_id"}
    | {"assignment_rule_id"}
    | {"manual_assignment", "merged_into_id", "created_at", "updated_at"}
)
# The partner's columns as the model declares them: a new field is imported (when the
# file has a column for it) without a change here.
_INSERT_COLUMNS = tuple(c.key for c in _COLUMNS if c.key != "merged_into_id")
_UPDATABLE = tuple(name for name in _INSERT_COLUMNS if name not in _BOOKKEEPING)
_TEXT_FIELDS = frozenset(n for n in _UPDATABLE if _COLUMNS[n].type.python_type is str)
_DEFAULTS: dict[str, Any] = {
    n: _COLUMNS[n].default.arg if _COLUMNS[n].default is not None else None
    for n in _UPDATABLE
    if n != "name"
}


def one_of(column: Any, values: Sequence[Any], *, postgres: bool) -> ColumnElement[bool]:
    """``column IN values`` for a batch of thousands: one array parameter on PostgreSQL
    (a list of 5,000 parameters costs more to send and parse than the query to run)."""
    if postgres:
        element = column.type if not isinstance(column.type, Integer) else Integer()
        clause: ColumnElement[bool] = column == any_(
            bindparam(None, list(values), type_=ARRAY(element))
        )
        return clause
    in_clause: ColumnElement[bool] = column.in_(values)
    return in_clause


def _written_keys() -> list[ForeignKeyConstraint]:
    """The foreign keys of the tables a bulk import writes. (History's only key is its
    actor, a user: held with the other users while the triggers are skipped.)"""
    tables = (Partner.__table__, PartnerRep.__table__, PartnerTag.__table__)
    return [
        key
        for table in tables
        for key in sorted(table.foreign_key_constraints, key=lambda k: str(k.name))  # type: ignore[attr-defined]
    ]


def _compact(name: str, value: str) -> int | str:
    """A key as small as it can be held: a million OIBs (always 11 digits, so the number
    is as unique as the text) take a third of the memory as ints."""
    return int(value) if name == "oib" else value


_HISTORY_COLUMNS = (
    "at",
    "actor_id",
    "channel",
    "action",
    "record_type",
    "record_id",
    "label",
    "changes",
)
_CREATED_FIELDS = (*_UPDATABLE, "owner_id", "territory_id", "assignment_rule_id")


def _created_changes(full: dict[str, Any], assignment: Assignment) -> str:
    """The history of a new partner as the history hook records a create, as JSON
    text: {field: [null, value]} for every field that has a value."""
    values = {
        **full,
        "owner_id": assignment.owner_id,
        "territory_id": assignment.territory_id,
        "assignment_rule_id": assignment.rule_id,
    }
    changes = {
        name: [None, values[name]]
        for name in _CREATED_FIELDS
        if values[name] or (values[name] is not None and name not in _TEXT_FIELDS)
    }
    if full.get("tags"):
        changes["tag"] = [None, ", ".join(sorted(full["tags"]))]
    # orjson: the standard library's encoder took a fifth of the import's time.
    return orjson.dumps(changes).decode()


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    assigned: int = 0
    unassigned: int = 0


@dataclass
class PartnerWriter:
    """Checks (``dry_run``) or writes batches of partner rows for one import."""

    session: Session
    who: Who
    matcher: Matcher
    key: str
    dry_run: bool = False
    outcome: Outcome = field(default_factory=Outcome)
    tag_ids: dict[str, int] = field(default_factory=dict)
    skip_triggers: bool = False  # see start_bulk
    first_id: int | None = None  # of the partners this import created

    def __post_init__(self) -> None:
        self.postgres = self.session.get_bind().dialect.name == "postgresql"
        self.may_create = self.who.can("partners", "create")
        self.unique_names = tuple(dict.fromkeys((self.key, "oib", "external_id")))

    # -- checks that need the file so far or the database ---------------------------

    def check_row(self, values: dict[str, Any]) -> None:
        if not values.get(self.key):
            raise RowProblem(self.key, _l("The key column is empty: this row cannot be matched."))

    def unique_values(self, values: dict[str, Any]) -> list[tuple[int, Any]]:
        """The key, and the values the database keeps unique, which must not repeat in
        the file (see :class:`~groupware.crm.importing.seen.SeenKeys`)."""
        return [
            (position, _compact(name, values[name]))
            for position, name in enumerate(self.unique_names)
            if values.get(name)
        ]

    def start_bulk(self) -> list[Index | ForeignKeyConstraint]:
        """For an import that is large against the table: drop the partners' secondary
        indexes, to build them again in one sort at the end (:meth:`finish_bulk`) instead
        of updating them row by row, which costs most of an import. Unique constraints,
        and the index the chosen key is looked up by, stay. All of it happens in the
        import's transaction, so a failed import leaves the schema as it was; on
        PostgreSQL it locks the partners against readers until the import commits.

        On PostgreSQL each inserted row also costs a trigger call per foreign key
        (0.5-0.7 s per key and 100,000 rows on a small machine). Where the database role may set
        ``session_replication_role`` (a superuser, or a role granted ``SET`` on it, as
        ``pg_restore --disable-triggers`` needs), the rows we insert skip those
        triggers: the rows they would refer to are locked against deletion here, as the
        triggers would, and :meth:`finish_bulk` checks every new reference in one join
        per key. Otherwise the keys are dropped and added back (adding one checks every
        row in one join), except those to ``users``, which would lock every login."""
        dialect = self.session.get_bind().dialect.name
        keep = {"ix_partners_email"} if self.key == "email" else set()
        dropped: list[Index | ForeignKeyConstraint] = []
        for index in Partner.__table__.indexes:  # type: ignore[attr-defined]
            condition = getattr(index, "_ddl_if", None)
            if index.unique or index.name in keep:
                continue
            if condition is not None and condition.dialect not in (None, dialect):
                continue
            self.session.execute(DropIndex(index, if_exists=True))
            dropped.append(index)
        if not self.postgres:
            return dropped
        if may_skip_triggers(self.session):
            self.skip_triggers = True
            for table in sorted({key.referred_table.name for key in _written_keys()}):
                if table != "partners":
                    self.session.execute(text(f"SELECT 1 FROM {table} FOR KEY SHARE"))  # noqa: S608 - our names
            return dropped
        for key in _written_keys():
            if key.referred_table.name != "users":
                self.session.execute(DropConstraint(key))
                dropped.append(key)
        return dropped

    def finish_bulk(self, dropped: Sequence[Index | ForeignKeyConstraint]) -> None:
        if self.postgres:
            self.session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for item in dropped:
            if isinstance(item, Index):
                self.session.execute(CreateIndex(item))
            else:
                self.session.execute(AddConstraint(item))
        if self.skip_triggers and self.first_id is not None:
            self._check_references(self.first_id)

    def _check_references(self, first_id: int) -> None:
        """What the skipped triggers would have checked, for the rows this import added
        (ids from ``first_id`` on; rows others added meanwhile were checked by theirs)."""
        for key in _written_keys():
            table = key.parent.name
            own = "id" if table == "partners" else "partner_id"
            (column,) = (c.name for c in key.columns)
            (target,) = (e.column.name for e in key.elements)
            query = (
                f"SELECT 1 FROM {table} AS t WHERE t.{own} >= :first "  # noqa: S608 - our names
                f"AND t.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {key.referred_table.name} AS r WHERE r.{target} = t.{column}) "
                "LIMIT 1"
            )
            if self.session.scalar(text(query), {"first": first_id}) is not None:
                raise RuntimeError(
                    str(
                        _l(
                            "A group, county, territory, rule, user or tag the imported rows "
                            "refer to was deleted during the import; nothing was imported. "
                            "Run it again."
                        )
                    )
                )

    def prepare(
        self, batch: Sequence[tuple[int, dict[str, Any]]]
    ) -> Sequence[tuple[int, dict[str, Any]]]:
        """What needs no database (search keys, the table's assignment), worked out in
        the reading thread while the previous batch is being written."""
        for _number, values in batch:
            full = {**_DEFAULTS, **values}
            searched = search_text(full["name"])
            values["_full"] = full
            values["_searched"] = searched
            values["_dedup"] = dedup_key(full["name"], full["city"], searched=searched)
            values["_assignment"] = assignment = self._assign(full)
            values["_changes"] = _created_changes(full, assignment)
        return batch

    def write(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> list[tuple[int, RowProblem]]:
        """Check a batch against the database and (unless a dry run) write it; returns
        the rows refused, with why. Runs in the writing thread (see imports._Pipeline)."""
        if not batch:
            return []
        column = getattr(Partner, KEY_COLUMNS[self.key])
        keys = [values[self.key] for _n, values in batch]
        existing = {
            getattr(row, self.key): row
            for row in self.session.execute(
                select(Partner.__table__).where(
                    one_of(column, keys, postgres=self.postgres), Partner.status != "merged"
                )
            )
        }
        editable = self._editable([row.id for row in existing.values()])
        taken = self._taken_elsewhere(batch, existing)
        problems: list[tuple[int, RowProblem]] = []
        new_rows: list[tuple[int, dict[str, Any]]] = []
        updates: list[tuple[Any, dict[str, Any]]] = []
        for number, values in batch:
            current = existing.get(values[self.key])
            clash = taken.get(number)
            if clash is not None:
                problems.append((number, clash))
            elif current is None:
                if self.may_create:
                    new_rows.append((number, values))
                else:
                    problems.append((number, RowProblem("", _l("You may not create partners."))))
            elif current.id not in editable:
                problems.append(
                    (
                        number,
                        RowProblem(self.key, _l("You may not change the partner with this key.")),
                    )
                )
            else:
                updates.append((current, values))
        if self.dry_run:
            self.outcome.created += len(new_rows)
        else:
            self._insert(new_rows)
        self._update(updates)
        return problems

    def _editable(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        query = select(Partner.id).where(
            one_of(Partner.id, ids, postgres=self.postgres), visible(Partner, self.who, "edit")
        )
        return set(self.session.scalars(query))

    def _taken_elsewhere(
        self, batch: Sequence[tuple[int, dict[str, Any]]], existing: dict[str, Any]
    ) -> dict[int, RowProblem]:
        """Rows whose OIB or external id belongs to another partner in the database."""
        clashes: dict[int, RowProblem] = {}
        by_number = dict(batch)
        for name in ("oib", "external_id"):
            if name == self.key:
                continue
            wanted = {values[name]: number for number, values in batch if values.get(name)}
            if not wanted:
                continue
            column = getattr(Partner, name)
            holders: dict[int, int] = {}
            for partner_id, value in self.session.execute(
                select(Partner.id, column).where(
                    one_of(column, list(wanted), postgres=self.postgres)
                )
            ):
                number = wanted[value]
                mine = existing.get(by_number[number][self.key])
                if mine is None or mine.id != partner_id:
                    holders[number] = partner_id
            said = taken_by(self.session, self.who, list(set(holders.values())))
            for number, partner_id in holders.items():
                clashes[number] = RowProblem(name, said[partner_id])
        return clashes

    # -- inserting ------------------------------------------------------------------

    def _assign(self, values: dict[str, Any]) -> Assignment:
        return self.matcher.match(
            values.get("country", "HR"),
            values.get("county_id"),
            search_text(values.get("city", "")),
            clean_postal(values.get("postal_code", "")),
            values.get("group_id"),
        )

    def _insert(self, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
        if not rows:
            return
        ids = self._reserve_ids(len(rows))
        if self.first_id is None:
            self.first_id = min(ids)
        now = utcnow()
        # One timestamp for the batch, in the form the driver takes it.
        stamp: Any = now if self.postgres else sqlite_value(now)
        partner_rows: list[tuple[Any, ...]] = []
        rep_rows: list[tuple[int, int, str]] = []
        tag_rows: list[tuple[int, int]] = []
        for partner_id, (_number, values) in zip(ids, rows, strict=True):
            full = values["_full"]
            assignment = values["_assignment"]
            filled = {
                "id": partner_id,
                "name_search": values["_searched"],
                "city_search": city_key(full["city"]),
                "dedup_key": values["_dedup"],
                "owner_id": assignment.owner_id,
                "territory_id": assignment.territory_id,
                "assignment_rule_id": assignment.rule_id,
                "manual_assignment": False,
                "created_at": stamp,
                "updated_at": stamp,
            }
            partner_rows.append(
                tuple(
                    filled[name]
                    if name in filled
                    else (full[name] or None)
                    if name in NULL_WHEN_EMPTY
                    else full[name]
                    for name in _INSERT_COLUMNS
                )
            )
            for user_id in assignment.rep_ids[1:]:
                rep_rows.append((partner_id, user_id, "rule"))
            for tag in values.get("tags", ()):
                tag_rows.append((self._tag_id(tag), partner_id))
            if assignment.owner_id is None:
                self.outcome.unassigned += 1
            else:
                self.outcome.assigned += 1
        with triggers_skipped(self.session, self.skip_triggers):
            self._copy("partners", _INSERT_COLUMNS, partner_rows)
            self._copy("partner_reps", ("partner_id", "user_id", "source"), rep_rows)
            self._copy("partner_tags", ("tag_id", "partner_id"), tag_rows)
            self._history_of_created(ids, rows, stamp)
        self.outcome.created += len(rows)

    def _history_of_created(
        self, ids: list[int], rows: Sequence[tuple[int, dict[str, Any]]], stamp: Any
    ) -> None:
        actor = self.session.info.get("actor_id")
        channel = self.session.info["channel"]
        self._copy(
            "history",
            _HISTORY_COLUMNS,
            [
                (
                    stamp,
                    actor,
                    channel,
                    "create",
                    "partners",
                    partner_id,
                    v["_full"]["name"][:300],
                    v["_changes"],
                )
                for partner_id, (_number, v) in zip(ids, rows, strict=True)
            ],
        )

    def _reserve_ids(self, count: int) -> list[int]:
        return reserve_ids(self.session, "partners", count)

    def _tag_id(self, name: str) -> int:
        tag_id = self.tag_ids.get(name)
        if tag_id is None:
            tag_id = self.session.scalar(select(Tag.id).where(Tag.name == name))
            if tag_id is None:
                tag = Tag(name=name)
                self.session.add(tag)
                self.session.flush()
                tag_id = tag.id
            self.tag_ids[name] = tag_id
        return tag_id

    def _copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        copy_rows(self.session, table, columns, rows)

    def _history(self, rows: Iterable[dict[str, Any]], now: dt.datetime) -> None:
        stamp: Any = now if self.postgres else sqlite_value(now)
        actor = self.session.info.get("actor_id")
        channel = self.session.info["channel"]
        self._copy(
            "history",
            _HISTORY_COLUMNS,
            [
                (
                    stamp,
                    actor,
                    channel,
                    r["action"],
                    "partners",
                    r["record_id"],
                    r["label"][:300],
                    json.dumps(r["changes"], ensure_ascii=False, separators=(",", ":")),
                )
                for r in rows
            ],
        )

    # -- updating -------------------------------------------------------------------

    def _update(self, updates: Sequence[tuple[Any, dict[str, Any]]]) -> None:
        changed_rows: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        for current, values in updates:
            diff: dict[str, list[Any]] = {}
            merged = {name: getattr(current, name) for name in _UPDATABLE}
            for name in _UPDATABLE:
                if name not in values:
                    continue
                new = values[name]
                if new in ("", None) and name not in ("group_id",):
                    continue  # an empty cell changes nothing
                if name in ("oib", "external_id") and not new:
                    continue
                if merged[name] != new:
                    diff[name] = [merged[name], new]
                    merged[name] = new
            place_changed = any(name in diff for name in PLACE_FIELDS)
            assignment = self._assign(merged) if place_changed else None
            row = {
                "id": current.id,
                **merged,
                "owner_id": current.owner_id,
                "territory_id": current.territory_id,
                "assignment_rule_id": current.assignment_rule_id,
            }
            if assignment is not None:
                row["territory_id"] = assignment.territory_id
                if not current.manual_assignment:
                    row["owner_id"] = assignment.owner_id
                    row["assignment_rule_id"] = assignment.rule_id
                for name in ("owner_id", "territory_id", "assignment_rule_id"):
                    if row[name] != getattr(current, name):
                        diff[name] = [getattr(current, name), row[name]]
            if not diff:
                self.outcome.unchanged += 1
                continue
            searched = search_text(merged["name"])
            row["name_search"] = searched
            row["city_search"] = city_key(merged["city"])
            row["dedup_key"] = dedup_key(merged["name"], merged["city"], searched=searched)
            changed_rows.append(row)
            history.append(
                {
                    "action": "update",
                    "record_id": current.id,
                    "label": merged["name"],
                    "changes": _jsonable(diff),
                }
            )
        if changed_rows and not self.dry_run:
            now = utcnow()
            columns = [c for c in changed_rows[0] if c != "id"]
            assignments = ", ".join(f"{c} = :{c}" for c in columns)
            self.session.execute(
                text(f"UPDATE partners SET {assignments}, updated_at = :now WHERE id = :id"),  # noqa: S608 - fixed names
                [{**r, "now": now} for r in changed_rows],
            )
            self._history(history, now)
        self.outcome.updated += len(changed_rows)


def _jsonable(diff: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {
        k: [v if not isinstance(v, dt.date) else v.isoformat() for v in pair]
        for k, pair in diff.items()
    }
