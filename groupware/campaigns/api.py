"""The campaigns' API: ``/campaign-types`` (types with their phase templates, edited
by the campaigns' administrators)."""

from __future__ import annotations

from groupware.api import Api
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.phases import types_api

api = Api("campaigns")
types_api.declare(api, CAMPAIGN_TYPES)
