"""Admin pages: staff accounts and canned replies (per status and category, in the order admins give them)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.console.auth import me
from bot.console.blueprint import bp, services
from bot.console.forms import ActionForm, CannedForm, StaffForm, choices
from bot.console.text import ROLE_ZH, TEXT, error_zh
from bot.console.views import form_errors
from models.errors import RosterError
from models.people import Staff, add_staff
from models.replies import CannedReply, shift
from models.tickets import STATUS_ZH


def admin_only() -> None:
    if not me().is_admin:
        abort(403)


def staff_form() -> StaffForm:
    form = StaffForm()
    reg = services().register()
    form.categories.choices = choices((c.name, c.name) for c in reg.categories) if reg else []
    form.departments.choices = choices((d, d) for d in reg.departments) if reg else []
    return form


@bp.route("/staff", methods=["GET", "POST"])
def staff() -> ResponseReturnValue:
    admin_only()
    form = staff_form()
    if form.is_submitted():
        if not form.validate():
            flash(TEXT["form_invalid"].format(errors=form_errors(form)), "error")
        else:
            name = (form.name.data or "").strip()
            role = form.role.data or ""
            try:
                with services().db.session() as s:
                    exists = s.scalars(select(Staff).where(Staff.name == name)).first() is not None
                    if exists and not form.update.data:
                        flash(TEXT["staff_exists"].format(name=name), "error")
                    else:
                        account = add_staff(s, name, role, form.password.data or "",
                                            categories=list(form.categories.data or []),
                                            phone=(form.phone.data or "").strip() or None)
                        # add_staff takes neither openid nor departments: set them on the same row.
                        account.openid = (form.openid.data or "").strip() or None
                        account.departments = list(form.departments.data or [])
                        account.active = True
                        key = "staff_updated" if exists else "staff_added"
                        flash(TEXT[key].format(name=name, role=ROLE_ZH[role]), "success")
                        return redirect(url_for("console.staff"))
            except RosterError as exc:
                flash(TEXT["staff_bad"].format(reason=error_zh(exc)), "error")
    with services().db.session() as s:
        accounts = list(s.scalars(select(Staff).order_by(Staff.role, Staff.name)))
        return render_template("console/staff.html", form=form, accounts=accounts)


def canned_form(**kwargs: object) -> CannedForm:
    """The canned-reply form, its category choices read from the register ("" is every category)."""
    form = CannedForm(**kwargs)
    reg = services().register()
    form.category.choices = choices([("", TEXT["all_categories"]),
                                     *((c.name, c.name) for c in (reg.categories if reg else []))])
    return form


def category_of(form: CannedForm) -> tuple[bool, str | None]:
    """The category a posted form names (None: every category), and whether the register knows it."""
    category = (form.category.data or "").strip() or None
    if category is None:
        return True, None
    reg = services().register()
    known = reg is not None and category in {c.name for c in reg.categories}
    if not known:
        flash(TEXT["reply_category_bad"].format(category=category), "error")
    return known, category


@bp.route("/replies", methods=["GET", "POST"])
def replies() -> ResponseReturnValue:
    admin_only()
    form = canned_form()
    if form.validate_on_submit():
        known, category = category_of(form)
        if known:
            with services().db.session() as s:
                s.add(CannedReply(status=form.status.data, category=category, text=(form.text.data or "").strip(),
                                  position=form.position.data or 0))
            flash(TEXT["reply_added"], "success")
            return redirect(url_for("console.replies"))
    elif form.is_submitted():
        flash(TEXT["form_invalid"].format(errors=form_errors(form)), "error")
    with services().db.session() as s:
        rows = list(s.scalars(select(CannedReply).order_by(CannedReply.status, CannedReply.position,
                                                           CannedReply.id)))
        by_status = {st: [r for r in rows if r.status == st] for st in STATUS_ZH}
        edit_forms = {r.id: canned_form(formdata=None, obj=r, prefix=f"r{r.id}") for r in rows}
        for r in rows:
            edit_forms[r.id].category.data = r.category or ""
        return render_template("console/replies.html", form=form, by_status=by_status, edit_forms=edit_forms,
                               delete_form=ActionForm(formdata=None))


def existing(s: Session, reply_id: int) -> CannedReply:
    row = s.get(CannedReply, reply_id)
    if row is None:
        abort(404)
    return row


@bp.post("/replies/<id:reply_id>")
def reply_edit(reply_id: int) -> ResponseReturnValue:
    admin_only()
    form = canned_form(prefix=f"r{reply_id}")
    if not form.validate():
        flash(TEXT["form_invalid"].format(errors=form_errors(form)), "error")
        return redirect(url_for("console.replies"))
    known, category = category_of(form)
    if not known:
        return redirect(url_for("console.replies"))
    with services().db.session() as s:
        row = existing(s, reply_id)
        row.status, row.text = form.status.data or row.status, (form.text.data or "").strip()
        row.category, row.position = category, form.position.data or 0
    flash(TEXT["reply_saved"], "success")
    return redirect(url_for("console.replies"))


@bp.post("/replies/<id:reply_id>/<any(up, down):direction>")
def reply_move(reply_id: int, direction: str) -> ResponseReturnValue:
    """Move a canned reply one place up or down among those of its status (the order they are offered in)."""
    admin_only()
    with services().db.session() as s:
        shift(s, existing(s, reply_id), -1 if direction == "up" else 1)
    flash(TEXT["reply_moved"], "success")
    return redirect(url_for("console.replies"))


@bp.post("/replies/<id:reply_id>/delete")
def reply_delete(reply_id: int) -> ResponseReturnValue:
    admin_only()
    with services().db.session() as s:
        s.delete(existing(s, reply_id))
    flash(TEXT["reply_deleted"], "success")
    return redirect(url_for("console.replies"))
