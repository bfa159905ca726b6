"""(Being written.)"""

from __future__ import annotations

from starlette.routing import BaseRoute

from groupware.app import NavItem

nav: list[NavItem] = []
routes: list[BaseRoute] = []
