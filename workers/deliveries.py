"""Delivery reports (TEMPLATESENDJOBFINISH) that arrive before their push's msgid is recorded."""

from __future__ import annotations

import logging

from rq import get_current_job

from core.services import process_services
from models.errors import RepairbotError
from models.pushes import record_delivery

log = logging.getLogger(__name__)


class PushNotKnownYet(RepairbotError):
    """No push has this msgid yet."""


def record_late_delivery(msgid: str, status: str, openid: str | None = None) -> str:
    """Record a delivery report on its push; while no push has the msgid, try again later (by then a push
    whose worker died during the call is recognised by its user: models.pushes.record_delivery)."""
    svc = process_services()
    with svc.db.session() as session:
        if record_delivery(session, msgid, status, openid):
            return "recorded"
    job = get_current_job()
    if job is not None and job.retries_left:
        raise PushNotKnownYet(f"no push has msgid {msgid} yet")
    # Another system sending templates through the same account, or a push row that is gone.
    log.info("delivery report for msgid %s matches no push; dropped", msgid)
    return "unknown msgid"
