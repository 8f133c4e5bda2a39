"""Staff login: Flask-Login over `models.people.Staff`, sessions that expire, a lock after failed logins."""

from __future__ import annotations

import hashlib
import time
from typing import cast
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import select

from bot.console.blueprint import bp, services
from bot.console.forms import LoginForm
from bot.console.perms import StaffUser
from bot.console.text import ROLE_ZH, TEXT
from models.people import Staff

# A console session ends 8 hours after login, or after 60 minutes without a request.
SESSION_HOURS = 8
IDLE_MINUTES = 60
# Failed logins per account name before it is locked, and for how long.
MAX_FAILURES = 10
LOCK_SECONDS = 15 * 60
# Endpoints reachable without logging in.
PUBLIC = frozenset({"console.login", "console.static"})

login_manager = LoginManager()
login_manager.session_protection = "basic"


def fingerprint(staff: Staff) -> str:
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:12]


def snapshot(staff: Staff) -> StaffUser:
    return StaffUser(staff.id, staff.name, staff.role, tuple(staff.categories or ()), fingerprint(staff))


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    sid, _, fp = user_id.partition(".")
    if not sid.isdigit():
        return None
    with services().db.session() as s:
        staff = s.get(Staff, int(sid))
        if staff is None or not staff.active or fingerprint(staff) != fp:
            return None
        return snapshot(staff)


def me() -> StaffUser:
    """The logged-in staff account (only called behind the login check)."""
    return cast(StaffUser, current_user._get_current_object())


@bp.before_request
def require_login() -> ResponseReturnValue | None:
    """Every console request but the login page needs a live session; POSTs need a CSRF token."""
    if request.method == "POST":
        current_app.extensions["csrf"].protect()
    if request.endpoint in PUBLIC:
        return None
    if not current_user.is_authenticated:
        flash(TEXT["login_needed"], "info")
        return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
    now = time.time()
    idle = current_app.config.get("CONSOLE_IDLE_SECONDS", IDLE_MINUTES * 60)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if now - session.get("login_at", 0) > lifetime or now - session.get("seen_at", 0) > idle:
        logout_user()
        session.clear()
        flash(TEXT["expired"], "info")
        return redirect(url_for("console.login"))
    session["seen_at"] = now
    return None


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a console page of this site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console"):
            return target
    return url_for("console.queue")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("console.queue"))
    if form.validate_on_submit():
        name = (form.name.data or "").strip()
        key = f"console:login-failures:{hashlib.sha256(name.encode()).hexdigest()[:16]}"
        redis = services().redis
        if int(redis.get(key) or 0) >= MAX_FAILURES:
            flash(TEXT["login_locked"], "error")
            return render_template("console/login.html", form=form), 429
        with services().db.session() as s:
            staff = s.scalars(select(Staff).where(Staff.name == name)).first()
            ok = staff is not None and staff.active and staff.check_password(form.password.data or "")
            user = snapshot(staff) if ok and staff is not None else None
        if user is None:
            pipe = redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, LOCK_SECONDS)
            pipe.execute()
            flash(TEXT["login_failed"], "error")
            return render_template("console/login.html", form=form), 401
        redis.delete(key)
        session.clear()
        login_user(user)
        session.permanent = True
        session["login_at"] = session["seen_at"] = time.time()
        flash(TEXT["login_ok"].format(name=user.name, role=ROLE_ZH.get(user.role, user.role)), "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", form=form)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash(TEXT["logged_out"], "info")
    return redirect(url_for("console.login"))
