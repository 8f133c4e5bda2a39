"""Follow-up tasks in the queue (after a 1–2 star rating, or an unsatisfied return visit on a closed ticket):
listed for the dispatchers of the ticket's category (and admins) until someone records what was done.

The list is its own template (console/_followups.html, included by the queue page), filled by the template
global ``open_followups`` so that the queue's view needs no change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.console.auth import me
from bot.console.blueprint import bp, services
from bot.console.forms import FollowUpDoneForm
from bot.console.perms import StaffUser
from bot.console.text import FOLLOWUP_ZH, TEXT
from bot.console.views import refused
from models.backoffice import FollowUp
from models.clock import now
from models.tickets import Ticket

# The most the queue lists at once (the oldest first).
SHOWN = 20


@dataclass(frozen=True)
class OpenFollowUp:
    id: int
    no: str
    reason: str
    note: str
    created_at: datetime


def _mine(user: StaffUser) -> bool | None:
    """Whether the user sees every follow-up (admin), those of their categories (dispatcher: None), or none."""
    if user.is_admin:
        return True
    return None if user.role == "dispatcher" else False


@bp.app_template_global("open_followups")
def open_followups() -> list[OpenFollowUp]:
    """The open follow-ups the logged-in staff member should see, oldest first."""
    user = me()
    scope = _mine(user)
    if scope is False:
        return []
    q = (select(FollowUp, Ticket.no).join(Ticket, Ticket.id == FollowUp.ticket_id)
         .where(FollowUp.done_at.is_(None)).order_by(FollowUp.id).limit(SHOWN))
    if scope is None:
        q = q.where(FollowUp.category.in_(user.categories))
    with services().db.session() as s:
        return [OpenFollowUp(f.id, no, FOLLOWUP_ZH.get(f.reason, f.reason), f.note or "", f.created_at)
                for f, no in s.execute(q)]


@bp.post("/followups/<id:followup_id>/done")
def followup_done(followup_id: int) -> ResponseReturnValue:
    """Record what was done about a follow-up: it leaves the queue."""
    user = me()
    form = FollowUpDoneForm()
    back = redirect(url_for("console.queue"))
    with services().db.session() as s:
        task = s.get(FollowUp, followup_id)
        if task is None or _mine(user) is False or (not user.is_admin and task.category not in user.categories):
            abort(404)
        if refused(form):
            return back
        if task.done_at is not None:
            flash(TEXT["followup_gone"], "info")
            return back
        no = s.scalar(select(Ticket.no).where(Ticket.id == task.ticket_id)) or ""
        task.done_at, task.done_by = now(), user.name
        done = (form.note.data or "").strip()
        task.note = f"{task.note}\n处理：{done}" if task.note else f"处理：{done}"
    flash(TEXT["followup_done"].format(no=no), "success")
    return back
