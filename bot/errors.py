"""Requests no view should see, and friendly answers, in Chinese, for errors no blueprint handles.

- A NUL character anywhere in a request's path, query string or form is refused with a 400 before any
  view runs: PostgreSQL cannot compare or store a string holding one, so a ``?q=%00`` was a 500.  (The
  webhook is left alone: its XML cannot hold one, and its parser refuses it.)
- A URL that matches no route (or not with this method) would get Werkzeug's English page: it gets the
  public pages' "找不到这个页面" instead.  Under /console a catch-all route sends such paths to the
  console's own 404 page, after the login check.
- A 400 raised outside a blueprint's own handlers shows the console's error page under /console and the
  public pages' one elsewhere.

An answer a view built itself and raised (``abort(response)``) never comes here.
"""

from __future__ import annotations

from flask import Flask, abort, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from bot.console.text import TEXT as CONSOLE_TEXT
from bot.pages.text import TEXT as PAGES_TEXT

NUL = "\x00"


def init_errors(app: Flask) -> None:
    app.before_request(refuse_nul)
    for code in (400, 404, 405):
        app.register_error_handler(code, friendly)


def refuse_nul() -> None:
    if request.blueprint == "webhook":
        return
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any(NUL in v for v in values):
        abort(400)


def friendly(exc: HTTPException) -> ResponseReturnValue:
    code = exc.code or 400
    if request.blueprint == "console":  # its context (the names its pages use) is there only then
        message = CONSOLE_TEXT["csrf" if code == 400 else "method" if code == 405 else "not_found"]
        return render_template("console/error.html", code=code, message=message), code
    kind = "bad_request" if code == 400 else "not_found"
    return render_template("pages/notice.html", T=PAGES_TEXT, title=PAGES_TEXT[f"{kind}_title"],
                           text=PAGES_TEXT[kind]), code
