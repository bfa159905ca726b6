"""Phases: process types with their phase templates, the phases of records (deals, later
campaigns and inquiries) and the alert job for what runs late."""

from groupware.phases import alerts, types_web
from groupware.phases.models import Alert, Phase, ProcessType, TypePhase
from groupware.wiring import Area

AREA = Area(
    "phases",
    models=(ProcessType, TypePhase, Phase, Alert),
    # The process-type editor of every kind the areas declare (Area.process_kinds).
    pages=(types_web,),
    jobs=(alerts.ALERT_JOB,),
)
