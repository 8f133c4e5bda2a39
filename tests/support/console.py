"""The staff console as a staff member's browser would use it.

`Console` drives it over Flask's test client (keeps the session, sends the CSRF token);
`log_in_page` logs a real browser page (Playwright) in, for the tests in tests/browser/.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.constants import PASSWORD

TOKEN_RE = re.compile(r'name="(?:[\w-]*-)?csrf_token"[^>]*value="([^"]+)"')
NO_RE = re.compile(r'href="/console/tickets/(R\d+)"')


def text(resp: TestResponse) -> str:
    return resp.get_data(as_text=True)


class Console:
    """A staff member's browser, as the test client: keeps the session and sends the CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    @classmethod
    def logged_in(cls, app: Flask, name: str | None, password: str = PASSWORD) -> Console:
        """A new browser on the app, logged in as `name` (None: not logged in)."""
        c = cls(app.test_client())
        if name:
            resp = c.login(name, password)
            assert resp.status_code == 200 and f"欢迎，{name}" in text(resp), text(resp)[:800]
        return c

    def login(self, name: str, password: str = PASSWORD, follow: bool = True) -> TestResponse:
        page = self.client.get("/console/login")
        token = TOKEN_RE.search(page.get_data(as_text=True))
        assert token, "the login form carries a CSRF token"
        return self.client.post("/console/login", data={"name": name, "password": password,
                                                        "csrf_token": token.group(1)},
                                follow_redirects=follow)

    def token(self) -> str:
        page = self.client.get("/console/").get_data(as_text=True)
        found = TOKEN_RE.search(page)
        assert found, page[:500]
        return found.group(1)

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True,
             follow: bool = True) -> TestResponse:
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token()
        return self.client.post(url, data=data, follow_redirects=follow)

    def move(self, no: str, to: str, **fields: str) -> TestResponse:
        return self.post(f"/console/tickets/{no}/move", {"to": to, **fields})

    def queue(self, **args: str) -> list[str]:
        """The ticket numbers the queue page lists, in its order."""
        page = self.get("/console/", query_string=args)
        assert page.status_code == 200
        return NO_RE.findall(page.get_data(as_text=True))


def log_in_page(page: Any, server: str, name: str, password: str = PASSWORD) -> None:
    """Log a Playwright page in to the console served at `server`, as `name`."""
    from playwright.sync_api import expect

    page.goto(f"{server}/console/")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    page.get_by_label("姓名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash.success")).to_contain_text(f"欢迎，{name}")
