"""Actions on tickets by staff and reporters, shared by the shell, the console, the chat and /t/ pages.

Each action changes the database through the ticket rules, records the pushes it owes in the same
transaction, and queues them only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.config import Config
from core.jobs import SEND_PUSH, enqueue, queue_bulk
from core.services import Services
from models import rollup
from models.backoffice import VISIT_ZH, FollowUp, ReturnVisit
from models.clock import now
from models.consult import Consult, ConsultEvent, close_consult, get_consult, reply_consult
from models.errors import IllegalMove, NotFound
from models.notices import Notice, notice_audience, notice_payload
from models.people import WechatUser, emergency_staff, get_staff
from models.pushes import Push, consult_reply_payload, pushes_for_event, reply_pushes, urgent_pushes, worker_push
from models.tickets import (
    CLOSED_UNRATED,
    CLOSED_VISIT,
    OPEN_STATUSES,
    REWORK_NOTE,
    UNRATED_NOTE,
    Ticket,
    TicketEvent,
    add_message,
    downgrade,
    follow,
    get_ticket,
    is_filed_by,
    move,
)

T = TypeVar("T")
# A rating this low (1–2 stars) leaves a follow-up task for the dispatchers.
LOW_RATING = 2
# Who the timeline names for what the system did by itself (the SLA sweep's 销单).
SYSTEM = "system:sla"
# An action done inside a session: what it changed, and the pushes it owes (queued after the commit).
Done = tuple[T, list[Push]]


def run(svc: Services, act: Callable[..., Done[T]], *args: Any, **kwargs: Any) -> T:
    """Do an action in a transaction of its own, then queue the pushes it owes."""
    with svc.db.session() as s:
        value, pushes = act(s, svc.config, *args, **kwargs)
    queue_pushes(svc, pushes)
    return value


def queue_pushes(svc: Services, pushes: Iterable[Push]) -> None:
    """Hand the pushes to the bulk senders, ahead of any notice's (a job per push costs more in RQ's
    bookkeeping than the push itself: workers/bulk.py); an invitation to rate that waits its delay goes as a job
    of its own, run when it is due."""
    ids = []
    for push in pushes:
        if push.status != "pending":
            continue
        delay = push_delay(svc.config, push)
        if delay:
            enqueue(svc.redis, "pushes", SEND_PUSH, push.id, job_id=f"push-{push.id}", delay_s=delay)
        else:
            ids.append(push.id)
    if ids:
        queue_bulk(svc.redis, ids, svc.config.push_senders, urgent=True)


def push_delay(cfg: Config | None, push: Push) -> int:
    """Seconds a push waits before it goes: the invitation to rate after 维修完成 waits REPAIRBOT_RATE_INVITE_DELAY
    (none by default); every other push goes at once."""
    if cfg is None or push.kind != "rate_hint":
        return 0
    return int(cfg.rate_invite_delay.total_seconds())


def pending_ids(pushes: Iterable[Push]) -> list[int]:
    return [p.id for p in pushes if p.status == "pending"]


def _moved(cfg: Config, s: Session, ticket: Ticket, event: TicketEvent) -> list[Push]:
    """Record the pushes a status change owes: the reporter and followers, and the worker of a ticket newly
    assigned to them or sent back by its reporter."""
    rows = pushes_for_event(s, ticket, event, cfg.template_id("ticket_status"))
    to_worker = worker_push(s, ticket, event, cfg.template_id("worker_job"))
    return [*rows, to_worker] if to_worker is not None else rows


# -- in a session: the dialogs do these in the message's own transaction -----------------------------

def moving(s: Session, cfg: Config, no: str, to: str, *, by: str, note: str | None = None,
           worker: str | None = None) -> Done[Ticket]:
    """Move a ticket as staff, recording every push it owes."""
    ticket = get_ticket(s, no)
    staff = get_staff(s, worker) if worker else None
    event = move(s, ticket, to, by=by, role="staff", note=note, worker=staff)
    return ticket, _moved(cfg, s, ticket, event)


def accepting_and_assigning(s: Session, cfg: Config, no: str, worker: str, *, by: str,
                            note: str | None = None) -> Done[Ticket]:
    """受理并指派: accept a new ticket and name its worker in one transaction; both moves are on the timeline
    and owe their pushes as if made one after the other (the note goes with the assignment)."""
    ticket, accepted = moving(s, cfg, no, "accepted", by=by)
    _, assigned = moving(s, cfg, no, "assigned", by=by, note=note, worker=worker)
    return ticket, [*accepted, *assigned]


def replying(s: Session, cfg: Config, no: str, text: str, *, by: str) -> Done[Ticket]:
    """Reply to the reporter on a ticket's timeline; the reply reaches them as a push."""
    text = text.strip()
    if not text:
        raise IllegalMove("a reply needs some text", code="reply_empty")
    ticket = get_ticket(s, no)
    event = TicketEvent(ticket_id=ticket.id, kind="reply", status=ticket.status, by=by, note=text)
    s.add(event)
    ticket.updated_at = now()
    s.flush()
    return ticket, reply_pushes(s, ticket, event, cfg.template_id("ticket_reply"))


def merging(s: Session, cfg: Config, no: str, into: str, *, by: str) -> Done[Ticket]:
    """Merge a ticket into another: it is closed as a duplicate and its reporter follows the other."""
    ticket = get_ticket(s, no)
    target = get_ticket(s, into)
    if target.id == ticket.id:
        raise IllegalMove("a ticket cannot be merged into itself", code="merge_self")
    if target.merged_into:
        raise IllegalMove(f"{target.no} was itself merged into {target.merged_into}", code="merge_merged",
                          no=target.no, into=target.merged_into)
    if target.status not in OPEN_STATUSES:
        raise IllegalMove(f"{target.no} is {target.status}: merge only into an open ticket", code="merge_closed",
                          no=target.no, status=target.status)
    event = move(s, ticket, "rejected", by=by, role="staff", note=f"已合并到 {target.no}，请关注该单进展")
    ticket.merged_into = target.no
    follow(s, target, ticket.openid)
    return ticket, _moved(cfg, s, ticket, event)


def messaging(s: Session, cfg: Config, no: str, openid: str, text: str, *,
              source_key: str | None = None) -> Done[Ticket]:
    """Add the reporter's message to their ticket (once per source_key: see models.tickets.add_message)."""
    ticket = _own(s, no, openid)
    add_message(s, ticket, text.strip(), by=f"user:{openid}", source_key=source_key)
    return ticket, []


def reworking(s: Session, cfg: Config, no: str, openid: str, text: str) -> Done[Ticket]:
    """Send a completed ticket back to `accepted` because the reporter says it is not fixed."""
    text = text.strip()
    if not text:
        raise IllegalMove("please say what is still wrong", code="rework_empty")
    ticket = _own(s, no, openid)
    event = move(s, ticket, "accepted", by=f"user:{openid}", role="reporter", note=REWORK_NOTE.format(text=text))
    return ticket, _moved(cfg, s, ticket, event)


def rating(s: Session, cfg: Config, no: str, openid: str, stars: int, comment: str | None = None) -> Done[Ticket]:
    """Rate a completed ticket, which closes it; a comment is required for 1-2 stars."""
    comment = (comment or "").strip() or None
    if not 1 <= stars <= 5:
        raise IllegalMove("a rating is 1 to 5 stars", code="stars")
    if stars <= 2 and not comment:
        raise IllegalMove("a rating of 1 or 2 stars needs a comment", code="low_rating_comment")
    ticket = _own(s, no, openid)
    event = move(s, ticket, "closed", by=f"user:{openid}", role="reporter", note=f"评价 {stars} 星" +
                 (f"：{comment}" if comment else ""))
    before = rollup.Facts.of(ticket)
    ticket.rating, ticket.rating_comment, ticket.rated_at = stars, comment, now()
    rollup.changed(s.connection(), before, rollup.Facts.of(ticket))
    if stars <= LOW_RATING:
        follow_up(s, ticket, "low_rating", f"{stars} 星：{comment}")
    # Followers hear that the ticket is closed; the reporter did it and is not told.
    return ticket, _moved(cfg, s, ticket, event)


def visiting(s: Session, cfg: Config, no: str, outcome: str, note: str | None, *, by: str) -> Done[ReturnVisit]:
    """Record a phone return visit (服务回访) on the ticket's timeline.  On a completed ticket 满意/基本满意 close
    it (销单 after the visit) and 不满意 sends it back as rework to the same worker, like 没修好; 不满意 on a
    ticket already closed leaves a follow-up for the dispatchers instead."""
    if outcome not in VISIT_ZH:
        raise IllegalMove(f"unknown outcome {outcome!r}; outcomes: {', '.join(VISIT_ZH)}", code="visit_outcome")
    note = (note or "").strip() or None
    ticket = get_ticket(s, no)
    if ticket.status not in ("completed", "closed"):
        raise IllegalMove(f"ticket {ticket.no} is {ticket.status}: a return visit follows a completion",
                          code="visit_too_early", no=ticket.no, status=ticket.status)
    visit = ReturnVisit(ticket_id=ticket.id, outcome=outcome, note=note, by=by)
    s.add(visit)
    said = f"回访{VISIT_ZH[outcome]}" + (f"：{note}" if note else "")
    s.add(TicketEvent(ticket_id=ticket.id, kind="visit", status=ticket.status, by=by, note=said))
    s.flush()
    return visit, _after_visit(s, cfg, ticket, outcome, said, by)


def _after_visit(s: Session, cfg: Config, ticket: Ticket, outcome: str, said: str, by: str) -> list[Push]:
    if ticket.status == "closed":
        if outcome == "unsatisfied":
            follow_up(s, ticket, "visit", said)
        return []
    if outcome == "unsatisfied":
        event = move(s, ticket, "accepted", by=by, note=REWORK_NOTE.format(text=said))
        rows = pushes_for_event(s, ticket, event, cfg.template_id("ticket_status"))
        to_worker = worker_push(s, ticket, event, cfg.template_id("worker_job"), kind="rework")
        return [*rows, to_worker] if to_worker is not None else rows
    if outcome in ("satisfied", "fair"):
        event = move(s, ticket, "closed", by=by, note=said, close_reason=CLOSED_VISIT)
        return _moved(cfg, s, ticket, event)
    return []


def follow_up(s: Session, ticket: Ticket, reason: str, note: str | None = None) -> FollowUp:
    """Leave a task for the ticket's dispatchers (shown in their queue until someone records what was done)."""
    task = FollowUp(ticket_id=ticket.id, reason=reason, category=ticket.category, note=note)
    s.add(task)
    s.flush()
    return task


def auto_closing(s: Session, cfg: Config, ticket_id: int) -> Done[Ticket | None]:
    """Close a completed ticket nobody rated in time: 已销单（未评价）, on the timeline, its reporter told.
    None when it is no longer completed (rated, sent back, or closed by a sweep running at the same time)."""
    ticket = s.get(Ticket, ticket_id)
    if ticket is None or ticket.status != "completed":
        return None, []
    try:
        event = move(s, ticket, "closed", by=SYSTEM, note=UNRATED_NOTE, close_reason=CLOSED_UNRATED)
    except IllegalMove:
        return None, []
    return ticket, _moved(cfg, s, ticket, event)


def return_visit(svc: Services, no: str, outcome: str, note: str | None, *, by: str) -> ReturnVisit:
    return run(svc, visiting, no, outcome, note, by=by)


def alerting(s: Session, cfg: Config, ticket_id: int) -> Done[Ticket]:
    """Tell staff at once of an emergency just filed: every dispatcher of its category, and the workers on
    duty (all its workers when none is); the pushes hang on the ticket's first event."""
    ticket = s.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}", code="no_ticket", no=str(ticket_id))
    first = ticket.events[0]
    return ticket, urgent_pushes(s, ticket, first, emergency_staff(s, ticket.category),
                                 cfg.template_id("urgent"))


def downgrading(s: Session, cfg: Config, no: str, *, by: str, note: str | None = None) -> Done[Ticket]:
    """Make an urgent ticket normal: a false alarm (改为普通), on the timeline; nobody is pushed."""
    ticket = get_ticket(s, no)
    downgrade(s, ticket, by=by, note=note)
    return ticket, []


def _own(s: Session, no: str, openid: str) -> Ticket:
    """The reporter's ticket: filed from this WeChat, or filed with the card this WeChat is bound to now."""
    ticket = get_ticket(s, no)
    person_id = s.scalar(select(WechatUser.person_id).where(WechatUser.openid == openid))
    if ticket.openid != openid and not is_filed_by(ticket, openid, person_id):
        raise IllegalMove(f"ticket {ticket.no} is not yours", code="not_yours", no=ticket.no)
    return ticket


# -- in a transaction of their own: the console, the shell and the pages ------------------------------

def move_ticket(svc: Services, no: str, to: str, *, by: str, note: str | None = None,
                worker: str | None = None) -> Ticket:
    return run(svc, moving, no, to, by=by, note=note, worker=worker)


def accept_and_assign(svc: Services, no: str, worker: str, *, by: str, note: str | None = None) -> Ticket:
    return run(svc, accepting_and_assigning, no, worker, by=by, note=note)


def downgrade_ticket(svc: Services, no: str, *, by: str, note: str | None = None) -> Ticket:
    return run(svc, downgrading, no, by=by, note=note)


def staff_reply(svc: Services, no: str, text: str, *, by: str) -> Ticket:
    return run(svc, replying, no, text, by=by)


def merge_ticket(svc: Services, no: str, into: str, *, by: str) -> Ticket:
    return run(svc, merging, no, into, by=by)


def reporter_message(svc: Services, no: str, openid: str, text: str, *, source_key: str | None = None) -> Ticket:
    return run(svc, messaging, no, openid, text, source_key=source_key)


def rework(svc: Services, no: str, openid: str, text: str) -> Ticket:
    return run(svc, reworking, no, openid, text)


def rate(svc: Services, no: str, openid: str, stars: int, comment: str | None = None) -> Ticket:
    return run(svc, rating, no, openid, stars, comment)


# -- 网上咨询 and 通知公告 ---------------------------------------------------------------------

def consult_reply(svc: Services, no: str, text: str, *, by: str) -> Consult:
    """Reply to a complaint or suggestion; the reply reaches its sender as a push."""
    with svc.db.session() as s:
        consult = get_consult(s, no)
        event = reply_consult(s, consult, text, by=by)
        push = _consult_push(svc.config, s, consult, event, "reply")
    queue_pushes(svc, [push])
    return consult


def consult_close(svc: Services, no: str, *, by: str, note: str | None = None) -> Consult:
    """Close a complaint or suggestion (办结); its sender is told, with the note if there is one."""
    with svc.db.session() as s:
        consult = get_consult(s, no)
        event = close_consult(s, consult, by=by, note=note)
        push = _consult_push(svc.config, s, consult, event, "closed")
    queue_pushes(svc, [push])
    return consult


def _consult_push(cfg: Config, s: Session, consult: Consult, event: ConsultEvent, kind: str) -> Push:
    """The push a reply to or the close of a complaint owes its sender (the reply template, else a text)."""
    push = Push(consult_id=consult.id, openid=consult.openid, kind=kind,
                template_id=cfg.template_id("complaint_reply") or None, payload=consult_reply_payload(consult, event))
    user = s.scalars(select(WechatUser).where(WechatUser.openid == consult.openid)).first()
    if user is not None and not user.subscribed:
        push.status, push.error = "skipped", "user unsubscribed"
    s.add(push)
    s.flush()
    return push


def push_notice(svc: Services, notice_id: int) -> int:
    """Push a notice to the subscribed users whose default room it concerns; return how many.

    The rows are written in one statement and their ids handed to the bulk senders (workers/bulk.py), which
    keep to the account's pace (REPAIRBOT_PUSH_RATE)."""
    with svc.db.session() as s:
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise NotFound(f"no notice {notice_id}", code="no_notice")
        if notice.pushed_at is not None:
            raise IllegalMove("this notice was pushed already", code="notice_pushed")
        audience = notice_audience(s, notice)
        row = {"notice_id": notice.id, "kind": "notice", "template_id": svc.config.template_id("notice") or None,
               "payload": notice_payload(notice), "status": "pending", "attempts": 0, "created_at": now()}
        ids = list(s.scalars(insert(Push).returning(Push.id, sort_by_parameter_order=True),
                             [{**row, "openid": openid} for openid in audience])) if audience else []
        notice.pushed_at = now()
    queue_bulk(svc.redis, ids, svc.config.push_senders)
    return len(ids)
