"""Set Croatian translations from the command line or a JSON file:

    python tools/translate.py '{"Owner": "Vlasnik"}'

Plural entries take a list of the three Croatian forms.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = (
    Path(__file__).resolve().parent.parent
    / "groupware"
    / "locale"
    / "hr"
    / "LC_MESSAGES"
    / "messages.po"
)


def main() -> int:
    arg = sys.argv[1]
    # JSON text (it starts with a brace) or a file holding it
    mapping = json.loads(arg if arg.lstrip().startswith("{") else Path(arg).read_text())
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="hr")
    for msgid, text in mapping.items():
        message = catalog.get(msgid)
        if message is None:
            print(f"not in the catalog: {msgid!r}")
            continue
        message.string = tuple(text) if isinstance(text, list) else text
        message.flags.discard("fuzzy")
    with PO.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, width=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
