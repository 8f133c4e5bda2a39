"""Security headers on every answer of the app, and the session cookie's Secure flag.

- Content-Security-Policy: scripts only from this site (no inline script anywhere: the console's one
  script is static/console.js), nothing may frame a page (``frame-ancestors 'none'``, and the older
  ``X-Frame-Options: DENY``), forms post only here.  Styles may be inline: the reporter's and the notice
  pages carry their few rules in the page, to open in WeChat's browser with a single request.
- When REPAIRBOT_PUBLIC_URL is https: the session cookie (console logins, the pages' CSRF tokens) is
  ``Secure``, and ``Strict-Transport-Security`` tells browsers to come back over https only, for a year.
  Not for subdomains: the school's other hosts are not ours to promise for.
"""

from __future__ import annotations

from flask import Flask, Response

from core.config import Config

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000"


def init_headers(app: Flask, config: Config) -> None:
    https = config.public_url.startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SECURE"] = https

    @app.after_request
    def secure_headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        if https:
            resp.headers.setdefault("Strict-Transport-Security", HSTS)
        return resp
