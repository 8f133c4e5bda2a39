"""The reporter's page for one ticket, ``/t/<signed token>``: view, message, 还没修好, rate."""

from __future__ import annotations

from bot.pages.tokens import LINK_MAX_AGE_S, PageLink, make_token, read_token
from bot.pages.views import bp

__all__ = ["LINK_MAX_AGE_S", "PageLink", "bp", "make_token", "read_token"]
