"""A loopback stand-in for WeChat's HTTP API, for the demo and for load tests.

It answers the calls repairbot makes (token, template and customer-service
messages, media download, menu) and keeps what was pushed to each openid so
that `repairbot chat` can show pushes as they arrive.
"""

from __future__ import annotations

import base64
import itertools
import threading
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

# A 1x1 PNG: what a "photo" downloads as.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class FakeWeChat:
    """The fake API's memory: tokens issued and messages sent."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token_fetches = 0
        self.tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.seq = itertools.count(1)

    def app(self) -> Flask:
        app = Flask("fakewechat")

        def authorised() -> bool:
            return request.args.get("access_token", "") in self.tokens

        @app.get("/cgi-bin/token")
        def token() -> Response:
            with self.lock:
                self.token_fetches += 1
                value = f"FAKE-TOKEN-{self.token_fetches}"
                self.tokens = {value}
            return jsonify(access_token=value, expires_in=7200)

        @app.post("/cgi-bin/message/template/send")
        def template() -> Response:
            if not authorised():
                return jsonify(errcode=40001, errmsg="invalid credential")
            body = request.get_json(force=True)
            return jsonify(errcode=0, errmsg="ok", msgid=self._record("template", body["touser"], {
                "template_id": body.get("template_id"), "data": body.get("data", {}), "url": body.get("url", "")}))

        @app.post("/cgi-bin/message/custom/send")
        def custom() -> Response:
            if not authorised():
                return jsonify(errcode=40001, errmsg="invalid credential")
            body = request.get_json(force=True)
            self._record("text", body["touser"], {"content": body.get("text", {}).get("content", "")})
            return jsonify(errcode=0, errmsg="ok")

        @app.get("/cgi-bin/media/get")
        def media() -> Response:
            if not authorised():
                return jsonify(errcode=40001, errmsg="invalid credential")
            return Response(PIXEL, mimetype="image/png")

        @app.post("/cgi-bin/menu/create")
        def menu() -> Response:
            if not authorised():
                return jsonify(errcode=40001, errmsg="invalid credential")
            with self.lock:
                self.menus.append(request.get_json(force=True))
            return jsonify(errcode=0, errmsg="ok")

        @app.get("/_inbox/<openid>")
        def inbox(openid: str) -> Response:
            after = int(request.args.get("after", 0))
            with self.lock:
                items = [m for m in self.sent if m["openid"] == openid and m["seq"] > after]
            return jsonify(items)

        @app.get("/_stats")
        def stats() -> Response:
            with self.lock:
                return jsonify(token_fetches=self.token_fetches, sent=len(self.sent))

        return app

    def _record(self, kind: str, openid: str, fields: dict[str, Any]) -> int:
        with self.lock:
            seq = next(self.seq)
            self.sent.append({"seq": seq, "kind": kind, "openid": openid, **fields})
            return seq


def serve_in_thread(fake: FakeWeChat, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """Start the fake API on a background thread; return the server (its port is server.port)."""
    server = make_server(host, port, fake.app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
