"""A loopback stand-in for WeChat's HTTP API, for the demo and for load tests.

It answers the calls repairbot makes (token, template and customer-service
messages, media download, menu, permanent QR codes and showing them) and keeps what was pushed to each openid so
that `repairbot chat` can show pushes as they arrive.  ``GET /_stats`` counts
token fetches and messages (a load test checks that the token was fetched once).

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
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A 1x1 PNG: what a "photo" downloads as.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
JSON = "application/json; charset=utf-8"

# (status, content type, body)
Answer = tuple[int, str, bytes]


def _json(value: Any, status: int = 200) -> Answer:
    return status, JSON, json.dumps(value, ensure_ascii=False).encode("utf-8")


class FakeWeChat:
    """The fake API's memory: tokens issued and messages sent."""

    def __init__(self, token_delay_s: float = 0.0) -> None:
        # The real token endpoint is a round trip across the internet: a delay lets callers race for it.
        self.token_delay_s = token_delay_s
        self.lock = threading.Lock()
        self.token_fetches = 0
        self.tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.qrcodes: dict[str, str] = {}  # ticket → scene
        self.seq = itertools.count(1)
        # path → [errcode or -HTTP status, times left]
        self.failures: dict[str, list[int]] = {}

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes) -> Answer:
        """Answer one request (method, path with query, body)."""
        parts = urlsplit(target)
        path, args = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path.startswith("/cgi-bin/"):
            api = path.removeprefix("/cgi-bin/")
            if api == "token" and method == "GET":
                return self._token()
            if api == "showqrcode" and method == "GET":  # on WeChat's other host, and needs no token
                return self._show_qrcode(args.get("ticket", ""))
            if api not in ("message/template/send", "message/custom/send", "media/get", "menu/create",
                           "qrcode/create"):
                return _json({"errcode": 40066, "errmsg": "invalid url"})
            if args.get("access_token", "") not in self.tokens:
                return _json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            failure = self._failure(api)
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
                              "templates": kinds.count("template"), "texts": kinds.count("text")})
        if path == "/_fail" and method == "POST":
            spec = json.loads(body or b"{}")
            code = -int(spec["status"]) if spec.get("status") else int(spec.get("errcode", -1))
            with self.lock:
                self.failures[str(spec["path"])] = [code, int(spec.get("times", 1))]
            return _json({"ok": True})
        return 404, "text/plain", b"not found"

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
            msgid = self._record("template", body["touser"], {
                "template_id": body.get("template_id"), "data": body.get("data", {}), "url": body.get("url", "")})
            return _json({"errcode": 0, "errmsg": "ok", "msgid": msgid})
        self._record("text", body["touser"], {"content": body.get("text", {}).get("content", "")})
        return _json({"errcode": 0, "errmsg": "ok"})

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
    args = parser.parse_args(argv)
    server = FakeServer(FakeWeChat(args.token_delay), args.host, args.port)
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
