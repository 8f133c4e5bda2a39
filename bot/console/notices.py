"""通知公告 in the console (admins only): the notices, publishing one, pushing it to the residents.

A notice may concern the whole school, a campus, or some buildings of the register, and some trade
groups (停水 → 给水: a repair in that group and place is then answered with the notice first).  Its start
and end are typed in China time and stored in UTC.  A notice about buildings can be pushed once to the
subscribed users whose default room is in them (`core.actions.push_notice`, throttled); its page counts
the pushes sent, failed and still pending from the push rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console.auth import me
from bot.console.blueprint import bp, local, services
from bot.console.forms import ActionForm, NoticeForm, choices
from bot.console.perms import may_manage_notices
from bot.console.text import NOTICE_STATE_ZH, TEXT, WHOLE_SCHOOL, error_zh
from bot.console.views import STAFF_BY, form_errors
from core import actions
from models.clock import LOCAL, now
from models.errors import IllegalMove, NotFound
from models.notices import Notice, all_notices, notice_audience, publish
from models.pushes import Push
from models.register import Register

TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
INPUT_FORMAT = "%Y-%m-%dT%H:%M"
SEP = "/"  # a building is chosen as "校区/楼栋"
# How the push rows of a notice are counted on its page.
PUSH_BUCKETS = {"pending": "pending", "sending": "pending", "sent": "sent", "failed": "failed",
                "skipped": "skipped"}


def admin_only() -> None:
    if not may_manage_notices(me()):
        abort(403)


@bp.context_processor
def notice_names() -> dict[str, Any]:
    return {"NOTICE_STATE_ZH": NOTICE_STATE_ZH, "notice_state": notice_state, "notice_scope": notice_scope}


# -- helpers ---------------------------------------------------------------------------------------------

def notice_state(notice: Notice, at: datetime | None = None) -> str:
    """upcoming, live or ended."""
    at = at or now()
    if notice.ends_at is not None and notice.ends_at <= at:
        return "ended"
    return "upcoming" if notice.starts_at > at else "live"


def notice_scope(notice: Notice) -> str:
    """Where a notice applies, in words: 全校, 东环校区, 东环校区：学生公寓12栋、学生公寓13栋."""
    if notice.buildings:
        by_campus: dict[str, list[str]] = {}
        for campus, building in notice.buildings:
            by_campus.setdefault(str(campus), []).append(str(building))
        return "；".join(f"{c}：{TEXT['list_sep'].join(bs)}" for c, bs in by_campus.items())
    return notice.campus or WHOLE_SCHOOL


def parse_local(text: str) -> datetime | None:
    """A time typed in China time (2026-11-28T08:00, or with a space) as UTC; None when blank."""
    text = text.strip()
    if not text:
        return None
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=LOCAL).astimezone(UTC)
        except ValueError:
            continue
    raise ValueError(text)


def push_counts(s: Session, notice_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each notice: its push rows by sent, failed, pending (pending or sending) and skipped."""
    counts: dict[int, dict[str, int]] = {nid: {"sent": 0, "failed": 0, "pending": 0, "skipped": 0, "total": 0}
                                         for nid in notice_ids}
    if not notice_ids:
        return counts
    rows = s.execute(select(Push.notice_id, Push.status, func.count()).where(Push.notice_id.in_(notice_ids))
                     .group_by(Push.notice_id, Push.status))
    for nid, status, n in rows:
        if nid is None:
            continue
        bucket = counts[int(nid)]
        bucket[PUSH_BUCKETS.get(status, "pending")] += int(n)
        bucket["total"] += int(n)
    return counts


@dataclass
class Checked:
    """A notice form's values after the register and the clock checked them."""

    campus: str | None = None
    buildings: list[list[str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


def check(form: NoticeForm, reg: Register | None) -> Checked:
    """Check the places and groups against the register and the times against each other."""
    out = Checked()
    campus = (form.campus.data or "").strip() or None
    if campus and (reg is None or reg.campus(campus) is None):
        out.errors.append(TEXT["notice_unknown_campus"].format(campus=campus))
        campus = None
    unknown, elsewhere = [], []
    for raw in form.buildings.data or []:
        for value in str(raw).replace("，", ",").replace("、", ",").split(","):
            value = value.strip()
            if not value:
                continue
            c, _, b = value.partition(SEP)
            if reg is None or reg.building(c.strip(), b.strip()) is None:
                unknown.append(value)
            elif campus and c.strip() != campus:
                elsewhere.append(value)
            elif [c.strip(), b.strip()] not in out.buildings:
                out.buildings.append([c.strip(), b.strip()])
    if unknown:
        out.errors.append(TEXT["notice_unknown_building"].format(buildings=TEXT["list_sep"].join(unknown)))
    if elsewhere:
        out.errors.append(TEXT["notice_building_campus"].format(campus=campus,
                                                                buildings=TEXT["list_sep"].join(elsewhere)))
    campuses = {c for c, _ in out.buildings}
    out.campus = campus or (next(iter(campuses)) if len(campuses) == 1 else None)
    known_groups = [g.name for g in reg.groups] if reg else []
    chosen = [str(g) for g in form.groups.data or []]
    bad_groups = [g for g in chosen if g not in known_groups]
    if bad_groups:
        out.errors.append(TEXT["notice_unknown_group"].format(groups=TEXT["list_sep"].join(bad_groups)))
    out.groups = [g for g in known_groups if g in chosen]
    for name in ("starts_at", "ends_at"):
        fld = getattr(form, name)
        try:
            setattr(out, name, parse_local(fld.data or ""))
        except ValueError:
            out.errors.append(TEXT["notice_bad_time"].format(field=fld.label.text))
    start = out.starts_at or now()
    if out.ends_at is not None and out.ends_at <= start:
        out.errors.append(TEXT["notice_end_before_start"].format(start=local(start), end=local(out.ends_at)))
    return out


def notice_form(reg: Register | None, formdata: bool = True) -> NoticeForm:
    form = NoticeForm() if formdata else NoticeForm(formdata=None)
    form.campus.choices = choices([("", WHOLE_SCHOOL), *((c.name, c.name) for c in (reg.campuses if reg else ()))])
    form.buildings.choices = choices((f"{c.name}{SEP}{b.name}", b.name)
                                     for c in (reg.campuses if reg else ()) for b in c.buildings)
    form.groups.choices = choices((g.name, g.name) for g in (reg.groups if reg else ()))
    return form


def _get(s: Session, notice_id: int) -> Notice:
    notice = s.get(Notice, notice_id)
    if notice is None:
        abort(404)
    return notice


def back_to(notice_id: int) -> ResponseReturnValue:
    return redirect(url_for("console.notice", notice_id=notice_id))


# -- the views ----------------------------------------------------------------------------------------------

@bp.get("/notices")
def notices() -> ResponseReturnValue:
    admin_only()
    with services().db.session() as s:
        rows = all_notices(s, limit=200)
        return render_template("console/notices.html", rows=rows, counts=push_counts(s, [n.id for n in rows]),
                               at=now())


@bp.route("/notices/new", methods=["GET", "POST"])
def notice_new() -> ResponseReturnValue:
    admin_only()
    reg = services().register()
    form = notice_form(reg)
    errors: list[str] = []
    if form.is_submitted():
        if not form.validate():
            errors.append(TEXT["form_invalid"].format(errors=form_errors(form)))
        checked = check(form, reg)
        errors.extend(checked.errors)
        if not errors:
            try:
                with services().db.session() as s:
                    notice = publish(s, form.title.data or "", form.body.data or "", STAFF_BY.format(name=me().name),
                                     campus=checked.campus, buildings=checked.buildings, groups=checked.groups,
                                     starts_at=checked.starts_at, ends_at=checked.ends_at)
                    notice_id, title = notice.id, notice.title
            except IllegalMove as exc:
                errors.append(TEXT["failed"].format(reason=error_zh(exc)))
            else:
                flash(TEXT["notice_published"].format(title=title), "success")
                return back_to(notice_id)
    elif not form.starts_at.data:
        form.starts_at.data = local(now(), INPUT_FORMAT)
    chosen = {str(v) for v in form.buildings.data or []}
    return render_template("console/notice_form.html", form=form, errors=errors,
                           campuses=list(reg.campuses) if reg else [], chosen=chosen, sep=SEP,
                           open_campuses={v.partition(SEP)[0] for v in chosen}), 400 if errors else 200


@bp.get("/notices/<id:notice_id>")
def notice(notice_id: int) -> ResponseReturnValue:
    admin_only()
    with services().db.session() as s:
        n = _get(s, notice_id)
        state = notice_state(n)
        counts = push_counts(s, [n.id])[n.id]
        failed = list(s.scalars(select(Push).where(Push.notice_id == n.id, Push.status == "failed")
                                .order_by(Push.id).limit(50)))
        may_push = bool(n.buildings) and n.pushed_at is None and state != "ended"
        audience = len(notice_audience(s, n)) if may_push else 0
        return render_template("console/notice.html", n=n, state=state, counts=counts, failed=failed,
                               may_push=may_push, audience=audience, rate=_rate(),
                               form=ActionForm(formdata=None))


@bp.post("/notices/<id:notice_id>/push")
def notice_push(notice_id: int) -> ResponseReturnValue:
    admin_only()
    with services().db.session() as s:
        n = _get(s, notice_id)
        title = n.title
        problem = ("notice_push_no_buildings" if not n.buildings else
                   "notice_push_twice" if n.pushed_at is not None else
                   "notice_push_ended" if notice_state(n) == "ended" else
                   "notice_push_nobody" if not notice_audience(s, n) else None)
    if problem:
        flash(TEXT[problem], "error")
        return back_to(notice_id)
    try:
        sent = actions.push_notice(services(), notice_id)
    except (IllegalMove, NotFound):
        flash(TEXT["notice_push_twice"], "error")
        return back_to(notice_id)
    flash(TEXT["notice_pushed"].format(title=title, n=sent, rate=_rate()), "success")
    return back_to(notice_id)


def _rate() -> str:
    """Pushes per second as the page says it (the account's cap, REPAIRBOT_PUSH_RATE; 0: no cap)."""
    rate = services().config.push_rate
    return f"{rate:g}" if rate > 0 else "数百"


@bp.post("/notices/<id:notice_id>/end")
def notice_end(notice_id: int) -> ResponseReturnValue:
    """End a notice now (e.g. the water came back early); it stays readable, marked 已结束."""
    admin_only()
    at = now()
    with services().db.session() as s:
        n = _get(s, notice_id)
        if notice_state(n, at) == "ended":
            flash(TEXT["notice_already_ended"], "info")
            return back_to(notice_id)
        n.starts_at = min(n.starts_at, at)
        n.ends_at = at
        title = n.title
    flash(TEXT["notice_ended_now"].format(title=title), "success")
    return back_to(notice_id)
