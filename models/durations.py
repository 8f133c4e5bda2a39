"""Durations as operators write them (``90s``, ``15m``, ``2h``, ``3d``, ``1h30m``): one reader for the register's
time limits and the settings' delays, so that both take the same words and refuse the same mistakes."""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhd])+")
EXAMPLE = "e.g. 90s, 15m, 2h, 3d or 1h30m"


def parse_duration(text: object) -> timedelta | None:
    """A positive duration, or None when the text is not one (a bare number has no unit: refused)."""
    raw = str(text).strip().lower().replace(" ", "") if isinstance(text, str | int | float) else ""
    if not raw or not _WHOLE.fullmatch(raw):
        return None
    seconds = sum(float(n) * UNITS[u] for n, u in _PART.findall(raw))
    return timedelta(seconds=seconds) if seconds > 0 else None


def say_duration(span: timedelta) -> str:
    """A duration the way the register writes it (2h, 48h, 15m, 3d, 90s), the largest whole unit."""
    seconds = int(span.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


def say_duration_zh(span: timedelta) -> str:
    """A duration for staff: 2 小时, 15 分钟, 3 天, 90 秒."""
    seconds = int(span.total_seconds())
    for unit, word in (("d", "天"), ("h", "小时"), ("m", "分钟")):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]} {word}"
    return f"{seconds} 秒"
