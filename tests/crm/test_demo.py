"""The demo company's CRM: loaded once, with valid data, reps as the assignment table
gives them, a non-empty unassigned queue, persons, branches and ERP documents."""

from __future__ import annotations

import datetime as dt
import decimal
import random
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware.access.policy import load_who
from groupware.accounts.models import User
from groupware.crm import demo
from groupware.crm.documents import open_items, totals_per_year
from groupware.crm.models import (
    AssignmentRule,
    Branch,
    County,
    Document,
    Partner,
    PartnerGroup,
    PartnerRep,
    Person,
    Territory,
)
from groupware.crm.normalize import oib_is_valid
from groupware.crm.partners import PartnerFilter, PartnerIn, partner_query
from groupware.crm.territories import assignment
from groupware.demo import load_demo
from groupware.history.models import Change
from tests.conftest import Demo


def test_the_demo_loads_a_valid_crm_once(demo_company: Demo) -> None:
    database = demo_company.database
    assert demo_company.loaded is True
    assert load_demo(database) is False
    with demo_company.reading() as session:
        assert _count(session, Partner) == demo.PARTNERS
        assert _count(session, PartnerGroup) == len(demo.GROUPS)
        assert _count(session, Territory) == len(demo.TERRITORIES)
        assert _count(session, AssignmentRule) == len(demo.RULES)
        _check_partners(session)
        _check_assignment(session)
        _check_contacts(session)
        _check_documents(session)


def _count(session: Session, model: type[object]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _check_partners(session: Session) -> None:
    partners = list(session.scalars(select(Partner)))
    oibs = [p.oib for p in partners if p.oib]
    assert len(oibs) > 0.9 * len(partners)
    assert all(oib_is_valid(o) for o in oibs)
    assert len(set(oibs)) == len(oibs)
    fields = set(PartnerIn.model_fields) - {"tags"}
    for partner in partners:
        values = {name: getattr(partner, name) for name in fields}
        values.update(oib=partner.oib or "", external_id="")
        PartnerIn.model_validate(values)  # what a form or import would accept
    kinds = Counter(p.kind for p in partners)
    assert kinds["person"] > 100 and kinds["company"] > 2000
    cities = Counter(p.city for p in partners)
    assert cities.most_common(1)[0][0] == "Zagreb"
    assert len(cities) > 60
    assert {p.country for p in partners} > {"HR", "SI"}
    created = session.scalars(
        select(Change.record_id).where(
            Change.record_type == "partners", Change.action == "create", Change.channel == "cli"
        )
    )
    assert set(created) == {p.id for p in partners}


def _check_assignment(session: Session) -> None:
    matcher = assignment.load_matcher(session)
    # Every partner has the reps, territory and rule the table gives it right now.
    assert assignment.preview_reassignment(session, matcher) == (0, [])
    assert 100 < assignment.unassigned_count(session) < 1000
    users = {u.username: u for u in session.scalars(select(User))}
    horeca = session.scalar(select(PartnerGroup.id).where(PartnerGroup.name == "HoReCa"))
    zagreb = session.scalar(select(County.id).where(County.code == "HR-21"))
    owners = Counter(
        session.scalars(
            select(Partner.owner_id).where(Partner.group_id == horeca, Partner.county_id == zagreb)
        )
    )
    assert set(owners) == {users["tomislav"].id}
    further = session.scalars(
        select(PartnerRep.user_id).join(Partner).where(Partner.owner_id == users["ivana"].id)
    )
    assert set(further) == {users["tomislav"].id}
    # A territory rep sees her territory's partners, and only those.
    ivana = load_who(session, users["ivana"])
    visible = list(session.scalars(partner_query(ivana, PartnerFilter())))
    mine = {t for t in assignment.covered_territories(session, users["ivana"].id)}
    assert len(visible) > 500
    assert all(p.territory_id in mine or p.owner_id == users["ivana"].id for p in visible)


def _check_contacts(session: Session) -> None:
    per_company = Counter(
        session.scalars(select(Person.partner_id).join(Partner).where(Partner.kind == "company"))
    )
    companies = _count_where(session, Partner.kind == "company")
    assert len(per_company) == companies
    assert set(per_company.values()) == {1, 2, 3}
    assert 200 < _count(session, Branch) < 1000
    with_branch = session.scalar(select(func.count()).where(Person.branch_id.is_not(None)))
    assert with_branch and with_branch > 50


def _count_where(session: Session, condition: object) -> int:
    return int(session.scalar(select(func.count()).select_from(Partner).where(condition)) or 0)  # type: ignore[arg-type]


def _check_documents(session: Session) -> None:
    today = dt.date.today()
    documents = list(session.scalars(select(Document)))
    assert 20_000 < len(documents) < 60_000
    assert {d.kind for d in documents} == {"offer", "order", "delivery_note", "invoice"}
    assert all(d.gross_amount == (d.net_amount * decimal.Decimal("1.25")).quantize(
        decimal.Decimal("0.01")) for d in documents)  # fmt: skip
    assert min(d.date for d in documents) >= today - dt.timedelta(days=3 * 366)
    assert max(d.date for d in documents) <= today
    overdue = [
        d for d in documents if d.kind == "invoice" and d.status == "open" and d.due_date < today
    ]
    assert overdue and all(d.open_amount == d.gross_amount for d in overdue)
    partners = {d.partner_id for d in documents}
    assert len(partners) > 0.6 * demo.PARTNERS
    root = load_who(session, session.scalars(select(User).where(User.username == "ana")).one())
    busiest = Counter(d.partner_id for d in documents).most_common(1)[0][0]
    years = {t.year for t in totals_per_year(session, root, busiest)}
    assert len(years) >= 2
    assert open_items(session, root, overdue[0].partner_id)


def test_demo_partners_are_the_same_on_every_install() -> None:
    counties = {c.code: i for i, c in enumerate(demo.reference.COUNTIES, 1)}
    groups = {name: i for i, (name, _text) in enumerate(demo.GROUPS, 1)}
    today = dt.date(2026, 1, 1)

    def names(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [demo._partner(rng, counties, groups, today)["name"] for _ in range(50)]

    assert names(demo.SEED) == names(demo.SEED) != names(demo.SEED + 1)
    rng = random.Random(1)
    assert all(oib_is_valid(demo.oib(rng)) for _ in range(1000))
