"""CSV files of mass imports and exports (partners, persons, ERP documents), as Excel in
Croatia writes and opens them.

Reading is in three steps: :func:`detect` sniffs the encoding, the delimiter and the
header from the first 64 KB; :func:`suggest_mapping` proposes which column fills which
field; :func:`rows` streams the records, a chunk of 256 KB at a time, so a file of a
million rows never sits in memory. The value helpers (:func:`parse_local_decimal`,
:func:`parse_local_date`, :func:`parse_bool`) run once per cell.

Rows are numbered as Excel shows them: the header is row 1 and each record is one row,
however many lines its quoted cells span (a text editor's line numbers run ahead after
such a cell). Blank rows keep their number but are not yielded.

A byte the encoding cannot read stops :func:`rows` with :class:`CsvError` naming the row
it is in, after every row before it was yielded: decoding is strict because a wrong
encoding would otherwise fill the CRM with "ÄŒakovec". The messages are in English; a
caller showing them translates by ``code``.

Writing (:func:`write_csv`, :func:`iter_csv`) produces UTF-8 with a BOM and ``;``, which
Excel in Croatia opens without asking, and defuses formulas (:func:`safe_cell`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import itertools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import IO, Final, Literal

import charset_normalizer

from groupware.crm.normalize import fold

SAMPLE_SIZE: Final = 64 * 1024
CHUNK_SIZE = 256 * 1024  # read at call time, so tests can shrink it
_SAMPLE_RECORDS: Final = 100
_DELIMITERS: Final = (";", "\t", ",")  # on a tie the earlier wins: Croatian Excel writes ;
_ENCODING_NAMES: Final = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "cp1250": "Windows-1250",
    "iso8859-2": "ISO-8859-2",
}

StrPath = str | os.PathLike[str]
Progress = Callable[[int], object]


@dataclass(frozen=True)
class Dialect:
    """How a file is written: what :func:`detect` found or the user chose.

    ``encoding`` is a Python codec name ("utf-8", "utf-8-sig", "utf-16", "cp1250",
    "iso-8859-2"); ``header`` holds the names in row 1, or is empty when row 1 is
    already data; ``columns`` is how many cells a row should have.
    """

    encoding: str
    delimiter: str
    header: list[str]
    columns: int


class CsvError(ValueError):
    """A problem that stops reading the file, at a row as Excel numbers it.

    ``code`` is "encoding" (a byte the encoding cannot read) or "format" (broken
    quoting); ``message`` says what, in English.
    """

    def __init__(self, row: int, code: Literal["encoding", "format"], message: str) -> None:
        super().__init__(f"row {row}: {message}")
        self.row = row
        self.code = code
        self.message = message


class _Undecodable(Exception):
    def __init__(self, data: bytes, before: str) -> None:
        super().__init__(data)
        self.data = data
        self.before = before


# --- sniffing ---------------------------------------------------------------------


def detect(
    path: StrPath,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    has_header: bool | None = None,
) -> Dialect:
    """Sniff how the file is written from its first 64 KB.

    The keyword arguments replace what would be sniffed (the user corrected it) and the
    rest is worked out with them: pass an import job's stored encoding and delimiter to
    get its header back. An empty file gives UTF-8, ``;``, no header and no columns.
    """
    with open(path, "rb") as raw:
        sample = raw.read(SAMPLE_SIZE + 1)
    complete = len(sample) <= SAMPLE_SIZE
    sample = sample[:SAMPLE_SIZE]
    if encoding is None:
        encoding = detect_encoding(sample, complete=complete)
    codecs.lookup(encoding)  # an unknown name fails here, not in the middle of an import
    text = _decode_sample(sample, encoding, complete)
    if delimiter is None:
        delimiter = _detect_delimiter(text, complete)
    records = _sample_records(text, delimiter, complete)
    if has_header is None:
        has_header = bool(records) and _looks_like_header(records[0])
    header = [cell.strip() for cell in records[0]] if has_header and records else []
    return Dialect(encoding, delimiter, header, len(header) or _usual_width(records))


def detect_encoding(sample: bytes, *, complete: bool = True) -> str:
    """The encoding of the start of a file: a BOM, else strict UTF-8, else one of the
    two 8-bit encodings of Croatian text (Windows-1250 when in doubt, as Excel writes).

    ``complete`` says the sample is the whole file (a cut multi-byte letter at its end
    is then an error, not the rest of a letter in the next block).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, complete)
    except UnicodeDecodeError:
        return _cp1250_or_latin2(sample)
    return "utf-8"


# Bytes 0x80–0x9F are letters (š ž Š Ž), quotes and dashes in Windows-1250 but control
# characters in ISO-8859-2; ISO-8859-2 writes š ž Š Ž as 0xB9 0xBE 0xA9 0xAE, which
# Windows-1250 reads as ą ľ © ®. The two agree on č ć đ.
_C1: Final = re.compile(rb"[\x80-\x9f]")
_LATIN2_SZ: Final = re.compile(rb"[\xa9\xae\xb9\xbe]")


def _cp1250_or_latin2(sample: bytes) -> str:
    if _C1.search(sample):
        return "cp1250"
    scores = {
        match.encoding: (match.chaos, -match.coherence)
        for match in charset_normalizer.from_bytes(sample, cp_isolation=["cp1250", "iso8859_2"])
    }
    latin2, cp1250 = scores.get("iso8859_2"), scores.get("cp1250")
    if latin2 is not None and (cp1250 is None or latin2 < cp1250):
        return "iso-8859-2"
    # Short Croatian samples score the same in both; š or ž settles it.
    return "iso-8859-2" if _LATIN2_SZ.search(sample) else "cp1250"


def _decode_sample(sample: bytes, encoding: str, complete: bool) -> str:
    codec, bom = _codec(encoding, sample[:4])
    # Replace, not fail: rows() reports a bad byte (or a NUL) with its row number.
    text = codecs.getincrementaldecoder(codec)("replace").decode(sample[bom:], complete)
    return text.replace("\x00", "\ufffd")


def _sample_records(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(itertools.islice(reader, _SAMPLE_RECORDS + 1))
    except csv.Error:
        return []
    if len(records) > _SAMPLE_RECORDS:
        return records[:_SAMPLE_RECORDS]
    return records if complete else records[:-1]  # the last one is cut off


def _detect_delimiter(text: str, complete: bool) -> str:
    """The delimiter that splits the sample into the same number (> 1) of cells per row:
    counted by the csv parser, so delimiters inside quotes do not count."""
    best: tuple[bool, int, float] | None = None
    chosen = _DELIMITERS[0]
    for delimiter in _DELIMITERS:
        widths = [len(r) for r in _sample_records(text, delimiter, complete) if _filled(r)]
        if not widths:
            continue
        width, hits = Counter(widths).most_common(1)[0]
        share = hits / len(widths)
        score = (share >= 0.9, width, share)
        if width > 1 and (best is None or score > best):
            best, chosen = score, delimiter
    return chosen


def _usual_width(records: list[list[str]]) -> int:
    widths = Counter(len(r) for r in records if _filled(r))
    return widths.most_common(1)[0][0] if widths else 0


def _filled(cells: Sequence[str]) -> bool:
    return any(cell.strip() for cell in cells)


# A cell made of digits and separators (numbers, dates, OIBs, phones), an e-mail address
# or a web address is data, never a column name.
_VALUE: Final = re.compile(
    r"[\d\s.,:;/+()€%'−-]*\d[\d\s.,:;/+()€%'−-]*|[^@\s]+@[^@\s]+|(?:https?://|www\.)\S*",
    re.IGNORECASE,
)


def _looks_like_header(first: Sequence[str]) -> bool:
    """Row 1 is a header if it names a known field, or else holds no data-like cell.
    Unsure means a header: importing a header as a partner is worse than skipping a
    row the user sees in the preview and can switch back on."""
    cells = [cell.strip() for cell in first]
    if not any(cells):
        return False
    if any(_squash(cell) in _KNOWN_NAMES for cell in cells):
        return True
    return not any(_VALUE.fullmatch(cell) for cell in cells if cell)


# --- reading ----------------------------------------------------------------------


def rows(
    path: StrPath,
    dialect: Dialect,
    *,
    start_row: int | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Stream ``(row number, cells)`` for every non-blank row from ``start_row`` on.

    ``start_row`` defaults to the first data row (2 with a header, else 1); earlier rows
    are parsed but not returned, so resuming costs a read of the file up to there.
    Cells are stripped of surrounding whitespace. A row with more or fewer cells than
    ``dialect.columns`` is yielded as it is: check it with :func:`ragged`.
    ``progress`` is called with the number of bytes read so far after every chunk (the
    last call gives the file size), for a progress bar without counting rows first.
    Raises :class:`CsvError` at a byte the encoding cannot read or a runaway quote.
    """
    first = (2 if dialect.header else 1) if start_row is None else start_row
    number = 0
    strip = str.strip
    with _reader(path, dialect, progress) as reader:
        try:
            for record in reader:
                number += 1
                if number >= first:
                    cells = list(map(strip, record))
                    if any(cells):
                        yield number, cells
        except (_Undecodable, csv.Error) as exc:
            raise _error(number + 1, exc, dialect) from None


def count_rows(path: StrPath, dialect: Dialect, *, progress: Progress | None = None) -> int:
    """How many rows :func:`rows` will yield, in one parsing pass that keeps no cells
    (about 15 % faster than reading them). Raises :class:`CsvError` as :func:`rows` does."""
    first = 2 if dialect.header else 1
    number = count = 0
    strip = str.strip
    with _reader(path, dialect, progress) as reader:
        try:
            for record in reader:
                number += 1
                if number >= first and any(map(strip, record)):
                    count += 1
        except (_Undecodable, csv.Error) as exc:
            raise _error(number + 1, exc, dialect) from None
    return count


def ragged(cells: Sequence[str], dialect: Dialect) -> bool:
    """Whether a row has fewer cells than the header, or more with something in the
    extra ones (empty extras are trailing delimiters and lose nothing)."""
    columns = dialect.columns
    return len(cells) < columns or (len(cells) > columns and any(cells[columns:]))


@contextlib.contextmanager
def _reader(
    path: StrPath, dialect: Dialect, progress: Progress | None
) -> Iterator[Iterator[list[str]]]:
    with open(path, "rb") as raw:
        codec, bom = _codec(dialect.encoding, raw.read(4))
        raw.seek(bom)
        lines = itertools.chain.from_iterable(_chunks(raw, codec, bom, progress))
        yield csv.reader(lines, delimiter=dialect.delimiter)


def _codec(encoding: str, head: bytes) -> tuple[str, int]:
    """The codec to decode with once the BOM (if any) is skipped, and the BOM's length."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "utf-8-sig"):
        return "utf-8", 3 if head.startswith(codecs.BOM_UTF8) else 0
    if name in ("utf-16", "utf-16-le", "utf-16-be"):
        if head.startswith(codecs.BOM_UTF16_BE) and name != "utf-16-le":
            return "utf-16-be", 2
        if head.startswith(codecs.BOM_UTF16_LE) and name != "utf-16-be":
            return "utf-16-le", 2
        return ("utf-16-le" if name == "utf-16" else name), 0  # as Windows writes it
    return name, 0


def _chunks(
    raw: IO[bytes], codec: str, position: int, progress: Progress | None
) -> Iterator[Iterable[str]]:
    """The text of the file as blocks of whole lines, decoded strictly.

    The csv parser pulls lines one by one, so the error raised after the good lines in
    front of a bad byte reaches it exactly while it reads the row holding that byte.
    A line is cut only at a line break, and a last "\\r" waits for a possible "\\n".
    """
    decoder = codecs.getincrementaldecoder(codec)("strict")
    tail = ""
    while True:
        data = raw.read(CHUNK_SIZE)
        position += len(data)
        if progress is not None:
            progress(position)
        try:
            text = tail + decoder.decode(data, not data)
        except UnicodeDecodeError as exc:
            text = tail + exc.object[: exc.start].decode(codec, "replace")
            cut = max(text.rfind("\n"), text.rfind("\r")) + 1
            yield io.StringIO(text[:cut], newline="")
            raise _Undecodable(exc.object[exc.start : exc.end], text[cut:]) from None
        nul = text.find("\x00")
        if nul >= 0:  # no text holds NUL (PostgreSQL cannot store it): UTF-16 read as 8-bit?
            cut = max(text.rfind("\n", 0, nul), text.rfind("\r", 0, nul)) + 1
            yield io.StringIO(text[:cut], newline="")
            raise _Undecodable(b"\x00", text[cut:nul])
        if not data:
            yield io.StringIO(text, newline="")
            return
        cut = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1
        tail = text[cut:]
        yield io.StringIO(text[:cut], newline="")


def _error(row: int, exc: Exception, dialect: Dialect) -> CsvError:
    if isinstance(exc, _Undecodable):
        name = _ENCODING_NAMES.get(codecs.lookup(dialect.encoding).name, dialect.encoding)
        where = f' after "{exc.before[-30:]}"' if exc.before else " at the start of the row"
        return CsvError(
            row,
            "encoding",
            f"byte {exc.data.hex(' ').upper()}{where} is not {name} text; "
            "the file may be saved in another encoding",
        )
    message = str(exc)
    if "field larger than field limit" in message:
        message = (
            f"a cell is longer than {csv.field_size_limit():,} characters; "
            'a quote (") is probably not closed'
        )
    return CsvError(row, "format", message)


# --- column mapping ---------------------------------------------------------------


def _fields(**synonyms: str) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType(
        {
            field: (field, *(s.strip() for s in names.split(",")))
            for field, names in synonyms.items()
        }
    )


_PHONES: Final = (
    "Telefon, Tel., Telefoni, Broj telefona, Telefonski broj, Mobitel, Mob., Broj mobitela, "
    "GSM, Phone, Phones, Telephone, Mobile, Phone number"
)
_EMAIL: Final = "E-mail, Email, E-pošta, Mail, E-mail adresa, Adresa e-pošte, Email address"
_NOTES: Final = "Napomena, Napomene, Bilješke, Bilješka, Komentar, Notes, Note, Comment, Remarks"

# Field name -> the column names it is known by (the field name itself first). Matching
# ignores case, diacritics, spaces and punctuation: "POŠTANSKI BROJ" is "postanski-broj".
PARTNER_FIELDS: Final = _fields(
    name=(
        "Naziv, Naziv partnera, Naziv tvrtke, Ime tvrtke, Tvrtka, Naziv firme, Firma, "
        "Puni naziv, Company, Company name, Name, Partner"
    ),
    oib="OIB, OIB partnera, Osobni identifikacijski broj",
    vat_id=(
        "VAT, VAT ID, VAT number, PDV ID, PDV broj, ID PDV, EU PDV ID, PDV identifikacijski broj, "
        "Tax number, Tax ID, Tax no., TIN, Tax identification number"
    ),
    street="Adresa, Ulica, Ulica i kućni broj, Ulica i broj, Address, Street, Street address",
    postal_code=(
        "Pošta, Poštanski broj, Pošt. broj, PBR, Post code, Postcode, Postal code, ZIP, ZIP code"
    ),
    city="Mjesto, Grad, Naselje, City, Town",
    county="Županija, County",
    country="Država, Zemlja, Country",
    phones=_PHONES,
    email=_EMAIL,
    web="Web, Web stranica, Web adresa, Internet stranica, Website, Web site, URL, WWW",
    group="Grupa, Grupa partnera, Naziv grupe, Grupa kupaca, Skupina, Group, Partner group",
    tags="Oznake, Tagovi, Tags, Labels",
    notes=_NOTES,
    external_id="Šifra, Šifra partnera, Šifra kupca, Interna šifra, External ID, ERP ID, ID",
)

PERSON_FIELDS: Final = _fields(
    first_name="Ime, First name, Given name",
    last_name="Prezime, Last name, Surname, Family name",
    function="Funkcija, Radno mjesto, Pozicija, Position, Title, Job title",
    phones=_PHONES,
    email=_EMAIL,
    partner_key=(
        "Partner, Tvrtka, OIB partnera, Naziv partnera, Šifra partnera, Naziv tvrtke, "
        "Ime tvrtke, Firma, Company"
    ),
    mailing_consent="Privola, Suglasnost, Privola za marketing, GDPR privola, Consent",
    notes=_NOTES,
    external_id="Šifra, Šifra osobe, Šifra kontakta, External ID, ID",
)

DOCUMENT_FIELDS: Final = _fields(
    number="Broj, Broj dokumenta, Broj računa, Document number, Number, Invoice number, No.",
    kind="Vrsta, Vrsta dokumenta, Tip, Tip dokumenta, Type, Document type",
    date="Datum, Datum dokumenta, Datum računa, Datum izdavanja, Date, Document date, Issue date",
    due_date=(
        "Valuta plaćanja, Dospijeće, Datum dospijeća, Datum valute, Rok plaćanja, Due date, Due"
    ),
    partner_key=(
        "Partner, Kupac, OIB partnera, OIB kupca, OIB, Šifra partnera, Šifra kupca, "
        "Naziv partnera, Customer"
    ),
    net_amount="Neto, Neto iznos, Iznos bez PDV-a, Osnovica, Net, Net amount",
    gross_amount=(
        "Bruto, Bruto iznos, Ukupno, Ukupan iznos, Iznos s PDV-om, Iznos sa PDV-om, "
        "Za platiti, Gross, Gross amount, Total"
    ),
    currency="Valuta, Oznaka valute, Currency",
    status="Status, Stanje",
    open_amount="Otvoreno, Otvoreni iznos, Preostalo, Open amount, Outstanding, Balance",
)

_NON_ALNUM: Final = re.compile(r"[^0-9a-z]+")


def _squash(name: str) -> str:
    """What column names are compared by: "Poštanski broj" -> "postanskibroj"."""
    return _NON_ALNUM.sub("", fold(name))


def _words(name: str) -> str:
    """The words of a column name: "E-mail adresa (račun)" -> "email adresa racun"."""
    return " ".join(_NON_ALNUM.sub(" ", fold(name).replace("-", "")).split())


_KNOWN_NAMES: Final = frozenset(
    _squash(s)
    for table in (PARTNER_FIELDS, PERSON_FIELDS, DOCUMENT_FIELDS)
    for names in table.values()
    for s in names
)


def suggest_mapping(
    header: Sequence[str], fields: Mapping[str, Sequence[str]]
) -> dict[str, str | None]:
    """Propose a field for each column name of ``header`` (None: ignore the column).

    A name equal to a synonym wins over one that only contains synonyms among its words
    ("E-mail za račune" -> email); of those the longest wins, unless the name also
    holds a synonym of another field outside it ("Ime i prezime": left unmapped). Each
    field goes to one column, the best match or else the first; a repeated column name
    is decided by its first occurrence. :func:`column_indexes` finds the cells by field.
    """
    exact: dict[str, str] = {}
    phrases: list[tuple[str, str]] = []
    for field, synonyms in fields.items():
        for synonym in (field, *synonyms):
            exact.setdefault(_squash(synonym), field)
            phrases.append((f" {_words(synonym)} ", field))
    mapping: dict[str, str | None] = {}
    best: dict[str, tuple[int, str]] = {}  # field -> (score, column)
    for column in header:
        if column in mapping:
            continue
        mapping[column] = None
        match, score = _match(column, exact, phrases)
        if match is not None and score > best.get(match, (0, ""))[0]:
            best[match] = (score, column)
    for field, (_, column) in best.items():
        mapping[column] = field
    return mapping


def _match(
    column: str, exact: dict[str, str], phrases: list[tuple[str, str]]
) -> tuple[str | None, int]:
    if field := exact.get(_squash(column)):
        return field, 1000
    words = f" {_words(column)} "
    hits = [(phrase, field) for phrase, field in phrases if phrase in words]
    if not hits:
        return None, 0
    phrase, field = max(hits, key=lambda hit: len(hit[0]))
    # "E-mail adresa za račune" names only the e-mail ("adresa" is part of the longer
    # synonym); "Ime i prezime" names two fields and is left to the user.
    if any(other != field and found not in phrase for found, other in hits):
        return None, 0
    return field, len(phrase)


def column_indexes(header: Sequence[str], mapping: Mapping[str, str | None]) -> dict[str, int]:
    """Field -> position of its column in a row, from a (possibly edited) mapping."""
    indexes: dict[str, int] = {}
    for position, column in enumerate(header):
        field = mapping.get(column)
        if field is not None:
            indexes.setdefault(field, position)
    return indexes


# --- values -----------------------------------------------------------------------

_PLAIN_NUMBER: Final = re.compile(r"(\d+)(?:([.,])(\d+))?")
_GROUPED_NUMBER: Final = re.compile(
    r"(\d{1,3}(?P<g>[. ,'\u00a0\u202f])\d{3}(?:(?P=g)\d{3})*)(?:([.,])(\d+))?"
)
_CURRENCY: Final = re.compile(r"^(?:€|EUR)\s*|\s*(?:€|EUR)$", re.IGNORECASE)


def parse_local_decimal(text: str) -> Decimal:
    """A number as Croatian Excel or an ERP writes it: "1.234,56", "1234.56",
    "1 234,56", "-12,5", "12,50-", "1.234,56 €". Raises ValueError otherwise.

    A lone comma is always the decimal separator ("1,234" is 1.234); a lone dot is one
    too ("1234.56") unless 1–3 digits stand before it and exactly three after, which is
    a Croatian thousands group ("1.234" is 1234, "0.234" stays 0.234).
    """
    body = _CURRENCY.sub("", text.strip())
    sign = ""
    if body[:1] in ("-", "−", "+"):
        sign, body = ("" if body[0] == "+" else "-"), body[1:].lstrip()
    elif body.endswith("-"):
        sign, body = "-", body[:-1].rstrip()
    if match := _PLAIN_NUMBER.fullmatch(body):
        whole, separator, fraction = match.groups()
        if separator == "." and len(fraction) == 3 and len(whole) <= 3 and whole[0] != "0":
            whole, fraction = whole + fraction, None
    elif match := _GROUPED_NUMBER.fullmatch(body):
        grouped, group, separator, fraction = match.groups()
        if separator == group:  # "1.234.5", "1,234,56"
            raise ValueError(f"not a number: {text!r}")
        whole = grouped.replace(group, "")
    else:
        raise ValueError(f"not a number: {text!r}")
    return Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")


_TIME: Final = r"(?:[ T]\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATES: Final = (
    (re.compile(r"(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})\.?" + _TIME), (3, 2, 1)),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME), (3, 2, 1)),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME), (1, 2, 3)),
)


def parse_local_date(text: str) -> dt.date:
    """A date as "27.11.2026.", "27. 11. 2026", "27/11/2026" (day first) or
    "2026-11-27"; a time after it is ignored. Raises ValueError otherwise."""
    value = text.strip()
    for pattern, (year, month, day) in _DATES:
        if match := pattern.fullmatch(value):
            return dt.date(int(match[year]), int(match[month]), int(match[day]))
    raise ValueError(f"not a date: {text!r}")


_BOOLS: Final = {
    **dict.fromkeys(("da", "d", "yes", "y", "1", "x", "true", "istina"), True),
    **dict.fromkeys(("ne", "n", "no", "0", "", "false", "laž", "laz"), False),
}


def parse_bool(text: str) -> bool:
    """A yes/no cell: "da", "yes", "1", "x", "TRUE"/"ISTINA" are true; "ne", "no", "0",
    "FALSE"/"LAŽ" and an empty cell are false. Raises ValueError otherwise."""
    try:
        return _BOOLS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"not yes or no: {text!r}") from None


# --- writing ----------------------------------------------------------------------

# OWASP's CSV injection list, with the full-width forms some Excel versions also read.
_FORMULA_START: Final = frozenset("=+-@\t\r＝＋－＠")
_SIGNED_NUMBER: Final = re.compile(r"[-+]\d[\d.,]*")


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula: one starting with = + - @, a tab
    or a carriage return gets a leading apostrophe, except a plain signed number
    ("-12,50"), which has nothing to run and stays a number."""
    if value[:1] in _FORMULA_START and not _SIGNED_NUMBER.fullmatch(value):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """Undo :func:`safe_cell`, for importers reading back a file we exported."""
    if value[:1] == "'" and value[1:2] in _FORMULA_START:
        return value[1:]
    return value


def iter_csv(
    rows: Iterable[Sequence[str]], *, delimiter: str = ";", bom: bool = True
) -> Iterator[bytes]:
    """The file as blocks of about 64 KB of UTF-8 (with a BOM first), for a streamed
    response; every cell goes through :func:`safe_cell`."""
    if bom:
        yield codecs.BOM_UTF8
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(map(safe_cell, row))
        if buffer.tell() >= 65536:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def write_csv(
    rows: Iterable[Sequence[str]], out: IO[bytes], *, delimiter: str = ";", bom: bool = True
) -> None:
    """Write rows to a binary file as UTF-8 with a BOM and ``;``, what Excel in Croatia
    opens correctly; streamed, and every cell goes through :func:`safe_cell`."""
    for block in iter_csv(rows, delimiter=delimiter, bom=bom):
        out.write(block)
