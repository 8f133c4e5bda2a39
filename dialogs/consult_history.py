"""查看历史: the user's complaints and suggestions over a time range, with their replies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Outcome, Retry, Step
from dialogs.nlu.dates import DateRange, RangeError, parse_range
from dialogs.state import Incoming
from models.clock import LOCAL
from models.consult import user_consults

TEXT = {
    "title": "查看历史",
    "ask": "查看哪段时间的意见建议？回复数字，或直接输入日期范围，如「2026-09-01 至 2026-11-27」：",
    "recent7": "最近7天",
    "recent30": "最近30天",
    "semester": "本学期",
    "none": "{range} 没有您提交的意见建议。回复「投诉建议」可以提交。",
    "head": "{range} 您的意见建议（{n} 条）：",
    "row": "{no} {kind}·{department}·{status}\n  {title}",
    "reply": "  回复：{note}",
    "more": "（只显示最近 {n} 条，可以缩小时间范围查看更早的）",
    "help": "回复 1、2、3 选时间段，或输入两个日期，如 2026-09-01 至 2026-11-27。",
}
SHOW_AT_MOST = 10


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


def _show(ctx: Ctx, rng: DateRange) -> Outcome:
    since = datetime.combine(rng.start, time.min, LOCAL).astimezone(UTC)
    until = datetime.combine(rng.end + timedelta(days=1), time.min, LOCAL).astimezone(UTC)
    rows = user_consults(ctx.session, ctx.openid, since, until)
    if not rows:
        return End(TEXT["none"].format(range=rng.label()))
    lines = [TEXT["head"].format(range=rng.label(), n=len(rows))]
    for c in rows[:SHOW_AT_MOST]:
        lines.append(TEXT["row"].format(no=c.no, kind=c.kind, department=c.department, status=c.status_zh,
                                        title=c.title))
        lines.extend(TEXT["reply"].format(note=e.note) for e in c.events if e.kind == "reply")
    if len(rows) > SHOW_AT_MOST:
        lines.append(TEXT["more"].format(n=SHOW_AT_MOST))
    return End("\n".join(lines))


DIALOG = Dialog(
    name="consult_history",
    title=TEXT["title"],
    start="range",
    help=TEXT["help"],
    steps=(
        Step("range", "时间范围", TEXT["ask"], next=END, choices=range_choices, on_choice=on_range,
             handle=typed_range),
    ),
)
