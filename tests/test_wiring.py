"""What the areas declare is complete: these tests fail when a model, job, record type
or page is added without the declaration that wires it in (groupware/areas.py and each
area's area.py)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from sqlalchemy import select
from starlette.routing import BaseRoute, Mount, Route

from groupware import wiring
from groupware.access.policy import modules, on_record_types, record_models
from groupware.app import create_app
from groupware.areas import AREAS
from groupware.crm.merge import links
from groupware.db import Base, Database
from groupware.records import record_types
from groupware.settings import Settings
from groupware.stream import stream_types
from tests.conftest import LiveServer, LoginAs

# Columns naming a partner that the merge itself handles (not through a MergeLink).
MERGED_BY_MERGE = {
    ("partners", "merged_into_id"): "the retired partner points at the kept one",
    ("partner_reps", "partner_id"): "reps join the kept partner (merge._merge_reps)",
    ("partner_tags", "partner_id"): "tags join the kept partner (merge._merge_tags)",
    ("partner_merges", "kept_id"): "the merge's own record",
    ("partner_merges", "merged_id"): "the merge's own record",
}
# Tables naming records of any type (record_type, record_id) whose partner rows do not
# follow a merge, and why.
STAY_WITH_THE_RETIRED_PARTNER = {
    "shares": "copied to the kept partner by merge._merge_shares, kept for undo",
    "history": "history tells what happened to the record it names",
    "notifications": "a notification tells of what happened then; its link follows "
    "the retired partner to the kept one",
    "phases": "phases belong to deals and tasks",
    "alerts": "alerts belong to deals and tasks",
}


def _partner_columns() -> set[tuple[str, str]]:
    found = set()
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "partners" for fk in column.foreign_keys):
                found.add((table.name, column.name))
    return found


def test_every_column_naming_a_partner_follows_a_merge() -> None:
    linked = {(link.column.class_.__tablename__, link.column.key) for link in links()}
    naming = _partner_columns()
    assert {("deals", "partner_id"), ("tasks", "partner_id"), ("persons", "partner_id")} <= naming
    missing = naming - linked - MERGED_BY_MERGE.keys()
    assert not missing, f"declare a MergeLink in the area of {missing}"
    assert not linked & MERGED_BY_MERGE.keys()


def test_every_table_naming_records_of_any_type_says_what_a_merge_does_to_it() -> None:
    typed = {
        table.name
        for table in Base.metadata.sorted_tables
        if {"record_type", "record_id"} <= set(table.columns.keys())
    }
    linked = {link.column.class_.__tablename__ for link in links() if link.record_type}
    assert "mail_links" in linked
    assert typed - linked == STAY_WITH_THE_RETIRED_PARTNER.keys()


def test_every_model_belongs_to_exactly_one_area() -> None:
    declared = Counter(model for area in AREAS for model in area.models)
    assert all(n == 1 for n in declared.values()), declared
    mapped = {mapper.class_ for mapper in Base.registry.mappers}
    assert mapped == set(declared), mapped ^ set(declared)
    # ...and every table the migrations make belongs to a model of an area
    tables = {t.name for t in Base.metadata.sorted_tables}
    assert tables == {m.__tablename__ for m in declared}


def test_every_record_type_is_declared_and_every_rule_in_the_policy() -> None:
    types = record_types()
    for rtype, model in record_models().items():
        assert rtype in types, f"{rtype}: declare its RecordType in its area"
        spec = model.__access__  # type: ignore[attr-defined]
        if spec.on_record is not None:  # judged by the record it is on, of a type with rules
            assert set(on_record_types(model)) == set(stream_types()), rtype
            continue
        assert spec.module in modules(), rtype
    tables = {t.name for t in Base.metadata.sorted_tables}
    assert set(types) <= tables
    # the differential access test takes its types from the policy, so a new type with
    # rules is covered there without a word in the test
    from tests.access import test_differential

    assert sorted(record_models()) == test_differential.TYPES


def test_a_record_type_without_rules_of_its_own_is_an_administrators(
    live: LiveServer, database: Database, login_as: LoginAs
) -> None:
    """Records without per-row rules (users, roles, territories...) are kept by
    administrators: a plain user's request for one is refused."""
    alice, root = login_as("alice"), login_as("root")
    checked = []
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        models = {m.__tablename__: m for area in AREAS for m in area.models}
        for rtype, declared in record_types().items():
            if rtype in record_models() or "{id}" not in declared.url:
                continue
            model = models[rtype]
            row_id = session.scalar(select(model.id).order_by(model.id).limit(1))  # type: ignore[attr-defined]
            if row_id is not None:
                checked.append((rtype, declared.url.format(id=row_id)))
    assert {"users", "teams", "roles"} <= {rtype for rtype, _ in checked}
    for rtype, url in checked:
        assert alice.get(url).status_code in (403, 404), rtype
        assert root.get(url).status_code == 200, rtype


def _routes(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for route in routes:
        if isinstance(route, Mount):
            found.append((prefix + route.path, route.name))
            found += _routes(list(route.routes or []), prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix + route.path, route.name))
    return found


def test_every_page_route_has_a_unique_name(settings: Settings, database: Database) -> None:
    app = create_app(settings, database=database)
    routes = _routes(list(app.routes))
    assert len(routes) > 100
    unnamed = [path for path, name in routes if not name]
    assert not unnamed, unnamed
    twice = [n for n, c in Counter(name for _, name in routes).items() if c > 1]
    assert not twice, twice


def test_every_job_runs_from_every_entry_point(settings: Settings) -> None:
    """run-jobs and the server's scheduler run the jobs of every area, in a process
    that imported nothing else first."""
    names = [job.name for job in wiring.current().jobs]
    assert {"prune-sessions", "resume-imports", "raise-alerts", "prune-tombstones"} <= set(names)
    assert {"relay-mail"} <= set(names)
    script = (
        "import sys\n"
        "from groupware.server import app_from_environment\n"
        "from groupware import wiring\n"
        "app_from_environment()\n"
        "print(','.join(job.name for job in wiring.current().jobs))\n"
    )
    env = {"GROUPWARE_DATABASE_URL": settings.database_url, "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(",") == names


def test_every_filing_kind_files_on_records_with_access_rules() -> None:
    """Mail filed on a record is shown with it: the record type must have rules."""
    kinds = wiring.current().filing_kinds
    assert {kind.record_type for kind in kinds} >= {"deals", "partners"}
    for kind in kinds:
        assert kind.record_type in record_models(), kind
        assert kind.id_column.class_ is record_models()[kind.record_type], kind


def test_every_list_names_its_page_and_no_list_is_declared_twice(
    settings: Settings, database: Database
) -> None:
    """A list people shape is declared once, by its area, and its page is a route."""
    import pytest

    from groupware.lists.declare import ListDef

    lists = wiring.current().lists
    assert {"partners", "persons", "documents", "deals", "tasks", "mail", "history"} <= set(lists)
    app = create_app(settings, database=database)
    names = {name for _path, name in _routes(list(app.routes))}
    for listed in lists.values():
        assert listed.endpoint in names, listed.name
    twice = wiring.Area("twice", lists=(lists["deals"],))
    with pytest.raises(ValueError, match="list"):
        wiring.gather((*AREAS, twice))
    # Another area's bulk action joins the list it names (the partner list's "add to a
    # campaign"): once, and only on a list that exists.
    assert lists["partners"].action("add_to_campaign") is not None
    added = lists["partners"].action("add_to_campaign")
    again = wiring.Area("again", list_actions=(("partners", added),))
    with pytest.raises(ValueError, match="two bulk actions"):
        wiring.gather((*AREAS, again))
    nowhere = wiring.Area("nowhere", list_actions=(("no-such-list", added),))
    with pytest.raises(ValueError, match="unknown list"):
        wiring.gather((*AREAS, nowhere))
    with pytest.raises(ValueError, match="no column"):
        ListDef(
            "broken", "Broken", "deals", lists["deals"].model, lists["deals"].columns,
            lists["deals"].query, default_columns=("nothing",), default_sort="title",
        )  # fmt: skip
