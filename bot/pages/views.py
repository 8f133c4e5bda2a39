"""The ``/t/<token>`` views: the ticket page, its photos, and the reporter's three actions.

What the page shows is built here as plain values (``TicketView``), so the template sees exactly what a
reporter may see: the ticket, its status changes, messages and staff replies — never internal notes.
Every change goes through ``core.actions``.  Forms carry a CSRF token: the app-wide CSRFProtect checks
it when it is set up, and this blueprint checks it itself otherwise.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from sqlalchemy import select
from wtforms import ValidationError

from bot.ids import parse_id
from bot.pages.common import Line, private, services, when
from bot.pages.text import TEXT
from core.actions import rate, reporter_message, rework
from core.links import LINK_MAX_AGE_S, LinkExpired, LinkInvalid, PageLink, read_token
from models.errors import IllegalMove, NotFound
from models.tickets import STATUS_ZH, Ticket, TicketPhoto, get_ticket

bp = Blueprint("pages", __name__, url_prefix="/t", template_folder="templates")

TEXT_MAX = 500
# The message form's nonce: one per page shown, so that the same form sent twice adds one message.
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
SHOWN_KINDS = ("status", "message", "reply")
FINISHED = ("closed", "rejected", "cancelled")


@bp.record_once
def _templates(state: BlueprintSetupState) -> None:
    # CSRFProtect registers csrf_token() too; this makes the page work before (or without) it.
    state.app.jinja_env.globals.setdefault("csrf_token", generate_csrf)


# -- what the page shows -----------------------------------------------------------------------------

@dataclass
class TicketView:
    no: str
    status: str
    status_zh: str
    category: str
    fault: str
    place: str
    description: str
    created: str
    worker: str
    photos: list[int] = field(default_factory=list)
    photos_pending: int = 0
    lines: list[Line] = field(default_factory=list)
    rating: int | None = None
    rating_comment: str = ""
    merged_into: str = ""
    reporter: bool = False

    @property
    def can_act(self) -> bool:
        return self.reporter and self.status == "completed"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def ticket_view(ticket: Ticket, reporter: bool) -> TicketView:
    lines = []
    for e in reversed(ticket.events):  # newest first
        if e.kind not in SHOWN_KINDS:
            continue
        if e.kind == "status":
            label = ticket.status_words(e.status)
        elif e.kind == "reply":
            label = TEXT["reply"]
        elif e.by == f"user:{ticket.openid}":
            label = TEXT["you_said"] if reporter else TEXT["message"]
        else:
            label = TEXT["staff_message"] if e.by.startswith("staff:") else TEXT["message"]
        lines.append(Line(when(e.at), label, e.note or "", e.kind))
    worker = ticket.worker
    return TicketView(
        no=ticket.no, status=ticket.status, status_zh=ticket.status_zh, category=ticket.category,
        fault=ticket.fault, place=ticket.place, description=ticket.description, created=when(ticket.created_at),
        worker=f"{worker.name} {worker.phone or ''}".strip() if worker is not None else "",
        photos=[p.id for p in ticket.photos if p.status == "saved" and p.path],
        photos_pending=sum(1 for p in ticket.photos if p.status == "pending"),
        lines=lines, rating=ticket.rating, rating_comment=ticket.rating_comment or "",
        merged_into=ticket.merged_into or "", reporter=reporter,
    )


# -- answers that are not the ticket ------------------------------------------------------------------

def notice(kind: str, status: int) -> Response:
    """A friendly page instead of the ticket (bad link, expired link, stale form)."""
    body = render_template("pages/notice.html", T=TEXT, title=TEXT[f"{kind}_title"],
                           text=TEXT[kind].format(days=LINK_MAX_AGE_S // 86400))
    return make_response(body, status)


def _refuse(kind: str, status: int) -> NoReturn:
    abort(notice(kind, status))


def _link(token: str) -> PageLink:
    try:
        return read_token(services().config.secret_key, token)
    except LinkExpired:
        _refuse("expired", 410)
    except LinkInvalid:
        _refuse("invalid", 404)


def _render(token: str, link: PageLink, *, error: str = "", form: dict[str, str] | None = None,
            status: int = 200) -> Response:
    with services().db.session() as s:
        try:
            view = ticket_view(get_ticket(s, link.no), link.reporter)
        except NotFound:
            _refuse("invalid", 404)
    body = render_template("pages/ticket.html", T=TEXT, v=view, token=token, error=error, form=form or {},
                           nonce=secrets.token_urlsafe(16))
    return make_response(body, status)


@bp.before_request
def _check_csrf() -> Response | None:
    """Check the form's CSRF token here when no app-wide CSRFProtect did it already."""
    if request.method != "POST" or g.get("csrf_valid") or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return notice("csrf", 400)
    return None


@bp.errorhandler(CSRFError)
def _csrf_refused(_exc: CSRFError) -> Response:
    return notice("csrf", 400)


@bp.after_request
def _headers(resp: Response) -> Response:
    # A reporter's details stay off shared caches; the photo (its own URL, same token) may be cached.
    return private(resp, cache=request.endpoint == "pages.photo")


# -- the views ------------------------------------------------------------------------------------------

@bp.get("/<token>")
def ticket(token: str) -> Response:
    return _render(token, _link(token))


@bp.get("/<token>/photo/<photo_id>")
def photo(token: str, photo_id: str) -> Response:
    link = _link(token)
    pid = parse_id(photo_id)
    if pid is None:
        _refuse("invalid", 404)
    with services().db.session() as s:
        found = s.scalars(select(TicketPhoto).join(Ticket, Ticket.id == TicketPhoto.ticket_id)
                          .where(TicketPhoto.id == pid, Ticket.no == link.no)).first()
        path = found.path if found is not None and found.status == "saved" else None
    media = services().config.media_dir.resolve()
    real = Path(path).resolve() if path else None
    if real is None or not real.is_relative_to(media) or not real.is_file():
        _refuse("invalid", 404)
    resp = send_file(real, max_age=3600)
    resp.cache_control.public = False
    resp.cache_control.private = True
    return resp


def _reporter(token: str) -> tuple[PageLink, str, str]:
    """The link of a POST, the ticket's reporter and its status; a view-only link may not act."""
    link = _link(token)
    if not link.reporter:
        _refuse("forbidden", 403)
    with services().db.session() as s:
        try:
            t = get_ticket(s, link.no)
        except NotFound:
            _refuse("invalid", 404)
        return link, t.openid, t.status


def _done(token: str, said: str) -> Response:
    flash(said)
    return redirect(url_for(".ticket", token=token), 303)  # type: ignore[return-value]


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


@bp.post("/<token>/message")
def message(token: str) -> Response:
    link, openid, _status = _reporter(token)
    text = _text("text")
    form = {"text": text}
    if not text or len(text) > TEXT_MAX:
        error = TEXT["message_empty"] if not text else TEXT["too_long"].format(n=TEXT_MAX)
        return _render(token, link, error=error, form=form, status=400)
    try:
        reporter_message(services(), link.no, openid, text, source_key=_form_source(text))
    except (IllegalMove, NotFound):
        return _render(token, link, error=TEXT["changed"], form=form, status=409)
    return _done(token, TEXT["message_sent"])


def _form_source(text: str) -> str | None:
    """Name this sending of the message form: its nonce and its words (None for a form without a nonce)."""
    nonce = request.form.get("nonce") or ""
    if not NONCE_RE.fullmatch(nonce):
        return None
    return f"page:{nonce}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@bp.post("/<token>/rework")
def send_back(token: str) -> Response:
    link, openid, status = _reporter(token)
    text = _text("text")
    form = {"rework": text}
    if status != "completed":
        error = TEXT["not_completed"].format(status=STATUS_ZH[status])
        return _render(token, link, error=error, status=409)
    if not text or len(text) > TEXT_MAX:
        error = TEXT["rework_empty"] if not text else TEXT["too_long"].format(n=TEXT_MAX)
        return _render(token, link, error=error, form=form, status=400)
    try:
        rework(services(), link.no, openid, text)
    except (IllegalMove, NotFound):
        return _render(token, link, error=TEXT["changed"], status=409)
    return _done(token, TEXT["reworked"])


@bp.post("/<token>/rate")
def rate_it(token: str) -> Response:
    link, openid, status = _reporter(token)
    raw, comment = _text("stars"), _text("comment")
    form = {"stars": raw, "comment": comment}
    if status != "completed":
        error = TEXT["not_completed"].format(status=STATUS_ZH[status])
        return _render(token, link, error=error, status=409)
    stars = int(raw) if raw in ("1", "2", "3", "4", "5") else 0
    error = ""
    if not 1 <= stars <= 5:
        error = TEXT["stars_missing"]
    elif stars <= 2 and not comment:
        error = TEXT["comment_required"]
    elif len(comment) > TEXT_MAX:
        error = TEXT["too_long"].format(n=TEXT_MAX)
    if error:
        return _render(token, link, error=error, form=form, status=400)
    try:
        rate(services(), link.no, openid, stars, comment or None)
    except (IllegalMove, NotFound):
        return _render(token, link, error=TEXT["changed"], status=409)
    return _done(token, TEXT["rated"])
