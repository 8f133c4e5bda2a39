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
from datetime import timedelta
from typing import TYPE_CHECKING

from core.actions import rating, reworking
from dialogs import consult
from dialogs.commands import SEP, TICKET_NO, W, clean, ticket_no
from dialogs.context import Ctx
from dialogs.did_you_mean import repair_from
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch
from dialogs.forms import Form
from dialogs.state import Incoming, fold
from models.clock import now
from models.errors import IllegalMove, NotFound
from models.tickets import Ticket, completed_for, completed_since, get_ticket, is_filed_by

if TYPE_CHECKING:
    from dialogs.nlu.parse import Parse

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
    "offer": "不客气！{no}（{fault}）已经维修完成。要给这次维修评价吗？回复「评价 5」（1–5 星），可以接着写几句，"
             "例如「评价 5 {words}」。如果还没修好，请回复「没修好 哪里还有问题」。",
    "reworked_said": "收到，{no}（{fault}）已退回重新维修，原因记为「{text}」。我们会尽快安排师傅再来处理。",
    "sure": "您是说刚完成的 {no}（{fault}）还没修好吗？",
    "sure_yes": "是，还没修好，退回重新维修",
    "sure_no": "不是，这是新的问题",
    "sure_title": "是否没修好",
    "kept": "已记下您说的「{text}」。",
    "stars_after": "请为 {no}（{fault}）的维修打分，回复 1–5（或者说「满意」「一般」「不满意」）：",
    "complaint_about": "关于报修单 {no}（{fault}）：{text}",
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
    comment: str | None = None  # said before the stars ("很快 师傅态度好" at the list)


@dataclass(frozen=True)
class ReworkForm(Form):
    """The ticket being sent back, and what the user said of it when that was said before being asked."""

    VERSION = 1

    no: str | None = None
    text: str | None = None  # said unasked ("还是堵的"): asked only whether it is about this ticket


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


def submit_rework(ctx: Ctx, no: str, text: str, *, said: bool = False) -> str:
    """Send the ticket back through core.actions; said: the words were not asked for, so repeat them."""
    try:
        ctx.act(reworking, no, ctx.openid, text)
    except (IllegalMove, NotFound):
        return TEXT["changed"].format(no=no)
    if said:
        ticket = _own(ctx, no)
        return TEXT["reworked_said"].format(no=no, fault=ticket.fault if ticket else "", text=text)
    return TEXT["reworked"].format(no=no)


# -- what people say of a repair just completed, without a command --------------------------------------

# How long after 维修完成 a reaction with no ticket named is taken as about the ticket just completed.
RECENT = timedelta(days=3)
# What a reporter says of a repair just done, by what it asks for; the first kind whose word is found wins
# (so 不满意 is a complaint before 满意 is praise, 没修好 is not read as 修好).
REACTION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rework", ("没修好", "没有修好", "没弄好", "没有弄好", "没修", "没有修", "没解决", "还是坏", "还是不",
                "还是堵", "还是漏", "还是没", "还是", "还在", "又坏", "又堵", "又漏", "又不", "又没", "又开始", "没来",
                "没人来", "没有人来", "没有来", "没上门", "没过来", "根本没", "怎么就显示完成", "怎么就完成",
                "怎么完成了",
                "老样子", "跟原来一样", "跟之前一样")),
    ("complaint", ("不满意", "差评", "投诉", "态度差", "态度不好", "态度很差", "态度太差", "态度恶劣", "太差", "很差",
                   "敷衍", "乱收费", "太慢", "太凶", "很凶", "不专业", "没礼貌", "不礼貌", "弄脏", "弄坏", "不负责")),
    ("praise", ("谢谢", "感谢", "多谢", "辛苦", "满意", "好评", "点赞", "很快", "挺快", "真快", "及时", "态度好",
                "态度很好", "不错", "很好", "挺好", "很棒", "给力", "专业", "耐心", "修好了", "好了")),
)
# Stars said in words (the longer words first where one holds another: 不满意 holds 满意).
STAR_WORDS: tuple[tuple[str, int], ...] = (
    ("非常不满意", 1), ("很不满意", 1), ("太差", 1), ("很差", 1), ("非常差", 1), ("差评", 1),
    ("不太满意", 2), ("不满意", 2), ("不怎么样", 2), ("比较差", 2),
    ("非常满意", 5), ("很满意", 5), ("非常好", 5), ("特别好", 5), ("好评", 5), ("满意", 5), ("很好", 5), ("五星", 5),
    ("比较满意", 4), ("还不错", 4), ("不错", 4), ("挺好", 4),
    ("还行", 3), ("一般", 3), ("还可以", 3), ("凑合", 3), ("马马虎虎", 3),
    ("一星", 1), ("1星", 1), ("二星", 2), ("两星", 2), ("2星", 2), ("三星", 3), ("3星", 3), ("四星", 4), ("4星", 4),
    ("5星", 5),
)


def reaction_kind(text: str) -> str | None:
    """What a sentence about a repair just done asks for: rework, complaint, praise; None when it says none."""
    for kind, words in REACTION_WORDS:
        if any(w in text for w in words):
            return kind
    return None


def stars_in_words(text: str) -> int | None:
    """The stars a judgement in words gives ("很满意" → 5, "一般" → 3, "不满意" → 2); None when it gives none."""
    found = [(text.find(w), -len(w), n) for w, n in STAR_WORDS if w in text]
    return min(found)[2] if found else None


def completed_at(ticket: Ticket) -> float | None:
    """When the ticket was last completed (seconds since the epoch); None if never."""
    done = [e.at for e in ticket.events if e.kind == "status" and e.status == "completed"]
    return max(done).timestamp() if done else None


def just_completed(ctx: Ctx) -> Ticket | None:
    """The user's ticket completed in the last few days and not yet rated (the latest one)."""
    since = now() - RECENT
    person_id = ctx.who().person_id
    if not ctx.read(lambda conn: completed_since(conn, ctx.openid, person_id, since)):
        return None  # nothing just completed: no session for the common case, a new report
    for ticket in completed_tickets(ctx):
        at = completed_at(ticket)
        if at is not None and at >= since.timestamp():
            return ticket
    return None


def _about(ticket: Ticket, p: Parse | None) -> bool:
    """Whether what a parse names can be the ticket (no other building, no other kind of fault)."""
    if p is None:
        return True
    if p.building and p.building != ticket.building:
        return False
    return not (p.group and p.group != ticket.group)


def react(ctx: Ctx, text: str, p: Parse | None) -> str | Switch | None:
    """Answer a sentence typed with no dialog open that reacts to the ticket just completed ("修好了 谢谢师傅",
    "还是堵的", "师傅根本没来"): praise is offered the rating, "still broken" sends the ticket back with the words
    as the reason, a complaint about the service opens a complaint naming the ticket, and a report of the same
    fault asks whether it is this ticket.  None when the sentence is not about it."""
    if p is not None and (p.emergency or p.intent == "notice"):
        return None
    if p is not None and p.intent == "query" and "完成" not in text:
        return None  # "怎么还没人来" may be about a ticket still open: the list answers it
    kind = reaction_kind(text)
    stars = stars_in_words(text)
    if kind is None and stars is None and not (p is not None and p.intent == "repair" and p.group):
        return None
    ticket = just_completed(ctx)
    if ticket is None or not _about(ticket, p):
        return None
    if kind is None and stars is not None and (p is None or p.intent not in ("query", "repair")):
        # A judgement in words (「修得还行吧，就是来得有点慢」「三星吧」): the rating, with the words as its comment.
        return submit_rating(ctx, ticket.no, stars, text[:COMMENT_MAX])
    if kind == "praise":
        if p is not None and p.intent in ("query", "repair"):
            return None  # "修好了吗" asks; "灯好了 但是插座坏了" reports
        return TEXT["offer"].format(no=ticket.no, fault=ticket.fault, words=text if len(text) <= 20 else "修得很快")
    if kind == "complaint":
        said = TEXT["complaint_about"].format(no=ticket.no, fault=ticket.fault, text=text)
        form = consult.prefill(said[:500], ctx.register.departments)
        form.set("kind", "投诉", lambda: ctx.register)
        form.set("title", f"{ticket.no} {text}"[:30], lambda: ctx.register)
        return Switch("consult", data=form, say=consult.guessed(form))
    if kind == "rework" and len(text) <= COMMENT_MAX:
        return submit_rework(ctx, ticket.no, text, said=True)
    if p is None or p.intent != "repair":
        return None
    # The same kind of fault reported again, in no other words: this ticket, or a new one?
    return Switch("rework", data=ReworkForm(no=ticket.no, text=text[:COMMENT_MAX]))


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


def _described(ctx: Ctx, text: str, tickets: list[Ticket]) -> Ticket | None:
    """The one listed ticket the words describe ("灯管那个", "12栋那张", "还在闪"), by its thing, its kind of
    fault, its building or its room; None when they describe none or several alike."""
    p = ctx.understand(text)

    def score(t: Ticket) -> int:
        if p is not None and p.building and p.building != t.building:
            return 0  # another place: a new report, not this ticket
        named = [w for w in (t.item, t.group, t.building, t.room) if w and w in text]
        if p is not None:
            named += [w for w, mine in ((p.item, t.item), (p.group, t.group), (p.building, t.building),
                                        (p.room, t.room)) if w and w == mine]
        return len(named)

    scored = sorted(((score(t), i) for i, t in enumerate(tickets)), reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return tickets[scored[0][1]]


def pick_text(ctx: Ctx, msg: Incoming) -> Outcome:
    """Words at the list of tickets to rate: the ticket they describe, or, for a judgement of the repair
    ("很快 师傅态度好", "没修好 还在闪"), the first ticket, the words kept for it."""
    tickets = completed_tickets(ctx)
    text = msg.raw.strip()
    ticket = _described(ctx, text, tickets)
    kind = reaction_kind(text)
    stars = stars_in_words(text)
    if ticket is None and kind is None and stars is None:
        return Retry(TEXT["pick"])
    if kind == "rework" and ticket is not None and len(text) <= COMMENT_MAX:
        return End(submit_rework(ctx, ticket.no, text, said=True))  # the words say which ticket
    ticket = ticket or tickets[0]
    ctx.set("no", ticket.no)
    if kind == "rework":  # which ticket is a guess: asked first
        return Switch("rework", data=ReworkForm(no=ticket.no, text=text[:COMMENT_MAX]))
    return _judged(ctx, ticket, text, stars, words_only=kind is None and stars is None)


def _judged(ctx: Ctx, ticket: Ticket, text: str, stars: int | None, *, words_only: bool = False) -> Outcome:
    """Go on with what was said of the ticket: stars and words finish, words alone are kept and the stars
    asked, stars alone ask the comment."""
    if words_only:
        return Go()
    if len(text) > COMMENT_MAX:
        return Retry(TEXT["comment_long"])
    if stars is None:
        ctx.set("comment", text)
        return Go("stars", TEXT["kept"].format(text=text))
    ctx.set("stars", stars)
    if text in {w for w, _ in STAR_WORDS}:  # the stars alone: the comment said before, or asked now
        said = ctx.form(RateForm).comment
        return _finish(ctx, said) if said else Go("comment")
    return _finish(ctx, text)


def pick_answers(ctx: Ctx, msg: Incoming) -> bool:
    """Whether words at the list are about its tickets (else they go where they would go from idle)."""
    text = msg.raw.strip()
    if reaction_kind(text) is not None or stars_in_words(text) is not None:
        return True
    return _described(ctx, text, completed_tickets(ctx)) is not None


def stars_prompt(ctx: Ctx) -> str:
    t = _ticket(ctx)
    return TEXT["stars"].format(no=_no(ctx), fault=t.fault if t else "")


def stars_choices(ctx: Ctx) -> list[Choice]:
    zh = "一二三四五"
    return [Choice(TEXT[f"star_{n}"], n, (f"{n}星", f"{n}分", f"{zh[n - 1]}星", f"{zh[n - 1]}颗星", "★" * n))
            for n in range(1, 6)]


def stars_text(ctx: Ctx, msg: Incoming) -> Outcome:
    """Free text at the stars step: "4 修得不错" or "评价 4 修得不错" gives both at once; words give stars
    ("满意" → 5, "一般" → 3, "不满意" → 2), a comment is kept and the stars asked again, "没修好…" sends
    the ticket back."""
    cmd = parse_command(msg.raw if msg.raw.lstrip().startswith(("评价", "评分", "打分")) else f"评价 {msg.raw}")
    if isinstance(cmd, RateCommand) and cmd.stars is not None:
        if not 1 <= cmd.stars <= 5:
            return Retry(TEXT["bad_stars"])
        ctx.set("stars", cmd.stars)
        said = cmd.comment or ctx.form(RateForm).comment
        return _finish(ctx, said) if said else Go()
    text = msg.raw.strip()
    ticket = _ticket(ctx)
    kind = reaction_kind(text)
    if ticket is None:
        return Retry(TEXT["bad_stars"])
    if kind == "rework":
        if len(text) > COMMENT_MAX:
            return Retry(TEXT["rework_long"])
        return End(submit_rework(ctx, ticket.no, text, said=True))
    stars = stars_in_words(text)
    if stars is None and kind is None:
        return Retry(TEXT["bad_stars"])
    if stars is None:
        if len(text) > COMMENT_MAX:
            return Retry(TEXT["comment_long"])
        ctx.set("comment", text)
        return Retry(TEXT["kept"].format(text=text) + TEXT["stars_after"].format(no=ticket.no, fault=ticket.fault))
    return _judged(ctx, ticket, text, stars)


def stars_chosen(ctx: Ctx, choice: Choice) -> Outcome:
    """A number (or 「★★★★」) at the stars step: with a comment said before, the rating is done."""
    ctx.set("stars", choice.value)
    said = ctx.form(RateForm).comment
    return _finish(ctx, said) if said else Go()


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
             auto_single=True, read_only=True, handle=pick_text, answers=pick_answers, goes_to=("comment",)),
        Step("stars", TEXT["stars_title"], stars_prompt, next="comment", choices=stars_choices, save="stars",
             handle=stars_text, on_choice=stars_chosen),
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


def sure_prompt(ctx: Ctx) -> str:
    t = _ticket(ctx)
    return TEXT["sure"].format(no=_no(ctx), fault=t.fault if t else "")


def sure_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["sure_yes"], True, ("是", "对", "是的", "对的", "没修好")),
            Choice(TEXT["sure_no"], False, ("不是", "不对", "新的", "新问题"))]


def sure_skip(ctx: Ctx) -> bool:
    return not ctx.form(ReworkForm).text


def sure_chosen(ctx: Ctx, choice: Choice) -> Outcome:
    """Yes sends the ticket back with the words said; no files the words as a new report."""
    text = ctx.form(ReworkForm).text or ""
    if choice.value:
        return End(submit_rework(ctx, _no(ctx), text, said=True))
    return Switch("repair", *repair_from(ctx, text, fuzzy=True))


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
    start="sure",
    form=ReworkForm,
    on_start=rework_start,
    help=TEXT["rework_help"],
    steps=(Step("sure", TEXT["sure_title"], sure_prompt, next="what", choices=sure_choices, on_choice=sure_chosen,
                skip=sure_skip),
           Step("what", TEXT["rework_step"], rework_prompt, next=END, handle=rework_text),),
)
