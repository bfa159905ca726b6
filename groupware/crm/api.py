"""(Being written.)"""

from __future__ import annotations

from groupware.api import Api

api = Api("crm")
