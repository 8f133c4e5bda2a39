"""The console's blueprint and the helpers every view uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app

from core.services import Services
from models.clock import LOCAL

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")



def services() -> Services:
    svc: Services = current_app.extensions["repairbot.services"]
    return svc


def local(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as people in China read it."""
    if at is None:
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL).strftime(fmt)


def age(at: datetime, now: datetime | None = None) -> str:
    """How long ago, in words: 刚刚, 25 分钟, 3 小时, 2 天."""
    now = now or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    delta = max(now - at, timedelta(0))
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "刚刚"
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时"
    return f"{minutes // (24 * 60)} 天"
