"""The header's global search: its page; the kinds of record it looks through are
declared by the areas that own them (``Area.search_providers``)."""

from groupware.search import web
from groupware.wiring import Area

AREA = Area("search", pages=(web,))
