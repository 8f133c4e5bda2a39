"""Time limits in seconds, and a ticket's clock moved back: the SLA sweep tested without waiting for hours.

`short_limits` loads the school's register again with limits of a few seconds (the application's way:
`store_register`, checked as `repairbot register load` checks it); `rewind` moves a ticket's stage clock,
its pause on hold and its completion back, as if that much time had passed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml
from sqlalchemy import select, update

from core.services import Services
from models.backoffice import Overdue
from models.people import bind_openid
from models.register import store_register
from models.tickets import Ticket
from tests.support.constants import REGISTER_FILE


def register_doc() -> dict[str, Any]:
    doc = yaml.safe_load(REGISTER_FILE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def short_limits(services: Services, sla: dict[str, str], **categories: dict[str, str]) -> None:
    """Make `sla` the school's limits (and each keyword's value the limits of the category so named, with
    its underscores for spaces — rarely needed), and put that register in force at once."""
    doc = register_doc()
    doc["sla"] = sla
    doc["sla_urgent"] = sla
    for cat in doc["categories"]:
        cat.pop("sla", None)
        if cat["name"] in categories:
            cat["sla"] = categories[cat["name"]]
    with services.db.session() as s:
        store_register(s, yaml.safe_dump(doc, allow_unicode=True), "short-limits")
    services.forget_register()


def rewind(services: Services, no: str, seconds: float) -> None:
    """Make it `seconds` later for one ticket: its stage began, its pause began, and it was completed that much
    earlier (columns left empty stay empty)."""
    back = timedelta(seconds=seconds)
    t = Ticket.__table__.c
    with services.db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.no == no)).one()
        values = {name: getattr(ticket, name) - back for name in ("stage_started_at", "hold_started_at",
                                                                     "completed_at", "created_at")
                  if getattr(ticket, name) is not None}
        s.execute(update(Ticket).where(t.id == ticket.id).values(**values))


def overdue_rows(services: Services, no: str) -> list[tuple[str, int, str, bool]]:
    """A ticket's late stages: (stage, round, holder, escalated), in the order recorded."""
    with services.db.session() as s:
        rows = s.scalars(select(Overdue).join(Ticket, Ticket.id == Overdue.ticket_id).where(Ticket.no == no)
                         .order_by(Overdue.id))
        return [(o.stage, o.round, o.holder, o.escalated_at is not None) for o in rows]


def bind_staff(services: Services, **openids: str) -> None:
    """Bind staff accounts to WeChat openids (name=openid), as `repairbot staff bind` does."""
    with services.db.session() as s:
        for name, openid in openids.items():
            bind_openid(s, name, openid)
