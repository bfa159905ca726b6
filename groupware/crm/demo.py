"""The demo company's CRM: partner groups, territories matching the sales teams, the
assignment table, 3,000 partners spread over Croatia with persons and branches, and
two to three years of ERP documents.

Everything comes from one seeded random generator, so every install gets the same
company. Groups, territories and rules go through the services (they are few);
partners, their reps, persons, branches and documents are built in Python and written
with bulk inserts, reps given by the assignment table's :class:`Matcher`, and their
history written with :func:`groupware.history.recorder.record` (channel ``cli``), so
that the whole CRM loads in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.crm import reference
from groupware.crm.models import (
    Branch,
    County,
    Document,
    Partner,
    PartnerGroup,
    PartnerRep,
    PartnerTag,
    Person,
    Tag,
)
from groupware.crm.normalize import city_key, dedup_key, fold, search_text
from groupware.crm.territories import assignment
from groupware.crm.territories import service as territories
from groupware.db import Base, utcnow
from groupware.history.recorder import record

SEED = 20261127
PARTNERS = 3000

GROUPS = [
    ("Veleprodaja", "Trgovci na veliko i distributeri"),
    ("Maloprodaja", "Trgovine i kupci na malo"),
    ("HoReCa", "Hoteli, restorani i kafići"),
    ("Javni sektor", "Škole, bolnice, općine i ustanove"),
    ("Proizvodnja", "Proizvođači i obrtnici"),
    ("Dobavljači", "Od njih kupujemo"),
    ("Servisni partneri", "Ovlašteni servisi i montažeri"),
]
GROUP_WEIGHTS = (22, 30, 16, 6, 12, 8, 6)

# name, description, county codes
TERRITORIES = [
    ("Zagreb", "Grad Zagreb, Zagrebačka i Krapinsko-zagorska", ("HR-21", "HR-01", "HR-02")),
    (
        "Dalmacija",
        "Splitsko-dalmatinska, Zadarska i Dubrovačko-neretvanska",
        ("HR-17", "HR-13", "HR-19"),
    ),
    (
        "Slavonija",
        "Osječko-baranjska, Vukovarsko-srijemska i Brodsko-posavska",
        ("HR-14", "HR-16", "HR-12"),
    ),
    ("Istra i Kvarner", "Istarska i Primorsko-goranska", ("HR-18", "HR-08")),
]

# territory, group (None: any), priority, reps, note
RULES = [
    ("Zagreb", "HoReCa", 10, ("tomislav",), "HoReCa u Zagrebu vodi Tomislav"),
    ("Zagreb", "Javni sektor", 10, ("marko",), "Javne nabave"),
    ("Zagreb", "Dobavljači", 10, ("katarina", "josip"), "Dobavljači idu nabavi"),
    ("Zagreb", None, 100, ("ivana", "tomislav"), ""),
    ("Dalmacija", "HoReCa", 10, ("luka",), "Sezona: hoteli i restorani"),
    ("Dalmacija", "Dobavljači", 10, ("katarina",), "Dobavljači idu nabavi"),
    ("Dalmacija", None, 100, ("luka", "petra"), ""),
    ("Slavonija", "Proizvodnja", 10, ("maja",), "Prehrambena industrija"),
    ("Slavonija", "Dobavljači", 10, ("katarina",), "Dobavljači idu nabavi"),
    ("Slavonija", None, 100, ("filip", "maja"), ""),
    ("Istra i Kvarner", None, 200, ("ivana",), "Privremeno, dok ne zaposlimo komercijalista"),
]

TAGS = ("ključni kupac", "vip", "novi kupac", "izvoz", "e-račun", "rizik naplate", "sezonski")
FUNCTIONS = (
    "Direktor",
    "Vlasnik",
    "Voditelj nabave",
    "Nabava",
    "Računovodstvo",
    "Komercijala",
    "Voditelj skladišta",
    "Tajništvo",
    "Marketing",
)
BRANCH_KINDS = ("Poslovnica", "Skladište", "Prodavaonica", "Pogon")
FOREIGN = [
    ("SI", "Ljubljana", "1000"),
    ("AT", "Graz", "8010"),
    ("DE", "München", "80331"),
    ("BA", "Mostar", "88000"),
    ("IT", "Trieste", "34121"),
    ("HU", "Pécs", "7621"),
]
# kind, number prefix
DOCUMENT_PREFIX = {"offer": "PON", "order": "NAR", "delivery_note": "OTP", "invoice": "RAC"}
CENT = decimal.Decimal("0.01")
_CUM_WEIGHTS = list(itertools.accumulate(c.weight for c in reference.CITIES))
VAT = decimal.Decimal("1.25")


@dataclass(frozen=True)
class Loaded:
    """What the demo wrote, for the message and the tests."""

    partners: int
    persons: int
    branches: int
    documents: int
    unassigned: int


def oib(rng: random.Random) -> str:
    """A random OIB with a correct ISO 7064 MOD 11,10 check digit."""
    digits = f"{rng.randrange(10**10):010d}"
    remainder = 10
    for digit in digits:
        remainder = (remainder + int(digit)) % 10 or 10
        remainder = remainder * 2 % 11
    check = 11 - remainder
    return digits + str(0 if check == 10 else check)


def load_crm_demo(
    session: Session,
    users: Mapping[str, User],
    *,
    partners: int = PARTNERS,
    today: dt.date | None = None,
) -> Loaded:
    """Write the demo CRM (the caller's transaction; run it once)."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, the same on every install
    today = today or dt.date.today()
    groups = _groups(session)
    _territories(session, users, groups)
    counties = {code: cid for code, cid in session.execute(select(County.code, County.id))}
    names = {u.id: u.full_name for u in users.values()}
    rows = [_partner(rng, counties, groups, today) for _ in range(partners)]
    seen: set[str] = set()
    for row in rows:  # an OIB is unique; ten random digits may meet again
        while row["oib"] in seen:
            row["oib"] = oib(rng)
            row["vat_id"] = f"HR{row['oib']}" if row["vat_id"] else ""
        if row["oib"]:
            seen.add(row["oib"])
    matcher = assignment.load_matcher(session)
    for row in rows:
        match = matcher.match(
            row["country"], row["county_id"], search_text(row["city"]), row["postal_code"],
            row["group_id"],
        )  # fmt: skip
        row.update(territory_id=match.territory_id, owner_id=match.owner_id)
        row["assignment_rule_id"] = match.rule_id
        row["_reps"] = list(match.rep_ids[1:])
    ids = _insert(session, Partner, rows)
    for row, partner_id in zip(rows, ids, strict=True):
        row["id"] = partner_id
    rep_rows = [
        {"partner_id": r["id"], "user_id": u, "source": "rule"} for r in rows for u in r["_reps"]
    ]
    if rep_rows:
        session.execute(insert(_table(PartnerRep)), rep_rows)
    tags = _tags(session, rng, rows)
    record(session, (_partner_history(r, names, tags.get(r["id"], ())) for r in rows))
    branches = _branches(session, rng, rows, counties)
    persons = _persons(session, rng, rows, branches)
    documents = _documents(session, rng, rows, today)
    session.expire_all()
    return Loaded(
        partners=len(rows),
        persons=persons,
        branches=sum(len(b) for b in branches.values()),
        documents=documents,
        unassigned=sum(1 for r in rows if r["owner_id"] is None),
    )


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (keys starting with ``_`` are ours) and return their new ids."""
    table = _table(model)
    values = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    query = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(query, values).scalars())


def _groups(session: Session) -> dict[str, int]:
    for name, description in GROUPS:
        session.add(PartnerGroup(name=name, description=description))
    session.flush()
    return {g.name: g.id for g in session.scalars(select(PartnerGroup))}


def _territories(session: Session, users: Mapping[str, User], groups: Mapping[str, int]) -> None:
    codes = {code: cid for code, cid in session.execute(select(County.code, County.id))}
    saved = {}
    for name, description, counties in TERRITORIES:
        areas = [territories.AreaIn(county_id=codes[c]) for c in counties]
        data = territories.TerritoryIn(name=name, description=description, areas=areas)
        saved[name] = territories.save_territory(session, None, data)
    for territory, group, priority, reps, note in RULES:
        rule = territories.RuleIn(
            territory_id=saved[territory].id,
            group_id=groups[group] if group else None,
            priority=priority,
            rep_ids=[users[r].id for r in reps],
            note=note,
        )
        territories.save_rule(session, None, rule)
    session.flush()


def _partner(
    rng: random.Random, counties: Mapping[str, int], groups: Mapping[str, int], today: dt.date
) -> dict[str, Any]:
    company = rng.random() < 0.88
    if rng.random() < 0.02:
        country, city, postal = rng.choice(FOREIGN)
        county_id, area = None, ""
    else:
        ref = rng.choices(reference.CITIES, cum_weights=_CUM_WEIGHTS)[0]
        country, city, postal = "HR", ref.name, ref.postal_code
        county_id, area = counties[ref.county_code], _area_code(ref.postal_code)
    first, last = rng.choice(reference.FIRST_NAMES), rng.choice(reference.LAST_NAMES)
    name = _company_name(rng, last, city) if company else f"{first} {last}"
    number = "" if country != "HR" or rng.random() < 0.04 else oib(rng)
    group = rng.choices(list(groups.values()), weights=GROUP_WEIGHTS)[0] if company else None
    domain = "-".join(search_text(_stem(name)).split()[:2]) + (".hr" if country == "HR" else ".eu")
    email = f"info@{domain}" if company else f"{fold(first)}.{fold(last)}@gmail.com"
    created = utcnow() - dt.timedelta(days=rng.randint(30, 3 * 365 + 60))
    phone = f"+385 {area} {rng.randint(200, 799)} {rng.randint(100, 999)}" if area else ""
    mobile = f"+385 9{rng.choice('12589')} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return {
        "kind": "company" if company else "person",
        "name": name,
        "name_search": search_text(name),
        "city_search": city_key(city),
        "dedup_key": dedup_key(name, city),
        "oib": number or None,
        "vat_id": f"HR{number}" if number and company and rng.random() < 0.8 else "",
        "external_id": None,
        "group_id": group,
        "status": rng.choices(("active", "prospect", "inactive"), weights=(82, 11, 7))[0],
        "street": f"{rng.choice(reference.STREETS)} {rng.randint(1, 160)}",
        "postal_code": postal,
        "city": city,
        "county_id": county_id,
        "country": country,
        "phones": ", ".join(p for p in (phone, mobile) if p),
        "email": email,
        "emails": f"racuni@{domain}" if company and rng.random() < 0.3 else "",
        "web": f"https://www.{domain}" if company and rng.random() < 0.55 else "",
        "notes": "",
        "manual_assignment": False,
        "created_at": created,
        "updated_at": created,
        "_size": rng.choices((1, 4, 15), weights=(60, 30, 10))[0] if company else 1,
    }


def _area_code(postal_code: str) -> str:
    """Croatian telephone area codes follow the postal regions; Zagreb's is 1."""
    return "1" if postal_code.startswith("10") else postal_code[:2]


def _company_name(rng: random.Random, last: str, city: str) -> str:
    words = reference.COMPANY_WORDS
    form = rng.choices(reference.LEGAL_FORMS, weights=(60, 15, 12, 5, 4, 4))[0]
    style = rng.random()
    if form == "obrt":
        return f"{rng.choice(words)} {last}, obrt"
    if style < 0.5:
        first, second = rng.sample(words, 2)
        return f"{first} {second} {form}"
    if style < 0.75:
        return f"{rng.choice(words)} {city} {form}"
    return f"{last} {rng.choice(words)} {form}"


def _stem(name: str) -> str:
    """A company name without its legal form, for its web domain."""
    return name.removesuffix(", obrt") if name.endswith(", obrt") else name.rsplit(" ", 1)[0]


def _tags(
    session: Session, rng: random.Random, rows: Sequence[dict[str, Any]]
) -> dict[int, list[str]]:
    ids = _insert(session, Tag, [{"name": t} for t in TAGS])
    by_name = dict(zip(TAGS, ids, strict=True))
    chosen: dict[int, list[str]] = {}
    for row in rows:
        if rng.random() < 0.35:
            chosen[row["id"]] = sorted(rng.sample(TAGS, rng.choice((1, 1, 2))))
    links = [{"partner_id": p, "tag_id": by_name[t]} for p, names in chosen.items() for t in names]
    session.execute(insert(_table(PartnerTag)), links)
    return chosen


def _partner_history(
    row: dict[str, Any], names: Mapping[int, str], tags: Iterable[str]
) -> dict[str, Any]:
    skip = {"id", "name_search", "city_search", "dedup_key", "created_at", "updated_at"}
    changes: dict[str, list[Any]] = {
        k: [None, v] for k, v in row.items() if k not in skip and not k.startswith("_") and v
    }
    if row["_reps"]:
        changes["rep"] = [None, ", ".join(names.get(u, str(u)) for u in row["_reps"])]
    if tags:
        changes["tag"] = [None, ", ".join(tags)]
    changes.pop("created_at", None)
    return {
        "action": "create",
        "record_type": "partners",
        "record_id": row["id"],
        "label": row["name"][:300],
        "changes": _jsonable(changes),
    }


def _jsonable(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {k: [None if v is None else v if isinstance(v, int | str | bool) else str(v)
                for v in pair] for k, pair in changes.items()}  # fmt: skip


def _history(
    session: Session, record_type: str, rows: Sequence[dict[str, Any]], label: Callable[..., str]
) -> None:
    skip = {"id", "created_at"}
    record(
        session,
        (
            {
                "action": "create",
                "record_type": record_type,
                "record_id": row["id"],
                "label": label(row)[:300],
                "changes": _jsonable(
                    {k: [None, v] for k, v in row.items() if k not in skip and v not in ("", None)}
                ),
            }
            for row in rows
        ),
    )


def _branches(
    session: Session,
    rng: random.Random,
    partners: Sequence[dict[str, Any]],
    counties: Mapping[str, int],
) -> dict[int, list[int]]:
    rows = []
    for partner in partners:
        if partner["kind"] != "company" or partner["country"] != "HR" or rng.random() > 0.1:
            continue
        for _ in range(rng.choice((1, 1, 2, 3))):
            ref = rng.choices(reference.CITIES, cum_weights=_CUM_WEIGHTS)[0]
            rows.append(
                {
                    "partner_id": partner["id"],
                    "name": f"{rng.choice(BRANCH_KINDS)} {ref.name}",
                    "street": f"{rng.choice(reference.STREETS)} {rng.randint(1, 120)}",
                    "postal_code": ref.postal_code,
                    "city": ref.name,
                    "county_id": counties[ref.county_code],
                    "country": "HR",
                    "phones": f"+385 {_area_code(ref.postal_code)} {rng.randint(200, 799)} "
                    f"{rng.randint(100, 999)}",
                    "email": "",
                    "notes": "",
                }
            )
    ids = _insert(session, Branch, rows)
    found: dict[int, list[int]] = {}
    for row, branch_id in zip(rows, ids, strict=True):
        row["id"] = branch_id
        found.setdefault(row["partner_id"], []).append(branch_id)
    _history(session, "branches", rows, lambda r: r["name"])
    return found


def _persons(
    session: Session,
    rng: random.Random,
    partners: Sequence[dict[str, Any]],
    branches: Mapping[int, list[int]],
) -> int:
    rows = []
    for partner in partners:
        if partner["kind"] != "company":
            continue
        domain = partner["email"].partition("@")[2]
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            first, last = rng.choice(reference.FIRST_NAMES), rng.choice(reference.LAST_NAMES)
            consent = rng.random() < 0.6
            rows.append(
                {
                    "partner_id": partner["id"],
                    "branch_id": rng.choice(branches[partner["id"]])
                    if partner["id"] in branches and rng.random() < 0.5
                    else None,
                    "first_name": first,
                    "last_name": last,
                    "function": rng.choice(FUNCTIONS),
                    "phones": f"+385 9{rng.choice('12589')} {rng.randint(100, 999)} "
                    f"{rng.randint(1000, 9999)}",
                    "email": f"{fold(first)}.{fold(last)}@{domain}".replace(" ", ""),
                    "external_id": None,
                    "mailing_consent": consent,
                    "opted_out_at": None,
                    "notes": "",
                }
            )
    ids = _insert(session, Person, rows)
    for row, person_id in zip(rows, ids, strict=True):
        row["id"] = person_id
    _history(session, "persons", rows, lambda r: f"{r['first_name']} {r['last_name']}")
    return len(rows)


def _documents(
    session: Session, rng: random.Random, partners: Sequence[dict[str, Any]], today: dt.date
) -> int:
    numbers: dict[tuple[str, int], int] = {}
    rows: list[dict[str, Any]] = []

    def add(kind: str, day: dt.date, partner_id: int, net: decimal.Decimal, **values: Any) -> None:
        key = (kind, day.year)
        numbers[key] = numbers.get(key, 0) + 1
        gross = (net * VAT).quantize(CENT)
        rows.append(
            {
                "kind": kind,
                "number": f"{DOCUMENT_PREFIX[kind]}-{day.year}-{numbers[key]:06d}",
                "date": day,
                "due_date": values.get("due_date"),
                "partner_id": partner_id,
                "net_amount": net,
                "gross_amount": gross,
                "currency": "EUR",
                "status": values.get("status", "closed"),
                "open_amount": gross if values.get("open") else decimal.Decimal(0),
            }
        )

    for partner in partners:
        if partner["status"] == "prospect" or rng.random() < 0.12:
            continue
        years = rng.uniform(2.0, 3.0)
        start = today - dt.timedelta(days=int(365 * years))
        if partner["status"] == "inactive":
            today_of = start + dt.timedelta(days=int(365 * years * 0.6))
        else:
            today_of = today
        cycles = max(1, round(rng.gauss(1.2, 0.5) * years * partner["_size"] ** 0.5))
        size = {1: 400, 4: 2500, 15: 12000}[partner["_size"]]
        for _ in range(cycles):
            offered = start + dt.timedelta(days=rng.randint(0, (today_of - start).days))
            net = decimal.Decimal(rng.lognormvariate(0, 0.7) * size).quantize(CENT)
            age = (today - offered).days
            if rng.random() < 0.3:  # not taken up
                status = "open" if age < 30 else "cancelled"
                add("offer", offered, partner["id"], net * decimal.Decimal("1.05"), status=status)
                continue
            add("offer", offered, partner["id"], net * decimal.Decimal("1.05"))
            ordered = offered + dt.timedelta(days=rng.randint(1, 14))
            if ordered > today:
                continue
            delivered = ordered + dt.timedelta(days=rng.randint(1, 10))
            if delivered > today:
                add("order", ordered, partner["id"], net, status="open", open=True)
                continue
            add("order", ordered, partner["id"], net)
            add("delivery_note", delivered, partner["id"], net)
            due = delivered + dt.timedelta(days=rng.choice((15, 30, 30, 60)))
            unpaid = due >= today or rng.random() < 0.04  # a few overdue
            add(
                "invoice",
                delivered,
                partner["id"],
                net,
                due_date=due,
                status="open" if unpaid else "closed",
                open=unpaid,
            )
    for row in rows:
        row["net_amount"] = row["net_amount"].quantize(CENT)
        row["gross_amount"] = (row["net_amount"] * VAT).quantize(CENT)
        if row["open_amount"]:
            row["open_amount"] = row["gross_amount"]
    if rows:
        session.execute(insert(_table(Document)), rows)
    return len(rows)
