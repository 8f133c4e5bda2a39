"""The queue, a ticket's page and its actions, photos, and failed pushes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console.auth import me
from bot.console.blueprint import age, bp, local, services
from bot.console.forms import AcceptAssignForm, ActionForm, DowngradeForm, MergeForm, MoveForm, ReplyForm, VisitForm
from bot.console.perms import (
    StaffUser,
    can_see,
    may_downgrade,
    may_merge,
    may_reply,
    may_see_failed_pushes,
    moves_for,
    role_may_move,
    ticket_scope,
    workers_for,
)
from bot.console.queue import (
    PAGE_SIZE,
    POLL_S,
    Filters,
    cap_of,
    last_id,
    late_marks,
    marks_for,
    new_since,
    queue_page,
    status_counts,
    version,
)
from bot.console.text import (
    CLOSE_REASON_ZH,
    EVENT_KIND_ZH,
    NOTE_PLACEHOLDER,
    PUSH_KIND_ZH,
    PUSH_STATUS_ZH,
    ROLE_ZH,
    TEXT,
    error_zh,
    move_label,
    push_error_zh,
    status_zh,
)
from bot.ids import parse_id
from core import actions
from core.jobs import SEND_PUSH, enqueue
from core.templates import TEMPLATE_REFUSED
from models.backoffice import STAGE_ZH, VISIT_ZH, Overdue, ReturnVisit
from models.errors import IllegalMove, NotFound, RepairbotError
from models.people import Person, Staff
from models.pushes import Push, reopen_failed
from models.replies import canned_for
from models.rework import is_rework
from models.tickets import OPEN_STATUSES, REASON_REQUIRED, STATUS_ZH, Ticket, TicketPhoto, allowed_moves, followers

STAFF_BY = "staff:{name}"


@bp.context_processor
def console_names() -> dict[str, Any]:
    return {"STATUS_ZH": STATUS_ZH, "ROLE_ZH": ROLE_ZH, "PUSH_STATUS_ZH": PUSH_STATUS_ZH,
            "PUSH_KIND_ZH": PUSH_KIND_ZH, "EVENT_KIND_ZH": EVENT_KIND_ZH, "push_error_zh": push_error_zh}


@bp.app_template_filter("console_time")
def _local_filter(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local(at, fmt)


@bp.app_template_filter("console_age")
def _age_filter(at: datetime) -> str:
    return age(at)


@bp.app_template_filter("console_ago")
def _ago_filter(at: datetime) -> str:
    text = age(at)
    return text if text == "刚刚" else f"{text}前"


@bp.app_template_filter("console_who")
def who(by: str) -> str:
    """A timeline actor in words: staff:王调度 → 王调度, user:… → 报修人."""
    kind, _, name = by.partition(":")
    if kind == "staff":
        return name
    if kind == "user":
        return "报修人"
    return by


@bp.after_request
def no_store(response: Any) -> Any:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# -- errors ------------------------------------------------------------------------------------

@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError) -> ResponseReturnValue:
    return render_template("console/error.html", code=400, message=TEXT["csrf"]), 400


@bp.errorhandler(403)
def forbidden(exc: Exception) -> ResponseReturnValue:
    return render_template("console/error.html", code=403, message=TEXT["forbidden"]), 403


@bp.errorhandler(404)
def not_found(exc: Exception) -> ResponseReturnValue:
    return render_template("console/error.html", code=404, message=TEXT["not_found"]), 404


# -- helpers ------------------------------------------------------------------------------------

def visible_ticket(s: Session, user: StaffUser, no: str) -> Ticket:
    """The ticket numbered `no` if the user may see it; 404 otherwise (its existence stays hidden)."""
    ticket = s.scalars(select(Ticket).where(Ticket.no == no.strip().upper())).first()
    if ticket is None or not can_see(user, ticket):
        abort(404)
    return ticket


def managed_ticket(s: Session, user: StaffUser, no: str) -> Ticket:
    """A visible ticket for an action only dispatchers and admins take (403 for a worker)."""
    ticket = visible_ticket(s, user, no)
    if not user.manages:
        abort(403)
    return ticket


def worker_refused(s: Session, worker: str, category: str) -> bool:
    """Say why a worker named in a form cannot take a ticket of this category (True), or nothing (False)."""
    if not worker:
        flash(TEXT["worker_required"], "error")
        return True
    if worker not in {w.name for w in workers_for(s, category)}:
        flash(TEXT["worker_wrong"].format(worker=worker, category=category), "error")
        return True
    return False


def back_to(no: str) -> ResponseReturnValue:
    return redirect(url_for("console.ticket", no=no))


def form_errors(form: Any) -> str:
    return "；".join(f"{getattr(form, k).label.text}：{'，'.join(v)}" for k, v in form.errors.items()
                    if k != "csrf_token")


def refused(form: Any) -> bool:
    """Check a posted form; when it fails, say why (the page is shown again by the caller)."""
    if form.validate():
        return False
    flash(TEXT["form_invalid"].format(errors=form_errors(form)), "error")
    return True


def act(back: ResponseReturnValue, run: Callable[[], object], done: str,
        failures: tuple[type[Exception], ...] = (IllegalMove, NotFound)) -> ResponseReturnValue:
    """Run a staff action, say how it went (done, or why it failed), and go back to the page."""
    try:
        run()
    except failures as exc:
        flash(TEXT["failed"].format(reason=error_zh(exc)), "error")
        return back
    flash(done, "success")
    return back


# -- the queue ------------------------------------------------------------------------------------

@bp.get("/")
def queue() -> ResponseReturnValue:
    user = me()
    f = Filters.from_args(request.args)
    now = datetime.now(UTC)
    reg = services().register()
    with services().db.session() as s:
        since = last_id(s, user)
        tickets, total = queue_page(s, user, f, now)
        counts = status_counts(s, user)
        workers = list(s.scalars(select(Staff).where(Staff.role == "worker").order_by(Staff.name)))
        if user.role == "dispatcher":
            workers = [w for w in workers if set(w.categories or []) & set(user.categories)]
        elif user.role == "worker":
            workers = []
        categories = [c.name for c in reg.categories] if reg else []
        if user.role != "admin":
            categories = [c for c in categories if c in user.categories] if user.role == "dispatcher" else []
        buildings = sorted({b.name for b in reg.all_buildings()}) if reg else []
        return render_template(
            "console/queue.html", tickets=tickets, total=total, f=f, counts=counts, workers=workers,
            categories=categories, campuses=[c.name for c in reg.campuses] if reg else [],
            buildings=buildings, open_statuses=OPEN_STATUSES,
            pages=(min(total, cap_of(f) or total) + PAGE_SIZE - 1) // PAGE_SIZE, cap=cap_of(f) or total,
            marks=marks_for(s, tickets, since),
            version=version(s, user, now), poll_s=current_app.config.get("CONSOLE_POLL_S", POLL_S))


@bp.get("/queue/poll")
def queue_poll() -> ResponseReturnValue:
    """What an open queue page asks every few seconds: how many tickets came since it was loaded, and — only
    when something changed — its rows and counts again (the page swaps them in; no reload)."""
    user = me()
    f = Filters.from_args(request.args)
    since = parse_id(request.args.get("since")) or 0
    now = datetime.now(UTC)
    with services().db.session() as s:
        current = version(s, user, now)
        fresh = new_since(s, user, since)
        if request.args.get("v") == current:
            return jsonify(same=True, new=fresh, version=current)
        tickets, total = queue_page(s, user, f, now)
        rows = render_template("console/_queue_rows.html", tickets=tickets, marks=marks_for(s, tickets, since))
        return jsonify(same=False, new=fresh, version=current, total=min(total, cap_of(f) or total), rows=rows,
                       counts=status_counts(s, user))


# -- one ticket ------------------------------------------------------------------------------------

def worker_choices(s: Session, t: Ticket) -> list[tuple[str, str]]:
    """The workers a ticket may be assigned to, each with their phone and how many open tickets they hold."""
    load = {wid: int(n) for wid, n in s.execute(
        select(Ticket.worker_id, func.count(Ticket.id))
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.worker_id.is_not(None))
        .group_by(Ticket.worker_id))}
    return [(w.name, TEXT["worker_option"].format(name=w.name, phone=w.phone or "", open=load.get(w.id, 0)))
            for w in workers_for(s, t.category)]


def may_accept_and_assign(user: StaffUser, t: Ticket) -> bool:
    """受理并指派 is offered where 受理 is, to those who may assign (a new ticket, a dispatcher or admin)."""
    return t.status == "submitted" and "accepted" in moves_for(user, t) and role_may_move(user, "assigned")


@bp.get("/tickets/<no>")
def ticket(no: str) -> ResponseReturnValue:
    user = me()
    with services().db.session() as s:
        t = visible_ticket(s, user, no)
        moves = moves_for(user, t)
        reporter = s.get(Person, t.person_id) if t.person_id else None
        pushes = list(s.scalars(select(Push).where(Push.ticket_id == t.id).order_by(Push.id)))
        workers = worker_choices(s, t) if "assigned" in moves or may_accept_and_assign(user, t) else []
        move_forms = []
        for to in moves:
            style = ("danger" if to == "rejected" else
                     "" if to == "on_hold" or (to == "accepted" and t.status != "submitted") else "primary")
            move_forms.append({"to": to, "label": move_label(t.status, to),
                               "workers": workers if to == "assigned" else [], "style": style,
                               "required": to in REASON_REQUIRED,
                               "placeholder": NOTE_PLACEHOLDER.get(to, "说明（选填）"),
                               "canned": [c.text for c in canned_for(s, to, t.category)]})
        return render_template(
            "console/ticket.html", t=t, moves=move_forms, reporter=reporter, pushes=pushes,
            followers=len(followers(s, t)), overdue=late_marks(s, [t]).get(t.id), rework=is_rework(t),
            accept_assign=workers if may_accept_and_assign(user, t) else None,
            accept_assign_canned=[c.text for c in canned_for(s, "assigned", t.category)],
            reply_form=ReplyForm(formdata=None) if may_reply(user, t) else None,
            reply_canned=[c.text for c in canned_for(s, t.status, t.category)],
            merge_form=MergeForm(formdata=None) if may_merge(user, t) else None,
            downgrade_form=may_downgrade(user, t),
            messages=[e for e in t.events if e.kind in ("message", "reply")],
            no_workers=TEXT["no_workers"].format(category=t.category), **office_records(s, user, t))


# Where a return visit may be recorded: after the worker said it is done (and after 销单, as offices do).
VISIT_STATUSES = ("completed", "closed")


def office_records(s: Session, user: StaffUser, t: Ticket) -> dict[str, Any]:
    """What the ticket page shows of the office's records: its return visits (and the form for one), its late
    stages with who held them, and why it was closed."""
    visits = list(s.scalars(select(ReturnVisit).where(ReturnVisit.ticket_id == t.id).order_by(ReturnVisit.id)))
    late = list(s.scalars(select(Overdue).where(Overdue.ticket_id == t.id).order_by(Overdue.id)))
    may_visit = user.manages and t.status in VISIT_STATUSES
    return {"visits": visits, "VISIT_ZH": VISIT_ZH, "late_stages": late, "STAGE_ZH": STAGE_ZH,
            "visit_form": VisitForm(formdata=None) if may_visit else None,
            "close_reason": CLOSE_REASON_ZH.get(t.close_reason or "", "")}


@bp.post("/tickets/<no>/visit")
def visit(no: str) -> ResponseReturnValue:
    """服务回访: record a phone return visit; 不满意 on a completed ticket sends it back as rework."""
    user = me()
    form = VisitForm()
    with services().db.session() as s:
        t = visible_ticket(s, user, no)
        no, status = t.no, t.status
        if not user.manages:
            abort(403)
    if refused(form):
        return back_to(no)
    outcome = form.outcome.data or ""
    done = ("visit_reopened" if outcome == "unsatisfied" and status == "completed" else
            "visit_closed" if outcome in ("satisfied", "fair") and status == "completed" else "visit_recorded")
    return act(back_to(no), lambda: actions.return_visit(services(), no, outcome, form.note.data,
                                                         by=STAFF_BY.format(name=user.name)),
               TEXT[done].format(no=no, outcome=VISIT_ZH.get(outcome, "")))


@bp.post("/tickets/<no>/accept-assign")
def accept_assign(no: str) -> ResponseReturnValue:
    """受理并指派: one action (one transaction) for the commonest pair of moves on a new ticket."""
    user = me()
    form = AcceptAssignForm()
    with services().db.session() as s:
        t = managed_ticket(s, user, no)
        no = t.no
        if not may_accept_and_assign(user, t):
            flash(TEXT["illegal"].format(no=no, status=status_zh(t.status), label=TEXT["accept_assign"],
                                         allowed=TEXT["list_sep"].join(move_label(t.status, m)
                                                                       for m in moves_for(user, t))
                                         or TEXT["illegal_none"]), "error")
            return back_to(no)
        worker = (form.worker.data or "").strip()
        if worker_refused(s, worker, t.category):
            return back_to(no)
    if refused(form):
        return back_to(no)
    note = (form.note.data or "").strip() or None
    return act(back_to(no), lambda: actions.accept_and_assign(services(), no, worker,
                                                              by=STAFF_BY.format(name=user.name), note=note),
               TEXT["accepted_assigned"].format(no=no, worker=worker))


@bp.post("/tickets/<no>/move")
def move(no: str) -> ResponseReturnValue:
    user = me()
    form = MoveForm()
    to = (form.to.data or "").strip()
    if to not in STATUS_ZH:
        flash(TEXT["unknown_move"], "error")
        return back_to(no)
    with services().db.session() as s:
        t = visible_ticket(s, user, no)
        no, status, category = t.no, t.status, t.category
        if not role_may_move(user, to):
            abort(403)
        label = move_label(status, to)
        if to not in allowed_moves(status):
            allowed = [move_label(status, m) for m in moves_for(user, t)]
            flash(TEXT["illegal"].format(no=no, status=status_zh(status), label=label,
                                         allowed=TEXT["list_sep"].join(allowed) or TEXT["illegal_none"]), "error")
            return back_to(no)
        worker = None
        if to == "assigned":
            worker = (form.worker.data or "").strip()
            if worker_refused(s, worker, category):
                return back_to(no)
    note = (form.note.data or "").strip() or None
    if refused(form):
        return back_to(no)
    if to in REASON_REQUIRED and not note:
        flash(TEXT["reason_required"].format(label=label), "error")
        return back_to(no)
    return act(back_to(no), lambda: actions.move_ticket(services(), no, to, by=STAFF_BY.format(name=user.name),
                                                        note=note, worker=worker),
               TEXT["moved"].format(no=no, label=label, status=status_zh(to)))


@bp.post("/tickets/<no>/reply")
def reply(no: str) -> ResponseReturnValue:
    user = me()
    form = ReplyForm()
    with services().db.session() as s:
        t = visible_ticket(s, user, no)
        no = t.no
        if not may_reply(user, t):
            abort(403)
    text = (form.text.data or "").strip()
    if not text:
        flash(TEXT["reply_empty"], "error")
        return back_to(no)
    if refused(form):
        return back_to(no)
    return act(back_to(no), lambda: actions.staff_reply(services(), no, text, by=STAFF_BY.format(name=user.name)),
               TEXT["replied"].format(no=no), failures=(RepairbotError,))


@bp.post("/tickets/<no>/downgrade")
def downgrade(no: str) -> ResponseReturnValue:
    """改为普通: an urgent ticket was a false alarm (recorded on the timeline)."""
    user = me()
    form = DowngradeForm()
    with services().db.session() as s:
        no = managed_ticket(s, user, no).no
    if refused(form):
        return back_to(no)
    note = (form.note.data or "").strip() or None
    return act(back_to(no), lambda: actions.downgrade_ticket(services(), no, by=STAFF_BY.format(name=user.name),
                                                             note=note),
               TEXT["downgraded"].format(no=no))


@bp.post("/tickets/<no>/merge")
def merge(no: str) -> ResponseReturnValue:
    user = me()
    form = MergeForm()
    into = (form.into.data or "").strip().upper()
    with services().db.session() as s:
        t = managed_ticket(s, user, no)
        no = t.no
        if not may_merge(user, t):
            flash(TEXT["merge_not_allowed"].format(no=no, status=status_zh(t.status)), "error")
            return back_to(no)
        target = s.scalars(select(Ticket).where(Ticket.no == into)).first() if into else None
        if target is None or not can_see(user, target):
            flash(TEXT["merge_missing"].format(into=into or "（空）"), "error")
            return back_to(no)
        if target.id == t.id:
            flash(TEXT["merge_self"], "error")
            return back_to(no)
        if target.status not in OPEN_STATUSES:
            flash(TEXT["merge_finished"].format(into=into, status=status_zh(target.status)), "error")
            return back_to(no)
        if not same_place(t, target) and not form.confirm.data:
            # Two buildings: most likely a mistyped number.  Ask once more, showing both tickets.
            return render_template("console/merge_confirm.html", t=t, target=target,
                                   form=MergeForm(formdata=None, into=target.no, confirm="1"))
    return act(back_to(no), lambda: actions.merge_ticket(services(), no, into, by=STAFF_BY.format(name=user.name)),
               TEXT["merged"].format(no=no, into=into))


def same_place(a: Ticket, b: Ticket) -> bool:
    """Whether two tickets are in the same building (merging across buildings asks for a confirmation)."""
    return (a.campus, a.building) == (b.campus, b.building)


@bp.get("/photos/<id:photo_id>")
def photo(photo_id: int) -> ResponseReturnValue:
    """A reporter's photo, for staff who may see its ticket (files stay outside the web root)."""
    user = me()
    with services().db.session() as s:
        p = s.get(TicketPhoto, photo_id)
        if p is None or not can_see(user, p.ticket) or p.status != "saved" or not p.path:
            abort(404)
        path = Path(p.path).resolve()
    media = services().config.media_dir.resolve()
    if not path.is_relative_to(media) or not path.is_file():
        abort(404)
    return send_file(path, max_age=0)


@bp.route("/<path:rest>", methods=["GET", "POST"])
def nowhere(rest: str) -> ResponseReturnValue:
    """Any other /console URL (a typo, an id out of range: bot/ids.py): the console's 404, after the login check."""
    abort(404)


# -- pushes ------------------------------------------------------------------------------------------

@bp.get("/pushes/failed")
def failed_pushes() -> ResponseReturnValue:
    """Failed pushes, and those whose template WeChat refused (40037, 47003) though a text went instead:
    a template to fix either way."""
    user = me()
    if not may_see_failed_pushes(user):
        abort(403)
    refused = (Push.status == "sent") & (Push.channel == "custom") & Push.errcode.in_(TEMPLATE_REFUSED)
    with services().db.session() as s:
        q = (select(Push, Ticket.no).outerjoin(Ticket, Push.ticket_id == Ticket.id)
             .where((Push.status == "failed") | refused).order_by(Push.id.desc()).limit(200))
        if not user.is_admin:
            q = q.where(Push.ticket_id.is_not(None), ticket_scope(user))
        rows = [(push, no, push_error_zh(push.errcode, push.error, push.channel, push.status))
                for push, no in s.execute(q)]
        failed = sum(1 for push, _, _ in rows if push.status == "failed")
        return render_template("console/pushes.html", rows=rows, failed=failed, form=ActionForm(formdata=None))


@bp.post("/pushes/<id:push_id>/resend")
def resend_push(push_id: int) -> ResponseReturnValue:
    """Queue a failed push again (e.g. after the template id was fixed)."""
    user = me()
    if not may_see_failed_pushes(user):
        abort(403)
    with services().db.session() as s:
        push = s.get(Push, push_id)
        if push is None:
            abort(404)
        if not user.is_admin:
            t = s.get(Ticket, push.ticket_id) if push.ticket_id else None
            if t is None or not can_see(user, t):
                abort(404)
        # A person decided to try again: a fresh budget of attempts (workers.push.MAX_ATTEMPTS).
        if not reopen_failed(s, push_id):
            flash(TEXT["push_not_failed"].format(id=push_id), "info")
            return redirect(url_for("console.failed_pushes"))
    enqueue(services().redis, "pushes", SEND_PUSH, push_id, job_id=f"push-{push_id}")
    flash(TEXT["push_resent"].format(id=push_id), "success")
    return redirect(url_for("console.failed_pushes"))
