"""Read a time range as people type it: 最近7天, 本学期, 2026-09-01 至 2026-11-27 (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dialogs.nlu.numbers import cn_to_int
from dialogs.state import fold

TEXT = {
    "nonsense": "没看懂这个时间范围。可以回复「最近7天」「最近30天」「本学期」，或「2026-09-01 至 2026-11-27」。",
    "bad_date": "「{text}」不是有效的日期。",
    "future": "{day} 还没到，请选今天或之前的日期。",
    "reversed": "结束日期 {end} 早于开始日期 {start}，请对调一下再发。",
    "too_long": "一次最多查 {days} 天以内的记录。",
}
MAX_DAYS = 3660
DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
RANGE_RE = re.compile(rf"^{DATE}\s*(?:至|到|~|～|—|--|-)\s*{DATE}$")
SINGLE_RE = re.compile(rf"^{DATE}$")
RECENT_RE = re.compile(
    r"^(?:最近|近|过去)?\s*(\d+|[一二两三四五六七八九十百]+)\s*(天|日|周|星期|个月|月)(?:内|以内|之内)?$")


class RangeError(ValueError):
    """The text is not a usable range; the message says why, in Chinese."""


@dataclass(frozen=True)
class DateRange:
    start: date  # inclusive
    end: date  # inclusive

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def semester_start(today: date) -> date:
    """Start of the current semester: spring from 15 February, autumn from 1 September."""
    if today.month >= 9:
        return date(today.year, 9, 1)
    if today >= date(today.year, 2, 15):
        return date(today.year, 2, 15)
    return date(today.year - 1, 9, 1)


def parse_range(text: str, today: date) -> DateRange:
    """Turn a range in words or dates into inclusive dates; raise RangeError saying what is wrong."""
    t = fold(text).strip().replace(" 至 ", "至")
    if t in ("本学期", "这学期", "这个学期"):
        return DateRange(semester_start(today), today)
    if t in ("今天", "今日"):
        return DateRange(today, today)
    if t in ("本月", "这个月"):
        return DateRange(today.replace(day=1), today)
    if t in ("全部", "所有", "全部记录"):
        return DateRange(today - timedelta(days=MAX_DAYS - 1), today)
    m = RECENT_RE.match(t)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else cn_to_int(m.group(1))
        if not n:
            raise RangeError(TEXT["nonsense"])
        days = n * {"天": 1, "日": 1, "周": 7, "星期": 7, "个月": 30, "月": 30}[m.group(2)]
        if days > MAX_DAYS:
            raise RangeError(TEXT["too_long"].format(days=MAX_DAYS))
        return DateRange(today - timedelta(days=days - 1), today)
    m = RANGE_RE.match(t)
    if m:
        start, end = _date(m.groups()[:3], t), _date(m.groups()[3:], t)
    else:
        m = SINGLE_RE.match(t)
        if not m:
            raise RangeError(TEXT["nonsense"])
        start = end = _date(m.groups(), t)
    for d in (start, end):
        if d > today:
            raise RangeError(TEXT["future"].format(day=f"{d:%Y-%m-%d}"))
    if end < start:
        raise RangeError(TEXT["reversed"].format(start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
    if (end - start).days >= MAX_DAYS:
        raise RangeError(TEXT["too_long"].format(days=MAX_DAYS))
    return DateRange(start, end)


def _date(parts: tuple[str | None, ...], text: str) -> date:
    try:
        y, mo, d = (int(p or 0) for p in parts)
        return date(y, mo, d)
    except ValueError as exc:
        raise RangeError(TEXT["bad_date"].format(text=text[:30])) from exc
