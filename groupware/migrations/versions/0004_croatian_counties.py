"""Croatian counties (županije): reference data for addresses and territories

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# ISO 3166-2:HR code, name, postal-code prefixes (longest match wins; see
# groupware/crm/reference.py, which this copies as of this revision).
COUNTIES = [
    ("HR-01", "Zagrebačka županija", "1029,1031,1034,1037,1038,104,10255"),
    ("HR-02", "Krapinsko-zagorska županija", "49"),
    ("HR-03", "Sisačko-moslavačka županija", "44"),
    ("HR-04", "Karlovačka županija", "47"),
    ("HR-05", "Varaždinska županija", "42"),
    ("HR-06", "Koprivničko-križevačka županija", "48"),
    ("HR-07", "Bjelovarsko-bilogorska županija", "43"),
    ("HR-08", "Primorsko-goranska županija", "51"),
    ("HR-09", "Ličko-senjska županija", "53"),
    ("HR-10", "Virovitičko-podravska županija", "33"),
    ("HR-11", "Požeško-slavonska županija", "34"),
    ("HR-12", "Brodsko-posavska županija", "35"),
    ("HR-13", "Zadarska županija", "23"),
    ("HR-14", "Osječko-baranjska županija", "31"),
    ("HR-15", "Šibensko-kninska županija", "22"),
    ("HR-16", "Vukovarsko-srijemska županija", "32"),
    ("HR-17", "Splitsko-dalmatinska županija", "21"),
    ("HR-18", "Istarska županija", "52"),
    ("HR-19", "Dubrovačko-neretvanska županija", "20"),
    ("HR-20", "Međimurska županija", "40"),
    ("HR-21", "Grad Zagreb", "100,101,1025,1036,10373"),
]

counties = sa.table(
    "counties",
    sa.column("country", sa.String),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("postal_prefixes", sa.String),
)


def upgrade() -> None:
    op.bulk_insert(
        counties,
        [
            {"country": "HR", "code": code, "name": name, "postal_prefixes": prefixes}
            for code, name, prefixes in COUNTIES
        ],
    )


def downgrade() -> None:
    op.execute(counties.delete().where(counties.c.country == "HR"))
