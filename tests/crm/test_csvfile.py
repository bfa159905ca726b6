from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import time
from decimal import Decimal
from pathlib import Path

import pytest

from groupware.crm.importing import csvfile
from groupware.crm.importing.csvfile import (
    DOCUMENT_FIELDS,
    PARTNER_FIELDS,
    PERSON_FIELDS,
    CsvError,
    Dialect,
    column_indexes,
    count_rows,
    detect,
    iter_csv,
    parse_bool,
    parse_local_date,
    parse_local_decimal,
    ragged,
    restore_cell,
    rows,
    safe_cell,
    suggest_mapping,
    write_csv,
)

PARTNERS = [
    ["Naziv", "OIB", "Adresa", "Mjesto", "Napomena"],
    ["Čakovečki mlinovi d.d.", "12345678903", "Mlinska 1", "Čakovec", "šećer; žito, brašno"],
    ["Đuro Đaković d.d.", "98765432106", "Dr. Mile Budaka 1", "Slavonski Brod", ""],
    ["Šibenski most d.o.o.", "11111111119", "Obala 2", "Šibenik", "ČĆĐŠŽ čćđšž"],
    ["Žminjka j.d.o.o.", "22222222228", "Trg 3", "Žminj", ""],
]


def write(
    path: Path,
    table: list[list[str]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ";",
    newline: str = "\r\n",
) -> Path:
    """A file as Excel writes it: quotes only where a cell needs them."""
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator=newline).writerows(table)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read_all(path: Path, dialect: Dialect | None = None) -> list[tuple[int, list[str]]]:
    return list(rows(path, dialect or detect(path)))


# --- detecting and reading --------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1250", "iso-8859-2", "utf-16"])
def test_it_reads_each_encoding_and_delimiter_excel_writes(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    path = write(tmp_path / "partneri.csv", PARTNERS, encoding=encoding, delimiter=delimiter)

    dialect = detect(path)

    assert dialect == Dialect(encoding, delimiter, PARTNERS[0], 5)
    assert read_all(path, dialect) == list(enumerate(PARTNERS[1:], start=2))


def test_it_reads_utf16_big_endian_by_its_bom(tmp_path: Path) -> None:
    text = "\r\n".join("\t".join(row) for row in PARTNERS)
    path = write_bytes(tmp_path / "unicode.txt", codecs.BOM_UTF16_BE + text.encode("utf-16-be"))

    dialect = detect(path)

    assert (dialect.encoding, dialect.delimiter) == ("utf-16", "\t")
    assert [cells for _, cells in rows(path, dialect)] == PARTNERS[1:]


def test_windows_1250_is_chosen_when_both_8_bit_encodings_would_read_the_same(
    tmp_path: Path,
) -> None:
    # Without š or ž the bytes of č ć đ are the same in both; Excel in Croatia writes 1250.
    path = write(tmp_path / "a.csv", [["Naziv"], ["Čakovec Đakovo ćevapi"]], encoding="cp1250")

    assert detect(path).encoding == "cp1250"


def test_plain_ascii_is_read_as_utf8(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [["Name", "City"], ["Konzum", "Zagreb"]])

    assert detect(path).encoding == "utf-8"


def test_a_delimiter_inside_unquoted_cells_does_not_win(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "a.csv",
        "Naziv;Adresa;Iznos\r\n"
        "Podravka, d.d.;Ante Starčevića 32, Koprivnica;1234,56\r\n"
        "Konzum;Zagreb;12,5\r\n".encode(),
    )

    dialect = detect(path)

    assert (dialect.delimiter, dialect.columns) == (";", 3)


def test_quoted_cells_keep_delimiters_quotes_and_line_breaks(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "a.csv",
        (
            'Naziv;Napomena\r\n"Čakovečki mlinovi; d.d.";"prvi red\r\ndrugi red\r\n""treći"""\r\n'
            "Žminjka;  ima razmake  \r\n"
        ).encode("cp1250"),
    )

    # Row numbers are Excel's: the record after a two-line cell is row 3, not line 5.
    assert read_all(path) == [
        (2, ["Čakovečki mlinovi; d.d.", 'prvi red\r\ndrugi red\r\n"treći"']),
        (3, ["Žminjka", "ima razmake"]),
    ]


def test_blank_rows_are_skipped_but_keep_their_number(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "a.csv", b"Naziv;Mjesto\r\nA;Zagreb\r\n\r\n;  \r\nB;Split\r\n;\r\n"
    )

    assert read_all(path) == [(2, ["A", "Zagreb"]), (5, ["B", "Split"])]
    assert count_rows(path, detect(path)) == 2


def test_ragged_rows_are_yielded_and_flagged(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path / "a.csv",
        b"Naziv;OIB;Mjesto\r\nA;1;Zagreb\r\nB;2\r\nC;3;Split;extra\r\nD;4;Rijeka;\r\n",
    )
    dialect = detect(path)

    found = [(number, ragged(cells, dialect)) for number, cells in rows(path, dialect)]

    # A trailing empty cell loses nothing and is not flagged.
    assert found == [(2, False), (3, True), (4, True), (5, False)]


def test_a_first_row_of_data_is_not_taken_for_a_header(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", PARTNERS[1:], encoding="cp1250")

    dialect = detect(path)

    assert (dialect.header, dialect.columns) == ([], 5)
    assert read_all(path, dialect)[0] == (1, PARTNERS[1])


def test_a_row_naming_known_fields_is_a_header_even_with_numbers_in_it(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", b"Naziv;2025;2026\r\nKonzum;1.234,56;2.345,67\r\n")

    assert detect(path).header == ["Naziv", "2025", "2026"]


def test_detect_works_out_the_rest_from_the_users_corrections(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", PARTNERS, encoding="iso-8859-2")

    dialect = detect(path, encoding="cp1250", delimiter=",", has_header=False)

    assert (dialect.encoding, dialect.delimiter, dialect.header) == ("cp1250", ",", [])
    assert detect(path, has_header=True).header == PARTNERS[0]
    with pytest.raises(LookupError):
        detect(path, encoding="no-such-encoding")


def test_an_empty_file_has_no_rows(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", b"")

    dialect = detect(path)

    assert dialect == Dialect("utf-8", ";", [], 0)
    assert read_all(path, dialect) == []
    assert count_rows(path, dialect) == 0


def test_a_header_only_file_has_a_header_and_no_rows(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", codecs.BOM_UTF8 + "Naziv;OIB;Poštanski broj".encode())

    dialect = detect(path)

    assert dialect == Dialect("utf-8-sig", ";", ["Naziv", "OIB", "Poštanski broj"], 3)
    assert read_all(path, dialect) == []
    assert count_rows(path, dialect) == 0


def test_old_mac_line_endings_are_read(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", PARTNERS, encoding="cp1250", newline="\r")

    assert [cells for _, cells in read_all(path)] == PARTNERS[1:]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64])
@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("utf-8", "\r\n"), ("utf-8-sig", "\n"), ("utf-16", "\r\n"), ("cp1250", "\r")],
)
def test_chunk_boundaries_do_not_change_what_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_size: int, encoding: str, newline: str
) -> None:
    table = [*PARTNERS, ["Više\r\nredova", "1", "", "Čakovec", '"citat"']]
    path = write(tmp_path / "a.csv", table, encoding=encoding, newline=newline)
    dialect = detect(path)
    expected = read_all(path, dialect)
    monkeypatch.setattr(csvfile, "CHUNK_SIZE", chunk_size)

    assert read_all(path, dialect) == expected
    assert [cells for _, cells in expected] == table[1:]


def test_a_byte_the_encoding_cannot_read_stops_at_its_row(tmp_path: Path) -> None:
    # 0x81 is unassigned in Windows-1250.
    data = "Naziv\r\nČakovec\r\nŽminj\r\n".encode("cp1250") + b"Kr\x81k\r\nRab\r\n"
    path = write_bytes(tmp_path / "a.csv", data)
    dialect = Dialect("cp1250", ";", ["Naziv"], 1)
    read: list[int] = []

    with pytest.raises(CsvError) as raised:
        for number, _ in rows(path, dialect):
            read.append(number)

    assert read == [2, 3]
    assert (raised.value.row, raised.value.code) == (4, "encoding")
    assert raised.value.message.startswith('byte 81 after "Kr" is not Windows-1250 text')
    with pytest.raises(CsvError):
        count_rows(path, dialect)


def test_a_nul_byte_stops_at_its_row_and_never_reaches_the_header(tmp_path: Path) -> None:
    """No text may hold NUL (PostgreSQL cannot store it: an upload with one in its first
    row was a 500); read as a byte no encoding reads, it names its row."""
    data = b"Naziv;Mjesto\r\nKonzum;Zagreb\r\nPlodine;Ri\x00jeka\r\nRab;Rab\r\n"
    path = write_bytes(tmp_path / "a.csv", data)
    dialect = detect(path)
    read: list[int] = []

    with pytest.raises(CsvError) as raised:
        for number, _ in rows(path, dialect):
            read.append(number)

    assert read == [2]
    assert (raised.value.row, raised.value.code) == (3, "encoding")
    assert raised.value.message.startswith('byte 00 after "Plodine;Ri" is not UTF-8 text')
    with pytest.raises(CsvError):
        count_rows(path, dialect)
    header = write_bytes(tmp_path / "b.csv", b"Naziv;Mj\x00esto\r\nKonzum;Zagreb\r\n")
    assert detect(header).header == ["Naziv", "Mj\ufffdesto"]
    with pytest.raises(CsvError) as raised:
        list(rows(header, detect(header)))
    assert raised.value.row == 1


def test_a_bad_byte_after_the_sniffed_sample_is_reported_with_its_row(tmp_path: Path) -> None:
    # A UTF-8 file with one row pasted in from a Windows-1250 file, far after 64 KB.
    lines = [f"Čakovečki mlinovi {n};Čakovec;{n}\r\n".encode() for n in range(2, 3002)]
    lines[2500] = "Šibenik;Šibenik;2502\r\n".encode("cp1250")
    data = b"Naziv;Mjesto;Broj\r\n" + b"".join(lines)
    path = write_bytes(tmp_path / "a.csv", data)
    dialect = detect(path)
    assert len(data) > csvfile.SAMPLE_SIZE and dialect.encoding == "utf-8"

    with pytest.raises(CsvError) as raised:
        for _ in rows(path, dialect):
            pass

    assert raised.value.row == 2502
    assert "not UTF-8 text" in str(raised.value)


def test_a_bad_byte_in_a_multiline_cell_names_the_row_the_record_starts_on(
    tmp_path: Path,
) -> None:
    path = write_bytes(
        tmp_path / "a.csv", b'Naziv;Napomena\r\nA;"prvi\r\ndrugi \xff red"\r\nB;x\r\n'
    )

    with pytest.raises(CsvError) as raised:
        read_all(path, Dialect("utf-8", ";", ["Naziv", "Napomena"], 2))

    assert raised.value.row == 2


def test_a_quote_left_open_is_reported_at_its_row(tmp_path: Path) -> None:
    body = "".join(f"Partner {n};Zagreb\r\n" for n in range(10_000))
    path = write_bytes(
        tmp_path / "a.csv", f'Naziv;Mjesto\r\nA;Split\r\n"B;Rijeka\r\n{body}'.encode()
    )

    with pytest.raises(CsvError) as raised:
        read_all(path, Dialect("utf-8", ";", ["Naziv", "Mjesto"], 2))

    assert (raised.value.row, raised.value.code) == (3, "format")
    assert "quote" in raised.value.message


def test_start_row_skips_the_rows_before_it(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", PARTNERS)
    dialect = detect(path)

    assert [n for n, _ in rows(path, dialect, start_row=4)] == [4, 5]
    assert next(rows(path, dialect, start_row=1)) == (1, PARTNERS[0])


def test_count_rows_counts_what_rows_yields(tmp_path: Path) -> None:
    table = [*PARTNERS, ["", "", "", "", ""], ["Dva\nreda", "1", "", "", ""]]
    path = write(tmp_path / "a.csv", table, encoding="utf-16", delimiter="\t")
    dialect = detect(path)

    assert count_rows(path, dialect) == len(read_all(path, dialect)) == 5


def test_progress_reports_the_bytes_read_up_to_the_file_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfile, "CHUNK_SIZE", 100)
    path = write(tmp_path / "a.csv", PARTNERS * 20, encoding="utf-8-sig")
    seen: list[int] = []

    list(rows(path, detect(path), progress=seen.append))

    assert seen == sorted(seen) and len(seen) > 10
    assert seen[-1] == path.stat().st_size


def test_rows_streams_a_large_file_instead_of_reading_it_whole(tmp_path: Path) -> None:
    line = "Čakovečki mlinovi d.d.;12345678903;Mlinska 1;40000;Čakovec;HR\r\n".encode("cp1250")
    path = write_bytes(
        tmp_path / "big.csv", b"Naziv;OIB;Adresa;Post;Mjesto;Drzava\r\n" + line * 150_000
    )
    assert path.stat().st_size > 8_000_000
    seen: list[int] = []

    started = time.perf_counter()
    reader = rows(path, detect(path), progress=seen.append)
    first = next(reader)
    elapsed = time.perf_counter() - started
    reader.close()

    assert first[0] == 2 and first[1][0] == "Čakovečki mlinovi d.d."
    assert max(seen) <= csvfile.CHUNK_SIZE
    assert elapsed < 0.2


def test_csv_error_says_the_row() -> None:
    error = CsvError(7, "format", "something")

    assert (str(error), error.row, error.message) == ("row 7: something", 7, "something")


# --- column mapping ---------------------------------------------------------------


def test_it_maps_a_croatian_partner_header() -> None:
    header = [
        "Naziv partnera", "OIB", "PDV ID", "Ulica i kućni broj", "Poštanski broj", "Grad",
        "Županija", "Država", "Tel.", "e-pošta", "Web stranica", "Grupa partnera", "Oznake",
        "Bilješke", "Šifra partnera",
    ]  # fmt: skip

    assert list(suggest_mapping(header, PARTNER_FIELDS).values()) == [
        "name", "oib", "vat_id", "street", "postal_code", "city", "county", "country",
        "phones", "email", "web", "group", "tags", "notes", "external_id",
    ]  # fmt: skip


def test_it_maps_an_english_partner_header() -> None:
    header = [
        "Company", "VAT", "Street", "ZIP", "City", "County", "Country", "Phone", "Email",
        "Website", "Group", "Tags", "Notes", "External ID",
    ]  # fmt: skip

    assert list(suggest_mapping(header, PARTNER_FIELDS).values()) == [
        "name", "vat_id", "street", "postal_code", "city", "county", "country", "phones",
        "email", "web", "group", "tags", "notes", "external_id",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Ime tvrtke", "name"),
        ("NAZIV", "name"),
        ("Adresa", "street"),
        ("POŠTANSKI BROJ", "postal_code"),
        ("postanski-broj", "postal_code"),
        ("Pošta", "postal_code"),
        ("Post code", "postal_code"),
        ("postal_code", "postal_code"),
        ("Mjesto", "city"),
        ("E-MAIL", "email"),
        ("Mail", "email"),
        ("Mobitel", "phones"),
        ("Kontakt telefon", "phones"),
        ("E-mail adresa za račune", "email"),
        ("Web", "web"),
        ("Grupa", "group"),
        ("Tags", "tags"),
        ("Napomena", "notes"),
        ("Šifra", "external_id"),
        ("ID", "external_id"),
        ("Nešto sasvim drugo", None),
        ("", None),
    ],
)
def test_partner_columns_are_matched_whatever_their_case_and_accents(
    column: str, field: str | None
) -> None:
    assert suggest_mapping([column], PARTNER_FIELDS) == {column: field}


def test_it_maps_a_persons_header() -> None:
    header = [
        "Ime", "Prezime", "Radno mjesto", "Telefon", "Email", "OIB partnera", "Privola",
        "Ime i prezime",
    ]  # fmt: skip

    assert suggest_mapping(header, PERSON_FIELDS) == {
        "Ime": "first_name",
        "Prezime": "last_name",
        "Radno mjesto": "function",
        "Telefon": "phones",
        "Email": "email",
        "OIB partnera": "partner_key",
        "Privola": "mailing_consent",
        "Ime i prezime": None,  # names two fields: the user decides
    }
    assert suggest_mapping(["Position", "Tvrtka", "Consent"], PERSON_FIELDS) == {
        "Position": "function",
        "Tvrtka": "partner_key",
        "Consent": "mailing_consent",
    }


def test_it_maps_a_documents_header() -> None:
    header = [
        "Broj dokumenta", "Vrsta", "Datum", "Dospijeće", "OIB partnera", "Iznos bez PDV-a",
        "Iznos s PDV-om", "Valuta", "Status", "Otvoreno",
    ]  # fmt: skip

    assert list(suggest_mapping(header, DOCUMENT_FIELDS).values()) == [
        "number", "kind", "date", "due_date", "partner_key", "net_amount", "gross_amount",
        "currency", "status", "open_amount",
    ]  # fmt: skip
    english = ["Number", "Type", "Date", "Due date", "Net", "Gross", "Currency", "Open amount"]
    assert None not in suggest_mapping(english, DOCUMENT_FIELDS).values()
    assert suggest_mapping(["Valuta plaćanja", "Ukupno"], DOCUMENT_FIELDS) == {
        "Valuta plaćanja": "due_date",
        "Ukupno": "gross_amount",
    }


def test_two_columns_never_get_the_same_field() -> None:
    header = ["Telefon", "Mobitel", "Kontakt telefon", "E-mail adresa za račune", "E-mail"]

    assert suggest_mapping(header, PARTNER_FIELDS) == {
        "Telefon": "phones",  # first of the exact matches
        "Mobitel": None,
        "Kontakt telefon": None,
        "E-mail adresa za račune": None,  # an exact match is better
        "E-mail": "email",
    }


def test_column_indexes_finds_each_fields_cell() -> None:
    header = ["Naziv", "Nešto", "OIB", "Naziv"]
    mapping = suggest_mapping(header, PARTNER_FIELDS)

    assert mapping == {"Naziv": "name", "Nešto": None, "OIB": "oib"}
    assert column_indexes(header, mapping) == {"name": 0, "oib": 2}


def test_field_tables_name_each_field_first() -> None:
    for table in (PARTNER_FIELDS, PERSON_FIELDS, DOCUMENT_FIELDS):
        assert all(synonyms[0] == field for field, synonyms in table.items())


# --- values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.234,56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("-12,5", "-12.5"),
        ("−12,5", "-12.5"),
        ("+3", "3"),
        ("12,50-", "-12.50"),
        ("1.234.567,89", "1234567.89"),
        ("1,234,567.89", "1234567.89"),
        ("1.234", "1234"),
        ("0.234", "0.234"),
        ("1234.567", "1234.567"),
        ("1,234", "1.234"),
        (" 42 ", "42"),
        ("1.234,56 €", "1234.56"),
        ("EUR 10,00", "10.00"),
    ],
)
def test_parse_local_decimal_reads_local_numbers(text: str, value: str) -> None:
    assert parse_local_decimal(text) == Decimal(value)
    assert str(parse_local_decimal(text)) == value


@pytest.mark.parametrize(
    "text", ["", "  ", "abc", "12a", "1.2.3", "1,234,56", "1.234.5", "1 23", "NaN", "Infinity",
             "1e5", "1_000", "--1", "-12-", "€", ",5"],
)  # fmt: skip
def test_parse_local_decimal_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_local_decimal(text)


@pytest.mark.parametrize(
    "text",
    ["27.11.2026.", "27.11.2026", "27. 11. 2026.", "2026-11-27", "27/11/2026",
     "2026-11-27T10:30:00", "27.11.2026. 10:30", " 27.11.2026 "],
)  # fmt: skip
def test_parse_local_date_reads_local_dates(text: str) -> None:
    assert parse_local_date(text) == dt.date(2026, 11, 27)


def test_parse_local_date_reads_dates_without_leading_zeros() -> None:
    assert parse_local_date("1.2.2026.") == dt.date(2026, 2, 1)


@pytest.mark.parametrize(
    "text", ["", "31.02.2026.", "11/27/2026", "27.11.26", "2026/11/27", "sutra", "27.11.2026x"]
)
def test_parse_local_date_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_local_date(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("da", True), ("DA", True), ("yes", True), ("1", True), ("x", True), ("X ", True),
     ("ISTINA", True), ("TRUE", True), ("ne", False), ("no", False), ("0", False), ("", False),
     ("LAŽ", False), ("false", False)],
)  # fmt: skip
def test_parse_bool_reads_yes_and_no(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_parse_bool_refuses_other_text() -> None:
    with pytest.raises(ValueError, match="not yes or no"):
        parse_bool("možda")


# --- writing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://x","klik")', '\'=HYPERLINK("http://x","klik")'),
        ("+385 1 234 5678", "'+385 1 234 5678"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝1+2", "'＝1+2"),
        ("-", "'-"),
        ("-12,50", "-12,50"),
        ("-3.5", "-3.5"),
        ("-1.234,56", "-1.234,56"),
        ("+12", "+12"),
        ("Čakovec", "Čakovec"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_safe_cell_defuses_formulas_but_keeps_numbers(value: str, safe: str) -> None:
    assert safe_cell(value) == safe
    assert restore_cell(safe_cell(value)) == value


def test_write_csv_writes_what_excel_in_croatia_opens_and_we_read_back(tmp_path: Path) -> None:
    table = [
        ["Naziv", "Napomena", "Iznos", "Telefon"],
        ["Čakovečki mlinovi d.d.", 'dva; "reda"\nzajedno', "-1.234,56", "+385 40 123"],
        ["Đuro Đaković", "=1+2", "0,00", ""],
    ]
    path = tmp_path / "izvoz.csv"

    with path.open("wb") as out:
        write_csv(table, out)

    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8 + b"Naziv;Napomena;Iznos;Telefon\r\n")
    dialect = detect(path)
    assert (dialect.encoding, dialect.delimiter, dialect.header) == ("utf-8-sig", ";", table[0])
    read = [[restore_cell(cell) for cell in cells] for _, cells in rows(path, dialect)]
    assert read == table[1:]
    assert b"'=1+2" in data and b"'+385 40 123" in data


def test_iter_csv_streams_in_blocks() -> None:
    blocks = list(iter_csv(([f"Partner {n}", "Zagreb"] for n in range(20_000)), bom=False))

    assert len(blocks) > 1 and all(len(block) < 70_000 for block in blocks)
    assert b"".join(blocks).decode().splitlines()[-1] == "Partner 19999;Zagreb"
    buffer = io.BytesIO()
    write_csv([["a", "b"]], buffer, delimiter=",", bom=False)
    assert buffer.getvalue() == b"a,b\r\n"
