"""Reference data for Croatian addresses: counties, postal codes, towns, street and
company names for demo data, and the list of countries for forms.

Used by the migration that seeds the ``counties`` table (:data:`COUNTIES`), by partner
validation (:func:`county_for_postal`, :func:`is_croatian_postal_code`,
:func:`is_country`), by the demo data generator (:data:`CITIES`, :data:`STREETS`,
:data:`COMPANY_WORDS`, :data:`LEGAL_FORMS`, :data:`FIRST_NAMES`, :data:`LAST_NAMES`) and
by forms (:func:`country_choices`).

Postal codes
------------
Croatian postal codes have five digits and the first two name the region, which is
one county everywhere except in the 10xxx range: that is shared by Grad Zagreb and
Zagrebačka županija, so it is split here by longer prefixes (the longest matching
prefix wins):

* Grad Zagreb (HR-21): 100xx and 101xx (10000 Zagreb, 10010 Sloboština, 10020 Novi
  Zagreb, 10040 Dubrava, 10090 Susedgrad, 10110 …), 1025x (10250 Lučko, 10251
  Hrvatski Leskovac, 10253 Donji Dragonožec, 10257 Brezovica), 1036x (10360 Sesvete,
  10361 Sesvete-Kraljevec, 10362 Kašina, 10363 Belovar) and 10373 Ivanja Reka.
* Zagrebačka županija (HR-01): 10255 Gornji Stupnik, 1029x (Zaprešić and around),
  1031x (Ivanić-Grad, Kloštar Ivanić, Križ), 1034x (Vrbovec), 1037x (10370 Dugo Selo,
  10372 Oborovo), 1038x (Sveti Ivan Zelina) and 104xx (Velika Gorica, Samobor, Sveta
  Nedelja, Jastrebarsko, Pisarovina, Krašić …).

Outside the 10xxx range every post office (checked against a list of all of them) lies
in the county of its two-digit region.
Some places are in the "wrong" region only at first sight: Gračac 23440 and Srb 23445
are in Zadarska županija, Novalja 53291 (on Pag) in Ličko-senjska while Pag 23250 is
in Zadarska, Rakovica 47245 in Karlovačka and Plitvička Jezera 53231 in Ličko-senjska.

Ambiguities:

* A postal code belongs to a post office, and a post office's delivery area follows the
  postal network rather than county borders. A code is mapped to the county of its
  post office; along the Grad Zagreb / Zagrebačka border (Lučko, Stupnik, Sesvete,
  Dugo Selo, Sveta Nedelja, Velika Gorica) a handful of settlements may therefore get
  the neighbouring county. A county chosen explicitly on a partner wins over the one
  derived from the postal code.
* Some older lists (and teaching databases copied from them) put Sesvete
  (10360–10363) in Zagrebačka županija and sometimes Sveti Ivan Zelina (10380) in
  Grad Zagreb; today Sesvete is a city district of Zagreb and Sveti Ivan Zelina a town
  of Zagrebačka županija, which is what this table says.
* 10xxx codes outside the prefixes above (10200, 10300, 10390 …) are not used by any
  post office and are rejected. In the other regions only the two-digit prefix is
  checked, so e.g. 21999 is accepted although no post office has it.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from babel import Locale

__all__ = [
    "CITIES",
    "COMPANY_WORDS",
    "COUNTIES",
    "COUNTY_BY_CODE",
    "EU_COUNTRIES",
    "FIRST_NAMES",
    "LAST_NAMES",
    "LEGAL_FORMS",
    "PREFERRED_COUNTRIES",
    "STREETS",
    "CityRef",
    "CountyRef",
    "country_choices",
    "county_for_postal",
    "is_country",
    "is_croatian_postal_code",
]


@dataclass(frozen=True, slots=True)
class CountyRef:
    """A first-level division of Croatia: ISO 3166-2:HR code, official name and the
    prefixes of its postal codes (the longest matching prefix over all counties wins)."""

    code: str
    name: str
    postal_prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CityRef:
    """A town with its main postal code, its county and a weight for demo data: roughly
    the number of businesses relative to the other towns."""

    name: str
    postal_code: str
    county_code: str
    weight: int


COUNTIES: tuple[CountyRef, ...] = (
    CountyRef(
        "HR-01", "Zagrebačka županija", ("1029", "1031", "1034", "1037", "1038", "104", "10255")
    ),
    CountyRef("HR-02", "Krapinsko-zagorska županija", ("49",)),
    CountyRef("HR-03", "Sisačko-moslavačka županija", ("44",)),
    CountyRef("HR-04", "Karlovačka županija", ("47",)),
    CountyRef("HR-05", "Varaždinska županija", ("42",)),
    CountyRef("HR-06", "Koprivničko-križevačka županija", ("48",)),
    CountyRef("HR-07", "Bjelovarsko-bilogorska županija", ("43",)),
    CountyRef("HR-08", "Primorsko-goranska županija", ("51",)),
    CountyRef("HR-09", "Ličko-senjska županija", ("53",)),
    CountyRef("HR-10", "Virovitičko-podravska županija", ("33",)),
    CountyRef("HR-11", "Požeško-slavonska županija", ("34",)),
    CountyRef("HR-12", "Brodsko-posavska županija", ("35",)),
    CountyRef("HR-13", "Zadarska županija", ("23",)),
    CountyRef("HR-14", "Osječko-baranjska županija", ("31",)),
    CountyRef("HR-15", "Šibensko-kninska županija", ("22",)),
    CountyRef("HR-16", "Vukovarsko-srijemska županija", ("32",)),
    CountyRef("HR-17", "Splitsko-dalmatinska županija", ("21",)),
    CountyRef("HR-18", "Istarska županija", ("52",)),
    CountyRef("HR-19", "Dubrovačko-neretvanska županija", ("20",)),
    CountyRef("HR-20", "Međimurska županija", ("40",)),
    CountyRef("HR-21", "Grad Zagreb", ("100", "101", "1025", "1036", "10373")),
)

COUNTY_BY_CODE: Mapping[str, CountyRef] = MappingProxyType({c.code: c for c in COUNTIES})


def _prefix_tables() -> tuple[tuple[int, dict[str, str]], ...]:
    by_length: dict[int, dict[str, str]] = {}
    for county in COUNTIES:
        for prefix in county.postal_prefixes:
            table = by_length.setdefault(len(prefix), {})
            if prefix in table:
                raise ValueError(f"postal prefix {prefix} is given to two counties")
            table[prefix] = county.code
    return tuple(sorted(by_length.items(), reverse=True))


# (prefix length, {prefix: county code}), longest prefixes first.
_PREFIX_TABLES = _prefix_tables()


def county_for_postal(postal_code: str) -> str | None:
    """The county code (``"HR-17"``) of a cleaned Croatian postal code (``"21000"``),
    by the longest matching prefix; None for anything else. Clean the value first
    (``normalize.clean_postal``): surrounding or inner spaces are not accepted."""
    if len(postal_code) != 5 or not (postal_code.isascii() and postal_code.isdigit()):
        return None
    for length, table in _PREFIX_TABLES:
        county = table.get(postal_code[:length])
        if county is not None:
            return county
    return None


def is_croatian_postal_code(value: str) -> bool:
    """Five digits in 10000–53999 with the prefix of a county (see the module notes for
    what is and is not checked)."""
    return "10000" <= value <= "53999" and county_for_postal(value) is not None


# Towns for demo data. Weights are roughly thousands of inhabitants (2021 census,
# whole town area); Zagreb is weighted up because about a third of Croatian companies
# are registered there. Kaštela appears as two of its settlements, which have their
# own post offices.
CITIES: tuple[CityRef, ...] = (
    # Grad Zagreb
    CityRef("Zagreb", "10000", "HR-21", 1000),
    CityRef("Sesvete", "10360", "HR-21", 60),
    # Zagrebačka
    CityRef("Velika Gorica", "10410", "HR-01", 61),
    CityRef("Samobor", "10430", "HR-01", 37),
    CityRef("Zaprešić", "10290", "HR-01", 25),
    CityRef("Sveta Nedelja", "10431", "HR-01", 18),
    CityRef("Dugo Selo", "10370", "HR-01", 17),
    CityRef("Jastrebarsko", "10450", "HR-01", 15),
    CityRef("Sveti Ivan Zelina", "10380", "HR-01", 15),
    CityRef("Vrbovec", "10340", "HR-01", 13),
    CityRef("Ivanić-Grad", "10310", "HR-01", 13),
    # Krapinsko-zagorska
    CityRef("Krapina", "49000", "HR-02", 11),
    CityRef("Zabok", "49210", "HR-02", 8),
    CityRef("Bedekovčina", "49221", "HR-02", 7),
    CityRef("Oroslavje", "49243", "HR-02", 6),
    CityRef("Pregrada", "49218", "HR-02", 6),
    CityRef("Donja Stubica", "49240", "HR-02", 5),
    CityRef("Zlatar", "49250", "HR-02", 5),
    # Sisačko-moslavačka
    CityRef("Sisak", "44000", "HR-03", 41),
    CityRef("Kutina", "44320", "HR-03", 20),
    CityRef("Petrinja", "44250", "HR-03", 20),
    CityRef("Novska", "44330", "HR-03", 11),
    CityRef("Popovača", "44317", "HR-03", 10),
    CityRef("Glina", "44400", "HR-03", 8),
    # Karlovačka
    CityRef("Karlovac", "47000", "HR-04", 49),
    CityRef("Ogulin", "47300", "HR-04", 12),
    CityRef("Duga Resa", "47250", "HR-04", 10),
    CityRef("Ozalj", "47280", "HR-04", 6),
    # Varaždinska
    CityRef("Varaždin", "42000", "HR-05", 43),
    CityRef("Ivanec", "42240", "HR-05", 12),
    CityRef("Novi Marof", "42220", "HR-05", 12),
    CityRef("Ludbreg", "42230", "HR-05", 8),
    CityRef("Lepoglava", "42250", "HR-05", 7),
    # Koprivničko-križevačka
    CityRef("Koprivnica", "48000", "HR-06", 28),
    CityRef("Križevci", "48260", "HR-06", 19),
    CityRef("Đurđevac", "48350", "HR-06", 7),
    # Bjelovarsko-bilogorska
    CityRef("Bjelovar", "43000", "HR-07", 36),
    CityRef("Daruvar", "43500", "HR-07", 10),
    CityRef("Garešnica", "43280", "HR-07", 9),
    CityRef("Čazma", "43240", "HR-07", 7),
    CityRef("Grubišno Polje", "43290", "HR-07", 5),
    # Primorsko-goranska
    CityRef("Rijeka", "51000", "HR-08", 108),
    CityRef("Viškovo", "51216", "HR-08", 16),
    CityRef("Matulji", "51211", "HR-08", 11),
    CityRef("Opatija", "51410", "HR-08", 10),
    CityRef("Crikvenica", "51260", "HR-08", 10),
    CityRef("Kastav", "51215", "HR-08", 10),
    CityRef("Mali Lošinj", "51550", "HR-08", 8),
    CityRef("Krk", "51500", "HR-08", 7),
    CityRef("Rab", "51280", "HR-08", 7),
    CityRef("Bakar", "51222", "HR-08", 7),
    CityRef("Delnice", "51300", "HR-08", 5),
    CityRef("Novi Vinodolski", "51250", "HR-08", 5),
    # Ličko-senjska
    CityRef("Gospić", "53000", "HR-09", 11),
    CityRef("Otočac", "53220", "HR-09", 8),
    CityRef("Senj", "53270", "HR-09", 6),
    CityRef("Novalja", "53291", "HR-09", 4),
    CityRef("Korenica", "53230", "HR-09", 4),
    # Virovitičko-podravska
    CityRef("Virovitica", "33000", "HR-10", 19),
    CityRef("Slatina", "33520", "HR-10", 12),
    CityRef("Pitomača", "33405", "HR-10", 9),
    CityRef("Orahovica", "33515", "HR-10", 5),
    # Požeško-slavonska
    CityRef("Požega", "34000", "HR-11", 23),
    CityRef("Pleternica", "34310", "HR-11", 9),
    CityRef("Pakrac", "34550", "HR-11", 7),
    CityRef("Lipik", "34551", "HR-11", 5),
    CityRef("Kutjevo", "34340", "HR-11", 5),
    # Brodsko-posavska
    CityRef("Slavonski Brod", "35000", "HR-12", 50),
    CityRef("Nova Gradiška", "35400", "HR-12", 11),
    # Zadarska
    CityRef("Zadar", "23000", "HR-13", 70),
    CityRef("Benkovac", "23420", "HR-13", 10),
    CityRef("Biograd na Moru", "23210", "HR-13", 6),
    # Osječko-baranjska
    CityRef("Osijek", "31000", "HR-14", 96),
    CityRef("Đakovo", "31400", "HR-14", 24),
    CityRef("Našice", "31500", "HR-14", 14),
    CityRef("Valpovo", "31550", "HR-14", 10),
    CityRef("Čepin", "31431", "HR-14", 10),
    CityRef("Belišće", "31551", "HR-14", 9),
    CityRef("Beli Manastir", "31300", "HR-14", 8),
    CityRef("Donji Miholjac", "31540", "HR-14", 8),
    CityRef("Darda", "31326", "HR-14", 6),
    # Šibensko-kninska
    CityRef("Šibenik", "22000", "HR-15", 42),
    CityRef("Knin", "22300", "HR-15", 11),
    CityRef("Vodice", "22211", "HR-15", 9),
    CityRef("Drniš", "22320", "HR-15", 6),
    # Vukovarsko-srijemska
    CityRef("Vinkovci", "32100", "HR-16", 31),
    CityRef("Vukovar", "32000", "HR-16", 23),
    CityRef("Županja", "32270", "HR-16", 10),
    CityRef("Ilok", "32236", "HR-16", 6),
    CityRef("Ivankovo", "32281", "HR-16", 6),
    # Splitsko-dalmatinska
    CityRef("Split", "21000", "HR-17", 160),
    CityRef("Solin", "21210", "HR-17", 26),
    CityRef("Sinj", "21230", "HR-17", 24),
    CityRef("Kaštel Stari", "21216", "HR-17", 18),
    CityRef("Omiš", "21310", "HR-17", 14),
    CityRef("Trogir", "21220", "HR-17", 13),
    CityRef("Makarska", "21300", "HR-17", 13),
    CityRef("Kaštel Sućurac", "21212", "HR-17", 10),
    CityRef("Podstrana", "21312", "HR-17", 10),
    CityRef("Imotski", "21260", "HR-17", 9),
    CityRef("Trilj", "21240", "HR-17", 8),
    CityRef("Dugi Rat", "21315", "HR-17", 7),
    CityRef("Vrgorac", "21276", "HR-17", 6),
    CityRef("Dugopolje", "21204", "HR-17", 4),
    CityRef("Supetar", "21400", "HR-17", 4),
    CityRef("Hvar", "21450", "HR-17", 4),
    # Istarska
    CityRef("Pula", "52100", "HR-18", 53),
    CityRef("Poreč", "52440", "HR-18", 16),
    CityRef("Rovinj", "52210", "HR-18", 14),
    CityRef("Umag", "52470", "HR-18", 13),
    CityRef("Labin", "52220", "HR-18", 11),
    CityRef("Pazin", "52000", "HR-18", 8),
    CityRef("Medulin", "52203", "HR-18", 7),
    CityRef("Buzet", "52420", "HR-18", 6),
    CityRef("Vodnjan", "52215", "HR-18", 6),
    CityRef("Buje", "52460", "HR-18", 5),
    CityRef("Novigrad", "52466", "HR-18", 4),
    # Dubrovačko-neretvanska
    CityRef("Dubrovnik", "20000", "HR-19", 41),
    CityRef("Metković", "20350", "HR-19", 15),
    CityRef("Ploče", "20340", "HR-19", 9),
    CityRef("Cavtat", "20210", "HR-19", 8),
    CityRef("Korčula", "20260", "HR-19", 5),
    # Međimurska
    CityRef("Čakovec", "40000", "HR-20", 27),
    CityRef("Nedelišće", "40305", "HR-20", 11),
    CityRef("Prelog", "40323", "HR-20", 7),
    CityRef("Mursko Središće", "40315", "HR-20", 6),
)

STREETS: tuple[str, ...] = (
    "Ilica",
    "Vukovarska ulica",
    "Zagrebačka cesta",
    "Savska cesta",
    "Slavonska avenija",
    "Avenija Dubrovnik",
    "Radnička cesta",
    "Trg bana Jelačića",
    "Trg kralja Tomislava",
    "Trg slobode",
    "Trg Republike Hrvatske",
    "Ulica kralja Tomislava",
    "Ulica kralja Zvonimira",
    "Ulica Ante Starčevića",
    "Ulica Stjepana Radića",
    "Ulica Matije Gupca",
    "Ulica hrvatskih branitelja",
    "Ulica Domovinskog rata",
    "Ulica Nikole Tesle",
    "Ulica Ruđera Boškovića",
    "Ulica Ivana Gorana Kovačića",
    "Ulica Augusta Šenoe",
    "Ulica Petra Preradovića",
    "Ulica Ivana Meštrovića",
    "Ulica Frana Supila",
    "Ulica Eugena Kvaternika",
    "Ulica Josipa Jurja Strossmayera",
    "Ulica Ljudevita Gaja",
    "Ulica Vladimira Nazora",
    "Ulica Marka Marulića",
    "Ulica Andrije Hebranga",
    "Ulica Ivana Mažuranića",
    "Ulica Tina Ujevića",
    "Ulica Miroslava Krleže",
    "Ulica Antuna Gustava Matoša",
    "Ulica Nikole Šubića Zrinskog",
    "Ulica Frana Krste Frankopana",
    "Ulica Vatroslava Lisinskog",
    "Ulica Bartola Kašića",
    "Ulica Matice hrvatske",
    "Ulica Pavla Radića",
    "Ulica dr. Franje Tuđmana",
    "Zrinsko-Frankopanska ulica",
    "Gajeva ulica",
    "Osječka ulica",
    "Splitska ulica",
    "Dubrovačka ulica",
    "Varaždinska ulica",
    "Primorska ulica",
    "Jadranska ulica",
    "Školska ulica",
    "Crkvena ulica",
    "Kolodvorska ulica",
    "Industrijska ulica",
    "Obrtnička ulica",
    "Vinogradska ulica",
    "Cvjetna ulica",
    "Lička ulica",
    "Obala kneza Branimira",
    "Put Supavla",
    "Put Brodarice",
    "Poljička cesta",
    "Riva",
    "Korzo",
)

# Words that make up demo company names ("Jadran Promet d.o.o.", "Agro Slavonija").
COMPANY_WORDS: tuple[str, ...] = (
    "Adria",
    "Agro",
    "Auto",
    "Bau",
    "Biokovo",
    "Bor",
    "Bravarija",
    "Centar",
    "Dalmacija",
    "Data",
    "Digital",
    "Dizajn",
    "Drava",
    "Drvo",
    "Eko",
    "Elektro",
    "Energo",
    "Farm",
    "Gradnja",
    "Grupa",
    "Hrast",
    "Info",
    "Instalacije",
    "Inženjering",
    "Istra",
    "Jadran",
    "Knjigovodstvo",
    "Konzalting",
    "Kupa",
    "Kvarner",
    "Lavanda",
    "Lipa",
    "Logistika",
    "Maslina",
    "Media",
    "Medic",
    "Mediteran",
    "Metal",
    "Mlin",
    "Nekretnine",
    "Net",
    "Panonija",
    "Pekara",
    "Plast",
    "Plus",
    "Print",
    "Prijevoz",
    "Pro",
    "Projekt",
    "Promet",
    "Računovodstvo",
    "Sava",
    "Servis",
    "Sistem",
    "Slavonija",
    "Soft",
    "Stolarija",
    "Sunce",
    "Tehnika",
    "Tim",
    "Transport",
    "Trgovina",
    "Turist",
    "Učka",
    "Velebit",
    "Vino",
    "Zagorje",
    "Zora",
)

# Legal forms, the most common first: limited liability company, simple limited
# liability company, sole trade, joint-stock company, general and limited partnership.
LEGAL_FORMS: tuple[str, ...] = ("d.o.o.", "j.d.o.o.", "obrt", "d.d.", "j.t.d.", "k.d.")

FIRST_NAMES: tuple[str, ...] = (
    # men
    "Ivan",
    "Marko",
    "Josip",
    "Luka",
    "Tomislav",
    "Ante",
    "Stjepan",
    "Petar",
    "Mario",
    "Nikola",
    "Hrvoje",
    "Zoran",
    "Damir",
    "Dario",
    "Goran",
    "Krešimir",
    "Mateo",
    "Filip",
    "Matej",
    "David",
    "Domagoj",
    "Davor",
    "Igor",
    "Dražen",
    "Zvonimir",
    "Branimir",
    "Vedran",
    "Mislav",
    "Karlo",
    "Jakov",
    "Lovro",
    "Željko",
    "Đuro",
    "Franjo",
    # women
    "Ana",
    "Ivana",
    "Marija",
    "Maja",
    "Petra",
    "Martina",
    "Lucija",
    "Katarina",
    "Mateja",
    "Nikolina",
    "Kristina",
    "Sara",
    "Mia",
    "Ema",
    "Lana",
    "Ivona",
    "Jelena",
    "Snježana",
    "Željka",
    "Vesna",
    "Dubravka",
    "Gordana",
    "Tea",
    "Dora",
    "Antonija",
    "Barbara",
    "Helena",
    "Anđela",
    "Lea",
    "Nives",
)

LAST_NAMES: tuple[str, ...] = (
    "Horvat",
    "Kovačević",
    "Babić",
    "Marić",
    "Jurić",
    "Novak",
    "Kovačić",
    "Knežević",
    "Vuković",
    "Marković",
    "Petrović",
    "Matić",
    "Tomić",
    "Pavlović",
    "Kovač",
    "Božić",
    "Blažević",
    "Grgić",
    "Pavić",
    "Radić",
    "Perić",
    "Filipović",
    "Šarić",
    "Lovrić",
    "Vidović",
    "Perković",
    "Popović",
    "Bošnjak",
    "Jukić",
    "Barišić",
    "Mikulić",
    "Nikolić",
    "Jović",
    "Klarić",
    "Šimić",
    "Pranjić",
    "Vukelić",
    "Đurić",
    "Mlinarić",
    "Lukić",
    "Bašić",
    "Ivanković",
    "Brkić",
    "Rukavina",
    "Šimunović",
    "Galić",
    "Kolar",
    "Matijević",
    "Tadić",
    "Golub",
    "Vrdoljak",
    "Crnković",
    "Živković",
    "Bilić",
    "Lončar",
    "Kralj",
    "Ćosić",
    "Žagar",
    "Mesarić",
    "Pavičić",
    "Ivančić",
    "Đaković",
)

# Countries -----------------------------------------------------------------------

# The member states of the European Union.
EU_COUNTRIES: frozenset[str] = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)
# Listed right after Croatia in country choices: the EU and the neighbours outside it.
PREFERRED_COUNTRIES: frozenset[str] = EU_COUNTRIES | {"BA", "RS", "ME"}

# Two-letter territory codes in the CLDR data that are not ISO 3166-1 countries:
# groupings, private-use and "exceptionally reserved" codes. Kosovo's XK, the code
# used by the EU and most software, is kept.
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)
_LOCALES = {"hr": "hr_HR", "en": "en_GB"}
# Croatian alphabetical order: č, ć after c; dž, đ after d; lj after l; nj after n;
# š after s; ž after z. Other accents are folded away.
_CROATIAN_ORDER = (
    ("dž", "d\uffff\u0001"),
    ("lj", "l\uffff\u0001"),
    ("nj", "n\uffff\u0001"),
    ("č", "c\uffff\u0001"),
    ("ć", "c\uffff\u0002"),
    ("đ", "d\uffff\u0002"),
    ("š", "s\uffff\u0001"),
    ("ž", "z\uffff\u0001"),
)


def _sort_key(name: str, croatian: bool) -> tuple[str, str]:
    text = name.casefold()
    if croatian:
        for letters, replacement in _CROATIAN_ORDER:
            text = text.replace(letters, replacement)
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return folded, name


@functools.cache
def _country_codes() -> frozenset[str]:
    territories = Locale.parse("en").territories
    return frozenset(
        code
        for code in territories
        if isinstance(code, str)
        and len(code) == 2
        and code.isalpha()
        and code not in _NOT_COUNTRIES
    )


@functools.cache
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    locale = Locale.parse(_LOCALES.get(language, language))
    names = locale.territories
    croatian = locale.language == "hr"
    codes = _country_codes()

    def ordered(group: Iterable[str]) -> list[tuple[str, str]]:
        pairs = [(code, names.get(code, code)) for code in group]
        return sorted(pairs, key=lambda pair: _sort_key(pair[1], croatian))

    preferred = (PREFERRED_COUNTRIES & codes) - {"HR"}
    rest = codes - preferred - {"HR"}
    return (("HR", names["HR"]), *ordered(preferred), *ordered(rest))


def country_choices(language: str) -> list[tuple[str, str]]:
    """``(ISO 3166-1 alpha-2 code, localised name)`` pairs for a country ``<select>``:
    Croatia first, then the EU member states and Croatia's neighbours outside the EU
    (BA, RS, ME), then all other countries, each group in the alphabetical order of
    ``language`` (``"hr"``, ``"en"`` or any Babel locale identifier)."""
    return list(_country_choices(language))


def is_country(code: str) -> bool:
    """Whether ``code`` is an upper-case ISO 3166-1 alpha-2 country code (or XK)."""
    return code in _country_codes()
