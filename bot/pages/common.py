"""What the public pages share: the services, a timeline line, the time format, private headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Response, current_app

from core.services import Services
from models.clock import local

TIME = "%Y-%m-%d %H:%M"


def services() -> Services:
    svc: Services = current_app.extensions["repairbot.services"]
    return svc


def when(at: datetime) -> str:
    """Show a stored (UTC) time on China's clock."""
    return local(at).strftime(TIME)


@dataclass
class Line:
    """One line of a timeline as the page shows it."""

    at: str
    label: str
    note: str
    kind: str


def private(resp: Response, *, cache: bool = False) -> Response:
    """Keep a page reached by a signed link private: off shared caches and search engines, its token on
    this site."""
    if not cache:
        resp.headers["Cache-Control"] = "no-store"
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
