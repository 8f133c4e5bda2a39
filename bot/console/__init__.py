"""The staff console (/console): the ticket queue, ticket pages and actions, failed pushes, admin pages.

`init_console(app)` registers the blueprint and sets up Flask-Login, CSRF protection and the login limits
(`throttle.py`).  CSRF is checked on every POST to /console (the blueprint calls `csrf.protect()`); other
blueprints, the WeChat webhook first, are not affected (`WTF_CSRF_CHECK_DEFAULT` is off, and the webhook is
exempt anyway).  Sessions end on the server (`auth.py`).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from bot.console.auth import SESSION_HOURS, dummy_hash, login_manager
from bot.console.blueprint import bp
from bot.console.throttle import LoginThrottle

csrf = CSRFProtect()


def init_console(app: Flask) -> None:
    """Register the console on the app."""
    from bot.console import admin, consults, followups, ledger, notices, stats, views  # noqa: F401  (the views register themselves on bp)

    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=SESSION_HOURS)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A token lives as long as the session that holds it (which expires on its own).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    if "webhook" in app.blueprints:
        csrf.exempt(app.blueprints["webhook"])
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.extensions["repairbot.login_throttle"] = LoginThrottle(app.extensions["repairbot.services"].redis)
    dummy_hash()  # made now, so that the first login with an unknown name takes no longer than any other
