"""The webhook WeChat calls: verify, decrypt, parse, hand to the dialogs, render."""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from bot.conversations import Conversations
from bot.wechat import (
    MAX_BODY,
    BadMessage,
    BadSignature,
    Envelope,
    Gate,
    Reply,
    body_digest,
    check_plain,
    nonce_key,
    open_envelope,
    render,
)
from core.config import Config

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
WEBHOOK_PATH = "/wechat"

# Said only when nothing of the message was committed: it is true that it was not handled.
SORRY = "系统有点忙，这条消息还没有处理，请稍后再发一次。"


class NoSessionForWeChat(SecureCookieSessionInterface):
    """Open no cookie session for WeChat's calls: they never carry one, and building its signer for every
    message is measurable work at hundreds of messages a second."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path == WEBHOOK_PATH:
            return None  # Flask then uses a null session, which refuses writes
        return super().open_session(app, request)


def _conversations() -> Conversations:
    convos: Conversations = current_app.extensions["repairbot.conversations"]
    return convos


@bp.get(WEBHOOK_PATH)
def handshake() -> Response:
    cfg = _conversations().services.config
    try:
        check_plain(cfg.wechat_token, request.args)
    except BadSignature:
        log.warning("handshake refused: bad signature from %s", request.remote_addr)
        return Response("forbidden", status=403)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


def gate(cfg: Config) -> Gate:
    return Gate(cfg.wechat_token, cfg.wechat_aes_key, cfg.wechat_appid, cfg.wechat_max_skew_s,
                cfg.wechat_accept_plain, cfg.wechat_aes_key_previous)


def first_use(conn: redis.Redis, env: Envelope, digest: str, window_s: int) -> bool:
    """Remember a signed timestamp+nonce; True unless it was already used for another body.

    WeChat's resend of one request (same body) passes, and is answered from the dialogs' memory; the
    same signature over any other body is a forgery made from a logged query string.
    """
    key = nonce_key(env.timestamp, env.nonce)
    if conn.set(key, digest, nx=True, ex=2 * window_s + 1):
        return True
    seen = conn.get(key)
    return (seen.decode() if isinstance(seen, bytes) else seen) == digest


def _open(convos: Conversations) -> Envelope | Response:
    """The verified envelope of this request, or the refusal to send."""
    if (request.content_length or 0) > MAX_BODY:
        log.warning("message refused (body of %s bytes) from %s", request.content_length, request.remote_addr)
        return Response("payload too large", status=413)
    cfg = convos.services.config
    body = request.get_data()
    try:
        env = open_envelope(body, request.args, gate(cfg), time.time())
    except BadSignature as exc:
        log.warning("message refused (%s) from %s", exc, request.remote_addr)
        return Response("forbidden", status=403)
    except BadMessage as exc:
        log.warning("unreadable message (%s) from %s", exc, request.remote_addr)
        return Response("bad request", status=400)
    try:
        fresh = first_use(convos.services.redis, env, body_digest(body), cfg.wechat_max_skew_s)
    except redis.RedisError as exc:
        # Without Redis no dialog can be answered either: say so (the dialogs' own answer would fail the same).
        log.error("nonce not checked, Redis failed (%s): message from %s not handled", type(exc).__name__,
                  request.remote_addr)
        return _reply(Reply(SORRY), env, cfg)
    if not fresh:
        log.warning("message refused (signature already used) from %s", request.remote_addr)
        return Response("forbidden", status=403)
    return env


@bp.post(WEBHOOK_PATH)
def receive() -> Response:
    request.max_content_length = MAX_BODY
    convos = _conversations()
    cfg = convos.services.config
    env = _open(convos)
    if isinstance(env, Response):
        return env
    msg = env.message
    try:
        reply = convos.answer(msg) if env.trusted else convos.answer_untrusted(msg)
    except Exception:
        # The one place that catches everything: the user gets a polite answer, the log gets the context.
        log.exception("failed to answer %s message from %s", msg.type, msg.source)
        reply = Reply(SORRY)
    return _reply(reply, env, cfg)


def _reply(reply: Reply, env: Envelope, cfg: Config) -> Response:
    if not reply.text and not reply.articles:
        return Response("success", mimetype="text/plain")
    xml = render(reply, env.message, env, cfg.wechat_token, cfg.wechat_aes_key, cfg.wechat_appid)
    return Response(xml, mimetype="application/xml")
