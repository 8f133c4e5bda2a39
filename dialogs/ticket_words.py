"""「留言」「撤销」 typed with no ticket open: act on the user's ticket without going through 我的报修.

People type the action, not the menu: 「留言」, 「留言 师傅下午两点后在」, 「撤销」, 「撤销 R261127001」.  With one
ticket the action fits, it opens there (the message is asked for, or the withdrawal confirmed, in
dialogs/my_tickets.py); with several, a numbered choice; with none, a sentence saying what to do instead.
「评价」 needs nothing here: it is a command of dialogs/rate.py, which does the same for completed tickets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.commands import SEP, TICKET_NO, W, clean, ticket_no
from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Outcome, Step, Switch
from dialogs.forms import Form
from dialogs.my_tickets import TEXT as TICKETS_TEXT
from dialogs.my_tickets import MyTicketsForm, visible
from models.errors import NotFound
from models.tickets import OPEN_STATUSES, Ticket, add_message, get_ticket, is_filed_by, user_tickets

TEXT = {
    "message_title": "留言",
    "withdraw_title": "撤销报修",
    "pick_title": "选择报修单",
    "pick_message": "您有 {n} 张处理中的报修单，给哪一张留言？（回复数字）",
    "pick_withdraw": "您有 {n} 张还没受理的报修单，要撤销哪一张？（回复数字）",
    "row": "{no} {status} · {building} {fault}",
    "none_message": "您目前没有处理中的报修单，留言不用发了。有新问题请直接描述，或回复「报修」；"
                    "回复「我的报修」可以看以前的单。",
    "none_withdraw": "您目前没有可以撤销的报修单。回复「我的报修」可以查看进度。",
    "accepted_only": "您的报修单都已经受理了，不能撤销。如果不再需要维修，回复「留言」告诉维修人员。",
    "not_found": "没有找到您的报修单 {no}，请核对单号，或回复「我的报修」查看。",
    "closed": "{no} 已经「{status}」，不能再留言了。回复「报修」可以重新报修。",
    "message_long": TICKETS_TEXT["message_long"],
    "message_saved": TICKETS_TEXT["message_saved"],
    "withdraw_late": TICKETS_TEXT["withdraw_late"],
}
MESSAGE_MAX = 500

MESSAGE_RE = re.compile(rf"^{W}*留言(?:{SEP}(?P<no>{TICKET_NO}))?(?:(?:{W}|[,，:：;；、])+(?P<text>.+))?{W}*$", re.S)
WITHDRAW_RE = re.compile(rf"^{W}*(?:撤销|撤回)(?:报修|报修单)?(?:{SEP}(?P<no>{TICKET_NO}))?{SEP}$")


@dataclass(frozen=True)
class TicketWordForm(Form):
    """The ticket named (if any) and, for 留言, the words already given."""

    VERSION = 1

    no: str | None = None
    text: str | None = None


def read_message(raw: str) -> Form | None:
    """「留言」「留言 R…」「留言：说的话」 as a form; None when the text is not that."""
    m = MESSAGE_RE.match(raw or "")
    if m is None:
        return None
    return TicketWordForm(no=ticket_no(m.group("no")), text=clean(m.group("text") or "") or None)


# A report no longer wanted, said in words (「不用修了，自己弄好了」): the way to withdraw it is offered.
NOT_NEEDED = re.compile(r"不用(?:再)?(?:修|来)了?|不需要(?:再)?修|不修了|自己(?:修|弄|搞)好|已经好了|又好了")


def not_needed(raw: str) -> bool:
    """Whether words say a report is no longer needed."""
    return NOT_NEEDED.search(raw) is not None


def read_withdraw(raw: str) -> Form | None:
    """「撤销」「撤销报修」「撤销 R…」 as a form; None when the text is not that."""
    m = WITHDRAW_RE.match(raw or "")
    return TicketWordForm(no=ticket_no(m.group("no"))) if m else None


def form(ctx: Ctx) -> TicketWordForm:
    return ctx.form(TicketWordForm)


def _mine(ctx: Ctx) -> list[Ticket]:
    return ctx.once("my_tickets", lambda: user_tickets(ctx.session, ctx.openid, ctx.who().person_id))


def _filed(ctx: Ctx, t: Ticket) -> bool:
    """Filed by this user (from this WeChat, or with the card it is bound to now), not only followed."""
    return is_filed_by(t, ctx.openid, ctx.who().person_id)


def _named(ctx: Ctx, no: str) -> Ticket | None:
    try:
        ticket = get_ticket(ctx.session, no)
    except NotFound:
        return None
    return ticket if visible(ctx, ticket) else None


# -- 留言 ----------------------------------------------------------------------------------------------

def message_candidates(ctx: Ctx) -> list[Ticket]:
    return [t for t in _mine(ctx) if t.status in (*OPEN_STATUSES, "completed")]


def message_start(ctx: Ctx) -> Outcome | None:
    no = form(ctx).no
    if no is not None:
        ticket = _named(ctx, no)
        if ticket is None:
            return End(TEXT["not_found"].format(no=no))
        if ticket.status not in (*OPEN_STATUSES, "completed"):
            return End(TEXT["closed"].format(no=ticket.no, status=ticket.status_zh))
        return leave_message(ctx, ticket.no)
    candidates = message_candidates(ctx)
    if not candidates:
        return End(TEXT["none_message"])
    return leave_message(ctx, candidates[0].no) if len(candidates) == 1 else None


def leave_message(ctx: Ctx, no: str) -> Outcome:
    """With the words already given, add them; else ask for them on the ticket's page."""
    text = form(ctx).text
    if not text:
        return Switch("my_tickets", data=MyTicketsForm(no=no, then="message"))
    if len(text) > MESSAGE_MAX:
        return End(TEXT["message_long"])
    ticket = get_ticket(ctx.session, no)
    add_message(ctx.session, ticket, text, by=f"user:{ctx.openid}", source_key=ctx.msg.msg_key or None)
    return End(TEXT["message_saved"].format(no=no))


def message_prompt(ctx: Ctx) -> str:
    return TEXT["pick_message"].format(n=len(message_candidates(ctx)))


def message_choices(ctx: Ctx) -> list[Choice]:
    return [_choice(t) for t in message_candidates(ctx)]


def on_message_pick(ctx: Ctx, choice: Choice) -> Outcome:
    return leave_message(ctx, str(choice.value))


# -- 撤销 ----------------------------------------------------------------------------------------------

def withdraw_candidates(ctx: Ctx) -> list[Ticket]:
    return [t for t in _mine(ctx) if t.status == "submitted" and _filed(ctx, t)]


def withdraw_start(ctx: Ctx) -> Outcome | None:
    no = form(ctx).no
    if no is not None:
        ticket = _named(ctx, no)
        if ticket is None or not _filed(ctx, ticket):
            return End(TEXT["not_found"].format(no=no))
        if ticket.status != "submitted":
            return End(TEXT["withdraw_late"].format(no=ticket.no))
        return confirm(ticket.no)
    candidates = withdraw_candidates(ctx)
    if not candidates:
        accepted = any(t.status in OPEN_STATUSES for t in _mine(ctx) if _filed(ctx, t))
        return End(TEXT["accepted_only" if accepted else "none_withdraw"])
    return confirm(candidates[0].no) if len(candidates) == 1 else None


def confirm(no: str) -> Outcome:
    return Switch("my_tickets", data=MyTicketsForm(no=no, then="withdraw"))


def withdraw_prompt(ctx: Ctx) -> str:
    return TEXT["pick_withdraw"].format(n=len(withdraw_candidates(ctx)))


def withdraw_choices(ctx: Ctx) -> list[Choice]:
    return [_choice(t) for t in withdraw_candidates(ctx)]


def on_withdraw_pick(ctx: Ctx, choice: Choice) -> Outcome:
    return confirm(str(choice.value))


def _choice(t: Ticket) -> Choice:
    return Choice(TEXT["row"].format(no=t.no, status=t.status_zh, building=t.building, fault=t.fault), t.no, (t.no,))


MESSAGE_DIALOG = Dialog(
    name="ticket_message",
    title=TEXT["message_title"],
    start="pick",
    form=TicketWordForm,
    on_start=message_start,
    steps=(Step("pick", TEXT["pick_title"], message_prompt, next=END, choices=message_choices,
                on_choice=on_message_pick, read_only=True),),
)

WITHDRAW_DIALOG = Dialog(
    name="ticket_withdraw",
    title=TEXT["withdraw_title"],
    start="pick",
    form=TicketWordForm,
    on_start=withdraw_start,
    steps=(Step("pick", TEXT["pick_title"], withdraw_prompt, next=END, choices=withdraw_choices,
                on_choice=on_withdraw_pick, read_only=True),),
)
