"""Public 通知公告 pages, opened from the chat's news articles: ``/notices`` and ``/notices/<id>``.

The list shows the notices in force, then the past ones.  A notice's own page stays readable after it
ended (marked 已结束); a notice that has not started yet is not public, and an unknown id is a friendly
404 page.  Nothing here needs a login or a cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, make_response, render_template
from sqlalchemy import select

from bot.ids import parse_id
from bot.pages.common import services, when
from models.clock import now
from models.notices import Notice, current_notices

bp = Blueprint("notices_pages", __name__, template_folder="templates")

TEXT = {
    "brand": "通知公告",
    "list_title": "通知公告",
    "live": "正在生效",
    "past": "以往通知",
    "none_live": "目前没有正在生效的通知。",
    "none_past": "没有以往的通知。",
    "state_live": "生效中",
    "state_ended": "已结束",
    "scope": "范围",
    "whole_school": "全校",
    "from": "开始",
    "until": "结束",
    "open_ended": "长期有效",
    "published": "发布于 {at}",
    "ended_note": "此通知已于 {at} 结束，仅供查阅。",
    "back": "‹ 全部通知",
    "not_found_title": "找不到这条通知",
    "not_found": "这条通知不存在或还未发布。可以回到通知列表看看其他通知。",
}
LIST_LIVE = 50
LIST_PAST = 30


@dataclass(frozen=True)
class NoticeView:
    """What a reader sees of a notice (plain values, rendered outside the database session)."""

    id: int
    title: str
    body: str
    scope: str
    starts: str
    ends: str
    ended: bool

    @property
    def summary(self) -> str:
        text = " ".join(self.body.split())
        return text if len(text) <= 60 else text[:59] + "…"


def _when(at: datetime | None) -> str:
    return when(at) if at is not None else ""


def notice_view(n: Notice, at: datetime) -> NoticeView:
    scope = "、".join(f"{c} {b}" for c, b in n.buildings) if n.buildings else n.campus or TEXT["whole_school"]
    return NoticeView(id=n.id, title=n.title, body=n.body, scope=scope, starts=_when(n.starts_at),
                      ends=_when(n.ends_at), ended=n.ends_at is not None and n.ends_at <= at)


def _not_found() -> Response:
    body = render_template("pages/notice_missing.html", T=TEXT)
    return make_response(body, 404)


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers.setdefault("Cache-Control", "no-cache")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


@bp.get("/notices")
def notices() -> Response:
    at = now()
    with services().db.session() as s:
        live = [notice_view(n, at) for n in current_notices(s, at, limit=LIST_LIVE)]
        past = [notice_view(n, at) for n in s.scalars(
            select(Notice).where(Notice.ends_at.is_not(None), Notice.ends_at <= at)
            .order_by(Notice.ends_at.desc(), Notice.id.desc()).limit(LIST_PAST))]
    return make_response(render_template("pages/notices.html", T=TEXT, live=live, past=past))


@bp.get("/notices/<notice_id>")
def notice(notice_id: str) -> Response:
    nid = parse_id(notice_id)
    if nid is None:
        return _not_found()
    at = now()
    with services().db.session() as s:
        n = s.get(Notice, nid)
        if n is None or n.starts_at > at:
            return _not_found()
        view = notice_view(n, at)
    return make_response(render_template("pages/notice_page.html", T=TEXT, n=view))
