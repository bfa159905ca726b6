"""Writing imported persons and ERP documents in batches.

Both name their partner by a key (its OIB or external id) and follow its access: a
person is added to or changed on a partner the importer may edit; a document needs
the right to create documents (or to edit the one it replaces) on a partner the
importer may see. Rows go through the ORM-free Core layer in batches, with history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from groupware.access.policy import Who, visible
from groupware.crm.importing.rows import RowProblem
from groupware.crm.importing.write import Outcome
from groupware.crm.models import Document, Partner, Person
from groupware.db import utcnow
from groupware.history.recorder import record
from groupware.i18n import _l

_PERSON_FIELDS = (
    "first_name",
    "last_name",
    "function",
    "phones",
    "email",
    "external_id",
    "mailing_consent",
    "notes",
)
_DOCUMENT_FIELDS = (
    "date",
    "due_date",
    "net_amount",
    "gross_amount",
    "currency",
    "status",
    "open_amount",
)


def _partners_by_key(
    session: Session, who: Who, keys: set[str], action: str
) -> tuple[dict[str, int], set[int]]:
    """Partner ids for keys (an OIB or an external id) and those ``who`` may ``action``."""
    if not keys:
        return {}, set()
    found: dict[str, int] = {}
    for partner_id, oib, external_id in session.execute(
        select(Partner.id, Partner.oib, Partner.external_id).where(
            or_(Partner.oib.in_(keys), Partner.external_id.in_(keys)), Partner.status != "merged"
        )
    ):
        for key in (oib, external_id):
            if key in keys:
                found.setdefault(key, partner_id)
    allowed = set(
        session.scalars(
            select(Partner.id).where(Partner.id.in_(found.values()), visible(Partner, who, action))
        )
    )
    return found, allowed


def _jsonable(value: Any) -> Any:
    return (
        value.isoformat()
        if hasattr(value, "isoformat")
        else (str(value) if not isinstance(value, str | int | bool | type(None)) else value)
    )


@dataclass
class PersonWriter:
    session: Session
    who: Who
    key: str  # email | external_id
    dry_run: bool = False
    outcome: Outcome = field(default_factory=Outcome)

    @property
    def unique_names(self) -> tuple[str, ...]:
        return (self.key,)

    def check_row(self, values: dict[str, Any]) -> None:
        if not values.get(self.key):
            raise RowProblem(self.key, _l("The key column is empty: this row cannot be matched."))
        if not values.get("partner_key"):
            raise RowProblem("partner_key", _l("This field is required."))

    def unique_values(self, values: dict[str, Any]) -> list[tuple[int, Any]]:
        return [(0, values[self.key])]

    def prepare(
        self, batch: Sequence[tuple[int, dict[str, Any]]]
    ) -> Sequence[tuple[int, dict[str, Any]]]:
        return batch

    def write(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> list[tuple[int, RowProblem]]:
        if not batch:
            return []
        partners, editable = _partners_by_key(
            self.session, self.who, {v["partner_key"] for _n, v in batch}, "edit"
        )
        column = getattr(Person, self.key)
        existing = {
            getattr(row, self.key): row
            for row in self.session.execute(
                select(Person.__table__).where(column.in_([v[self.key] for _n, v in batch]))
            )
        }
        problems: list[tuple[int, RowProblem]] = []
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[Any, dict[str, Any]]] = []
        for number, values in batch:
            partner_id = partners.get(values["partner_key"])
            if partner_id is None:
                problems.append(
                    (
                        number,
                        RowProblem("partner_key", _l("No partner has this OIB or external id.")),
                    )
                )
                continue
            if partner_id not in editable:
                problems.append(
                    (number, RowProblem("partner_key", _l("You may not change this partner.")))
                )
                continue
            row = {name: values[name] for name in _PERSON_FIELDS if name in values}
            row["partner_id"] = partner_id
            current = existing.get(values[self.key])
            if current is None:
                inserts.append(
                    {
                        "first_name": "",
                        "function": "",
                        "phones": "",
                        "email": "",
                        "external_id": None,
                        "mailing_consent": False,
                        "notes": "",
                        **row,
                    }
                )
            elif current.partner_id not in editable and current.partner_id != partner_id:
                problems.append(
                    (
                        number,
                        RowProblem(self.key, _l("You may not change the person with this key.")),
                    )
                )
            else:
                updates.append((current, row))
        if self.dry_run:
            self.outcome.created += len(inserts)
            self.outcome.updated += len(updates)
            return problems
        self._insert(inserts)
        self._update(updates)
        return problems

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        for row in rows:
            row["external_id"] = row.get("external_id") or None
        created = (
            self.session.execute(
                insert(Person).returning(Person.id, sort_by_parameter_order=True), rows
            )
            .scalars()
            .all()
        )
        record(
            self.session,
            [
                {
                    "action": "create",
                    "record_type": "persons",
                    "record_id": pid,
                    "label": f"{r['first_name']} {r['last_name']}".strip(),
                    "changes": {
                        k: [None, _jsonable(v)] for k, v in r.items() if v not in (None, "", False)
                    },
                }
                for pid, r in zip(created, rows, strict=True)
            ],
        )
        self.outcome.created += len(rows)

    def _update(self, updates: list[tuple[Any, dict[str, Any]]]) -> None:
        history = []
        for current, row in updates:
            diff = {
                k: [_jsonable(getattr(current, k)), _jsonable(v)]
                for k, v in row.items()
                if v not in ("", None) and getattr(current, k) != v
            }
            if not diff:
                self.outcome.unchanged += 1
                continue
            changes = {k: row[k] for k in diff}
            if "mailing_consent" in changes and not changes["mailing_consent"]:
                changes["opted_out_at"] = utcnow()
            self.session.execute(update(Person).where(Person.id == current.id).values(**changes))
            history.append(
                {
                    "action": "update",
                    "record_type": "persons",
                    "record_id": current.id,
                    "label": f"{current.first_name} {current.last_name}".strip(),
                    "changes": diff,
                }
            )
            self.outcome.updated += 1
        record(self.session, history)


@dataclass
class DocumentWriter:
    session: Session
    who: Who
    dry_run: bool = False
    outcome: Outcome = field(default_factory=Outcome)
    unique_names: tuple[str, ...] = ("number",)

    def check_row(self, values: dict[str, Any]) -> None:
        if not values.get("partner_key"):
            raise RowProblem("partner_key", _l("This field is required."))

    def unique_values(self, values: dict[str, Any]) -> list[tuple[int, Any]]:
        # A document is known by its kind and number together.
        return [(0, f"{values['kind']}\x1f{values['number']}")]

    def prepare(
        self, batch: Sequence[tuple[int, dict[str, Any]]]
    ) -> Sequence[tuple[int, dict[str, Any]]]:
        return batch

    def write(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> list[tuple[int, RowProblem]]:
        if not batch:
            return []
        partners, visible_ids = _partners_by_key(
            self.session, self.who, {v["partner_key"] for _n, v in batch}, "view"
        )
        keys = [(v["kind"], v["number"]) for _n, v in batch]
        existing = {
            (row.kind, row.number): row
            for row in self.session.execute(
                select(Document.__table__).where(tuple_(Document.kind, Document.number).in_(keys))
            )
        }
        editable = (
            set(
                self.session.scalars(
                    select(Document.id).where(
                        Document.id.in_([r.id for r in existing.values()]),
                        visible(Document, self.who, "edit"),
                    )
                )
            )
            if existing
            else set()
        )
        may_create = self.who.can("documents", "create")
        problems: list[tuple[int, RowProblem]] = []
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[Any, dict[str, Any]]] = []
        for number, values in batch:
            partner_id = partners.get(values["partner_key"])
            if partner_id is None or partner_id not in visible_ids:
                problems.append(
                    (
                        number,
                        RowProblem("partner_key", _l("No partner has this OIB or external id.")),
                    )
                )
                continue
            row = {name: values[name] for name in _DOCUMENT_FIELDS}
            row["partner_id"] = partner_id
            current = existing.get((values["kind"], values["number"]))
            if current is None:
                if not may_create:
                    problems.append((number, RowProblem("", _l("You may not add ERP documents."))))
                    continue
                inserts.append(
                    {
                        "kind": values["kind"],
                        "number": values["number"],
                        "created_at": utcnow(),
                        **row,
                    }
                )
            elif current.id not in editable:
                problems.append(
                    (number, RowProblem("number", _l("You may not change this document.")))
                )
            else:
                updates.append((current, row))
        if self.dry_run:
            self.outcome.created += len(inserts)
            self.outcome.updated += len(updates)
            return problems
        if inserts:
            created = (
                self.session.execute(
                    insert(Document).returning(Document.id, sort_by_parameter_order=True), inserts
                )
                .scalars()
                .all()
            )
            record(
                self.session,
                [
                    {
                        "action": "create",
                        "record_type": "documents",
                        "record_id": did,
                        "label": f"{r['kind']} {r['number']}",
                        "changes": {
                            k: [None, _jsonable(v)]
                            for k, v in r.items()
                            if k != "created_at" and v is not None
                        },
                    }
                    for did, r in zip(created, inserts, strict=True)
                ],
            )
            self.outcome.created += len(inserts)
        history = []
        for current, row in updates:
            diff = {
                k: [_jsonable(getattr(current, k)), _jsonable(v)]
                for k, v in row.items()
                if getattr(current, k) != v
            }
            if not diff:
                self.outcome.unchanged += 1
                continue
            self.session.execute(
                update(Document)
                .where(Document.id == current.id)
                .values(**{k: row[k] for k in diff})
            )
            history.append(
                {
                    "action": "update",
                    "record_type": "documents",
                    "record_id": current.id,
                    "label": f"{current.kind} {current.number}",
                    "changes": diff,
                }
            )
            self.outcome.updated += 1
        record(self.session, history)
        return problems
