"""Who may see and change which records.

A role grants, per module and action, one or more scopes: ``own`` (records the user
owns), ``team`` (records owned by a member of one of the user's teams, or assigned to
one of those teams), ``territory`` (records in the user's sales territories; a model
says how through its :class:`RecordAccess`) and ``all``. On top of that any record
can be shared with a user or a team, to read or to write, and a model may declare a
"public" rule (a published announcement is readable by its audience). A record that is
on another record of any type (a note on a partner or a deal) follows that record's
rules (``RecordAccess.on_record``).

Everything that reads business records goes through :func:`visible` (a SQL condition
for lists, search, reports, exports, the API and the protocol adapters) or through
:func:`get_for_user` (one record, raising 404 or 403). :func:`explain` says why a user
sees a record.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    event,
    exists,
    false,
    inspect,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption
from sqlalchemy.sql.selectable import CompoundSelect

from groupware import wiring
from groupware.access.models import Share
from groupware.accounts.models import Grant, Role, Team, TeamMember, User, UserRole
from groupware.db import Base, const
from groupware.errors import Forbidden, NotFound
from groupware.i18n import _l

ACTIONS = ("view", "create", "edit", "delete", "export", "share", "admin")
SCOPES = ("own", "team", "territory", "all")
ACTION_LABELS = {
    "view": _l("view"),
    "create": _l("create"),
    "edit": _l("edit"),
    "delete": _l("delete"),
    "export": _l("export"),
    "share": _l("share"),
    "admin": _l("administer"),
}
SCOPE_LABELS = {
    "own": _l("own"),
    "team": _l("team"),
    "territory": _l("territory"),
    "all": _l("all"),
}


@dataclass(frozen=True)
class Module:
    """A part of the product that roles grant rights on."""

    name: str
    label: Any
    actions: tuple[str, ...] = ACTIONS
    # False for modules without records of their own (administration).
    has_records: bool = True


SYSTEM_MODULE = Module("system", _l("Administration"), actions=("admin",), has_records=False)


def modules() -> dict[str, Module]:
    """What roles grant rights on: the access modules the areas declare, by name."""
    return wiring.current().access_modules


M = TypeVar("M", bound=Base)
ClauseFactory = Callable[[Any, "Who"], ColumnElement[bool]]
# (model, who, whole): a condition that may be written two ways, a set for a report that
# reads every row (``whole``) or a probe per row for a list that stops early.
ScopeFactory = Callable[[Any, "Who", bool], ColumnElement[bool]]
IdsFactory = Callable[[Any, "Who"], "Select[Any]"]


@dataclass(frozen=True)
class RecordAccess:
    """How a model's records relate to users: set as ``__access__`` on the model.

    ``owner`` names the owner column; ``co_owners`` gives the ids of the records a
    user counts as an owner of too (a partner's further reps); ``team`` names a team
    column; ``territory`` and ``public`` build conditions for those reasons (the
    territory's told whether the query reads every row, see :func:`visible`). A record
    that belongs to another (a partner's person) names it in ``parent`` as (foreign key
    attribute, model): it is visible when its parent is, judged by the grants of its own
    ``module``.
    """

    module: str
    owner: str | None = "owner_id"
    co_owners: IdsFactory | None = None
    team: str | None = None
    territory: ScopeFactory | None = None
    public: ClauseFactory | None = None
    public_reason: Any = None
    parent: tuple[str, type[Base]] | None = None
    # A person's own record (a calendar): a team lead's "team" scope does not reach it;
    # only its owner (whatever their roles), those it is shared with, and roles that
    # reach every record ("all": administrators) do.
    personal: bool = False
    # A record that belongs to whichever record its columns (type column, id column)
    # name (a note on a partner, a call logged on a deal): each action on it is allowed
    # exactly where that action is allowed on that record, by that record's own rules;
    # ``on_types`` says which record types it may be on. Its ``module`` grants nothing
    # (ON_RECORD), and it is not shared on its own.
    on_record: tuple[str, str] | None = None
    on_types: Callable[[], Sequence[str]] | None = None


# The module of a record that follows the record it is on (RecordAccess.on_record).
ON_RECORD = ""


def access_spec(model: type[Base]) -> RecordAccess:
    spec = getattr(model, "__access__", None)
    if not isinstance(spec, RecordAccess):
        raise TypeError(f"{model.__name__} has no __access__ rules")
    return spec


def record_type(model: type[Base] | Base) -> str:
    cls = model if isinstance(model, type) else type(model)
    return str(cls.__tablename__)


def pk_column(model: type[Base]) -> Any:
    """The single-column primary key of a record model (its ``id``)."""
    return inspect(model).primary_key[0]


def record_key(record: Base) -> int:
    """The id of a record (business records have one integer key)."""
    return int(inspect(record).identity[0])  # type: ignore[index]


def record_models() -> dict[str, type[Base]]:
    """Every model with access rules, by record type (its table name)."""
    found: dict[str, type[Base]] = {}
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if isinstance(getattr(cls, "__access__", None), RecordAccess):
            found[record_type(cls)] = cls
    return found


@dataclass(frozen=True)
class Who:
    """The acting user with their teams and effective grants, loaded once per request."""

    id: int | None
    name: str
    team_ids: frozenset[int] = frozenset()
    # (module, action) -> scope -> names of the roles granting it
    grants: Mapping[tuple[str, str], Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    system: bool = False

    def scopes(self, module: str, action: str) -> frozenset[str]:
        if self.system:
            return frozenset({"all"})
        return frozenset(self.grants.get((module, action), {}))

    def can(self, module: str, action: str) -> bool:
        return bool(self.scopes(module, action))

    @property
    def is_admin(self) -> bool:
        return self.can("system", "admin")


SYSTEM = Who(id=None, name="system", system=True)


# Rights change rarely and are read on every request: keep them for a few seconds.
# A change of roles, grants or teams made in this process clears the cache at once;
# another process (a second web worker) sees it after WHO_TTL seconds at most.
WHO_TTL = 10.0
_who_cache: dict[int, tuple[float, Who]] = {}


def forget_rights() -> None:
    _who_cache.clear()


def load_who(session: Session, user: User) -> Who:
    """The user's teams and rights (cached for :data:`WHO_TTL` seconds)."""
    now = time.monotonic()
    cached = _who_cache.get(user.id)
    if cached is not None and cached[0] > now and cached[1].name == str(user):
        return cached[1]
    who = _read_who(session, user)
    _who_cache[user.id] = (now + WHO_TTL, who)
    return who


def _read_who(session: Session, user: User) -> Who:
    rows = session.execute(
        select(Grant.module, Grant.action, Grant.scope, Role.name)
        .join(Role, Role.id == Grant.role_id)
        .join(UserRole, UserRole.role_id == Grant.role_id)
        .where(UserRole.user_id == user.id)
    ).all()
    grants: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}
    for module, action, scope, role_name in rows:
        by_scope = grants.setdefault((module, action), {})
        by_scope[scope] = (*by_scope.get(scope, ()), role_name)
    team_ids = session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id))
    return Who(id=user.id, name=str(user), team_ids=frozenset(team_ids), grants=grants)


@event.listens_for(Session, "after_flush")
def _rights_changed(session: Session, flush_context: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, Grant | UserRole | TeamMember | Role | User) for obj in changed):
        forget_rights()


def require(who: Who, module: str, action: str) -> None:
    """Raise :class:`Forbidden` unless some role grants ``action`` in ``module``."""
    if not who.can(module, action):
        raise Forbidden(_l("You are not allowed to do this."))


def _column(model: type[Base], name: str | None) -> Any:
    return getattr(model, name) if name else None


def _team_clause(model: type[Base], spec: RecordAccess, team_ids: frozenset[int]) -> Any:
    if not team_ids:
        return false()
    clauses = []
    owner = _column(model, spec.owner)
    if owner is not None:
        members = select(TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))
        clauses.append(owner.in_(members))
    team = _column(model, spec.team)
    if team is not None:
        clauses.append(team.in_(team_ids))
    return or_(*clauses) if clauses else false()


def _shared_ids(model: type[Base], who: Who, *, write: bool) -> Select[Any] | None:
    """The ids of ``model`` records shared with ``who`` (to write, with ``write``)."""
    if who.id is None:
        return None
    grantee = Share.user_id == who.id
    if who.team_ids:
        grantee = or_(grantee, Share.team_id.in_(who.team_ids))
    conditions = [Share.record_type == const(record_type(model)), grantee]
    if write:
        conditions.append(Share.permission == "write")
    return select(Share.record_id).where(*conditions)


def _per_row(model: type[Base], ids: Select[Any]) -> ColumnElement[bool]:
    """ "This row is one of ``ids``", checked row by row with an index probe (for users
    who see a large part of the table: the list walks its index and stops early).

    ``ids`` is read as a set, whatever it selects from: it is wrapped as a derived
    table and only its column is compared with the row's key. Comparing the row's key
    with ``ids``' own column instead is wrong when ``ids`` selects from the model's own
    table (the tasks a user created): that table is then not correlated with the outer
    row, the comparison is true for any row of the set, and every row passes once the
    set is not empty."""
    subquery = ids.subquery()
    # OFFSET 0 keeps PostgreSQL from building a hash of the whole id set (it cannot tell
    # that a list page stops after a few dozen rows); each row is one index probe. Both
    # databases flatten the derived table into the probe.
    probe = select(subquery.c[0]).where(subquery.c[0] == pk_column(model)).offset(const(0))
    return exists(probe)


def _as_set(model: type[Base], ids: Select[Any] | CompoundSelect[Any]) -> ColumnElement[bool]:
    """ "This row is one of ``ids``", with the ids gathered first (for users who see a
    few rows: their list starts from those ids instead of scanning the table)."""
    clause: ColumnElement[bool] = pk_column(model).in_(ids)
    return clause


def scope_clauses(
    model: type[Base],
    who: Who,
    action: str,
    *,
    module: str | None = None,
    public: bool = True,
    whole: bool = False,
) -> dict[str, ColumnElement[bool]]:
    """One SQL condition per reason a user may do ``action`` on a record of ``model``
    (judged by the grants of ``module``, by default the model's own). Without
    ``public``, a record published to everyone does not count: its history, for one, is
    for those who work on it. With ``whole`` (a report that reads every visible row),
    further owners and shares are gathered once as sets instead of probed row by row."""
    member = _as_set if whole else _per_row
    spec = access_spec(model)
    if spec.on_record is not None:
        return _on_record_clauses(model, spec, who, action, public, whole)
    scopes = who.scopes(module or spec.module, action)
    if "all" in scopes:
        return {"all": true()}
    if spec.parent is not None:
        return _child_clauses(model, spec, who, action, public, whole)
    clauses: dict[str, Any] = {}
    owner = _column(model, spec.owner)
    # A personal record (a calendar) is always its owner's, whatever their roles grant.
    if ("own" in scopes or spec.personal) and owner is not None and who.id is not None:
        own = owner == who.id
        co_owned = spec.co_owners(model, who) if spec.co_owners else None
        clauses["own"] = or_(own, member(model, co_owned)) if co_owned is not None else own
    if "team" in scopes and not spec.personal:
        clauses["team"] = _team_clause(model, spec, who.team_ids)
    if "territory" in scopes and spec.territory is not None:
        clauses["territory"] = spec.territory(model, who, whole)
    shared = _shared_ids(model, who, write=action == "edit")
    if action in {"view", "export", "edit"} and shared is not None:
        clauses["shared"] = member(model, shared)
    if public and action in {"view", "export"} and spec.public is not None:
        clauses["public"] = spec.public(model, who)
    return clauses


def _narrow(model: type[Base], who: Who, action: str, public: bool) -> ColumnElement[bool] | None:
    """For a user who sees only their own and shared records: one ``id IN (...)`` over
    the union of those ids, so that a million-row table is not scanned for their few
    rows. None when the user's rights reach further (team, territory, a public rule)."""
    spec = access_spec(model)
    if spec.on_record is not None:
        return None
    scopes = who.scopes(spec.module, action)
    if scopes & {"all", "team", "territory"} or spec.parent is not None:
        return None
    if public and action in {"view", "export"} and spec.public is not None:
        return None
    pk = pk_column(model)
    sets: list[Select[Any]] = []
    owner = _column(model, spec.owner)
    if ("own" in scopes or spec.personal) and owner is not None and who.id is not None:
        sets.append(select(pk).where(owner == who.id))
        if spec.co_owners is not None:
            sets.append(spec.co_owners(model, who))
    shared = _shared_ids(model, who, write=action == "edit")
    if action in {"view", "export", "edit"} and shared is not None:
        sets.append(shared)
    if not sets:
        return false()
    return _as_set(model, union_all(*sets) if len(sets) > 1 else sets[0])


def through(foreign_key: Any, parent: type[Base], clause: Any, *, whole: bool) -> Any:
    """ "The ``parent`` record this row names by ``foreign_key`` meets ``clause``": for a
    report that reads every row (``whole``) the parents meeting it are gathered once as a
    set; for a list or a search that stops after a few rows each row probes its own
    parent (a primary key lookup), where the set would be every parent the user sees,
    a hundred thousand partners for a territory's rep."""
    pk = pk_column(parent)
    # The parent's table is the subquery's own even when the outer query joins it too
    # (a person's row shown with its partner's name).
    own = parent.__table__
    if whole:
        return foreign_key.in_(select(pk).where(clause).correlate_except(own))
    # OFFSET 0, as in _per_row: PostgreSQL keeps it a probe per row.
    probe = select(pk).where(pk == foreign_key, clause).correlate_except(own)
    return exists(probe.offset(const(0)))


def _child_clauses(
    model: type[Base], spec: RecordAccess, who: Who, action: str, public: bool, whole: bool
) -> dict[str, ColumnElement[bool]]:
    assert spec.parent is not None
    key, parent = spec.parent
    foreign_key = getattr(model, key)
    clauses = {
        kind: through(foreign_key, parent, clause, whole=whole)
        for kind, clause in scope_clauses(
            parent, who, action, module=spec.module, public=public, whole=whole
        ).items()
    }
    own_shares = _shared_ids(model, who, write=action == "edit")
    if action in {"view", "export", "edit"} and own_shares is not None:
        mine = _as_set(model, own_shares)
        clauses["shared"] = or_(clauses["shared"], mine) if "shared" in clauses else mine
    return clauses


def on_record_types(model: type[Base]) -> dict[str, type[Base]]:
    """The models of the records a record of ``model`` may be on (RecordAccess.on_record)."""
    spec = access_spec(model)
    names = spec.on_types() if spec.on_types is not None else ()
    models = record_models()
    return {name: models[name] for name in names if name in models}


def _on_record_clauses(
    model: type[Base], spec: RecordAccess, who: Who, action: str, public: bool, whole: bool
) -> dict[str, ColumnElement[bool]]:
    """Per reason, "the record this row is on allows ``action`` for that reason", over
    every type the row may be on."""
    assert spec.on_record is not None
    type_column, id_column = (getattr(model, name) for name in spec.on_record)
    arms: dict[str, list[ColumnElement[bool]]] = {}
    for name, parent in on_record_types(model).items():
        of_type = type_column == const(name)
        for kind, clause in scope_clauses(parent, who, action, public=public, whole=whole).items():
            if clause is true():  # every record of the type: one that is still there
                key = pk_column(parent)
                arm = and_(of_type, exists(select(key).where(key == id_column)))
            else:
                arm = and_(of_type, id_column.in_(select(pk_column(parent)).where(clause)))
            arms.setdefault(kind, []).append(arm)
    return {kind: or_(*found) for kind, found in arms.items()}


def parent_of(session: Session, record: Base) -> Base | None:
    """The record that ``record`` is on (RecordAccess.on_record), if it is still there."""
    spec = access_spec(type(record))
    assert spec.on_record is not None
    name, ident = (getattr(record, column) for column in spec.on_record)
    parent = on_record_types(type(record)).get(name)
    return session.get(parent, ident) if parent is not None else None


def _get_on_record(
    session: Session,
    who: Who,
    model: type[M],
    record_id: int,
    action: str,
    options: Sequence[ORMOption],
) -> M:
    """A record on another record (a note on a deal), by its own key, then the record
    it is on checked for ``action``: one indexed read of each instead of a condition
    over every type it may be on."""
    record = session.get(model, record_id, options=options)
    parent = parent_of(session, record) if record is not None else None
    if record is None or parent is None:
        raise NotFound(_l("There is no such record, or you may not see it."))
    try:
        get_for_user(session, who, type(parent), record_key(parent), action)
    except NotFound:
        raise NotFound(_l("There is no such record, or you may not see it.")) from None
    return record


# The reasons of scope_clauses in the order visible() tests them.
_CHEAP_FIRST = ("all", "territory", "team", "own", "public", "shared")


# Conditions made lately, by (model, user's rights, action, public, whole): building one
# costs 0.3-0.5 ms of Python, and the header's search needs eight per keystroke. An entry
# holds its ``Who``: rights that change give a new ``Who``, so a new entry. (SQLAlchemy's
# expressions are immutable; one serves any number of statements.)
_visible_kept: OrderedDict[tuple[Any, ...], tuple[Who, ColumnElement[bool]]] = OrderedDict()
_visible_lock = threading.Lock()
VISIBLE_KEPT = 512


def visible(
    model: type[Base],
    who: Who,
    action: str = "view",
    *,
    public: bool = True,
    whole: bool = False,
) -> ColumnElement[bool]:
    """The SQL condition "``who`` may do ``action`` on this row of ``model``".

    A list page reads a few rows in index order and stops: further owners and shares
    are then probed per row. A report reads every visible row (``whole``): they are
    gathered once into a set instead."""
    key = (model, id(who), action, public, whole)
    with _visible_lock:
        kept = _visible_kept.get(key)
        if kept is not None and kept[0] is who:
            _visible_kept.move_to_end(key)
            return kept[1]
    clause = _visible(model, who, action, public=public, whole=whole)
    with _visible_lock:
        _visible_kept[key] = (who, clause)
        if len(_visible_kept) > VISIBLE_KEPT:
            _visible_kept.popitem(last=False)
    return clause


def _visible(
    model: type[Base], who: Who, action: str, *, public: bool, whole: bool
) -> ColumnElement[bool]:
    narrow = _narrow(model, who, action, public)
    if narrow is not None:
        return narrow
    by_reason = scope_clauses(model, who, action, public=public, whole=whole)
    # Cheap tests first: PostgreSQL evaluates OR's arms in order, and a row in the
    # user's territory then needs no index probe of further reps or shares.
    clauses = [by_reason[reason] for reason in sorted(by_reason, key=_CHEAP_FIRST.index)]
    return or_(*clauses) if clauses else false()


def get_for_user(
    session: Session,
    who: Who,
    model: type[M],
    record_id: int,
    action: str = "view",
    *,
    options: Sequence[ORMOption] = (),
) -> M:
    """Load one record for ``action``: 404 if the user may not see it, 403 if they may
    see it but not do ``action`` to it."""
    if access_spec(model).on_record is not None:
        return _get_on_record(session, who, model, record_id, action, options)
    pk = pk_column(model)
    record = session.scalar(
        select(model).where(pk == record_id, visible(model, who, action)).options(*options)
    )
    if record is not None:
        return record
    if action != "view" and session.scalar(
        exists().where(pk == record_id, visible(model, who, "view")).select()
    ):
        raise Forbidden(_l("You may see this record but not do this to it."))
    raise NotFound(_l("There is no such record, or you may not see it."))


def can(session: Session, who: Who, record: Base, action: str, *, public: bool = True) -> bool:
    model = type(record)
    if access_spec(model).on_record is not None:
        parent = parent_of(session, record)
        return parent is not None and can(session, who, parent, action, public=public)
    condition = visible(model, who, action, public=public)
    query = exists().where(pk_column(model) == record_key(record), condition)
    return bool(session.scalar(query.select()))


def may(session: Session, who: Who, record: Base, action: str = "view") -> bool:
    """The plain per-record check: whether some reason lets ``who`` do ``action`` to
    ``record``, each reason tested on its own with further owners and shares read as
    sets. It answers what :func:`visible` answers for lists; the differential access
    test holds the two against each other."""
    model = type(record)
    pk, key = pk_column(model), record_key(record)
    return any(
        session.scalar(exists().where(pk == key, clause).select())
        for clause in scope_clauses(model, who, action, whole=True).values()
    )


def _owner_id(session: Session, record: Base) -> int | None:
    """The owner of ``record`` (for a record under another, its parent's owner)."""
    spec = access_spec(type(record))
    if spec.parent is not None:
        key, parent_model = spec.parent
        parent = session.get(parent_model, getattr(record, key))
        return _owner_id(session, parent) if parent is not None else None
    owner: int | None = getattr(record, spec.owner) if spec.owner else None
    return owner


def may_share(session: Session, who: Who, record: Base) -> bool:
    """Whether ``who`` may change whom ``record`` is shared with (add or remove shares,
    further owners or reps): its owner, an administrator, or a role that grants
    "share" on it. Write access is not enough: someone a record was shared with to
    write must not hand it on, nor take the owner's shares away. A record on another
    record (a note on a deal) goes with that record and is not shared on its own."""
    if access_spec(type(record)).on_record is not None:
        return False
    if who.is_admin or (who.id is not None and _owner_id(session, record) == who.id):
        return True
    return can(session, who, record, "share", public=False)


def require_share(session: Session, who: Who, record: Base) -> None:
    """Raise :class:`Forbidden` unless :func:`may_share`."""
    if not may_share(session, who, record):
        raise Forbidden(
            _l(
                "Only the owner, an administrator or someone with the right to share may "
                "change who this record is shared with."
            )
        )


@dataclass(frozen=True)
class Reason:
    """One reason a user sees a record, for the "why can I see this" panel."""

    kind: str  # own | team | territory | all | shared | public
    roles: tuple[str, ...] = ()
    detail: str = ""
    permission: str = ""


def explain(session: Session, who: Who, record: Base) -> list[Reason]:
    model = type(record)
    spec = access_spec(model)
    if spec.on_record is not None:  # seen where the record it is on is seen
        parent = parent_of(session, record)
        return explain(session, who, parent) if parent is not None else []
    pk, key = pk_column(model), record_key(record)
    grants = who.grants.get((spec.module, "view"), {})
    reasons: list[Reason] = []
    for kind, clause in scope_clauses(model, who, "view", whole=True).items():
        if kind == "shared":
            reasons.extend(_share_reasons(session, who, record))
            continue
        if not session.scalar(exists().where(pk == key, clause).select()):
            continue
        if kind == "public":
            reasons.append(Reason("public", detail=str(spec.public_reason or "")))
        elif kind == "team":
            reasons.append(
                Reason("team", roles=grants.get("team", ()), detail=_team_names(session, who))
            )
        else:
            reasons.append(Reason(kind, roles=grants.get(kind, ())))
    return reasons


def _team_names(session: Session, who: Who) -> str:
    names = session.scalars(select(Team.name).where(Team.id.in_(who.team_ids)).order_by(Team.name))
    return ", ".join(names)


def _share_reasons(session: Session, who: Who, record: Base) -> list[Reason]:
    rows = session.execute(
        select(Share.permission, Share.user_id, Team.name)
        .outerjoin(Team, Team.id == Share.team_id)
        .where(
            Share.record_type == record_type(record),
            Share.record_id == record_key(record),
            and_(
                or_(
                    Share.user_id == who.id,
                    Share.team_id.in_(who.team_ids) if who.team_ids else false(),
                )
            ),
        )
    ).all()
    return [
        Reason("shared", detail=team_name or "", permission=permission)
        for permission, _user_id, team_name in rows
    ]
