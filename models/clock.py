"""The school's clock: times are stored in UTC and shown to people in China time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(UTC)


def local(dt: datetime) -> datetime:
    """Convert a stored (UTC) time to the school's time for display."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(LOCAL)
