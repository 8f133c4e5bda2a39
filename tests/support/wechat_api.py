"""WeChat's own HTTP API, faked with `responses`: what it answers, and what it was asked.

Only WeChat's API is faked; loopback traffic (the app served to the tests) passes through.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import responses

from core.window import record
from tests.support.constants import API

SEND = API + "message/template/send"
CUSTOM = API + "message/custom/send"
TOKEN_URL = API + "token"


@contextlib.contextmanager
def fake_wechat_api() -> Iterator[responses.RequestsMock]:
    """A token, template and custom messages that go out, and a photo to download."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        rsps.get(TOKEN_URL, json={"access_token": "TOKEN-1", "expires_in": 7200})
        rsps.post(SEND, json={"errcode": 0, "errmsg": "ok", "msgid": 1001})
        rsps.post(CUSTOM, json={"errcode": 0, "errmsg": "ok"})
        rsps.get(API + "media/get", body=b"\x89PNG\r\n\x1a\nfake-photo", content_type="image/png")
        yield rsps


def calls_to(rsps: responses.RequestsMock, url: str) -> list[Any]:
    """The calls made to one endpoint (query string aside)."""
    return [c for c in rsps.calls if c.request.url and c.request.url.split("?")[0] == url]


def bodies(rsps: responses.RequestsMock, url: str) -> list[dict[str, Any]]:
    """The JSON bodies posted to one endpoint."""
    return [json.loads(c.request.body) for c in calls_to(rsps, url)]


def sent_templates(rsps: responses.RequestsMock) -> list[dict[str, Any]]:
    """The template messages WeChat's API was asked to send."""
    return [json.loads(c.request.body or b"{}") for c in rsps.calls
            if c.request.url and "message/template/send" in c.request.url]


def answers(rsps: responses.RequestsMock, url: str, *replies: dict[str, Any]) -> None:
    """Make a POST endpoint answer these bodies in turn (the last one from then on)."""
    rsps.remove(responses.POST, url)
    for reply in replies:
        rsps.post(url, json=reply)


def user_wrote(conn: Any, openid: str, ago_s: float, kind: str = "text") -> None:
    """What the dialog store records when a user sends a message (or clicks: kind="click") ago_s seconds ago."""
    record(conn, openid, kind, time.time() - ago_s)
