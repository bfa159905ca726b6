"""The partner list's search and city filter as made fast for a million partners
(migration 0022): the folded town every writer keeps, and the two ways a search's
page is read on SQLite giving the same rows (the partner list's declaration through
the lists engine)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, Who
from groupware.crm.lists import PARTNERS
from groupware.crm.merge import merge_partners
from groupware.crm.models import Partner
from groupware.crm.partner_list import few_matches
from groupware.crm.partners import PartnerIn, update_partner
from groupware.db import Database
from groupware.lists import engine
from groupware.lists.shape import read
from tests.crm.test_imports import croatian_csv, make_oib, start_job, validate_and_commit
from tests.factories import Cast, make_partner


def list_page(db: Session, who: Who, *, offset: int = 0, **f: str) -> list[str]:
    """The names of a page of the partner list as the page reads it."""
    pairs = [*f.items(), ("offset", str(offset))]
    return [row.name for row in engine.page(db, read(PARTNERS, pairs), who)]


def _names(db: Session, cast: Cast, **f: str) -> list[str]:
    return list_page(db, cast.who(db, cast.root), **f)


def test_the_city_filter_finds_a_town_however_it_is_written_by_every_writer(
    database: Database, committed: Cast, tmp_path: Path
) -> None:
    with database.transaction(actor_id=None, channel="cli") as db:
        root = committed.who(db, committed.root)
        make_partner(db, root, "Made here", city="Čakovec", postal_code="40000")
        changed = make_partner(db, root, "Changed here", city="Varaždin", postal_code="42000")
        update_partner(
            db,
            changed,
            PartnerIn(name="Changed here", city="ČAKOVEC", postal_code="40000"),
            who=root,
        )
        kept = make_partner(db, root, "Kept without a town", city="", postal_code="")
        other = make_partner(db, root, "Merged with a town", city="cakovec", postal_code="40000")
        merge_partners(db, kept, other, by_user_id=None)
    rows = [f"Uvezeni d.o.o.;{make_oib(1000000077)};Ulica 1;40000;Čakovec;;;;"]
    job = start_job(database, committed.root.id, croatian_csv(tmp_path / "p.csv", rows))
    assert validate_and_commit(database, job)["created"] == 1
    expected = ["Changed here", "Kept without a town", "Made here", "Uvezeni d.o.o."]
    with database.transaction(actor_id=None, channel="cli", write=False) as db:
        for typed in ("Čakovec", "cakovec", " ČAKOVEC "):
            assert _names(db, committed, city=typed) == expected, typed
        assert _names(db, committed, city="varaždin") == []


def test_a_search_reads_the_same_page_from_the_trigram_table_as_from_the_names(
    db: Session, cast: Cast
) -> None:
    alice = cast.who(db, cast.alice)
    for n in range(30):
        make_partner(db, alice, f"Adria Agro {n:02d} d.o.o.")
        make_partner(db, alice, f"Adria Mlin {n:02d} d.o.o.")
    make_partner(db, cast.who(db, cast.charlie), "Adria Agro tajna d.o.o.")
    for typed in ("adria agro", "agro adria", "AGRO 1", "mlin"):
        shape = read(PARTNERS, [("q", typed)])
        few = few_matches(db, typed)
        if db.get_bind().dialect.name == "sqlite":
            assert few is not None and len(few) >= 10, typed
        walked = db.execute(engine.page_statement(shape, alice), {"offset": 0}).all()
        if few is not None:
            statement = engine.page_statement(shape, alice, few=True)
            looked_up = db.execute(statement, {"offset": 0, "few": few}).all()
            assert looked_up == walked, typed
        assert list_page(db, alice, q=typed) == [row.name for row in walked]
    assert len(list_page(db, alice, q="adria agro")) == 30
    # "1" is in 01, 10-19 and 21
    later = list_page(db, alice, q="agro 1", offset=5)
    assert later == [f"Adria Agro {n} d.o.o." for n in (14, 15, 16, 17, 18, 19, 21)]


def test_a_partner_renamed_or_deleted_by_sql_is_found_by_its_new_name_only(
    db: Session, cast: Cast
) -> None:
    """The SQLite trigram table follows the partners by triggers, whoever writes them."""
    root = cast.who(db, cast.root)
    partner = make_partner(db, root, "Stari Naziv d.o.o.")
    db.execute(update(Partner).where(Partner.id == partner.id).values(name_search="novi naziv doo"))
    assert _names(db, cast, q="stari") == [] and few_matches(db, "stari") in (None, [])
    assert len(_names(db, cast, q="novi naziv")) == 1
    db.delete(partner)
    db.flush()
    assert _names(db, cast, q="novi naziv") == [] and few_matches(db, "novi") in (None, [])
    assert db.scalar(select(Partner.id).where(Partner.id == partner.id)) is None
    assert SYSTEM.can("partners", "view")
