"""The sender's page for one complaint or suggestion, ``/c/<signed token>``: what they wrote and the replies.

The token (``core.links``) signs the consult's number and expires after 90 days; a
tampered token is a friendly 404 page, an expired one a friendly 410 page.  The page only shows: the
sender acts in the chat.  Replies are signed by the department, never by the staff member's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from flask import Blueprint, Response, abort, make_response, render_template

from bot.pages.common import Line, private, services, when
from core.links import CONSULT_LINK_MAX_AGE_S, LinkExpired, LinkInvalid, read_consult_token
from models.consult import Consult, get_consult
from models.errors import NotFound

bp = Blueprint("consult_pages", __name__, url_prefix="/c", template_folder="templates")

TEXT = {
    "brand": "网上咨询",
    "page_title": "{kind} {no}",
    "no": "编号",
    "kind": "类型",
    "department": "部门",
    "created": "提交时间",
    "description": "内容",
    "suggestion": "您的建议",
    "anonymous": "您选择了匿名：工作人员看不到您的姓名和电话。",
    "timeline": "处理经过",
    "submitted": "已提交",
    "reply": "{department}回复",
    "message": "您的留言",
    "closed": "已办结",
    "waiting": "{department}会尽快处理，回复会通过公众号通知您。",
    "finished": "此件已办结。如有新的问题，请在公众号里回复「投诉建议」重新提交。",
    "history": "在公众号里回复「查看历史」可以查看您提交过的全部意见建议。",
    "invalid_title": "链接无效",
    "invalid": "这个链接不正确或已失效。请在公众号里回复「查看历史」查看您的意见建议。",
    "expired_title": "链接已过期",
    "expired": "为了保护您的信息，此链接 {days} 天后失效。请在公众号里回复「查看历史」查看处理情况。",
}
STATUS_ZH = {"open": "待处理", "replied": "已回复", "closed": "已办结"}


@dataclass
class ConsultView:
    """What the sender sees (plain values: no staff names, nothing internal)."""

    no: str
    title: str
    kind: str
    department: str
    status: str
    status_zh: str
    created: str
    description: str
    suggestion: str
    anonymous: bool
    lines: list[Line] = field(default_factory=list)


def consult_view(c: Consult) -> ConsultView:
    lines = []
    for e in reversed(c.events):  # newest first, as on the ticket page
        if e.kind == "reply":
            label = TEXT["reply"].format(department=c.department)
        elif e.kind in ("submitted", "message", "closed"):
            label = TEXT[e.kind]
        else:
            continue
        lines.append(Line(when(e.at), label, e.note or "", e.kind))
    return ConsultView(no=c.no, title=c.title, kind=c.kind, department=c.department, status=c.status,
                       status_zh=STATUS_ZH.get(c.status, c.status), created=when(c.created_at),
                       description=c.description, suggestion=c.suggestion or "", anonymous=c.anonymous,
                       lines=lines)


def _refuse(kind: str, status: int) -> NoReturn:
    body = render_template("pages/consult_gone.html", T=TEXT, title=TEXT[f"{kind}_title"],
                           text=TEXT[kind].format(days=CONSULT_LINK_MAX_AGE_S // 86400))
    abort(make_response(body, status))


@bp.after_request
def _headers(resp: Response) -> Response:
    return private(resp)  # the sender's words stay off shared caches


@bp.get("/<token>")
def consult_page(token: str) -> Response:
    try:
        no = read_consult_token(services().config.secret_key, token)
    except LinkExpired:
        _refuse("expired", 410)
    except LinkInvalid:
        _refuse("invalid", 404)
    with services().db.session() as s:
        try:
            view = consult_view(get_consult(s, no))
        except NotFound:
            _refuse("invalid", 404)
    return make_response(render_template("pages/consult.html", T=TEXT, v=view))
