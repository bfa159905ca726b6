"""The partner's fields have one source: the columns of ``Partner`` declare how people
meet them (``records.describe``), and the record type's labels, the partner page, the
CSV export, the API and merging read those declarations. These tests fail when a field
is added in one place and not wired into the others."""

from __future__ import annotations

import re

from groupware.app import WEB_DIR
from groupware.crm.api import PartnerOut, PartnerPatch
from groupware.crm.merge import FILLED_FIELDS
from groupware.crm.models import PARTNERS_RECORD, Partner
from groupware.crm.partner_export import EXPORT_COLUMNS
from groupware.crm.partners import PartnerIn
from groupware.i18n import _l
from groupware.records import described

# Columns no person reads: search keys derived from the name and the city.
INTERNAL = {"id", "name_search", "city_search", "dedup_key"}
# Fields of the form that are not columns of the partner.
NOT_COLUMNS = {"tags"}


def test_every_partner_column_is_declared_or_internal() -> None:
    columns = {c.key for c in Partner.__table__.columns}
    assert columns - described(Partner).keys() == INTERNAL
    assert set(Partner.__history_exclude__) | {"id"} >= INTERNAL


def test_every_form_field_is_a_declared_column_and_on_the_form() -> None:
    declared = described(Partner)
    form = (WEB_DIR / "templates" / "crm" / "partner_form.html").read_text()
    for name in PartnerIn.model_fields:
        assert name in declared or name in NOT_COLUMNS, f"declare the column {name}"
        assert re.search(rf'\("{name}"', form), f"crm/partner_form.html lacks {name}"
    assert set(PartnerPatch.model_fields) == set(PartnerIn.model_fields)


def test_the_readers_take_every_declared_field() -> None:
    declared = described(Partner)
    for name, d in declared.items():
        assert PARTNERS_RECORD.fields[name] is d.label
        if d.show.kind != "text":
            assert PARTNERS_RECORD.values[name] == d.show
    exported = [label for label, _column in EXPORT_COLUMNS]
    assert exported[1:-1] == [d.label for d in declared.values() if d.export]
    assert [str(label) for label in (exported[0], exported[-1])] == ["ID", str(_l("Tags"))]
    api_fields = {d.ref or name for name, d in declared.items() if d.api}
    assert api_fields | {"id", "reps", "tags"} == set(PartnerOut.model_fields)
    assert set(FILLED_FIELDS) == {n for n, d in declared.items() if d.fill_on_merge}
    assert set(FILLED_FIELDS) <= set(PartnerIn.model_fields)
