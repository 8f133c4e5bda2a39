"""评价 and 还没修好: the reporter rates a completed repair (which closes it) or sends it back.

Two ways in: the dialogs here (维修评价 in the menu, or 我的报修 → a ticket → 评价 / 还没修好), and the
short commands the completion push suggests, typed anywhere: "评价 5", "评价 5 修得很快",
"评价 R261127001 4", "没修好 还在滴水".  ``parse_command`` reads those (a pure function);
``answer_command`` carries them out.  Every change goes through ``core.actions`` (``rate``, ``rework``).
The dialogs keep the ticket (and the stars) in a typed form: ``RateForm``, ``ReworkForm``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.actions import rating, reworking
from dialogs.commands import SEP, TICKET_NO, W, clean, ticket_no
from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch
from dialogs.forms import Form
from dialogs.state import Incoming, fold
from models.errors import IllegalMove, NotFound
from models.tickets import Ticket, completed_for, get_ticket, is_filed_by

TEXT = {
    "title": "维修评价",
    "rework_title": "还没修好",
    "pick_title": "选择报修单",
    "stars_title": "打分",
    "comment_title": "评价内容",
    "rework_step": "哪里没修好",
    "pick": "请选择要评价的报修单（回复数字）：",
    "row": "{no} {building} {fault}",
    "stars": "请为 {no}（{fault}）的维修打分，回复 1–5：",
    "star_1": "★ 很不满意",
    "star_2": "★★ 不满意",
    "star_3": "★★★ 一般",
    "star_4": "★★★★ 满意",
    "star_5": "★★★★★ 非常满意",
    "bad_stars": "评分是 1 到 5 星，请回复 1–5 之间的数字。",
    "comment_low": "很抱歉这次维修让您不满意。请说说哪里不满意（必填），后勤管理处会看到：",
    "comment": "还有什么想说的吗？（选填，回复「无」跳过）",
    "comment_required": "1–2 星的评价需要写明原因，请说说哪里不满意。",
    "comment_long": "评价内容请控制在 500 字以内。",
    "thanks": "谢谢您的评价！{no} 已评 {stars} 星，已销单。",
    "thanks_low": "谢谢您的评价！{no} 已评 {stars} 星，已销单。您的意见已转给后勤管理处。",
    "more": "您还有 {n} 张维修完成的单待评价，回复「评价」继续。",
    "none": "您目前没有待评价的报修单。维修完成后，回复「评价 5」（1–5 星）即可评价。",
    "not_found": "没有找到您报的单 {no}，请核对单号。",
    "not_completed": "{no} 现在是「{status}」，维修完成后才能评价。",
    "rated": "{no} 已经评价过了（{stars} 星），谢谢！",
    "finished": "{no} 已经「{status}」，不能再评价了。",
    "changed": "{no} 的状态刚刚变了，请回复「我的报修」查看最新进度。",
    "how": "回复「评价 5」打分（1–5 星），可以接着写几句，例如「评价 5 修得很快」；1–2 星请写明原因。",
    "how_low": "1–2 星的评价请写明原因，例如「评价 {stars} 师傅没有来」。",
    "how_rework": "请说说哪里还没修好，例如「没修好 还在滴水」。",
    "rework": "请说说 {no}（{fault}）哪里还没修好，我们会重新安排维修：",
    "rework_long": "请控制在 500 字以内。",
    "reworked": "收到，{no} 已重新受理，我们会尽快安排师傅再来处理。",
    "rework_none": "您目前没有「维修完成」的报修单。如果又坏了，回复「报修」重新报修。",
    "rework_not_completed": "{no} 现在是「{status}」，还在处理中。想补充情况，可以在「我的报修」里留言。",
    "rework_finished": "{no} 已经「{status}」了。如果又坏了，回复「报修」重新报修。",
    "help": "回复 1–5 打分；1–2 星需要写明原因。回复「取消」可以稍后再评。",
    "rework_help": "说说哪里还没修好，我们会把单子退回重新维修。回复「取消」放弃。",
}

SKIP_WORDS = frozenset({"无", "没有", "没了", "不用", "不用了", "跳过", "略", "没", "无意见", "不写"})
COMMENT_MAX = 500
ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


# -- the forms of the two dialogs ----------------------------------------------------------------------

@dataclass(frozen=True)
class RateForm(Form):
    """The ticket being rated, and the stars once given."""

    VERSION = 1

    no: str | None = None
    stars: int | None = None


@dataclass(frozen=True)
class ReworkForm(Form):
    """The ticket being sent back."""

    VERSION = 1

    no: str | None = None


# -- the short commands (pure) -----------------------------------------------------------------------

@dataclass(frozen=True)
class RateCommand:
    """「评价 [R…] N [评价内容]」; stars is None for a bare 「评价 [R…]」."""

    no: str | None
    stars: int | None
    comment: str = ""


@dataclass(frozen=True)
class ReworkCommand:
    """「没修好 [R…] 还有什么问题」."""

    no: str | None
    text: str = ""


Command = RateCommand | ReworkCommand

_STARS = r"(?:(?P<digits>[0-9０-９]{1,3})(?!分钟|[0-9０-９])(?:颗星|星|分)?|(?P<zh>[一二两三四五])(?:颗星|星|分)(?!钟))"
RATE_RE = re.compile(rf"^{W}*(?:评价|评分|打分){W}*(?P<no>{TICKET_NO})?{SEP}(?P<rest>.*)$", re.S)
STARS_RE = re.compile(rf"^{_STARS}(?P<comment>.*)$", re.S)
REWORK_RE = re.compile(rf"^{W}*(?:还没有修好|还没修好|没有修好|没修好)了?{W}*(?P<no>{TICKET_NO})?(?P<text>.*)$", re.S)


def parse_command(raw: str) -> Command | None:
    """Read a reporter's short command; None when the text is not one."""
    m = RATE_RE.match(raw or "")
    if m:
        no, rest = ticket_no(m.group("no")), m.group("rest").strip()
        if not rest:
            return RateCommand(no, None)
        s = STARS_RE.match(rest)
        if s is None:
            return None  # "评价一下", "评价很好": not a command
        stars = int(fold(s.group("digits"))) if s.group("digits") else ZH_DIGITS[s.group("zh")]
        return RateCommand(no, stars, clean(s.group("comment")))
    m = REWORK_RE.match(raw or "")
    if m:
        return ReworkCommand(ticket_no(m.group("no")), clean(m.group("text")))
    return None


# -- carrying the commands out -----------------------------------------------------------------------

def completed_tickets(ctx: Ctx) -> list[Ticket]:
    """The user's own completed tickets, the most recently completed first."""
    return completed_for(ctx.session, ctx.openid, ctx.who().person_id)


def _own(ctx: Ctx, no: str) -> Ticket | None:
    try:
        ticket = get_ticket(ctx.session, no)
    except NotFound:
        return None
    return ticket if is_filed_by(ticket, ctx.openid, ctx.who().person_id) else None


def why_not_rate(ticket: Ticket) -> str | None:
    """Say why a ticket cannot be rated now; None when it can."""
    if ticket.status == "completed":
        return None
    if ticket.rating is not None:
        return TEXT["rated"].format(no=ticket.no, stars=ticket.rating)
    if ticket.status in ("closed", "rejected", "cancelled"):
        return TEXT["finished"].format(no=ticket.no, status=ticket.status_zh)
    return TEXT["not_completed"].format(no=ticket.no, status=ticket.status_zh)


def why_not_rework(ticket: Ticket) -> str | None:
    if ticket.status == "completed":
        return None
    if ticket.status in ("closed", "rejected", "cancelled"):
        return TEXT["rework_finished"].format(no=ticket.no, status=ticket.status_zh)
    return TEXT["rework_not_completed"].format(no=ticket.no, status=ticket.status_zh)


def answer_command(ctx: Ctx, cmd: Command) -> str | Switch:
    """Carry out a short command; a Switch means "ask the rest in a dialog"."""
    if isinstance(cmd, ReworkCommand):
        return _rework_command(ctx, cmd)
    if cmd.stars is None and cmd.no is None:
        return Switch("rate")
    if cmd.no is not None:
        ticket = _own(ctx, cmd.no)
        if ticket is None:
            return TEXT["not_found"].format(no=cmd.no)
    else:
        latest = completed_tickets(ctx)
        if not latest:
            return TEXT["none"]
        ticket = latest[0]
    refusal = why_not_rate(ticket)
    if refusal:
        return refusal
    if cmd.stars is None:
        return Switch("rate", data=RateForm(no=ticket.no))
    if not 1 <= cmd.stars <= 5:
        return TEXT["bad_stars"]
    if len(cmd.comment) > COMMENT_MAX:
        return TEXT["comment_long"]
    if cmd.stars <= 2 and not cmd.comment:
        return Switch("rate", data=RateForm(no=ticket.no, stars=cmd.stars))
    return submit_rating(ctx, ticket.no, cmd.stars, cmd.comment)


def instead(switch: Switch) -> str:
    """What to say instead of starting a dialog (when another one is waiting to be finished)."""
    if switch.flow == "rework":
        return TEXT["how_rework"]
    if isinstance(switch.data, RateForm) and switch.data.stars is not None:
        return TEXT["how_low"].format(stars=switch.data.stars)
    return TEXT["how"]


def _rework_command(ctx: Ctx, cmd: ReworkCommand) -> str | Switch:
    if cmd.no is not None:
        ticket = _own(ctx, cmd.no)
        if ticket is None:
            return TEXT["not_found"].format(no=cmd.no)
        refusal = why_not_rework(ticket)
        if refusal:
            return refusal
    else:
        latest = completed_tickets(ctx)
        if not latest:
            return TEXT["rework_none"]
        ticket = latest[0]
    if not cmd.text:
        return Switch("rework", data=ReworkForm(no=ticket.no))
    if len(cmd.text) > COMMENT_MAX:
        return TEXT["rework_long"]
    return submit_rework(ctx, ticket.no, cmd.text)


def submit_rating(ctx: Ctx, no: str, stars: int, comment: str | None) -> str:
    """Rate through core.actions (which closes the ticket) and thank the user."""
    try:
        ctx.act(rating, no, ctx.openid, stars, comment or None)
    except (IllegalMove, NotFound):
        return TEXT["changed"].format(no=no)
    said = TEXT["thanks_low" if stars <= 2 else "thanks"].format(no=no, stars=stars)
    left = len(completed_tickets(ctx))
    return said + ("\n" + TEXT["more"].format(n=left) if left else "")


def submit_rework(ctx: Ctx, no: str, text: str) -> str:
    try:
        ctx.act(reworking, no, ctx.openid, text)
    except (IllegalMove, NotFound):
        return TEXT["changed"].format(no=no)
    return TEXT["reworked"].format(no=no)


# -- the rating dialog ----------------------------------------------------------------------------------

def _no(ctx: Ctx) -> str:
    """The ticket of the rating or rework dialog going on ("" before one is picked)."""
    data = ctx.state.data
    return data.no or "" if isinstance(data, RateForm | ReworkForm) else ""


def _ticket(ctx: Ctx) -> Ticket | None:
    return _own(ctx, _no(ctx))


def on_start(ctx: Ctx) -> Outcome | None:
    if ctx.state.data.has("no"):
        ticket = _ticket(ctx)
        if ticket is None:
            return End(TEXT["not_found"].format(no=_no(ctx)))
        refusal = why_not_rate(ticket)
        return End(refusal) if refusal else None
    if not completed_tickets(ctx):
        return End(TEXT["none"])
    return None


def pick_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["row"].format(no=t.no, building=t.building, fault=t.fault), t.no, (t.no,))
            for t in completed_tickets(ctx)]


def stars_prompt(ctx: Ctx) -> str:
    t = _ticket(ctx)
    return TEXT["stars"].format(no=_no(ctx), fault=t.fault if t else "")


def stars_choices(ctx: Ctx) -> list[Choice]:
    zh = "一二三四五"
    return [Choice(TEXT[f"star_{n}"], n, (f"{n}星", f"{n}分", f"{zh[n - 1]}星", f"{zh[n - 1]}颗星", "★" * n))
            for n in range(1, 6)]


def stars_text(ctx: Ctx, msg: Incoming) -> Outcome:
    """Free text at the stars step: "4 修得不错" or "评价 4 修得不错" gives both at once."""
    cmd = parse_command(msg.raw if msg.raw.lstrip().startswith(("评价", "评分", "打分")) else f"评价 {msg.raw}")
    if not isinstance(cmd, RateCommand) or cmd.stars is None or not 1 <= cmd.stars <= 5:
        return Retry(TEXT["bad_stars"])
    ctx.set("stars", cmd.stars)
    if cmd.comment:
        return _finish(ctx, cmd.comment)
    return Go()


def comment_prompt(ctx: Ctx) -> str:
    stars = ctx.form(RateForm).stars
    return TEXT["comment_low"] if (5 if stars is None else stars) <= 2 else TEXT["comment"]


def comment(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if msg.text in SKIP_WORDS:
        text = ""
    return _finish(ctx, text)


def _finish(ctx: Ctx, text: str) -> Outcome:
    stars = ctx.form(RateForm).stars or 0
    if stars <= 2 and not text:
        return Retry(TEXT["comment_required"])
    if len(text) > COMMENT_MAX:
        return Retry(TEXT["comment_long"])
    return End(submit_rating(ctx, _no(ctx), stars, text))


DIALOG = Dialog(
    name="rate",
    title=TEXT["title"],
    start="pick",
    form=RateForm,
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("pick", TEXT["pick_title"], TEXT["pick"], next="stars", choices=pick_choices, save="no",
             auto_single=True, read_only=True),
        Step("stars", TEXT["stars_title"], stars_prompt, next="comment", choices=stars_choices, save="stars",
             handle=stars_text),
        Step("comment", TEXT["comment_title"], comment_prompt, next=END, handle=comment),
    ),
)


# -- the rework dialog (one question) ---------------------------------------------------------------

def rework_start(ctx: Ctx) -> Outcome | None:
    if ctx.state.data.has("no"):
        ticket = _ticket(ctx)
        if ticket is None:
            return End(TEXT["not_found"].format(no=_no(ctx)))
    else:
        latest = completed_tickets(ctx)
        if not latest:
            return End(TEXT["rework_none"])
        ticket = latest[0]
        ctx.set("no", ticket.no)
    refusal = why_not_rework(ticket)
    return End(refusal) if refusal else None


def rework_prompt(ctx: Ctx) -> str:
    t = _ticket(ctx)
    return TEXT["rework"].format(no=_no(ctx), fault=t.fault if t else "")


def rework_text(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if len(text) > COMMENT_MAX:
        return Retry(TEXT["rework_long"])
    return End(submit_rework(ctx, _no(ctx), text))


REWORK_DIALOG = Dialog(
    name="rework",
    title=TEXT["rework_title"],
    start="what",
    form=ReworkForm,
    on_start=rework_start,
    help=TEXT["rework_help"],
    steps=(Step("what", TEXT["rework_step"], rework_prompt, next=END, handle=rework_text),),
)
