"""Build ``web/static/icons/icons.svg``, the one sprite of the app's icons.

The icons are Lucide's (ISC licence, some derived from Feather, MIT; both texts are in
``web/static/icons/LICENSE``), taken from the npm package ``lucide-static``::

    npm pack lucide-static@1.87.0 && tar xzf lucide-static-1.87.0.tgz
    python tools/icons.py package

Only the icons named in :data:`ICONS` go in, each as a ``<symbol>`` with the Lucide
name as its id; templates draw one with the ``icon`` macro of ``_ui.html``
(``{{ ui.icon("mail") }}``), and a test fails when a template names one that is not
here. Add a name, run this again, commit the sprite.
"""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from defusedxml import ElementTree as DefusedET

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "web" / "static" / "icons"
SVG = "http://www.w3.org/2000/svg"
STROKE = (
    'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
    'stroke-linejoin="round"'
)

ICONS = [
    # the main navigation
    "layout-dashboard", "building-2", "users", "handshake", "square-check-big", "mail",
    "calendar", "calendar-clock", "file-text", "map", "megaphone", "history", "settings",
    # the header and buttons
    "menu", "bell", "user", "log-out", "plus", "pencil", "trash-2", "search", "download",
    "upload", "send", "reply", "phone", "check", "x", "save", "share-2", "filter", "kanban",
    "chart-column", "chevron-left", "chevron-right", "inbox",
    # marks
    "clock", "triangle-alert",
]  # fmt: skip


def symbol(name: str, source: Path) -> str:
    root = DefusedET.fromstring(source.read_text(encoding="utf-8"))
    parts = [
        re.sub(r"\s+xmlns(:\w+)?=\"[^\"]*\"", "", ET.tostring(child, encoding="unicode"))
        for child in root
    ]
    body = "".join(p.replace("ns0:", "").strip() for p in parts)
    # Drawn by <use> in the page, a symbol inherits from the <use>, not from this file:
    # it carries Lucide's stroke settings itself (app.css sets them on .icon too).
    return (
        f'<symbol id="{name}" viewBox="{root.get("viewBox", "0 0 24 24")}" {STROKE}>{body}</symbol>'
    )


def main(package: str) -> int:
    icons = Path(package) / "icons"
    missing = [name for name in ICONS if not (icons / f"{name}.svg").is_file()]
    if missing:
        print(f"not in {icons}: {', '.join(missing)}", file=sys.stderr)
        return 1
    version = _version(Path(package))
    OUT.mkdir(parents=True, exist_ok=True)
    symbols = "\n".join(symbol(name, icons / f"{name}.svg") for name in ICONS)
    (OUT / "icons.svg").write_text(
        f"<!-- Lucide icons (lucide-static {version}), ISC licence: see LICENSE beside this "
        "file. Built by tools/icons.py. -->\n"
        f'<svg xmlns="{SVG}">\n'
        f"{symbols}\n</svg>\n",
        encoding="utf-8",
    )
    shutil.copyfile(Path(package) / "LICENSE", OUT / "LICENSE")
    print(f"wrote {len(ICONS)} icons to {OUT / 'icons.svg'}")
    return 0


def _version(package: Path) -> str:
    match = re.search(r'"version":\s*"([^"]+)"', (package / "package.json").read_text())
    return match.group(1) if match else "?"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python tools/icons.py PATH/TO/lucide-static/package", file=sys.stderr)
        sys.exit(2)
    ET.register_namespace("", SVG)
    sys.exit(main(sys.argv[1]))
