"""A loopback stand-in for WeChat's HTTP API, for the demo and for load tests.

It answers the calls repairbot makes (token, template and customer-service
messages, media download, menu, permanent QR codes and showing them, the account's templates) and keeps what was
pushed to each openid so that `repairbot chat` can show pushes as they arrive.  The account has the templates of
``DEMO_ACCOUNT`` (those devtools/data/demo-templates.yaml maps); a template message for one of them is refused as
WeChat refuses it — 47003 naming the keyword — when a keyword is not the template's or a value is not of its kind.
``GET /_stats`` counts token fetches and messages (a load test checks that the token was fetched once), the
errors it made up, and the most messages it accepted within any one second.

WeChat at a distance: ``latency_s`` (± ``jitter_s``) before every API answer, as a round trip to WeChat's
servers takes 50-300 ms; ``error_rate`` of the messages answered ``error_code`` (-1 "system busy" by
default); ``too_many_rate`` of them answered 45009, and every message beyond ``max_per_s`` within a second
answered 45009 too, as an account over its limits is.

Like WeChat, a new token replaces the old one: a call with any other token is
answered 40001.  ``POST /_fail`` with ``{"path": "message/template/send",
"errcode": 45009, "times": 2}`` makes the next calls of a path fail (errcode
-1 … 48xxx; ``"status": 503`` answers an HTTP error instead).

It is served by the standard library's threaded HTTP/1.1 server (kept-alive
connections, about a third of a millisecond of CPU a request), so that a load
test measures repairbot rather than the fake.  Run it alone with
``python -m devtools.fakewechat [--port P]``; it prints the base URL to use as
WECHAT_API_BASE_URL.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.templates import template_keywords, valid

# A 1x1 PNG: what a "photo" downloads as.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
JSON = "application/json; charset=utf-8"

# The account's templates (template/get_all_private_template), as WeChat lists them.
DEMO_ACCOUNT: list[dict[str, str]] = [
    {"template_id": "demo-ticket-template", "title": "报修进度通知", "primary_industry": "教育",
     "deputy_industry": "院校", "content": "工单编号：{{character_string2.DATA}}\n报修地点：{{thing7.DATA}}\n"
     "报修内容：{{thing3.DATA}}\n处理进度：{{phrase5.DATA}}\n处理说明：{{thing9.DATA}}\n处理时间：{{time6.DATA}}",
     "example": "工单编号：R20261201-0001\n报修地点：学生公寓12栋 502\n报修内容：水龙头滴水\n处理进度：维修中\n"
     "处理说明：师傅已出发\n处理时间：2026-12-01 14:05"},
    {"template_id": "demo-worker-template", "title": "派单提醒", "primary_industry": "教育", "deputy_industry": "院校",
     "content": "工单编号：{{character_string1.DATA}}\n工单类型：{{phrase6.DATA}}\n维修地点：{{thing2.DATA}}\n"
     "故障描述：{{thing3.DATA}}\n联系电话：{{phone_number4.DATA}}\n派单时间：{{time5.DATA}}",
     "example": ""},
    {"template_id": "demo-reply-template", "title": "咨询回复通知", "primary_industry": "教育",
     "deputy_industry": "院校",
     "content": "咨询编号：{{character_string1.DATA}}\n咨询主题：{{thing2.DATA}}\n回复内容：{{thing3.DATA}}\n"
     "回复时间：{{time4.DATA}}", "example": ""},
    {"template_id": "demo-notice-template", "title": "停水停电通知", "primary_industry": "教育",
     "deputy_industry": "院校",
     "content": "通知编号：{{character_string1.DATA}}\n通知内容：{{thing2.DATA}}\n影响范围：{{thing3.DATA}}\n"
     "开始日期：{{date4.DATA}}", "example": ""},
]

# (status, content type, body)
Answer = tuple[int, str, bytes]


def _json(value: Any, status: int = 200) -> Answer:
    return status, JSON, json.dumps(value, ensure_ascii=False).encode("utf-8")


class FakeWeChat:
    """The fake API's memory: tokens issued and messages sent."""

    def __init__(self, token_delay_s: float = 0.0, account: list[dict[str, str]] | None = None, *,
                 latency_s: float = 0.0, jitter_s: float = 0.0, error_rate: float = 0.0, error_code: int = -1,
                 too_many_rate: float = 0.0, max_per_s: int = 0, seed: int | None = None) -> None:
        # The real token endpoint is a round trip across the internet: a delay lets callers race for it.
        self.token_delay_s = token_delay_s
        self.latency_s, self.jitter_s = latency_s, jitter_s
        self.error_rate, self.error_code, self.too_many_rate, self.max_per_s = error_rate, error_code, \
            too_many_rate, max_per_s
        self.random = random.Random(seed)
        self.made_up: dict[str, int] = {"errors": 0, "too_many": 0}
        self.accepted_at: list[float] = []  # time.monotonic() of every message accepted, in order
        self.lock = threading.Lock()
        self.token_fetches = 0
        self.tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.qrcodes: dict[str, str] = {}  # ticket → scene
        self.seq = itertools.count(1)
        self.account = DEMO_ACCOUNT if account is None else account
        # path → [errcode or -HTTP status, times left]
        self.failures: dict[str, list[int]] = {}

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes) -> Answer:
        """Answer one request (method, path with query, body)."""
        parts = urlsplit(target)
        path, args = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path.startswith("/cgi-bin/"):
            api = path.removeprefix("/cgi-bin/")
            self._wait()
            if api == "token" and method == "GET":
                return self._token()
            if api == "showqrcode" and method == "GET":  # on WeChat's other host, and needs no token
                return self._show_qrcode(args.get("ticket", ""))
            if api not in ("message/template/send", "message/custom/send", "media/get", "menu/create",
                           "qrcode/create", "template/get_all_private_template"):
                return _json({"errcode": 40066, "errmsg": "invalid url"})
            if args.get("access_token", "") not in self.tokens:
                return _json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            failure = self._failure(api) or self._made_up(api)
            if failure is not None:
                return failure
            return self._api(api, method, args, body)
        if path.startswith("/_inbox/") and method == "GET":
            openid, after = path.removeprefix("/_inbox/"), int(args.get("after", 0))
            with self.lock:
                return _json([m for m in self.sent if m["openid"] == openid and m["seq"] > after])
        if path == "/_stats" and method == "GET":
            with self.lock:
                kinds = [m["kind"] for m in self.sent]
                return _json({"token_fetches": self.token_fetches, "sent": len(self.sent),
                              "templates": kinds.count("template"), "texts": kinds.count("text"),
                              **self.made_up, "most_in_a_second": self.most_in_a_second()})
        if path == "/_fail" and method == "POST":
            spec = json.loads(body or b"{}")
            code = -int(spec["status"]) if spec.get("status") else int(spec.get("errcode", -1))
            with self.lock:
                self.failures[str(spec["path"])] = [code, int(spec.get("times", 1))]
            return _json({"ok": True})
        return 404, "text/plain", b"not found"

    def _wait(self) -> None:
        """WeChat's distance: every API call takes latency_s ± jitter_s."""
        if self.latency_s or self.jitter_s:
            with self.lock:
                jitter = self.random.uniform(-self.jitter_s, self.jitter_s)
            time.sleep(max(0.0, self.latency_s + jitter))

    def _made_up(self, api: str) -> Answer | None:
        """A message answered with an error now and then (error_rate, too_many_rate), or beyond max_per_s."""
        if api not in ("message/template/send", "message/custom/send"):
            return None
        at = time.monotonic()
        with self.lock:
            draw = self.random.random()
            recent = len(self.accepted_at) - bisect.bisect_right(self.accepted_at, at - 1.0)
            code = (self.error_code if draw < self.error_rate else
                    45009 if draw < self.error_rate + self.too_many_rate or 0 < self.max_per_s <= recent else 0)
            if code:
                self.made_up["too_many" if code == 45009 else "errors"] += 1
            else:
                self.accepted_at.append(at)
        if code == 45009:
            return _json({"errcode": 45009, "errmsg": "reach max api daily quota limit"})
        return _json({"errcode": code, "errmsg": f"fake failure {code}"}) if code else None

    def most_in_a_second(self) -> int:
        """The most messages accepted within any one second."""
        times, most, first = self.accepted_at, 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    def _token(self) -> Answer:
        if self.token_delay_s:
            time.sleep(self.token_delay_s)
        with self.lock:
            self.token_fetches += 1
            value = f"FAKE-TOKEN-{self.token_fetches}"
            self.tokens = {value}
        return _json({"access_token": value, "expires_in": 7200})

    def _failure(self, api: str) -> Answer | None:
        with self.lock:
            failure = self.failures.get(api)
            if failure is None or failure[1] <= 0:
                return None
            failure[1] -= 1
            code = failure[0]
        if code < -99:
            return -code, "text/html", b"<html>server error</html>"
        return _json({"errcode": code, "errmsg": f"fake failure {code}"})

    def _api(self, api: str, method: str, args: dict[str, str], raw: bytes) -> Answer:
        if api == "media/get":
            return 200, "image/png", PIXEL
        if api == "template/get_all_private_template":
            return _json({"template_list": self.account})
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _json({"errcode": 47001, "errmsg": "data format error"})
        if api == "qrcode/create":
            return self._create_qrcode(body)
        if api == "menu/create":
            with self.lock:
                self.menus.append(body)
            return _json({"errcode": 0, "errmsg": "ok"})
        if not body.get("touser"):
            return _json({"errcode": 40003, "errmsg": "invalid openid"})
        if api == "message/template/send":
            refused = self._refused(body)
            if refused is not None:
                return refused
            msgid = self._record("template", body["touser"], {
                "template_id": body.get("template_id"), "data": body.get("data", {}), "url": body.get("url", "")})
            return _json({"errcode": 0, "errmsg": "ok", "msgid": msgid})
        self._record("text", body["touser"], {"content": body.get("text", {}).get("content", "")})
        return _json({"errcode": 0, "errmsg": "ok"})

    def _refused(self, body: dict[str, Any]) -> Answer | None:
        """47003 naming the keyword, as WeChat answers, for a template of the account sent a keyword it has not
        or a value not of the keyword's kind (templates the account has not are taken as they come)."""
        template = next((t for t in self.account if t["template_id"] == body.get("template_id")), None)
        if template is None:
            return None
        keywords = {kw for kw, _ in template_keywords(template["content"])}
        for kw, item in (body.get("data") or {}).items():
            value = item.get("value") if isinstance(item, dict) else None
            if kw not in keywords or not isinstance(value, str) or not valid(kw, value):
                return _json({"errcode": 47003, "errmsg": f"argument invalid! data.{kw}.value invalid rid: fake"})
        return None

    def _create_qrcode(self, body: dict[str, Any]) -> Answer:
        """A permanent code with a string scene (QR_LIMIT_STR_SCENE: 1 to 64 characters)."""
        scene = body.get("action_info", {}).get("scene", {}).get("scene_str", "")
        if body.get("action_name") != "QR_LIMIT_STR_SCENE" or not 1 <= len(scene) <= 64:
            return _json({"errcode": 40097, "errmsg": "invalid args"})
        with self.lock:
            ticket = f"FAKE-QR-{next(self.seq)}"
            self.qrcodes[ticket] = scene
        return _json({"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket}"})

    def _show_qrcode(self, ticket: str) -> Answer:
        with self.lock:
            known = ticket in self.qrcodes
        return (200, "image/png", PIXEL) if known else _json({"errcode": 40097, "errmsg": "invalid ticket"})

    def _record(self, kind: str, openid: str, fields: dict[str, Any]) -> int:
        with self.lock:
            seq = next(self.seq)
            self.sent.append({"seq": seq, "kind": kind, "openid": openid, **fields})
            return seq

    # -- serving ---------------------------------------------------------------------------------

    def app(self) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
        """The same API as a WSGI application (for serving it inside another server)."""

        def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            query = environ.get("QUERY_STRING", "")
            target = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
            status, ctype, data = self.handle(environ["REQUEST_METHOD"], target, body)
            start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                           [("Content-Type", ctype), ("Content-Length", str(len(data)))])
            return [data]

        return wsgi


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1, so clients keep their connections open as they do with WeChat's servers."""

    protocol_version = "HTTP/1.1"
    # One write per answer (flushed after each request), sent at once: no Nagle delay on the client's ACK.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: FakeServer

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, ctype, data = self.server.fake.handle(method, self.path, body)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per push would drown a load test


class FakeServer(ThreadingHTTPServer):
    """The fake API on a loopback port (`port`), one thread per connection."""

    daemon_threads = True
    # Many senders connect at once (a bulk sender keeps dozens of connections): the default backlog of 5 would
    # make the rest wait for the kernel's retry of their SYN, a second or more.
    request_queue_size = 256

    def __init__(self, fake: FakeWeChat, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.fake = fake

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def serve_in_thread(fake: FakeWeChat, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
    """Start the fake API on a background thread; return the server (its port is server.port)."""
    server = FakeServer(fake, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the fake API in the foreground: `python -m devtools.fakewechat [--port P]` (prints the base URL)."""
    parser = argparse.ArgumentParser(description="a loopback stand-in for WeChat's HTTP API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds the token endpoint takes")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="milliseconds every API call takes")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="± this much on each call's latency")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of messages answered --error-code")
    parser.add_argument("--error-code", type=int, default=-1, help="-1 system busy (default), 45047 …")
    parser.add_argument("--too-many-rate", type=float, default=0.0, help="share of messages answered 45009")
    parser.add_argument("--max-per-s", type=int, default=0, help="messages beyond this within a second: 45009")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    fake = FakeWeChat(args.token_delay, latency_s=args.latency_ms / 1000, jitter_s=args.jitter_ms / 1000,
                      error_rate=args.error_rate, error_code=args.error_code, too_many_rate=args.too_many_rate,
                      max_per_s=args.max_per_s, seed=args.seed)
    server = FakeServer(fake, args.host, args.port)
    print(f"fakewechat listening on http://{args.host}:{server.port}/cgi-bin/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
