"""CRM master data: partners with branches and persons, partner groups, territories and
the assignment table, tags, ERP documents, saved filters and import jobs.

Partners carry their access data on the row: ``owner_id`` is the primary rep (the
"own" scope), further reps are rows of ``partner_reps`` (also "own"), and
``territory_id`` is what the "territory" scope matches against the territories the
user covers in the assignment table. Branches, persons and documents follow the
access of their partner.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.access.policy import Module, RecordAccess, Who
from groupware.accounts.models import User, user_name_of
from groupware.db import Base, utcnow
from groupware.i18n import _l
from groupware.records import (
    DATE,
    DATETIME,
    MONEY,
    NUMBER,
    RecordType,
    choice,
    describe,
    described,
    ref,
)
from groupware.search.words import Words

PARTNERS_MODULE = Module("partners", _l("Partners"))
DOCUMENTS_MODULE = Module("documents", _l("ERP documents"))

PARTNER_KINDS = ("company", "person")
PARTNER_STATUSES = ("prospect", "active", "inactive", "merged")
PARTNER_KIND_LABELS = {"company": _l("company"), "person": _l("private person")}
PARTNER_STATUS_LABELS = {
    "prospect": _l("prospect"),
    "active": _l("active"),
    "inactive": _l("inactive"),
    "merged": _l("merged"),
}
DOCUMENT_KINDS = ("offer", "order", "invoice", "delivery_note")
DOCUMENT_STATUSES = ("draft", "open", "closed", "cancelled")


class PartnerGroup(Base):
    __tablename__ = "partner_groups"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")

    def __str__(self) -> str:
        return self.name


class County(Base):
    """A first-level division of a country (a Croatian županija); reference data."""

    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Postal codes of the county start with one of these (comma-separated prefixes).
    postal_prefixes: Mapped[str] = mapped_column(String(100), default="")

    def __str__(self) -> str:
        return self.name


class Territory(Base):
    __tablename__ = "territories"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")

    areas: Mapped[list[TerritoryArea]] = relationship(
        back_populates="territory", cascade="all, delete-orphan", order_by="TerritoryArea.id"
    )

    def __str__(self) -> str:
        return self.name


class TerritoryArea(Base):
    """One piece of a territory: a country, narrowed by county, city and/or a range of
    postal codes (each empty means "any")."""

    __tablename__ = "territory_areas"
    __tracked__ = True
    __history_parent__ = ("territories", "territory_id", "area")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str] = mapped_column(String(2), default="HR")
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), default=None)
    city: Mapped[str] = mapped_column(String(100), default="")
    postal_from: Mapped[str] = mapped_column(String(10), default="")
    postal_to: Mapped[str] = mapped_column(String(10), default="")

    territory: Mapped[Territory] = relationship(back_populates="areas")
    county: Mapped[County | None] = relationship()

    def __str__(self) -> str:
        parts = [self.country]
        if self.county_id:
            county = self.__dict__.get("county")
            parts.append(str(county) if county else f"#{self.county_id}")
        if self.city:
            parts.append(self.city)
        if self.postal_from or self.postal_to:
            parts.append(f"{self.postal_from}–{self.postal_to}")
        return " / ".join(parts)


class AssignmentRule(Base):
    """A row of the territory assignment table: partners of ``territory`` (and of
    ``group``, or any group) go to these reps; the lowest ``priority`` wins."""

    __tablename__ = "assignment_rules"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_groups.id", ondelete="CASCADE"), default=None
    )
    priority: Mapped[int] = mapped_column(Integer, default=100)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(300), default="")

    territory: Mapped[Territory] = relationship()
    group: Mapped[PartnerGroup | None] = relationship()
    reps: Mapped[list[AssignmentRuleRep]] = relationship(
        cascade="all, delete-orphan", order_by="AssignmentRuleRep.position"
    )

    __table_args__ = (Index("ix_assignment_rules_territory_id", "territory_id", "priority"),)

    def __str__(self) -> str:
        return f"#{self.id} P{self.priority}"


class AssignmentRuleRep(Base):
    """A rep of a rule; the first (lowest ``position``) becomes the primary rep."""

    __tablename__ = "assignment_rule_reps"
    __tracked__ = True
    __history_parent__ = ("assignment_rules", "rule_id", "rep")

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("assignment_rules.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship()

    def __str__(self) -> str:
        return user_name_of(self)


def _rep_of(model: Any, who: Who) -> Select[Any]:
    """The partners whose further rep ``who`` is."""
    return select(PartnerRep.partner_id).where(PartnerRep.user_id == who.id)


def territories_covered_by(who: Who) -> Select[Any]:
    """The territories ``who`` covers: those of the active rules that name them."""
    return (
        select(AssignmentRule.territory_id)
        .join(AssignmentRuleRep, AssignmentRuleRep.rule_id == AssignmentRule.id)
        .where(AssignmentRuleRep.user_id == who.id, AssignmentRule.is_active)
    )


def _territory_clause(model: Any, who: Who, whole: bool) -> ColumnElement[bool]:
    clause: ColumnElement[bool] = model.territory_id.in_(territories_covered_by(who))
    return clause


class Partner(Base):
    __tablename__ = "partners"
    __tracked__ = True
    __history_exclude__ = frozenset({"name_search", "city_search", "dedup_key"})
    __access__ = RecordAccess(
        module="partners",
        owner="owner_id",
        co_owners=_rep_of,
        territory=_territory_clause,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The partner's fields as people meet them are declared on their columns
    # (records.describe): labels, history, the partner page, the CSV export, the API
    # and merging read them. A new field is a column here, a field of PartnerIn, a
    # migration and, if people type it, a line in crm/partner_form.html.
    kind: Mapped[str] = mapped_column(
        String(10),
        default="company",
        info=describe(_l("Kind"), show=choice(PARTNER_KIND_LABELS), detail=False),
    )
    name: Mapped[str] = mapped_column(String(200), info=describe(_l("Name"), detail=False))
    # Lower case, no diacritics, single spaces: what search matches against.
    name_search: Mapped[str] = mapped_column(String(200))
    # Normalised name without legal form, plus city: finds likely duplicates.
    dedup_key: Mapped[str] = mapped_column(String(300))
    oib: Mapped[str | None] = mapped_column(
        String(11), default=None, unique=True, info=describe(_l("OIB"), fill_on_merge=True)
    )
    vat_id: Mapped[str] = mapped_column(
        String(20), default="", info=describe(_l("VAT id"), fill_on_merge=True)
    )
    external_id: Mapped[str | None] = mapped_column(
        String(64),
        default=None,
        unique=True,
        info=describe(_l("External id"), fill_on_merge=True),
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_groups.id"),
        default=None,
        info=describe(
            _l("Group"), show=ref("partner_groups"), ref="group", detail=False, fill_on_merge=True
        ),
    )
    status: Mapped[str] = mapped_column(
        String(10),
        default="active",
        info=describe(_l("Status"), show=choice(PARTNER_STATUS_LABELS), detail=False),
    )
    street: Mapped[str] = mapped_column(
        String(200), default="", info=describe(_l("Street"), detail=False, fill_on_merge=True)
    )
    postal_code: Mapped[str] = mapped_column(
        String(10), default="", info=describe(_l("Postal code"), detail=False, fill_on_merge=True)
    )
    city: Mapped[str] = mapped_column(
        String(100), default="", info=describe(_l("City"), detail=False, fill_on_merge=True)
    )
    # The town folded (normalize.city_key): what the list's city filter matches. Set
    # with name_search by every writer of partners (the service, the import, merges).
    city_search: Mapped[str] = mapped_column(String(100), default="")
    county_id: Mapped[int | None] = mapped_column(
        ForeignKey("counties.id"),
        default=None,
        info=describe(
            _l("County"), show=ref("counties"), ref="county", detail=False, fill_on_merge=True
        ),
    )
    country: Mapped[str] = mapped_column(
        String(2), default="HR", info=describe(_l("Country"), detail=False)
    )
    phones: Mapped[str] = mapped_column(
        String(200), default="", info=describe(_l("Phones"), fill_on_merge=True)
    )
    email: Mapped[str] = mapped_column(
        String(254), default="", info=describe(_l("E-mail"), detail=False, fill_on_merge=True)
    )
    emails: Mapped[str] = mapped_column(
        String(500),
        default="",
        info=describe(_l("Other e-mails"), detail=False, fill_on_merge=True),
    )
    web: Mapped[str] = mapped_column(
        String(200), default="", info=describe(_l("Web"), detail=False, fill_on_merge=True)
    )
    notes: Mapped[str] = mapped_column(Text, default="", info=describe(_l("Notes"), detail=False))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"),
        default=None,
        # The API shows the primary rep among the reps, with how they were chosen.
        info=describe(_l("Primary rep"), show=ref("users"), ref="owner", detail=False, api=False),
    )
    territory_id: Mapped[int | None] = mapped_column(
        ForeignKey("territories.id"),
        default=None,
        info=describe(_l("Territory"), show=ref("territories"), ref="territory", detail=False),
    )
    assignment_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment_rules.id", ondelete="SET NULL"),
        default=None,
        info=describe(
            _l("Assignment rule"), show=ref("assignment_rules"), detail=False, export=False
        ),
    )
    # True when a person chose the reps: automatic re-assignment leaves them alone.
    manual_assignment: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        info=describe(_l("Reps chosen by hand"), detail=False, export=False),
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id"),
        default=None,
        info=describe(_l("Merged into"), show=ref("partners"), detail=False, export=False),
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, info=describe(_l("Created"), detail=False)
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, info=describe(_l("Changed"), detail=False, export=False)
    )

    group: Mapped[PartnerGroup | None] = relationship()
    county: Mapped[County | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    territory: Mapped[Territory | None] = relationship()
    reps: Mapped[list[PartnerRep]] = relationship(
        back_populates="partner", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary="partner_tags", order_by="Tag.name")

    __table_args__ = (
        CheckConstraint("kind IN ('company', 'person')", name="kind"),
        CheckConstraint("status IN ('prospect', 'active', 'inactive', 'merged')", name="status"),
        # The list in name order, with what its access test and usual filters read: a
        # search walks it without reading the rows (an index-only scan on PostgreSQL).
        Index(
            "ix_partners_listed", "name_search", "id", "territory_id", "owner_id", "status", "kind"
        ),
        Index("ix_partners_dedup_key", "dedup_key"),
        Index("ix_partners_email", "email"),
        Index("ix_partners_owner_id", "owner_id", "name_search"),
        Index("ix_partners_territory_id", "territory_id", "name_search"),
        # The list's filters, each in the list's order.
        Index("ix_partners_group_id", "group_id", "name_search", "id"),
        Index("ix_partners_county_id", "county_id", "name_search", "id"),
        Index("ix_partners_city_search", "city_search", "name_search", "id"),
        Index("ix_partners_postal_code", "postal_code"),
        # Newest first, and the merged ones of a partner (deleting one looks them up).
        Index("ix_partners_created_at", "created_at", "id"),
        Index("ix_partners_merged_into_id", "merged_into_id"),
        # The header's search by the starts of words (PostgreSQL; on SQLite the trigram
        # table of migration 0022).
        Index(
            "ix_partners_words", text("to_tsvector('simple', name_search)"), postgresql_using="gin"
        ).ddl_if(dialect="postgresql"),
        # Substring search on PostgreSQL (SQLite: the trigram table of migration 0022).
        Index(
            "ix_partners_name_trgm",
            "name_search",
            postgresql_using="gin",
            postgresql_ops={"name_search": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    def __str__(self) -> str:
        return self.name


class PartnerRep(Base):
    """A rep of a partner beside the primary one (``Partner.owner_id``)."""

    __tablename__ = "partner_reps"
    __tracked__ = True
    __history_parent__ = ("partners", "partner_id", "rep")

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(8), default="manual")

    partner: Mapped[Partner] = relationship(back_populates="reps")
    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("source IN ('rule', 'manual')", name="source"),
        Index("ix_partner_reps_user_id", "user_id", "partner_id"),
    )

    def __str__(self) -> str:
        return user_name_of(self)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)

    def __str__(self) -> str:
        return self.name


class PartnerTag(Base):
    __tablename__ = "partner_tags"
    __tracked__ = True
    __history_parent__ = ("partners", "partner_id", "tag")

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    tag: Mapped[Tag] = relationship(viewonly=True)

    def __str__(self) -> str:
        tag = self.__dict__.get("tag")
        return str(tag) if tag is not None else f"#{self.tag_id}"


# What the global search finds persons by (groupware.search.words).
PERSONS_WORDS = Words("persons", ("first_name", "last_name", "email"))

_UNDER_PARTNER = RecordAccess(module="partners", owner=None, parent=("partner_id", Partner))


class Branch(Base):
    __tablename__ = "branches"
    __tracked__ = True
    __access__ = _UNDER_PARTNER

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), default=None)
    country: Mapped[str] = mapped_column(String(2), default="HR")
    phones: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    partner: Mapped[Partner] = relationship()
    county: Mapped[County | None] = relationship()

    def __str__(self) -> str:
        return self.name


class Person(Base):
    __tablename__ = "persons"
    __tracked__ = True
    __access__ = _UNDER_PARTNER

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL"), default=None
    )
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100))
    function: Mapped[str] = mapped_column(String(100), default="")
    phones: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    external_id: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    mailing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    notes: Mapped[str] = mapped_column(Text, default="")

    partner: Mapped[Partner] = relationship()
    branch: Mapped[Branch | None] = relationship()

    __table_args__ = (Index("ix_persons_email", "email"), PERSONS_WORDS.index())

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return self.full_name


# What the global search finds ERP documents by: the words of their numbers.
DOCUMENTS_WORDS = Words("documents", ("number",))


class Document(Base):
    """An offer, order, invoice or delivery note from the ERP."""

    __tablename__ = "documents"
    __tracked__ = True
    __access__ = RecordAccess(module="documents", owner=None, parent=("partner_id", Partner))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    net_amount: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2))
    gross_amount: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    status: Mapped[str] = mapped_column(String(10), default="open")
    # What is still to be paid (invoices) or delivered; 0 when settled.
    open_amount: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2), default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The deal it belongs to, once linked (an offer or an invoice of a sale).
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), default=None, index=True
    )

    partner: Mapped[Partner] = relationship()

    __table_args__ = (
        CheckConstraint("kind IN ('offer', 'order', 'invoice', 'delivery_note')", name="kind"),
        CheckConstraint("status IN ('draft', 'open', 'closed', 'cancelled')", name="status"),
        UniqueConstraint("kind", "number"),
        Index("ix_documents_partner_id", "partner_id", "date"),
        DOCUMENTS_WORDS.index(),
    )

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


class PartnerMerge(Base):
    """Two partners merged into one, with what moved, so that it can be undone.

    ``moved`` maps a table to the ids of its rows that were re-linked from the merged
    partner to the kept one; ``kept_before`` holds the kept partner's fields that the
    merge filled in from the other.
    """

    __tablename__ = "partner_merges"
    __tracked__ = True
    __history_parent__ = ("partners", "kept_id", "merge")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    merged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    merged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kept_before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    undone_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.kept_id}"


class ImportJob(Base):
    """A CSV import: uploaded, analysed, validated, then committed in one transaction."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str] = mapped_column(String(20), default="")
    delimiter: Mapped[str] = mapped_column(String(1), default=";")
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    key: Mapped[str] = mapped_column(String(16), default="oib")
    skip_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="uploaded")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    __table_args__ = (
        CheckConstraint("kind IN ('partners', 'persons', 'documents')", name="kind"),
        CheckConstraint(
            "status IN ('uploaded', 'validating', 'validated', 'committing', 'done', 'failed')",
            name="status",
        ),
    )


class ImportRowError(Base):
    """A problem with one cell or row of an import file."""

    __tablename__ = "import_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(100), default="")
    message: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("ix_import_errors_job_id", "job_id", "row"),)


PARTNERS_RECORD = RecordType(
    "partners",
    _l("Partner"),
    "/partners/{id}",
    {
        **{name: d.label for name, d in described(Partner).items()},
        "rep": _l("Rep"),
        "tag": _l("Tag"),
        "merge": _l("Merged duplicate"),
        "rep.source": _l("Chosen"),
    },
    values={
        **{name: d.show for name, d in described(Partner).items() if d.show.kind != "text"},
        "rep.source": choice(
            {"rule": _l("by the assignment table"), "manual": _l("chosen by hand")}
        ),
    },
    summary=("kind", "oib", "city", "owner_id", "territory_id"),
    list_url="/partners",
    api_url="/api/v1/partners",
    stream=True,
)
BRANCHES_RECORD = RecordType(
    "branches",
    _l("Branch"),
    "/branches/{id}",
    summary=("partner_id", "city"),
    api_url="/api/v1/branches",
)
PERSONS_RECORD = RecordType(
    "persons",
    _l("Person"),
    "/persons/{id}",
    {
        "first_name": _l("First name"),
        "last_name": _l("Last name"),
        "function": _l("Function"),
        "branch_id": _l("Branch"),
        "mailing_consent": _l("Agrees to mailings"),
        "opted_out_at": _l("Opted out"),
    },
    values={"branch_id": ref("branches"), "opted_out_at": DATETIME},
    summary=("partner_id", "function", "email"),
    list_url="/persons",
    api_url="/api/v1/persons",
    stream=True,
)
DOCUMENTS_RECORD = RecordType(
    "documents",
    _l("ERP document"),
    "/documents/{id}",
    {
        "kind": _l("Kind"),
        "number": _l("Number"),
        "date": _l("Date"),
        "due_date": _l("Due"),
        "net_amount": _l("Net"),
        "gross_amount": _l("Gross"),
        "open_amount": _l("Open amount"),
    },
    values={
        "kind": choice(
            {
                "offer": _l("offer"),
                "order": _l("order"),
                "invoice": _l("invoice"),
                "delivery_note": _l("delivery note"),
            }
        ),
        "status": choice(
            {
                "draft": _l("draft"),
                "open": _l("open"),
                "closed": _l("closed"),
                "cancelled": _l("cancelled"),
            }
        ),
        "date": DATE,
        "due_date": DATE,
        "net_amount": MONEY,
        "gross_amount": MONEY,
        "open_amount": MONEY,
    },
    summary=("kind", "partner_id", "date", "gross_amount"),
    list_url="/documents",
    api_url="/api/v1/documents",
)
PARTNER_GROUPS_RECORD = RecordType("partner_groups", _l("Partner group"), "/partner-groups")
TERRITORIES_RECORD = RecordType(
    "territories", _l("Territory"), "/territories/{id}", {"area": _l("Area")}
)
ASSIGNMENT_RULES_RECORD = RecordType(
    "assignment_rules",
    _l("Assignment rule"),
    "/territories/rules",
    {"territory_id": _l("Territory"), "group_id": _l("Group"), "rep": _l("Rep")},
    values={
        "territory_id": ref("territories"),
        "group_id": ref("partner_groups"),
        "priority": NUMBER,
    },
    summary=("territory_id", "group_id", "priority"),
)
