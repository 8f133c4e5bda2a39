"""查看历史: the user's complaints and suggestions over a time range, and each one with its replies.

The range question, the list and an entry only show things (read-only steps): what does not answer them
— a number, a label, something that reads as a time range — is taken as if no dialog were open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step
from dialogs.forms import Form
from dialogs.nlu.dates import DateRange, RangeError, parse_range
from dialogs.state import Incoming
from models.clock import LOCAL, local
from models.consult import Consult, user_consults

TEXT = {
    "title": "查看历史",
    "ask": "查看哪段时间的意见建议？回复数字，或直接输入日期范围，如「2026-09-01 至 2026-11-27」：",
    "recent7": "最近7天",
    "recent30": "最近30天",
    "semester": "本学期",
    "none": "{range} 没有您提交的意见建议。回复「投诉建议」可以提交。",
    "head": "{range} 您的意见建议（{n} 条，回复数字查看详情和回复）：",
    "row": "{no} {kind}·{department}·{status}\n  {title}",
    "reply": "  回复：{note}",
    "more": "（只显示最近 {n} 条，可以缩小时间范围查看更早的）",
    "list_title": "意见建议列表",
    "entry_title": "意见建议详情",
    "entry": "{no}  {kind}·{status}\n部门：{department}\n标题：{title}\n内容：{description}",
    "suggestion": "建议：{text}",
    "anonymous": "（匿名提交）",
    "events": "进展：",
    "submitted": "· {at} 已提交",
    "reply_event": "· {at} 回复：{note}",
    "message_event": "· {at} 您补充：{note}",
    "closed_event": "· {at} 已办结{note}",
    "no_reply": "还没有回复，有回复时会通知您。",
    "back": "返回列表",
    "gone": "这条记录找不到了，请重新选择。",
    "help": "回复 1、2、3 选时间段，或输入两个日期，如 2026-09-01 至 2026-11-27；在列表里回复数字查看一条。",
}
SHOW_AT_MOST = 10
# What a reply to the range question looks like (anything else is not an answer to it).
RANGE_WORDS = re.compile(r"[0-9０-９天日周星期礼拜月学期年今全部所有至到~～]")


@dataclass(frozen=True)
class HistoryForm(Form):
    """The range asked for (ISO dates), and the entry open on the screen."""

    VERSION = 1

    start: str | None = None
    end: str | None = None
    no: str | None = None


def form(ctx: Ctx) -> HistoryForm:
    return ctx.form(HistoryForm)


def today(ctx: Ctx) -> date:
    return datetime.fromtimestamp(ctx.now, LOCAL).date()


def range_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT[k], TEXT[k]) for k in ("recent7", "recent30", "semester")]


def on_range(ctx: Ctx, choice: Choice) -> Outcome:
    return _show(ctx, parse_range(str(choice.value), today(ctx)))


def typed_range(ctx: Ctx, msg: Incoming) -> Outcome:
    try:
        return _show(ctx, parse_range(msg.text, today(ctx)))
    except RangeError as exc:
        return Retry(str(exc))


def looks_like_range(ctx: Ctx, msg: Incoming) -> bool:
    return bool(RANGE_WORDS.search(msg.text))


def _show(ctx: Ctx, rng: DateRange) -> Outcome:
    ctx.set("start", rng.start.isoformat())
    ctx.set("end", rng.end.isoformat())
    if not _rows(ctx):
        return End(TEXT["none"].format(range=rng.label()))
    return Go()


def _range(ctx: Ctx) -> DateRange:
    f = form(ctx)
    return DateRange(date.fromisoformat(f.start or ""), date.fromisoformat(f.end or ""))


def _rows(ctx: Ctx) -> list[Consult]:
    def load() -> list[Consult]:
        rng = _range(ctx)
        since = datetime.combine(rng.start, time.min, LOCAL).astimezone(UTC)
        until = datetime.combine(rng.end + timedelta(days=1), time.min, LOCAL).astimezone(UTC)
        return user_consults(ctx.session, ctx.openid, since, until, ctx.who().person_id)
    return ctx.once("consult_history", load)


def list_prompt(ctx: Ctx) -> str:
    rows = _rows(ctx)
    head = TEXT["head"].format(range=_range(ctx).label(), n=len(rows))
    return head + ("\n" + TEXT["more"].format(n=SHOW_AT_MOST) if len(rows) > SHOW_AT_MOST else "")


def list_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(_row(c), c.no, (c.no,)) for c in _rows(ctx)[:SHOW_AT_MOST]]


def _row(c: Consult) -> str:
    lines = [TEXT["row"].format(no=c.no, kind=c.kind, department=c.department, status=c.status_zh, title=c.title)]
    lines.extend(TEXT["reply"].format(note=e.note) for e in c.events if e.kind == "reply")
    return "\n".join(lines)


def on_pick(ctx: Ctx, choice: Choice) -> Outcome:
    ctx.set("no", choice.value)
    return Go()


def _entry(ctx: Ctx) -> Consult | None:
    no = form(ctx).no
    return next((c for c in _rows(ctx) if c.no == no), None)


def entry_prompt(ctx: Ctx) -> str:
    c = _entry(ctx)
    if c is None:
        return TEXT["gone"]
    lines = [TEXT["entry"].format(no=c.no, kind=c.kind, status=c.status_zh, department=c.department,
                                  title=c.title, description=c.description)]
    if c.suggestion:
        lines.append(TEXT["suggestion"].format(text=c.suggestion))
    if c.anonymous:
        lines.append(TEXT["anonymous"])
    lines.append(TEXT["events"])
    lines.append(TEXT["submitted"].format(at=_at(c.created_at)))
    lines.extend(_event(e.kind, _at(e.at), e.note or "") for e in c.events if e.kind != "submitted")
    if not any(e.kind in ("reply", "closed") for e in c.events):
        lines.append(TEXT["no_reply"])
    return "\n".join(line for line in lines if line)


def _event(kind: str, at: str, note: str) -> str:
    if kind == "reply":
        return TEXT["reply_event"].format(at=at, note=note)
    if kind == "message":
        return TEXT["message_event"].format(at=at, note=note)
    if kind == "closed":
        return TEXT["closed_event"].format(at=at, note=f"：{note}" if note else "")
    return ""


def _at(moment: datetime) -> str:
    return local(moment).strftime("%m-%d %H:%M")


def entry_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["back"], "list")]


def on_back(ctx: Ctx, choice: Choice) -> Outcome:
    ctx.forget("no")
    return Go("list")


DIALOG = Dialog(
    name="consult_history",
    title=TEXT["title"],
    start="range",
    form=HistoryForm,
    help=TEXT["help"],
    steps=(
        Step("range", "时间范围", TEXT["ask"], next="list", choices=range_choices, on_choice=on_range,
             handle=typed_range, read_only=True, answers=looks_like_range),
        Step("list", TEXT["list_title"], list_prompt, next="entry", choices=list_choices, on_choice=on_pick,
             read_only=True),
        Step("entry", TEXT["entry_title"], entry_prompt, next=END, choices=entry_choices, on_choice=on_back,
             goes_to=("list",), read_only=True),
    ),
)
