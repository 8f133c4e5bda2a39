"""Staff login: Flask-Login over `models.people.Staff`, sessions that end on the server, limits on guessing.

- A session holds the account's id and its session key (session version and password fingerprint); every
  request checks the key against the account.  Logging out, or a new password, moves the version on and
  so ends every session of the account, including a cookie copied before.
- A session also ends 8 hours after login, or after 60 minutes without a request.
- A login costs one password hash whether or not the name exists (no timing tells names apart), and is
  limited per address and per name without letting a guesser lock staff out (bot/console/throttle.py).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
import unicodedata
from typing import cast
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from bot.console.blueprint import bp, services
from bot.console.forms import LoginForm
from bot.console.perms import StaffUser
from bot.console.text import ROLE_ZH, TEXT
from bot.console.throttle import Attempt, LoginThrottle, client_ip
from bot.ids import parse_id
from models.people import Staff, end_sessions

# A console session ends 8 hours after login, or after 60 minutes without a request.
SESSION_HOURS = 8
IDLE_MINUTES = 60
# Endpoints reachable without logging in.
PUBLIC = frozenset({"console.login", "console.static"})

login_manager = LoginManager()
login_manager.session_protection = "basic"


def session_key(staff: Staff) -> str:
    """What a session must still match: the account's session version and its password's fingerprint."""
    return f"{staff.session_version or 0}-{hashlib.sha256(staff.password_hash.encode()).hexdigest()[:12]}"


def snapshot(staff: Staff) -> StaffUser:
    return StaffUser(staff.id, staff.name, staff.role, tuple(staff.categories or ()), session_key(staff))


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    sid, _, key = user_id.partition(".")
    staff_id = parse_id(sid)
    if staff_id is None:
        return None
    with services().db.session() as s:
        staff = s.get(Staff, staff_id)
        if staff is None or not staff.active or not secrets.compare_digest(session_key(staff), key):
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


def _plain(target: str) -> bool:
    """No control, format or separator characters (CR/LF would split the Location header) and no backslash."""
    return not any(ch == "\\" or unicodedata.category(ch)[0] in "CZ" for ch in target)


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a console page of this site."""
    if target and _plain(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and (parts.path == "/console" or parts.path.startswith("/console/")):
            return target
    return url_for("console.queue")


@functools.cache
def dummy_hash() -> str:
    """A hash of no one's password, made as staff passwords are: what an unknown name is checked against."""
    return generate_password_hash(secrets.token_hex(16))


def check_login(name: str, password: str) -> StaffUser | None:
    """The account if name and password match an active one.  Always one password hash, found or not."""
    with services().db.session() as s:
        staff = s.scalars(select(Staff).where(Staff.name == name)).first()
        right = check_password_hash(staff.password_hash if staff is not None else dummy_hash(), password)
        return snapshot(staff) if right and staff is not None and staff.active else None


def _login_page(form: LoginForm, message: str, status: int) -> ResponseReturnValue:
    flash(message, "error")
    return render_template("console/login.html", form=form), status


def throttle() -> LoginThrottle:
    found: LoginThrottle = current_app.extensions["repairbot.login_throttle"]
    return found


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("console.queue"))
    if request.method == "POST" and throttle().too_fast(client_ip()):
        return _login_page(form, TEXT["login_slow"], 429)
    if not form.validate_on_submit():
        return render_template("console/login.html", form=form)
    attempt = Attempt((form.name.data or "").strip(), client_ip())
    places = throttle().admit(attempt)
    if places is None:
        return _login_page(form, TEXT["login_locked"], 429)
    user = check_login(attempt.name, form.password.data or "")
    if user is None:
        return _login_page(form, TEXT["login_failed"], 401)
    throttle().succeeded(attempt, places)
    session.clear()
    login_user(user)
    session.permanent = True
    session["login_at"] = session["seen_at"] = time.time()
    flash(TEXT["login_ok"].format(name=user.name, role=ROLE_ZH.get(user.role, user.role)), "success")
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Log out here and everywhere: the account's session version moves on, so no copy of a cookie still works."""
    with services().db.session() as s:
        end_sessions(s, me().id)
    logout_user()
    session.clear()
    flash(TEXT["logged_out"], "info")
    return redirect(url_for("console.login"))
