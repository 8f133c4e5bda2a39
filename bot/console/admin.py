"""Admin pages: staff accounts and canned replies."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.console.auth import me
from bot.console.blueprint import bp, services
from bot.console.forms import ActionForm, CannedForm, StaffForm, choices
from bot.console.text import ROLE_ZH, TEXT, error_zh
from bot.console.views import form_errors
from models.errors import RosterError
from models.people import Staff, add_staff
from models.replies import CannedReply
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


@bp.route("/replies", methods=["GET", "POST"])
def replies() -> ResponseReturnValue:
    admin_only()
    form = CannedForm()
    if form.validate_on_submit():
        with services().db.session() as s:
            s.add(CannedReply(status=form.status.data, text=(form.text.data or "").strip(),
                              position=form.position.data or 0))
        flash(TEXT["reply_added"], "success")
        return redirect(url_for("console.replies"))
    if form.is_submitted():
        flash(TEXT["form_invalid"].format(errors=form_errors(form)), "error")
    with services().db.session() as s:
        rows = list(s.scalars(select(CannedReply).order_by(CannedReply.status, CannedReply.position,
                                                           CannedReply.id)))
        by_status = {st: [r for r in rows if r.status == st] for st in STATUS_ZH}
        edit_forms = {r.id: CannedForm(formdata=None, obj=r, prefix=f"r{r.id}") for r in rows}
        return render_template("console/replies.html", form=form, by_status=by_status, edit_forms=edit_forms,
                               delete_form=ActionForm(formdata=None))


@bp.post("/replies/<id:reply_id>")
def reply_edit(reply_id: int) -> ResponseReturnValue:
    admin_only()
    form = CannedForm(prefix=f"r{reply_id}")
    if not form.validate():
        flash(TEXT["form_invalid"].format(errors=form_errors(form)), "error")
        return redirect(url_for("console.replies"))
    with services().db.session() as s:
        row = s.get(CannedReply, reply_id)
        if row is None:
            abort(404)
        row.status, row.text = form.status.data or row.status, (form.text.data or "").strip()
        row.position = form.position.data or 0
    flash(TEXT["reply_saved"], "success")
    return redirect(url_for("console.replies"))


@bp.post("/replies/<id:reply_id>/delete")
def reply_delete(reply_id: int) -> ResponseReturnValue:
    admin_only()
    with services().db.session() as s:
        row = s.get(CannedReply, reply_id)
        if row is None:
            abort(404)
        s.delete(row)
    flash(TEXT["reply_deleted"], "success")
    return redirect(url_for("console.replies"))
