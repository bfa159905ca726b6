"""The demo company's campaign types: a trade fair, a newsletter and a phone round,
each with the phases its campaigns go through (in Croatian, as the company works)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.phases.models import ProcessType
from groupware.phases.types import StepIn, TypeIn, save_type

TYPES = [
    ("Sajam", [("Priprema štanda", 21), ("Sajam", 4), ("Praćenje kontakata", 14)]),
    ("Newsletter", [("Sadržaj", 7), ("Slanje", 2), ("Odgovori", 14)]),
    ("Telefonska kampanja", [("Popis za pozive", 5), ("Pozivi", 15), ("Ponude", 10)]),
]


def load_campaigns_demo(session: Session) -> list[ProcessType]:
    """Write the demo campaign types (the caller's transaction)."""
    return [
        save_type(
            session,
            SYSTEM,
            CAMPAIGN_TYPES,
            None,
            TypeIn(name=name, phases=[StepIn(name=n, planned_days=d) for n, d in steps]),
        )
        for name, steps in TYPES
    ]
