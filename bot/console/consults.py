"""网上咨询 in the console: complaints, suggestions, questions and praise, by department.

An admin sees every consult; any other account sees those addressed to the departments in its
`Staff.departments` (none without).  A consult outside that scope is a 404, for every request.  Staff
who see a consult may reply (the reply reaches the sender as a push, `core.actions.consult_reply`) and
close it (办结, `core.actions.consult_close`).  An anonymous sender's name, phone and openid are never
put into a page: the views do not even read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from bot.console.auth import me
from bot.console.blueprint import bp, services
from bot.console.forms import ConsultCloseForm, DepartmentsForm, ReplyForm, choices
from bot.console.perms import StaffUser, can_see_consult, consult_departments, consult_scope
from bot.console.text import ANONYMOUS, CONSULT_EVENT_ZH, CONSULT_SENDER, TEXT
from bot.console.views import STAFF_BY, act, form_errors, refused
from bot.ids import parse_day, parse_page
from core import actions
from models.clock import LOCAL
from models.consult import CONSULT_STATUS_ZH, KINDS, Consult
from models.people import Person, Staff, WechatUser
from models.pushes import Push

PAGE_SIZE = 50
# The list's status filter: "todo" (not closed yet, the default), "all", or one status.
TODO = ("open", "replied")


@bp.context_processor
def consult_names() -> dict[str, Any]:
    """Names the consult pages use, and whether the header shows 网上咨询 to this account."""
    return {"CONSULT_STATUS_ZH": CONSULT_STATUS_ZH, "CONSULT_EVENT_ZH": CONSULT_EVENT_ZH,
            "consult_nav": _shows_consults()}


def _shows_consults() -> bool:
    if not current_user.is_authenticated:
        return False
    user = me()
    if user.is_admin:
        return True
    with services().db.session() as s:
        return bool(consult_departments(s, user))


@bp.app_template_filter("consult_who")
def consult_who(by: str) -> str:
    """A consult timeline actor in words: staff:王老师 → 王老师, user:… → 提交人 (never the openid)."""
    kind, _, name = by.partition(":")
    if kind == "staff":
        return name
    if kind == "user":
        return CONSULT_SENDER
    return by


# -- the list -------------------------------------------------------------------------------------------

@dataclass
class ConsultFilters:
    """The list's filters, read from the query string; empty means "any"."""

    status: str = "todo"
    department: str = ""
    kind: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> ConsultFilters:
        status = args.get("status", "todo")
        kind = args.get("kind", "").strip()
        return cls(status=status if status in ("todo", "all", *CONSULT_STATUS_ZH) else "todo",
                   department=args.get("department", "").strip(), kind=kind if kind in KINDS else "",
                   since=parse_day(args.get("since")), until=parse_day(args.get("until")),
                   q=args.get("q", "").strip()[:50], page=parse_page(args.get("page")))

    @property
    def narrowed(self) -> bool:
        return bool(self.department or self.kind or self.since or self.until or self.q or self.status != "todo")

    def args(self, **changes: Any) -> dict[str, Any]:
        """These filters as query-string arguments (for links that change one of them)."""
        values = {"status": self.status, "department": self.department, "kind": self.kind,
                  "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else "", "q": self.q, "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1) or k == "status"}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL).astimezone(UTC)


def filtered(departments: tuple[str, ...] | None, f: ConsultFilters) -> Select[Any]:
    q = select(Consult).where(consult_scope(departments))
    if f.status == "todo":
        q = q.where(Consult.status.in_(TODO))
    elif f.status != "all":
        q = q.where(Consult.status == f.status)
    if f.department:
        q = q.where(Consult.department == f.department)
    if f.kind:
        q = q.where(Consult.kind == f.kind)
    if f.since:
        q = q.where(Consult.created_at >= _start_of(f.since))
    if f.until:
        q = q.where(Consult.created_at < _start_of(f.until + timedelta(days=1)))
    if f.q:
        q = q.where(or_(*(col.icontains(f.q, autoescape=True)
                          for col in (Consult.no, Consult.title, Consult.description, Consult.suggestion))))
    return q


def senders(s: Session, rows: list[Consult]) -> dict[int, str]:
    """The names of the senders of these consults who did not ask for anonymity, by consult id."""
    named = {c.id: c.person_id for c in rows if not c.anonymous and c.person_id}
    if not named:
        return {}
    names = dict(s.execute(select(Person.id, Person.name).where(Person.id.in_(set(named.values())))).all())
    return {cid: names[pid] for cid, pid in named.items() if pid in names}


@bp.get("/consults")
def consults() -> ResponseReturnValue:
    user = me()
    f = ConsultFilters.from_args(request.args)
    reg = services().register()
    with services().db.session() as s:
        departments = consult_departments(s, user)
        base = filtered(departments, f)
        total = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
        open_first = case((Consult.status == "open", 0), else_=1)
        rows = list(s.scalars(base.order_by(open_first, Consult.created_at.desc(), Consult.id.desc())
                              .limit(PAGE_SIZE).offset((f.page - 1) * PAGE_SIZE)))
        counts = {status: int(n) for status, n in s.execute(
            select(Consult.status, func.count()).where(consult_scope(departments)).group_by(Consult.status))}
        known = list(reg.departments) if reg else []
        shown = known if departments is None else [d for d in known if d in departments] + \
            [d for d in departments if d not in known]
        return render_template(
            "console/consults.html", rows=rows, total=total, f=f, counts=counts, names=senders(s, rows),
            departments=shown, kinds=KINDS, scope=departments, pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
            ANONYMOUS=ANONYMOUS)


# -- one consult ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sender:
    """Who sent a consult, as staff may see it: nothing at all when they asked for anonymity."""

    anonymous: bool
    name: str = ""
    phone: str = ""
    openid: str = ""


def sender_of(s: Session, consult: Consult) -> Sender:
    if consult.anonymous:
        return Sender(anonymous=True)
    user = s.scalars(select(WechatUser).where(WechatUser.openid == consult.openid)).first()
    person = s.get(Person, consult.person_id) if consult.person_id else (user.person if user else None)
    phone = (user.contact_phone if user else None) or (person.phone if person else None) or ""
    return Sender(anonymous=False, name=person.name if person else "", phone=phone, openid=consult.openid)


def visible_consult(s: Session, user: StaffUser, no: str) -> Consult:
    """The consult numbered `no` if the user may see it; 404 otherwise (its existence stays hidden)."""
    consult = s.scalars(select(Consult).where(Consult.no == no.strip().upper())).first()
    if consult is None or not can_see_consult(consult_departments(s, user), consult):
        abort(404)
    return consult


def back_to(no: str) -> ResponseReturnValue:
    return redirect(url_for("console.consult", no=no))


@bp.get("/consults/<no>")
def consult(no: str) -> ResponseReturnValue:
    user = me()
    with services().db.session() as s:
        c = visible_consult(s, user, no)
        pushes = list(s.scalars(select(Push).where(Push.consult_id == c.id).order_by(Push.id)))
        active = c.status != "closed"
        return render_template(
            "console/consult.html", c=c, sender=sender_of(s, c), pushes=pushes, ANONYMOUS=ANONYMOUS,
            reply_form=ReplyForm(formdata=None) if active else None,
            close_form=ConsultCloseForm(formdata=None) if active else None)


@bp.post("/consults/<no>/reply")
def consult_reply(no: str) -> ResponseReturnValue:
    user = me()
    form = ReplyForm()
    with services().db.session() as s:
        c = visible_consult(s, user, no)
        no, status = c.no, c.status
    if status == "closed":
        flash(TEXT["consult_is_closed"].format(no=no), "error")
        return back_to(no)
    text = (form.text.data or "").strip()
    if not text:
        flash(TEXT["reply_empty"], "error")
        return back_to(no)
    if refused(form):
        return back_to(no)
    return act(back_to(no), lambda: actions.consult_reply(services(), no, text, by=STAFF_BY.format(name=user.name)),
               TEXT["consult_replied"].format(no=no))


@bp.post("/consults/<no>/close")
def consult_close(no: str) -> ResponseReturnValue:
    user = me()
    form = ConsultCloseForm()
    with services().db.session() as s:
        c = visible_consult(s, user, no)
        no, status = c.no, c.status
    if status == "closed":
        flash(TEXT["consult_already_closed"].format(no=no), "info")
        return back_to(no)
    if refused(form):
        return back_to(no)
    note = (form.note.data or "").strip() or None
    return act(back_to(no), lambda: actions.consult_close(services(), no, by=STAFF_BY.format(name=user.name),
                                                          note=note),
               TEXT["consult_closed"].format(no=no))


# -- who answers for which department (admins) --------------------------------------------------------

def _departments_form(staff: Staff | None, known: list[str], formdata: bool) -> DepartmentsForm:
    prefix = f"s{staff.id}" if staff is not None else ""
    form = DepartmentsForm(prefix=prefix) if formdata else DepartmentsForm(formdata=None, prefix=prefix)
    form.departments.choices = choices((d, d) for d in known)
    if staff is not None and not formdata:
        form.departments.data = list(staff.departments or [])
    return form


@bp.get("/consults/departments")
def consult_departments_page() -> ResponseReturnValue:
    if not me().is_admin:
        abort(403)
    reg = services().register()
    known = list(reg.departments) if reg else []
    with services().db.session() as s:
        accounts = list(s.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.role, Staff.name)))
        forms = {a.id: _departments_form(a, known, formdata=False) for a in accounts}
        return render_template("console/consult_departments.html", accounts=accounts, forms=forms)


@bp.post("/consults/departments/<id:staff_id>")
def consult_departments_save(staff_id: int) -> ResponseReturnValue:
    if not me().is_admin:
        abort(403)
    reg = services().register()
    known = list(reg.departments) if reg else []
    with services().db.session() as s:
        account = s.get(Staff, staff_id)
        if account is None:
            abort(404)
        form = _departments_form(account, known, formdata=True)
        if not form.validate():
            bad = [d for d in (form.departments.data or []) if d not in known]
            flash(TEXT["departments_bad"].format(departments=TEXT["list_sep"].join(bad)) if bad else
                  TEXT["form_invalid"].format(errors=form_errors(form)), "error")
            return redirect(url_for("console.consult_departments_page"))
        chosen = [d for d in known if d in (form.departments.data or [])]
        account.departments = chosen
        flash(TEXT["departments_saved"].format(
            name=account.name, departments=TEXT["list_sep"].join(chosen) or TEXT["departments_none"]), "success")
    return redirect(url_for("console.consult_departments_page"))
