"""Repair workers acting from WeChat: 开始 / 完成 / 无法维修 R…, and 我的任务.

A worker's WeChat openid is bound to their staff account (``Staff.openid``, set with
``repairbot staff bind NAME OPENID``).  Matching a message is a pure function (``parse_staff_command``);
acting goes through ``core.actions.move_ticket`` as ``staff:<name>``, with the same rules and pushes as
the console.  Only tickets assigned to the worker can be moved.  Anyone else typing the same words is
told that these are workers' commands, and nothing moves.

The push a worker is owed when a ticket is assigned to them, or when its reporter says it is still
not fixed, is built next to the others, in ``models.pushes.worker_push``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.actions import moving
from dialogs.commands import TICKET_NO, W, clean, ticket_no
from dialogs.context import Ctx
from dialogs.state import fold
from models.errors import IllegalMove, NotFound
from models.people import Staff, staff_for_openid
from models.tickets import STATUS_ZH, TRANSITIONS, Ticket, get_ticket, worker_tasks

TEXT = {
    "not_staff": "「{verb}」是维修人员用的指令，您的微信没有绑定维修人员账号，所以没有做任何改动。"
                 "需要报修请直接描述问题，查看进度请回复「我的报修」。",
    "usage": "请带上单号，例如：\n开始 R261127001\n完成 R261127001 换了灯管\n无法维修 R261127001 缺材料",
    "unknown": "没有找到单号 {no}，请核对后再发。",
    "not_yours": "{no} 没有派给您，不能操作。如有疑问请联系调度。",
    "need_reason": "请写上暂时无法维修的原因，例如「无法维修 {no} 缺材料」。",
    "note_long": "说明请控制在 200 字以内。",
    "already": "{no} 已经是「{status}」了。",
    "illegal": "{no} 现在是「{status}」，不能改为「{to}」。",
    "can": "可以回复：{commands}",
    "finished": "{no} 已经「{status}」，不需要再操作了。",
    "changed": "{no} 刚刚被其他人改过，请回复「我的任务」看看最新状态。",
    "started": ("好的，{no} 已改为「维修中」。\n{place} · {fault}\n报修人电话 {phone}\n"
                "修好后回复「完成 {no} 处理说明」。"),
    "completed": "好的，{no} 已改为「维修完成」，报修人会收到通知并评价。辛苦了！",
    "on_hold": "好的，{no} 已改为「暂时无法维修」：{note}\n可以继续时回复「开始 {no}」。",
    "tasks": "您的派单（{n} 张）：",
    "task_row": "{no} {status} · {place} · {fault}",
    "tasks_tail": "回复「开始 R…」「完成 R… 处理说明」「无法维修 R… 原因」更新进度。",
    "no_tasks": "您目前没有待处理的派单。",
    "cmd_in_progress": "开始 {no}",
    "cmd_completed": "完成 {no} 处理说明",
    "cmd_on_hold": "无法维修 {no} 原因",
}

# What a worker types → the status it moves the ticket to.
VERBS = {
    "开始维修": "in_progress", "开始": "in_progress", "开工": "in_progress",
    "已完成": "completed", "完成": "completed", "修好了": "completed", "已修好": "completed",
    "暂时无法维修": "on_hold", "无法维修": "on_hold", "暂停": "on_hold",
}
DONE = {"in_progress": "started", "completed": "completed", "on_hold": "on_hold"}
TASK_WORDS = frozenset({"我的任务", "任务", "我的派单", "派单", "待办"})
NOTE_MAX = 200


_VERB = "|".join(sorted(VERBS, key=len, reverse=True))
COMMAND_RE = re.compile(rf"^{W}*(?P<verb>{_VERB}){W}*(?P<no>{TICKET_NO})?(?P<note>.*)$", re.S)


@dataclass(frozen=True)
class StaffCommand:
    """A worker's command: move ticket ``no`` to ``to`` (with a note), or list their tasks."""

    verb: str
    to: str | None  # None: 我的任务
    no: str | None = None
    note: str = ""


def parse_staff_command(raw: str) -> StaffCommand | None:
    """Read a worker's command from a message; None when it is not one.

    A verb needs a ticket number right after it ("完成 R261127001 换了灯管"), or must stand alone
    ("完成", answered with how to use it); "完成了吗" or "开始报修" are not commands.
    """
    text = fold(raw).strip()
    if text in TASK_WORDS:
        return StaffCommand(text, None)
    m = COMMAND_RE.match(raw or "")
    if m is None:
        return None
    verb, no = m.group("verb"), m.group("no")
    note = clean(m.group("note"))
    if no is None:
        return StaffCommand(verb, VERBS[verb]) if not note else None
    return StaffCommand(verb, VERBS[verb], ticket_no(no), note)


# -- answering ---------------------------------------------------------------------------------------------

def answer(ctx: Ctx) -> str | None:
    """Answer a worker's command; None when the message is not one (then the dialogs answer it)."""
    if ctx.msg.kind != "text":
        return None
    cmd = parse_staff_command(ctx.msg.raw)
    if cmd is None:
        return None
    staff = staff_for_openid(ctx.session, ctx.openid)
    if staff is None:
        # The same words from anyone else: a clear no when a ticket was named, the dialogs otherwise.
        return TEXT["not_staff"].format(verb=cmd.verb) if cmd.no else None
    if cmd.to is None:
        return tasks(ctx.session, staff)
    if cmd.no is None:
        return TEXT["usage"]
    return act(ctx, staff, cmd)


def tasks(session: Session, staff: Staff) -> str:
    rows = worker_tasks(session, staff.id)
    if not rows:
        return TEXT["no_tasks"]
    lines = [TEXT["task_row"].format(no=t.no, status=t.status_zh, place=t.place, fault=t.fault) for t in rows]
    return "\n".join([TEXT["tasks"].format(n=len(rows)), *lines, TEXT["tasks_tail"]])


def act(ctx: Ctx, staff: Staff, cmd: StaffCommand) -> str:
    assert cmd.no is not None and cmd.to is not None
    try:
        ticket = get_ticket(ctx.session, cmd.no)
    except NotFound:
        return TEXT["unknown"].format(no=cmd.no)
    if ticket.worker_id != staff.id:
        return TEXT["not_yours"].format(no=ticket.no)
    refusal = why_not(ticket, cmd.to)
    if refusal:
        return refusal
    if cmd.to == "on_hold" and not cmd.note:
        return TEXT["need_reason"].format(no=ticket.no)
    if len(cmd.note) > NOTE_MAX:
        return TEXT["note_long"]
    no, place, fault, phone = ticket.no, ticket.place, ticket.fault, ticket.phone
    try:
        ctx.act(moving, no, cmd.to, by=f"staff:{staff.name}", note=cmd.note or None)
    except (IllegalMove, NotFound):
        return TEXT["changed"].format(no=no)
    return TEXT[DONE[cmd.to]].format(no=no, place=place, fault=fault, phone=phone, note=cmd.note)


def why_not(ticket: Ticket, to: str) -> str | None:
    """Say, in Chinese, why a worker cannot move a ticket there; None when the rules allow it."""
    if ticket.status == to:
        return TEXT["already"].format(no=ticket.no, status=ticket.status_zh)
    moves = TRANSITIONS.get(ticket.status, {})
    if not moves:
        return TEXT["finished"].format(no=ticket.no, status=ticket.status_zh)
    if "staff" in moves.get(to, frozenset()):
        return None
    said = TEXT["illegal"].format(no=ticket.no, status=ticket.status_zh, to=STATUS_ZH[to])
    commands = [TEXT[f"cmd_{s}"].format(no=ticket.no) for s in ("in_progress", "completed", "on_hold")
                if "staff" in moves.get(s, frozenset())]
    return said + ("\n" + TEXT["can"].format(commands="、".join(f"「{c}」" for c in commands)) if commands else "")


# -- the push a worker is owed on assignment --------------------------------------------------------------
