"""我的报修: the user's tickets, one ticket's timeline, 留言 (words, or up to 3 photos) and 撤销.

The list and a ticket's page only show things (read-only steps): a list number, a ticket number, an
action's name or 「评价 5」 answers them; a photo at a ticket's page joins it; anything else is taken as if
no dialog were open.  The words 「留言」「撤销」 typed outside (dialogs/ticket_words.py) open a ticket here
straight at that action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from core.jobs import DOWNLOAD_PHOTO
from dialogs.commands import TICKET_NO, is_ticket_no, ticket_no
from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch
from dialogs.forms import Form
from dialogs.rate import RateForm, ReworkForm, answer_command, parse_command
from dialogs.state import Incoming
from models.errors import IllegalMove, NotFound
from models.tickets import (
    PHOTOS_PER_MESSAGE,
    STATUS_ZH,
    Ticket,
    add_message,
    add_photo,
    followers,
    get_ticket,
    is_filed_by,
    local_time,
    move,
    user_tickets,
)

FINISHED = ("cancelled", "closed", "rejected")

TEXT = {
    "title": "我的报修",
    "list": "您的报修（回复数字查看详情）：",
    "row": "{no} {status} · {building} {fault}",
    "none": "您还没有报修记录。回复「报修」开始报修。",
    "none_unbound": "您还没有报修记录。报修记录跟着校园卡走：绑定校园卡后就能看到，回复「绑定」开始。",
    "detail": ("{no}  {status}\n{category}\n位置：{place}\n故障：{fault}\n描述：{description}\n"
               "{worker}进度：\n{timeline}"),
    "worker": "维修人员：{name}\n",
    "worker_phone": "维修人员：{name}（电话 {phone}）\n",
    "event": "· {at} {status}{note}",
    "message_event": "· {at} 留言：{note}",
    "reply_event": "· {at} 后勤回复：{note}",
    "rating": "评价：{stars} 星{comment}",
    "act_rate": "评价",
    "act_rework": "还没修好",
    "act_message": "留言",
    "act_withdraw": "撤销报修",
    "act_back": "返回列表",
    "message": "请输入留言（500 字以内），也可以发照片（最多 3 张），会显示在这张单上，维修人员可以看到：",
    "message_long": "留言请控制在 500 字以内。",
    "message_saved": "留言已添加到 {no}。",
    "withdraw": "确定撤销 {no} 吗？撤销后不会再派人维修。",
    "withdraw_yes": "确定撤销",
    "withdraw_no": "不撤销",
    "withdrawn": "{no} 已撤销。",
    "withdraw_late": "{no} 已经受理，不能撤销了。如果不再需要维修，请留言告诉维修人员。",
    "gone": "这张单找不到了，请重新选择。",
    "photo_note": "补充了照片",
    "photo_added": "照片已添加到 {no}（这条留言的第 {n} 张，最多 {max} 张）。",
    "photo_full": "一条留言最多带 {max} 张照片，这张没有加上；写一句留言后，可以再发。",
    "photo_pick": "要给报修单补充照片，请先回复数字打开那张单，再发照片。",
    "not_yours": "没有找到您的报修单 {no}，请核对单号，或回复「我的报修」查看全部。",
    "choose": "请回复列表前的数字。",
    "help": "回复数字查看一张单；在单子详情里可以留言或撤销（未受理时）。",
}


@dataclass(frozen=True)
class MyTicketsForm(Form):
    """The ticket open on the screen."""

    VERSION = 1

    no: str | None = None
    # The message that photos sent in a row at an open ticket go to (an album arrives one picture a message).
    photo_message: int | None = None
    then: str | None = None  # the step to open the ticket at (「留言」「撤销」 typed outside the list)


def form(ctx: Ctx) -> MyTicketsForm:
    return ctx.form(MyTicketsForm)


def _tickets(ctx: Ctx) -> list[Ticket]:
    return ctx.once("my_tickets", lambda: user_tickets(ctx.session, ctx.openid, ctx.who().person_id))


def list_prompt(ctx: Ctx) -> str:
    return TEXT["list"] if _tickets(ctx) else TEXT["none"]


def list_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["row"].format(no=t.no, status=t.status_zh, building=t.building, fault=t.fault), t.no,
                   (t.no,)) for t in _tickets(ctx)]


def read_number(raw: str) -> MyTicketsForm | None:
    """A ticket number typed with no list open opens that ticket (registry: the entry's ``reads``)."""
    return MyTicketsForm(no=ticket_no(raw.strip())) if is_ticket_no(raw) else None


def named_in(raw: str) -> MyTicketsForm | None:
    """A ticket number inside a sentence ("R261202013什么时候修"): that ticket opened; None when none is."""
    m = re.search(rf"(?<![0-9A-Za-z]){TICKET_NO}(?![0-9])", raw)
    return MyTicketsForm(no=ticket_no(m.group(0))) if m else None


def described_in(ctx: Ctx, raw: str) -> MyTicketsForm | None:
    """The one listed ticket a question names by its thing or its kind of fault (「上周二报的花洒修好了没有」):
    that ticket opened; None when the words name none, or several alike (the list answers then)."""
    p = ctx.understand(raw)
    item, group = (p.item, p.group) if p is not None else (None, None)

    def names(t: Ticket) -> bool:
        if item or group:
            return t.item == item if item else t.group == group
        return bool(t.item and t.item in raw)  # a question is read for its intent only: the ticket's own words

    named = [t for t in _tickets(ctx) if names(t)]
    return MyTicketsForm(no=named[0].no) if len(named) == 1 else None


def on_start(ctx: Ctx) -> Outcome | None:
    f = form(ctx)
    if f.no is not None:  # opened at a ticket named outside the list: only one the list would show
        t = _ticket(ctx)
        if t is None or not visible(ctx, t):
            return End(TEXT["not_yours"].format(no=f.no))
    if f.then is not None:
        return Go(f.then)
    if not _tickets(ctx):
        return End(TEXT["none"] if ctx.who().bound else TEXT["none_unbound"])
    return None


def on_pick(ctx: Ctx, choice: Choice) -> Outcome:
    ctx.set("no", choice.value)
    return Go()


def by_number(ctx: Ctx, msg: Incoming) -> Outcome:
    """Let a ticket number typed in full open it too, even one not in the short list."""
    try:
        ticket = get_ticket(ctx.session, ticket_no(msg.text) or "")
    except NotFound:
        return Retry(TEXT["gone"])
    if not visible(ctx, ticket):
        return Retry(TEXT["gone"])
    ctx.set("no", ticket.no)
    return Go()


def visible(ctx: Ctx, ticket: Ticket) -> bool:
    """The same tickets as the list: filed as the card bound now, or followed while bound."""
    person_id = ctx.who().person_id
    if is_filed_by(ticket, ctx.openid, person_id):
        return True
    return person_id is not None and ctx.openid in followers(ctx.session, ticket)


def _ticket(ctx: Ctx) -> Ticket | None:
    no = form(ctx).no or ""
    return ctx.once(f"ticket:{no}", lambda: _find(ctx, no))


def _find(ctx: Ctx, no: str) -> Ticket | None:
    try:
        return get_ticket(ctx.session, no)
    except NotFound:
        return None


def timeline(ticket: Ticket) -> str:
    lines = []
    for e in ticket.events:
        at = local_time(e.at).strftime("%m-%d %H:%M")
        if e.kind == "message":
            lines.append(TEXT["message_event"].format(at=at, note=e.note))
        elif e.kind == "reply":
            lines.append(TEXT["reply_event"].format(at=at, note=e.note))
        elif e.kind == "status":
            lines.append(TEXT["event"].format(at=at, status=STATUS_ZH[e.status],
                                              note=f"：{e.note}" if e.note else ""))
    return "\n".join(lines)


def detail_prompt(ctx: Ctx) -> str:
    t = _ticket(ctx)
    if t is None:
        return TEXT["gone"]
    text = TEXT["detail"].format(no=t.no, status=t.status_zh, category=t.category, place=t.place, fault=t.fault,
                                 description=t.description, worker=worker_line(t), timeline=timeline(t))
    if t.rating is not None:
        comment = f"，{t.rating_comment}" if t.rating_comment else ""
        text += "\n" + TEXT["rating"].format(stars=t.rating, comment=comment)
    return text


def worker_line(t: Ticket) -> str:
    """Who is coming, once someone is assigned: the name, and the phone when the account has one."""
    if t.worker is None:
        return ""
    if t.worker.phone:
        return TEXT["worker_phone"].format(name=t.worker.name, phone=t.worker.phone)
    return TEXT["worker"].format(name=t.worker.name)


def detail_choices(ctx: Ctx) -> list[Choice]:
    t = _ticket(ctx)
    # A ticket withdrawn, closed or rejected is over: nobody would read a message on it.
    options = [] if t is not None and t.status in FINISHED else [Choice(TEXT["act_message"], "message")]
    mine = t is not None and is_filed_by(t, ctx.openid, ctx.who().person_id)
    if t is not None and t.status == "submitted" and mine:
        options.append(Choice(TEXT["act_withdraw"], "withdraw", ("撤销",)))
    if t is not None and t.status == "completed" and mine:
        options += [Choice(TEXT["act_rate"], "rate"), Choice(TEXT["act_rework"], "rework")]
    options.append(Choice(TEXT["act_back"], "list"))
    return options


def on_action(ctx: Ctx, choice: Choice) -> Outcome:
    ctx.forget("photo_message")  # photos sent after this are another message
    if choice.value == "list":
        ctx.forget("no")
    if choice.value in ("rate", "rework"):  # dialogs/rate.py
        kind = RateForm if choice.value == "rate" else ReworkForm
        return Switch(str(choice.value), data=kind(no=form(ctx).no))
    return Go(str(choice.value))


def is_command(ctx: Ctx, msg: Incoming) -> bool:
    """What a ticket's page answers besides its actions: 「评价 5」-like commands, and a photo for the ticket."""
    return msg.kind == "image" or parse_command(msg.raw) is not None


def on_screen_command(ctx: Ctx, msg: Incoming) -> Outcome:
    """「评价 5」「没修好 还在滴水」 typed on a ticket's page are about that ticket, not the latest one."""
    cmd = parse_command(msg.raw)
    t = _ticket(ctx)
    if t is None:
        return End(TEXT["gone"])
    if cmd is None:
        return Retry(TEXT["choose"])
    said = answer_command(ctx, replace(cmd, no=cmd.no or t.no))
    return said if isinstance(said, Switch) else End(said)


def message(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if len(text) > 500:
        return Retry(TEXT["message_long"])
    t = _ticket(ctx)
    if t is None:
        return End(TEXT["gone"])
    add_message(ctx.session, t, text, by=f"user:{ctx.openid}", source_key=msg.msg_key or None)
    ctx.forget("photo_message")  # photos sent after the words are another message
    return Go(say=TEXT["message_saved"].format(no=t.no))


def on_image(ctx: Ctx, msg: Incoming) -> str:
    """Add a photo sent at an open ticket to it: those sent in a row are one message, of up to 3."""
    t = _ticket(ctx) if ctx.state.step in ("detail", "message") else None
    if t is None:
        return TEXT["photo_pick"]
    added = add_photo(ctx.session, t, msg.media_id, msg.pic_url or None, by=f"user:{ctx.openid}",
                      note=TEXT["photo_note"], message_id=form(ctx).photo_message, source_key=msg.msg_key or None)
    ctx.set("photo_message", added.message_id)
    if added.photo_id is None:
        return TEXT["photo_full"].format(max=PHOTOS_PER_MESSAGE)
    if added.new:
        ctx.enqueue("media", DOWNLOAD_PHOTO, added.photo_id, job_id=f"media-{added.photo_id}", fresh=True)
    return TEXT["photo_added"].format(no=t.no, n=added.count, max=PHOTOS_PER_MESSAGE)


def withdraw_prompt(ctx: Ctx) -> str:
    return TEXT["withdraw"].format(no=form(ctx).no or "")


def withdraw_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["withdraw_yes"], True, yes=True), Choice(TEXT["withdraw_no"], False, no=True)]


def on_withdraw(ctx: Ctx, choice: Choice) -> Outcome:
    t = _ticket(ctx)
    if t is None:
        return End(TEXT["gone"])
    if not choice.value:
        return Go("detail")
    try:
        move(ctx.session, t, "cancelled", by=f"user:{ctx.openid}", role="reporter", note="用户撤销")
    except IllegalMove:
        return Go("detail", TEXT["withdraw_late"].format(no=t.no))
    return End(TEXT["withdrawn"].format(no=t.no))


DIALOG = Dialog(
    name="my_tickets",
    title=TEXT["title"],
    start="list",
    form=MyTicketsForm,
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("list", "报修列表", list_prompt, next="detail", choices=list_choices, on_choice=on_pick,
             handle=by_number, save="no", read_only=True, answers=lambda ctx, msg: is_ticket_no(msg.text)),
        Step("detail", "报修详情", detail_prompt, next=END, choices=detail_choices, on_choice=on_action,
             handle=on_screen_command, goes_to=("message", "withdraw", "list"), read_only=True,
             answers=is_command),
        Step("message", "留言", TEXT["message"], next="detail", handle=message),
        Step("withdraw", "撤销", withdraw_prompt, next=END, choices=withdraw_choices, on_choice=on_withdraw,
             goes_to=("detail",)),
    ),
    on_image=on_image,
)
