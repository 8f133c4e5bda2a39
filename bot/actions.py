"""Staff actions on tickets, shared by the shell and the console: move, then push."""

from __future__ import annotations

from bot.services import Services
from models.people import get_staff
from models.pushes import pushes_for_event
from models.tickets import Ticket, get_ticket, move
from workers.push import send_push
from workers.queues import enqueue


def move_ticket(svc: Services, no: str, to: str, *, by: str, note: str | None = None,
                worker: str | None = None) -> Ticket:
    """Move a ticket as staff; every push it owes is recorded with it and sent after commit."""
    with svc.db.session() as s:
        ticket = get_ticket(s, no)
        staff = get_staff(s, worker) if worker else None
        event = move(s, ticket, to, by=by, role="staff", note=note, worker=staff)
        pushes = pushes_for_event(s, ticket, event, svc.config.template_ticket)
        pending = [p.id for p in pushes if p.status == "pending"]
    for push_id in pending:
        enqueue(svc, "pushes", send_push, push_id, job_id=f"push-{push_id}")
    return ticket
