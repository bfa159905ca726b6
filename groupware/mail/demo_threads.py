"""The demo company's correspondence, as data: the team addresses and aliases, the
threads (who writes whom when, about which kind of deal), the attachments and the
newsletter issues. :mod:`groupware.mail.demo` builds and delivers them."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address

# local part, owner: a team's name or a user's username
ADDRESSES = [
    ("prodaja", "Prodaja Zagreb"),
    ("servis", "Servis"),
    ("nabava", "Nabava"),
    ("racuni", "martina"),
    ("ana.horvat", "ana"),
]
TEAM_NAMES = {"prodaja": "Prodaja", "servis": "Servis", "nabava": "Nabava", "racuni": "Računi"}
NEWSLETTER = Address("Poslovni tjednik", addr_spec="novosti@poslovni-tjednik.hr")


@dataclass(frozen=True)
class Step:
    """One message of a thread. Addresses are usernames, ``@<local part>`` of the
    company (``@deal``: the filing address of the thread's deal), ``person`` (the deal's
    partner's person who writes) or ``company`` (the partner's own address); bodies may
    name the deal's ``{title}``, ``{tag}`` and ``{person}``."""

    at: str  # "<days ago> HH:MM"; today (0) it means "that long ago"
    sender: str
    to: str
    body: str
    cc: str = ""
    subject: str = ""  # a new subject; otherwise "Re: " and the answered one's
    answers: int = -1  # which earlier step of the thread it answers (the last one)
    by: str = ""  # who sends from a team's address or an alias
    attach: str = ""  # a key of ATTACHMENTS, or "offer" (a PDF of the deal's offer)
    read: bool | None = None  # None: read once it is three days old
    archived: str = ""  # usernames who moved it to their archive


@dataclass(frozen=True)
class Thread:
    subject: str  # may name {title} and {tag} of the deal
    steps: tuple[Step, ...]
    deal: tuple[str, str, str] | None = None  # its owner, direction and status


THREADS = [
    Thread(
        "Tjedni pregled prilika – petak u 9:00",
        (
            Step(
                "18 08:40",
                "marko",
                "@prodaja",
                "Pozdrav svima,\n\nu petak u 9:00 u dvorani 2 prolazimo otvorene prilike. "
                "Neka svatko pripremi stanje svojih ponuda i tri najvažnija kupca.\n\n"
                "Dnevni red:\n1. Ponude starije od 30 dana\n2. Prognoza za kvartal\n"
                "3. Sajam u veljači",
            ),
            Step("18 09:12", "ivana", "@prodaja", "Može li u 9:30? U 9 imam poziv s kupcem."),
            Step("18 09:30", "marko", "ivana", "Može, krećemo u 9:30.", cc="@prodaja"),
        ),
    ),
    Thread(
        "Plan prodaje za prvi kvartal",
        (
            Step(
                "21 16:05",
                "ana",
                "marko petra maja",
                "Poštovani,\n\nu privitku je prijedlog plana prodaje po regijama za prvi "
                "kvartal. Molim komentare do srijede, nakon toga ga šaljem upravi.",
                cc="josip davor",
                attach="plan",
                archived="ana josip",
            ),
            Step(
                "20 08:55",
                "petra",
                "ana marko maja",
                "Za Dalmaciju se slažem, uz napomenu da sezona kreće tek u travnju, pa bih "
                "dio ožujka prebacila u drugi kvartal.",
            ),
            Step(
                "20 10:20",
                "maja",
                "ana marko petra",
                "Slavonija je u redu. Računam na dva veća projekta opremanja u veljači.",
            ),
        ),
    ),
    Thread(
        "Upit za ponudu – {title}",
        (
            Step(
                "16 10:14",
                "person",
                "ivana",
                "Poštovana gospođo Babić,\n\nmolim ponudu za opremu iz naslova za naše dvije "
                "poslovnice, s ugradnjom i godišnjim održavanjem. Isporuka do kraja mjeseca.",
            ),
            Step(
                "15 11:02",
                "ivana",
                "person",
                "Poštovani,\n\nzahvaljujem na upitu. U privitku je naša ponuda {tag} s cijenom "
                "ugradnje i održavanja. Ponuda vrijedi 30 dana.",
                cc="@deal",
                subject="Re: Upit za ponudu – {title} {tag}",
                attach="offer",
            ),
            Step(
                "13 09:47",
                "person",
                "ivana",
                "Hvala na ponudi. Možete li odobriti dodatni popust ako potpišemo ugovor o "
                "održavanju na dvije godine?",
            ),
            Step(
                "12 14:30",
                "ivana",
                "person",
                "Za ugovor na dvije godine odobravamo dodatnih 5 % na opremu. Šaljem "
                "izmijenjenu ponudu čim potvrdite količine.",
                cc="marko",
            ),
            Step("2 09:05", "person", "ivana", "Količine su potvrđene, narudžbenica stiže."),
        ),
        deal=("ivana", "sale", "open"),
    ),
    Thread(
        "Upit – {title} za tri poslovnice",
        (
            Step(
                "9 13:20",
                "person",
                "@prodaja",
                "Poštovani,\n\notvaramo tri nove poslovnice i zanima nas vaša ponuda. Tko je "
                "zadužen za naše područje?",
            ),
            Step(
                "9 14:05",
                "@prodaja",
                "person",
                "Poštovani,\n\nhvala na upitu. Javit će vam se kolega Tomislav Novak, koji je "
                "zadužen za vaše područje.",
                cc="tomislav",
                by="marko",
            ),
            Step(
                "8 10:40",
                "tomislav",
                "person",
                "Poštovani,\n\nšaljem okvirnu ponudu za tri poslovnice. Predlažem sastanak "
                "idući tjedan kako bismo dogovorili detalje.",
                cc="@deal",
                subject="Re: Upit – {title} za tri poslovnice {tag}",
            ),
            Step(
                "1 16:45", "person", "tomislav", "Utorak u 10 nam odgovara. Je li obuka u cijeni?"
            ),
        ),
        deal=("tomislav", "sale", "open"),
    ),
    Thread(
        "Termin prezentacije – {title} {tag}",
        (
            Step(
                "11 08:30",
                "luka",
                "person",
                "Poštovani,\n\npredlažem prezentaciju opreme kod vas u četvrtak ili petak "
                "ujutro. Ponijet ću uzorke i cjenik.",
                cc="petra",
            ),
            Step("10 12:10", "person", "luka", "Odgovara nam četvrtak u 10 sati."),
            Step("10 13:00", "luka", "person", "Potvrđujem četvrtak u 10. Vidimo se!"),
        ),
        deal=("luka", "sale", "open"),
    ),
    Thread(
        "Upit za ponudu: {title}",
        (
            Step(
                "14 09:00",
                "marko",
                "person",
                "Poštovani,\n\nmolimo ponudu za robu iz naslova za prvo tromjesečje, s rokovima "
                "isporuke i uvjetima plaćanja.",
                cc="@nabava @deal",
            ),
            Step(
                "13 15:20",
                "person",
                "marko",
                "Poštovani,\n\nu privitku je naš cjenik. Isporuka u roku 5 radnih dana, "
                "plaćanje 30 dana.",
                cc="@nabava",
                subject="Re: Upit za ponudu: {title} {tag}",
                attach="pricelist",
            ),
            Step(
                "12 08:15",
                "josip",
                "marko",
                "Cijene su oko 6 % iznad prošlogodišnjih. Tražio bih 3 % rabata za plaćanje "
                "u 15 dana.",
                read=False,  # Marko has not got to it yet
            ),
        ),
        deal=("marko", "purchase", "open"),
    ),
    Thread(
        "Kvar POS terminala u poslovnici",
        (
            Step(
                "6 07:55",
                "person",
                "@servis",
                "Poštovani,\n\nod jutros nam ne radi jedan od terminala koje smo kupili kod "
                "vas: ne prihvaća kartice. Molimo hitnu intervenciju.",
            ),
            Step("6 08:20", "davor", "nikola", "Nikola, možeš li to danas? Kupac je u jamstvu."),
            Step(
                "6 08:32",
                "@servis",
                "person",
                "Poštovani,\n\nserviser dolazi danas do 14 sati i donosi zamjenski uređaj.",
                by="nikola",
                answers=0,
            ),
            Step("5 17:10", "person", "@servis", "Terminal radi, hvala na brzoj intervenciji!"),
        ),
        deal=("ivana", "sale", "won"),
    ),
    Thread(
        "Podsjetnik: dospjeli račun za {title}",
        (
            Step(
                "7 10:00",
                "@racuni",
                "company",
                "Poštovani,\n\nljubazno podsjećamo da je račun za isporučenu robu dospio prije "
                "osam dana. Ako ste ga već platili, zanemarite ovu poruku.",
                by="martina",
            ),
            Step("4 11:25", "company", "@racuni", "Račun je plaćen jučer, ispričavamo se."),
        ),
        deal=("luka", "sale", "won"),
    ),
    Thread(
        "Supplier price lists for January",
        (
            Step(
                "5 14:10",
                "katarina",
                "josip",
                "Hi Josip,\n\nI have collected the new price lists of our four main suppliers. "
                "Paper rolls go up by 6 %, spare parts stay the same. Shall I ask for new "
                "offers before we order for January?",
            ),
            Step(
                "5 15:02",
                "josip",
                "katarina",
                "Yes, please ask at least two others for paper rolls, with nabava@ in copy.",
            ),
        ),
    ),
    Thread(
        "Obilazak kupaca u Osijeku idući tjedan",
        (
            Step(
                "4 09:15",
                "maja",
                "filip",
                "Filipe, idući utorak i srijedu obilazimo kupce u Osijeku i Vukovaru. Složi "
                "popis onih s otvorenim ponudama.",
            ),
            Step("4 09:50", "filip", "maja", "Popis je u kalendaru, šest kupaca."),
        ),
    ),
    Thread(
        "Fwd: Potvrda narudžbe – {title}",
        (
            Step(
                "3 13:30",
                "filip",
                "@deal",
                "Za evidenciju na prilici.\n\n---------- Proslijeđena poruka ----------\n"
                "Od: {person}\nPredmet: Potvrda narudžbe\n\nPotvrđujemo narudžbu prema vašoj "
                "ponudi. Molimo isporuku idući tjedan.",
            ),
        ),
        # An order confirmed is a deal won (most of a rep's older deals are decided).
        deal=("filip", "sale", "won"),
    ),
    Thread(
        "Popust za veću narudžbu",
        (
            Step(
                "0 00:25",
                "ivana",
                "marko",
                "Marko, kupac traži 8 % popusta ako naruči dvadeset terminala odjednom. "
                "Mogu li odobriti ili da idemo na 5 %?",
            ),
        ),
    ),
]

PLAN_CSV = (
    "regija;siječanj;veljača;ožujak;ukupno\n"
    "Zagreb;185000;170000;210000;565000\n"
    "Dalmacija;90000;95000;140000;325000\n"
    "Slavonija;75000;80000;95000;250000\n"
)
PRICE_LIST_CSV = (
    "šifra;naziv;jedinica;cijena EUR\n"
    "PR-57;Papirna rola 57 mm;kom;0,42\n"
    "PR-80;Papirna rola 80 mm;kom;0,61\n"
    "ET-40;Etikete 40x30;rola;3,90\n"
)
ATTACHMENTS = {
    "plan": ("plan_prodaje_Q1.csv", "text/csv", PLAN_CSV.encode()),
    "pricelist": ("cjenik.csv", "text/csv", PRICE_LIST_CSV.encode()),
}


# -- a newsletter -------------------------------------------------------------------

NEWSLETTER_HTML = """<!doctype html>
<html><body style="font-family: Arial, sans-serif; background: #f4f4f4">
<table width="600" align="center" style="background: #ffffff">
<tr><td><img src="https://poslovni-tjednik.hr/slike/zaglavlje.png" width="600" height="120"
  alt="Poslovni tjednik"></td></tr>
<tr><td style="padding: 16px">
<h1 style="color: #1a4c7c">{title}</h1>
<p>{lead}</p>
<p><img src="https://poslovni-tjednik.hr/slike/grafikon.png" width="560" alt="Grafikon"></p>
<p><a href="{link}">Pročitajte cijeli članak</a></p>
<p style="font-size: 11px; color: #888">Primate ovu poruku jer ste pretplaćeni na
Poslovni tjednik. <a href="https://poslovni-tjednik.hr/odjava">Odjava</a></p>
<img src="https://poslovni-tjednik.hr/t/open.gif?u=4711" width="1" height="1" alt="">
</td></tr></table></body></html>
"""

ISSUES = [
    # days ago, reader, title, lead, slug
    (
        10,
        "marko",
        "Maloprodaja u studenom: rast od 4 %",
        "Trgovci bilježe rast prometa, a ulaganja u blagajne i vage rastu treći kvartal zaredom.",
        "maloprodaja-studeni",
    ),
    (
        3,
        "ana",
        "Fiskalizacija 2.0: što se mijenja od siječnja",
        "Novi propisi donose obvezu e-računa i među tvrtkama. Pripremili smo pregled rokova.",
        "fiskalizacija-2-0",
    ),
]
