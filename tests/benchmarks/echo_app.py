"""The yardstick for the webhook bench (``tests/benchmarks/webhook/``): a bare Flask + wechatpy echo server.

It does only what every WeChat webhook must do: verify the signature, parse the
XML, and answer with a TextReply that echoes the text (``[image]`` for a photo,
``[<type>]`` for anything else).  The bench serves it with the same
gunicorn settings as the real app (``deploy/gunicorn.conf.py``):

    gunicorn -c deploy/gunicorn.conf.py tests.benchmarks.echo_app:app

``BENCH_ECHO_REDIS`` adds Redis work per message, to price Redis round trips
on the same machine (``BENCH_ECHO_REDIS_URL`` says where, default db 14):

- ``calls3``: three separate Redis calls (GET, SET, SET), three round trips;
- ``pipe2``: the shape ``dialogs/store.py`` had before its two round trips became one Lua script
  each: one pipeline (SET NX, GET, GET) and one MULTI/EXEC pipeline (SET, SET, SET).
"""

from __future__ import annotations

import os
from xml.parsers.expat import ExpatError

from flask import Flask, Response, request
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

TOKEN = os.environ.get("WECHAT_TOKEN", "")
REDIS_MODE = os.environ.get("BENCH_ECHO_REDIS", "")
if REDIS_MODE not in ("", "calls3", "pipe2"):
    raise SystemExit(f"BENCH_ECHO_REDIS must be calls3 or pipe2, not {REDIS_MODE!r}")

app = Flask(__name__)
redis_conn = None
if REDIS_MODE:
    import redis

    # redis-py's pool notices the fork and reconnects in each worker.
    redis_conn = redis.Redis.from_url(os.environ.get("BENCH_ECHO_REDIS_URL", "redis://127.0.0.1:6379/14"))


def redis_work(openid: str, msg_id: str, content: str) -> None:
    assert redis_conn is not None
    state_key, msg_key = f"echo:dlg:{openid}", f"echo:msg:{msg_id}"
    if REDIS_MODE == "calls3":
        redis_conn.get(state_key)
        redis_conn.set(state_key, content, ex=3600)
        redis_conn.set(msg_key, content, ex=300)
        return
    pipe = redis_conn.pipeline(transaction=False)
    pipe.set(msg_key, b"\x00", nx=True, ex=300)
    pipe.get(msg_key)
    pipe.get(state_key)
    pipe.execute()
    pipe = redis_conn.pipeline(transaction=True)
    pipe.set(state_key, content, ex=3600)
    pipe.set(msg_key, content, ex=300)
    pipe.set(f"echo:seen:{openid}", 1, ex=3600)
    pipe.execute()


@app.post("/wechat")
def echo() -> Response:
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        return Response("forbidden", status=403)
    try:
        msg = parse_message(request.get_data())
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError):
        return Response("bad request", status=400)
    content = str(msg.content) if msg.type == "text" else f"[{msg.type}]"
    if redis_conn is not None:
        redis_work(str(msg.source), str(msg.id), content)
    return Response(TextReply(message=msg, content=content).render(), mimetype="application/xml")


@app.get("/healthz")
def healthz() -> Response:
    return Response('{"echo": "ok"}', mimetype="application/json")
