"""Lists people shape: saved views, bulk changes to take back, and the generic handlers
of views, bulk actions and exports (the lists themselves are declared by their areas)."""

from groupware.lists import web
from groupware.lists.models import BulkChange, SavedView
from groupware.wiring import Area

AREA = Area("lists", models=(SavedView, BulkChange), pages=(web,))
