"""Pushes: one row per message we owe a user, so each is sent once and its result is kept."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.backoffice import STAGE_ZH, Overdue
from models.clock import now
from models.db import Base, UTCDateTime
from models.durations import say_duration_zh
from models.people import Staff, WechatUser
from models.tickets import NOTIFY, REWORK_NOTE, STATUS_PHRASE, Ticket, TicketEvent, followers, local_time

# WeChat cuts template keyword values at about 20 characters.
KEYWORD_MAX = 20
# How a push keeps a time (the template mapping formats it for its keyword's kind).
TIME_FORMAT = "%Y-%m-%d %H:%M"
# A customer-service text stays short: the note is cut here (WeChat takes about 2,000 bytes).
TEXT_NOTE_MAX = 200
# What a completed ticket's reporter can do next, in the words dialogs/rate.py reads ("评价 5", "没修好 …"):
# short enough for a template keyword, and in full for a text message and the reporter's page.
RATE_HINT_SHORT = "请回复「评价 5」或「没修好」"
RATE_HINT = ("满意请回复「评价 5」（1–5 星，可以接着写几句，如「评价 5 修得很快」；1–2 星请写明原因）；"
             "没修好请回复「没修好 哪里还有问题」，如「没修好 还在滴水」。")
# What a complaint's sender is told when it is closed (办结) without a note.
CONSULT_CLOSED = "已办结"
# What the reporter of a ticket merged into another is told (never 已驳回: nothing of theirs was refused).
MERGED_NOTE = "已合并到 {into}"
MERGED_TEXT = "【报修进度】您的报修单 {no} 已合并到 {into}（同一处的报修），请关注该单进展。"


class Push(Base):
    __tablename__ = "pushes"
    __table_args__ = (UniqueConstraint("event_id", "openid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    consult_id: Mapped[int | None] = mapped_column(ForeignKey("consults.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64))
    # status | reply | assign | rework | notice | rate_hint (the text after 维修完成) | closed (a complaint's 办结)
    # | account (the card was bound on another WeChat) | overdue (a stage past its limit, to the dispatchers)
    # | escalate (still overdue a limit later, to the admins) | rate_remind (no rating yet, to the reporter)
    kind: Mapped[str] = mapped_column(String(16))
    # How it went out: "template", or "custom" when the customer-service fallback was used.
    channel: Mapped[str | None] = mapped_column(String(16))
    # WeChat's TEMPLATESENDJOBFINISH status: success, failed:user block, failed: system failed.
    delivery: Mapped[str | None] = mapped_column(String(32))
    template_id: Mapped[str | None] = mapped_column(String(64))
    # {"template": <push kind>, "fields": {...}}: the product's fields in full, put into the account's keywords by
    # the mapping when sent (core/templates.py); rows of texts only, or of older code, hold WeChat's data itself.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending → sending (claimed by one worker) → sent | failed | skipped; back to pending for a retry
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    errcode: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    # Indexed: every template message sent brings a TEMPLATESENDJOBFINISH report that looks it up.
    msgid: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # While `sending`: when the worker claimed it (the sweep finds stuck rows by it); once sent: when.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# How long after the attempt a delivery report for the same user is taken to be that push's.
RECONCILE_WITHIN_S = 600
# A live worker finishes a send within this (WeChat's connect and read timeouts and a margin): a row
# `sending` for longer belongs to a worker that died during the call.
SENDING_AT_MOST_S = 30


def reopen_failed(session: Session, push_id: int) -> bool:
    """A person decided to try a failed push again (重新发送, or 重试 on 系统状态): back to pending, with a fresh
    budget of attempts; False when the row is not failed."""
    push = session.get(Push, push_id)
    if push is None or push.status != "failed":
        return False
    push.status, push.errcode, push.error, push.attempts = "pending", None, None, 0
    return True


def record_delivery(session: Session, msgid: str, status: str, openid: str | None = None) -> bool:
    """Record WeChat's report (TEMPLATESENDJOBFINISH) of whether a template message arrived.

    A report whose msgid no push has, for a user with a template push whose sending got no answer, is
    that push's: WeChat did accept it. It is recorded as sent, and never sent again."""
    push = session.scalars(select(Push).where(Push.msgid == msgid)).first()
    if push is None and openid:
        push = _unconfirmed_for(session, openid)
        if push is not None:
            push.status, push.msgid, push.channel = "sent", msgid[:32], "template"
    if push is None:
        return False
    push.delivery = status[:32]
    return True


def _unconfirmed_for(session: Session, openid: str) -> Push | None:
    """The user's template push whose sending got no answer (`unknown`, or `sending` by a dead worker)."""
    at = now()
    dead = (Push.status == "sending") & (Push.sent_at <= at - timedelta(seconds=SENDING_AT_MOST_S))
    return session.scalars(select(Push).where(
        Push.openid == openid, (Push.status == "unknown") | dead, Push.msgid.is_(None),
        Push.template_id.is_not(None), Push.sent_at >= at - timedelta(seconds=RECONCILE_WITHIN_S),
    ).order_by(Push.sent_at)).first()


def clip(text: str | None, limit: int = KEYWORD_MAX) -> str:
    """Cut a keyword value to what WeChat shows, marking the cut."""
    text = (text or "").strip().replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mapped(kind: str, **fields: str | None) -> dict[str, Any]:
    """A push's payload: the product's fields in full, for the template mapping of `kind` (core/templates.py)
    to fill the account's keywords from when the push is sent."""
    return {"template": kind, "fields": {k: ("" if v is None else str(v)) for k, v in fields.items()}}


def stamp(at: datetime | None) -> str:
    """A time as a push keeps it: China's clock, to the minute."""
    return local_time(at).strftime(TIME_FORMAT) if at is not None else ""


def merged(ticket: Ticket, event: TicketEvent) -> bool:
    """Whether a status event is the ticket's merge into another (a 驳回 in the rules, not in words)."""
    return event.status == "rejected" and bool(ticket.merged_into)


def status_payload(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    """The fields of a ticket status push."""
    note = event.note or ""
    phrase = STATUS_PHRASE[event.status]
    if merged(ticket, event):
        phrase, note = ticket.status_zh, MERGED_NOTE.format(into=ticket.merged_into)
    worker = ticket.worker
    if event.status == "assigned" and worker is not None:
        note = f"{worker.name} {worker.phone or ''}".strip() + (f"，{note}" if note else "")
    if event.status == "completed" and not note:
        note = RATE_HINT_SHORT
    return mapped("ticket_status", ticket_no=ticket.no, status=phrase,
                  note=note or f"{ticket.building} {ticket.fault}", place=ticket.place, fault=ticket.fault,
                  worker=worker.name if worker else "", worker_phone=(worker.phone or "") if worker else "",
                  category=ticket.category, time=stamp(event.at), created=stamp(ticket.created_at))


def pushes_for_event(session: Session, ticket: Ticket, event: TicketEvent, template_id: str) -> list[Push]:
    """Create the push rows an event owes the reporter and followers (once per event and user)."""
    if event.kind != "status" or event.status not in NOTIFY:
        return []
    rows = _rows(session, ticket, event, "status", template_id, status_payload(ticket, event))
    if event.status == "completed" and template_id and any(r.openid == reporter_of(session, ticket) for r in rows):
        rows.append(_rate_hint(session, ticket, rows))
    return rows


def _rate_hint(session: Session, ticket: Ticket, rows: list[Push]) -> Push:
    """The text message that follows a completion template, telling the reporter how to rate or say 没修好.

    A template keyword holds 20 characters, too few for the commands; a customer-service text may be sent
    only within 48 hours of the user's last message, which the worker checks (no template id: a text or
    nothing).  Without a template the completion push is itself a text, and says it: no second one."""
    reporter = reporter_of(session, ticket)
    status_row = next(r for r in rows if r.openid == reporter)
    push = Push(ticket_id=ticket.id, openid=reporter, kind="rate_hint", template_id=None,
                payload={"character_string1": {"value": ticket.no}}, status=status_row.status,
                error=status_row.error)
    session.add(push)
    session.flush()
    return push


def reply_payload(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    """The fields of a staff reply push."""
    return mapped("ticket_reply", ticket_no=ticket.no, reply=event.note, status=STATUS_PHRASE[ticket.status],
                  place=ticket.place, fault=ticket.fault, time=stamp(event.at))


def reply_pushes(session: Session, ticket: Ticket, event: TicketEvent, template_id: str) -> list[Push]:
    """Create the push rows a staff reply owes the reporter."""
    return _rows(session, ticket, event, "reply", template_id, reply_payload(ticket, event), followers_too=False)


def reporter_of(session: Session, ticket: Ticket) -> str:
    """Who hears of a ticket's progress: the WeChat its card is bound to now (the card moved to a new phone),
    else the one it was filed from (no card, or the card bound nowhere)."""
    if ticket.person_id is not None:
        bound = session.scalars(select(WechatUser.openid).where(WechatUser.person_id == ticket.person_id)
                                .order_by(WechatUser.bound_at.desc()).limit(1)).first()
        if bound is not None:
            return bound
    return ticket.openid


def _rows(session: Session, ticket: Ticket, event: TicketEvent, kind: str, template_id: str,
          payload: dict[str, Any], followers_too: bool = True) -> list[Push]:
    rows: list[Push] = []
    audience = list(dict.fromkeys([reporter_of(session, ticket),
                                   *(followers(session, ticket) if followers_too else [])]))
    for openid in audience:
        if event.by == f"user:{openid}":
            continue  # nobody is told about their own doing
        exists = session.scalars(select(Push).where(Push.event_id == event.id, Push.openid == openid)).first()
        if exists:
            continue
        user = session.scalars(select(WechatUser).where(WechatUser.openid == openid)).first()
        push = Push(ticket_id=ticket.id, event_id=event.id, openid=openid, kind=kind,
                    template_id=template_id or None, payload=payload)
        if user is not None and not user.subscribed:
            push.status, push.error = "skipped", "user unsubscribed"
        session.add(push)
        rows.append(push)
    session.flush()
    return rows


# What a worker is told (the ticket-status template, and its text fallback): a new assignment, or the
# reporter of a ticket they completed saying it is still not fixed.
WORKER_TEXT = {
    "assign": {
        "status": "新派单",
        "custom": "【新派单】报修单 {no}：{place}，{fault}。请尽快处理，回复「开始 {no}」开始维修。",
    },
    "urgent": {
        "status": "紧急报修",
        "custom": "【紧急报修】报修单 {no}：{place}，{fault}。{note}请立即处理。",
    },
    "rework": {
        "status": "返修",
        "custom": "【返修】报修单 {no}：{place}，{fault}。报修人说还没修好：{note}。"
                  "请再去看看，回复「开始 {no}」开始维修。",
    },
}


def worker_kind(event: TicketEvent) -> str | None:
    """Say which push a status event owes the ticket's worker: "assign", "rework" or None."""
    if event.kind != "status":
        return None
    if event.status == "assigned":
        return "assign"
    if event.status == "accepted" and event.by.startswith("user:"):
        return "rework"  # the reporter sent a completed ticket back
    return None


def worker_payload(ticket: Ticket, event: TicketEvent, kind: str) -> dict[str, Any]:
    """The fields (the worker-job template) telling a worker of a new or returned job."""
    place = f"{ticket.building} {ticket.room or ''}".strip()
    thing = f"{place} {ticket.fault}" if kind == "assign" else (event.note or f"{place} {ticket.fault}")
    return mapped("worker_job", ticket_no=ticket.no, status=WORKER_TEXT[kind]["status"], note=thing,
                  place=ticket.place, fault=ticket.fault, description=ticket.description,
                  reporter_phone=ticket.phone, category=ticket.category, time=stamp(event.at),
                  created=stamp(ticket.created_at))


def worker_push(session: Session, ticket: Ticket, event: TicketEvent, template_id: str,
                kind: str | None = None) -> Push | None:
    """Record the push telling the ticket's worker of a new assignment or of a rework; None when none is owed.

    Owed once per event and worker, when the worker is active and has a bound openid (a worker who
    assigned the ticket to themselves is not told).  ``kind`` says it when the event alone cannot (a rework
    after an unsatisfied return visit is made by staff).  Call it next to ``pushes_for_event`` in
    ``core.actions._moved`` and queue the row like the others.
    """
    worker = ticket.worker
    kind = kind or worker_kind(event)
    if kind is None or worker is None or not worker.openid or not worker.active:
        return None
    if event.by == f"staff:{worker.name}":
        return None
    exists = session.scalars(select(Push).where(Push.event_id == event.id, Push.openid == worker.openid)).first()
    if exists is not None:
        return None
    push = Push(ticket_id=ticket.id, event_id=event.id, openid=worker.openid, kind=kind,
                template_id=template_id or None, payload=worker_payload(ticket, event, kind))
    user = session.scalars(select(WechatUser).where(WechatUser.openid == worker.openid)).first()
    if user is not None and not user.subscribed:
        push.status, push.error = "skipped", "user unsubscribed"
    session.add(push)
    session.flush()
    return push


def urgent_pushes(session: Session, ticket: Ticket, event: TicketEvent, staff: list[Staff],
                  template_id: str) -> list[Push]:
    """Record the pushes telling staff of an emergency just filed (once per event and account)."""
    place = f"{ticket.building} {ticket.room or ''}".strip()
    payload = mapped("urgent", ticket_no=ticket.no, status=WORKER_TEXT["urgent"]["status"],
                     note=f"{place} {event.note or ticket.fault}", place=ticket.place, fault=ticket.fault,
                     description=ticket.description, reporter_phone=ticket.phone, category=ticket.category,
                     time=stamp(event.at), created=stamp(ticket.created_at))
    rows: list[Push] = []
    for person in staff:
        if not person.openid or person.openid in {r.openid for r in rows}:
            continue
        exists = session.scalars(select(Push).where(Push.event_id == event.id, Push.openid == person.openid)).first()
        if exists is not None:
            continue
        push = Push(ticket_id=ticket.id, event_id=event.id, openid=person.openid, kind="urgent",
                    template_id=template_id or None, payload=payload)
        user = session.scalars(select(WechatUser).where(WechatUser.openid == person.openid)).first()
        if user is not None and not user.subscribed:
            push.status, push.error = "skipped", "user unsubscribed"
        session.add(push)
        rows.append(push)
    session.flush()
    return rows


ACCOUNT_TEXT = ("您的校园卡 {card} 刚刚在另一个微信上绑定，这个微信已解除绑定。"
                "如果不是您本人操作，请回复「绑定」重新绑定，再在「个人信息」里修改密码。")


def card_moved_push(session: Session, openid: str, card: str) -> Push:
    """Tell a WeChat user that their campus card was bound on another account (a text message: no template
    fits, so it reaches them only within WeChat's 48 hours after they last wrote)."""
    push = Push(openid=openid, kind="account", template_id=None,
                payload={"thing1": {"value": ACCOUNT_TEXT.format(card=card)}})
    user = session.scalars(select(WechatUser).where(WechatUser.openid == openid)).first()
    if user is not None and not user.subscribed:
        push.status, push.error = "skipped", "user unsubscribed"
    session.add(push)
    session.flush()
    return push


def custom_text(session: Session, kind: str, ticket_id: int | None, event_id: int | None,
                payload: dict[str, Any], link: str, openid: str | None = None) -> str:
    """The customer-service text that stands in for a template push: number, status, note, link.

    It is built from the ticket and its event (the note in full, not cut to a keyword's length),
    or from the template fields when the push has no ticket.
    """
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    event = session.get(TicketEvent, event_id) if event_id is not None else None
    tail = f"\n查看详情：{link}" if link else ""
    if kind == "rate_hint" and ticket is not None:
        return f"【维修完成】您的报修单 {ticket.no}（{ticket.fault}）已维修完成。\n{RATE_HINT}" + tail
    if kind in ("overdue", "escalate", "rate_remind") and ticket is not None:
        return _sla_text(kind, ticket, payload) + tail
    if ticket is None or event is None:
        number, values = _payload_values(payload)
        if kind == "notice":
            return "【通知公告】" + "；".join(values) + tail
        if kind == "account":
            return "【账号提醒】" + "；".join(values)
        if kind == "reply" and number:
            return f"【咨询回复】您的留言 {number} 有新回复：" + "；".join(values) + tail
        if kind == "closed" and number:
            return f"【咨询办结】您的留言 {number} 已办结：" + "；".join(values) + tail
        return "【通知】" + "；".join([number, *values] if number else values) + tail
    note = _text_note(event.note)
    if kind == "urgent":
        said = f"{event.note}。" if event.note else ""
        return WORKER_TEXT[kind]["custom"].format(no=ticket.no, place=ticket.place, fault=ticket.fault,
                                                  note=f"{said}报修人电话 {ticket.phone}。") + tail
    if kind in WORKER_TEXT:
        return WORKER_TEXT[kind]["custom"].format(no=ticket.no, place=ticket.place, fault=ticket.fault,
                                                  note=note.removeprefix(REWORK_NOTE.format(text=""))) + tail
    if kind == "reply":
        return f"【报修回复】报修单 {ticket.no} 有新回复：{note or '请查看'}" + tail
    if merged(ticket, event):
        return MERGED_TEXT.format(no=ticket.no, into=ticket.merged_into) + tail
    if event.status == "assigned" and ticket.worker is not None:
        worker = f"{ticket.worker.name} {ticket.worker.phone or ''}".strip()
        note = f"维修人员：{worker}" + (f"；{note}" if note else "")
    lines = [f"【报修进度】您的报修单 {ticket.no} 状态更新为：{ticket.status_words(event.status)}"]
    if note:
        lines.append(f"说明：{note}")
    if event.status == "completed" and ticket.openid == openid:
        lines.append(RATE_HINT)
    return "\n".join(lines) + tail


def _text_note(note: str | None) -> str:
    text = " ".join((note or "").split())
    return text if len(text) <= TEXT_NOTE_MAX else text[: TEXT_NOTE_MAX - 1] + "…"


def consult_reply_payload(consult: Any, event: Any) -> dict[str, Any]:
    """The fields of a reply to a complaint or suggestion, or of its 办结 (the complaint-reply template)."""
    closed = getattr(event, "kind", "") == "closed"
    return mapped("complaint_reply", complaint_no=consult.no, complaint_title=consult.title,
                  reply=event.note or CONSULT_CLOSED, status="已办结" if closed else "已回复",
                  department=consult.department, time=stamp(event.at))


def payload_number(payload: dict[str, Any]) -> str:
    """The ticket's, complaint's or notice's number a push is about ("" when none)."""
    fields = payload.get("fields")
    if isinstance(fields, dict):
        return str(fields.get("ticket_no") or fields.get("complaint_no") or fields.get("notice_no") or "")
    return str((payload.get("character_string1") or {}).get("value", "") or "")


# The fields a text message shows for a push without a ticket, in order (its number apart).
TEXT_FIELDS = {"complaint_reply": ("reply", "time"), "notice": ("notice_title", "time")}


def _payload_values(payload: dict[str, Any]) -> tuple[str, list[str]]:
    """A payload's number and its other values, for a text message: the fields of a mapped payload, or the
    keyword values of an older row (keyed by WeChat's keyword ids)."""
    fields = payload.get("fields")
    if isinstance(fields, dict):
        names = TEXT_FIELDS.get(str(payload.get("template")), tuple(fields))
        return payload_number(payload), [str(fields[n]) for n in names if fields.get(n) and not n.endswith("_no")]
    values = {k: str(v.get("value", "")) for k, v in payload.items() if isinstance(v, dict) and v.get("value")}
    number = values.pop("character_string1", "")
    return number, list(values.values())


# -- the SLA sweep's pushes (models/sla.py): staff told of a late stage, a reporter reminded to rate ------------

# The status a late-stage push shows (a template phrase: 5 characters at most), and its text fallback.
OVERDUE_STATUS = {"accept": "受理超时", "assign": "指派超时", "complete": "完成超时"}
ESCALATE_STATUS = "超时督办"
OVERDUE_TEXT = {
    "overdue": "【超时提醒】报修单 {no}（{place}，{fault}）{stage}已超时限 {limit}，责任人：{holder}。请尽快处理。",
    "escalate": "【超时督办】报修单 {no}（{place}，{fault}）{stage}超时限 {limit} 后又过了 {limit}，"
                "仍未处理，责任人：{holder}。",
}
RATE_REMIND_STATUS = "待评价"
RATE_REMIND_TEXT = "【评价提醒】您的报修单 {no}（{fault}）已维修完成，还没有收到您的评价。\n{hint}"


def overdue_payload(ticket: Ticket, overdue: Overdue, limit: str, kind: str) -> dict[str, Any]:
    """The fields of a late-stage push (the sla_overdue mapping): the stage, its holder and the limit."""
    status = ESCALATE_STATUS if kind == "escalate" else OVERDUE_STATUS[overdue.stage]
    place = f"{ticket.building} {ticket.room or ''}".strip()
    return mapped("sla_overdue", ticket_no=ticket.no, status=status,
                  note=f"{place} {ticket.fault}，{STAGE_ZH[overdue.stage]}超{limit}，责任人{overdue.holder}",
                  place=ticket.place, fault=ticket.fault, category=ticket.category, stage=STAGE_ZH[overdue.stage],
                  holder=overdue.holder, limit=limit, time=stamp(overdue.at), created=stamp(ticket.created_at))


def overdue_pushes(session: Session, ticket: Ticket, overdue: Overdue, openids: Iterable[str | None],
                   limit: timedelta, kind: str, template_id: str) -> list[Push]:
    """Record the pushes telling staff (bound to WeChat) that a stage is late: `kind` overdue (the category's
    dispatchers, when the record is made) or escalate (the admins, one limit later).  The caller makes them
    once: only the sweep that recorded (or escalated) the Overdue calls this."""
    payload = overdue_payload(ticket, overdue, say_duration_zh(limit), kind)
    audience = list(dict.fromkeys(o for o in openids if o))
    unfollowed = select(WechatUser.openid).where(WechatUser.openid.in_(audience), WechatUser.subscribed.is_(False))
    gone = set(session.scalars(unfollowed)) if audience else set()
    rows = [Push(ticket_id=ticket.id, openid=openid, kind=kind, template_id=template_id or None, payload=payload)
            for openid in audience]
    for push in rows:
        if push.openid in gone:
            push.status, push.error = "skipped", "user unsubscribed"
    session.add_all(rows)
    session.flush()
    return rows


def rate_remind_push(session: Session, ticket: Ticket, template_id: str) -> Push:
    """Record the one reminder a reporter gets when a completed ticket is still unrated (the status template)."""
    payload = mapped("ticket_status", ticket_no=ticket.no, status=RATE_REMIND_STATUS, note=RATE_HINT_SHORT,
                     place=ticket.place, fault=ticket.fault, worker=ticket.worker.name if ticket.worker else "",
                     worker_phone=(ticket.worker.phone or "") if ticket.worker else "", category=ticket.category,
                     time=stamp(ticket.completed_at), created=stamp(ticket.created_at))
    push = _to_openid(session, Push(ticket_id=ticket.id, openid=ticket.openid, kind="rate_remind",
                                    template_id=template_id or None, payload=payload))
    session.flush()
    return push


def _to_openid(session: Session, push: Push) -> Push:
    """Add a push row, recorded as skipped when its user has unfollowed the account."""
    user = session.scalars(select(WechatUser).where(WechatUser.openid == push.openid)).first()
    if user is not None and not user.subscribed:
        push.status, push.error = "skipped", "user unsubscribed"
    session.add(push)
    return push


def _sla_text(kind: str, ticket: Ticket, payload: dict[str, Any]) -> str:
    """The customer-service text of a late-stage push or a rating reminder."""
    if kind == "rate_remind":
        return RATE_REMIND_TEXT.format(no=ticket.no, fault=ticket.fault, hint=RATE_HINT)
    fields = payload.get("fields") or {}
    return OVERDUE_TEXT[kind].format(no=ticket.no, place=ticket.place, fault=ticket.fault,
                                     stage=fields.get("stage", ""), limit=fields.get("limit", ""),
                                     holder=fields.get("holder", ""))
