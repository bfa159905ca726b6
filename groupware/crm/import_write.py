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

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from groupware.access.policy import Who, visible
from groupware.crm.import_rows import RowProblem
from groupware.crm.models import Partner, Tag
from groupware.crm.normalize import clean_postal, dedup_key, search_text
from groupware.crm.territories import Assignment, Matcher
from groupware.db import utcnow
from groupware.i18n import _l

KEY_COLUMNS = {"oib": "oib", "external_id": "external_id", "email": "email"}
PLACE_FIELDS = ("country", "county_id", "city", "postal_code", "group_id")
_UPDATABLE = (
    "kind",
    "name",
    "oib",
    "vat_id",
    "external_id",
    "group_id",
    "status",
    "street",
    "postal_code",
    "city",
    "county_id",
    "country",
    "phones",
    "email",
    "emails",
    "web",
    "notes",
)
_INSERT_COLUMNS = (
    "id",
    "kind",
    "name",
    "name_search",
    "dedup_key",
    "oib",
    "vat_id",
    "external_id",
    "group_id",
    "status",
    "street",
    "postal_code",
    "city",
    "county_id",
    "country",
    "phones",
    "email",
    "emails",
    "web",
    "notes",
    "owner_id",
    "territory_id",
    "assignment_rule_id",
    "manual_assignment",
    "created_at",
    "updated_at",
)
_DEFAULTS: dict[str, Any] = {
    "kind": "company",
    "oib": None,
    "vat_id": "",
    "external_id": None,
    "group_id": None,
    "status": "active",
    "street": "",
    "postal_code": "",
    "city": "",
    "county_id": None,
    "country": "HR",
    "phones": "",
    "email": "",
    "emails": "",
    "web": "",
    "notes": "",
}


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
    # unique values met in the file so far -> the row that had them
    seen: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"oib": {}, "external_id": {}, "email": {}}
    )
    tag_ids: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.postgres = self.session.get_bind().dialect.name == "postgresql"
        self.may_create = self.who.can("partners", "create")

    # -- checks that need the file so far or the database ---------------------------

    def check_unique_in_file(self, number: int, values: dict[str, Any]) -> None:
        key_value = values.get(self.key) or ""
        if not key_value:
            raise RowProblem(self.key, _l("The key column is empty: this row cannot be matched."))
        for name in (
            ("oib", "external_id") if self.key != "email" else ("oib", "external_id", "email")
        ):
            value = values.get(name)
            if not value:
                continue
            earlier = self.seen[name].get(value)
            if earlier is not None:
                raise RowProblem(name, _l("The same value as row %(row)s.", row=earlier))
        for name in ("oib", "external_id", "email"):
            if values.get(name):
                self.seen[name].setdefault(values[name], number)

    def write(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> list[tuple[int, RowProblem]]:
        """Check a batch against the database and (unless a dry run) write it; returns
        the rows refused, with why."""
        if not batch:
            return []
        column = getattr(Partner, KEY_COLUMNS[self.key])
        keys = [values[self.key] for _n, values in batch]
        existing = {
            getattr(row, self.key): row
            for row in self.session.execute(
                select(Partner.__table__).where(column.in_(keys), Partner.status != "merged")
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
        query = select(Partner.id).where(Partner.id.in_(ids), visible(Partner, self.who, "edit"))
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
            for partner_id, value in self.session.execute(
                select(Partner.id, column).where(column.in_(wanted))
            ):
                number = wanted[value]
                mine = existing.get(by_number[number][self.key])
                if mine is None or mine.id != partner_id:
                    clashes[number] = RowProblem(
                        name, _l("Another partner has this value (#%(id)s).", id=partner_id)
                    )
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
        now = utcnow()
        partner_rows: list[tuple[Any, ...]] = []
        rep_rows: list[tuple[int, int, str]] = []
        tag_rows: list[tuple[int, int]] = []
        history: list[dict[str, Any]] = []
        for partner_id, (_number, values) in zip(ids, rows, strict=True):
            full = {**_DEFAULTS, **values}
            assignment = self._assign(full)
            searched = search_text(full["name"])
            record = {
                **full,
                "id": partner_id,
                "oib": full["oib"] or None,
                "external_id": full["external_id"] or None,
                "name_search": searched,
                "dedup_key": dedup_key(full["name"], full["city"], searched=searched),
                "owner_id": assignment.owner_id,
                "territory_id": assignment.territory_id,
                "assignment_rule_id": assignment.rule_id,
                "manual_assignment": False,
                "created_at": now,
                "updated_at": now,
            }
            partner_rows.append(tuple(record[c] for c in _INSERT_COLUMNS))
            rep_rows.extend((partner_id, user_id, "rule") for user_id in assignment.rep_ids[1:])
            tag_rows.extend((self._tag_id(name), partner_id) for name in values.get("tags", ()))
            if assignment.owner_id is None:
                self.outcome.unassigned += 1
            else:
                self.outcome.assigned += 1
            history.append(_created(partner_id, record, values.get("tags", ())))
        self._copy("partners", _INSERT_COLUMNS, partner_rows)
        self._copy("partner_reps", ("partner_id", "user_id", "source"), rep_rows)
        self._copy("partner_tags", ("tag_id", "partner_id"), tag_rows)
        self._history(history, now)
        self.outcome.created += len(rows)

    def _reserve_ids(self, count: int) -> list[int]:
        if self.postgres:
            query = text(
                "SELECT nextval(pg_get_serial_sequence('partners', 'id')) "
                "FROM generate_series(1, :n)"
            )
            return list(self.session.scalars(query, {"n": count}))
        # SQLite: this runs inside BEGIN IMMEDIATE, so no other writer takes ids meanwhile.
        highest = self.session.scalar(select(func.max(Partner.id))) or 0
        sequence = (
            self.session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'partners'"))
            or 0
        )
        start = max(highest, sequence) + 1
        return list(range(start, start + count))

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
        if not rows:
            return
        raw = self.session.connection().connection.driver_connection
        names = ", ".join(columns)
        if self.postgres:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our names
            raw.executemany(statement, [_sqlite_row(r) for r in rows])  # type: ignore[union-attr]

    def _history(self, rows: Iterable[dict[str, Any]], now: dt.datetime) -> None:
        actor = self.session.info.get("actor_id")
        channel = self.session.info["channel"]
        self._copy(
            "history",
            ("at", "actor_id", "channel", "action", "record_type", "record_id", "label", "changes"),
            [
                (
                    now,
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


def _created(partner_id: int, record: dict[str, Any], tags: Sequence[str]) -> dict[str, Any]:
    changes = {
        name: [None, record[name]]
        for name in (*_UPDATABLE, "owner_id", "territory_id", "assignment_rule_id")
        if record.get(name) not in (None, "")
    }
    if tags:
        changes["tag"] = [None, ", ".join(tags)]
    return {
        "action": "create",
        "record_id": partner_id,
        "label": record["name"],
        "changes": changes,
    }


def _jsonable(diff: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {
        k: [v if not isinstance(v, dt.date) else v.isoformat() for v in pair]
        for k, pair in diff.items()
    }


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Values as SQLAlchemy stores them on SQLite (naive UTC timestamps as text)."""
    return tuple(
        v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, dt.datetime) else v
        for v in row
    )
