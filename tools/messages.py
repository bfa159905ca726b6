"""Keep the message catalogs in step with the code: ``make messages``.

Extracts every translatable string into ``groupware/locale/messages.pot``, merges it
into the ``hr`` and ``en`` catalogs, and fills English entries with their msgid (the
source strings are English). Croatian entries that are new or fuzzy are listed, to be
translated by hand; the test suite fails while any is missing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "groupware" / "locale"
POT = LOCALE / "messages.pot"


def run(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *args], check=True, cwd=ROOT
    )


def main() -> int:
    run(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_l",
        "-k",
        "lazy_gettext",
        "--no-location",
        "--sort-output",
        "--project",
        "groupware",
        "--copyright-holder",
        "groupware authors",
        "-o",
        str(POT),
        ".",
    )
    for language in ("hr", "en"):
        po = LOCALE / language / "LC_MESSAGES" / "messages.po"
        if po.exists():
            run(
                "update",
                "-i",
                str(POT),
                "-o",
                str(po),
                "-l",
                language,
                "--no-fuzzy-matching",
                "--ignore-obsolete",
            )
        else:
            run("init", "-i", str(POT), "-o", str(po), "-l", language)
    english = LOCALE / "en" / "LC_MESSAGES" / "messages.po"
    with english.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with english.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, omit_header=False, width=100)
    croatian = LOCALE / "hr" / "LC_MESSAGES" / "messages.po"
    with croatian.open("rb") as handle:
        catalog = read_po(handle, locale="hr")
    missing = [
        m.id
        for m in catalog
        if m.id
        and (
            not m.string
            or "fuzzy" in m.flags
            or (isinstance(m.string, tuple) and not all(m.string))
        )
    ]
    for msgid in missing:
        print(f"hr: untranslated: {msgid!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
