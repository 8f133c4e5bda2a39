"""The reporter's page for one ticket, ``/t/<signed token>``: view, message, 还没修好, rate."""

from __future__ import annotations

from bot.pages.views import bp

__all__ = ["bp"]
