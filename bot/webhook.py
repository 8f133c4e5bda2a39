"""The webhook WeChat calls: verify, decrypt, parse, hand to the dialogs, render."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from bot.conversations import Conversations
from bot.wechat import BadMessage, BadSignature, Reply, check_plain, open_envelope, render

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
WEBHOOK_PATH = "/wechat"

SORRY = "系统有点忙，请稍后再发一次。您填写的内容都还在。"


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


@bp.post(WEBHOOK_PATH)
def receive() -> Response:
    convos = _conversations()
    cfg = convos.services.config
    try:
        env = open_envelope(request.get_data(), request.args, cfg.wechat_token, cfg.wechat_aes_key,
                            cfg.wechat_appid)
    except BadSignature as exc:
        log.warning("message refused (%s) from %s", exc, request.remote_addr)
        return Response("forbidden", status=403)
    except BadMessage as exc:
        log.warning("unreadable message (%s) from %s", exc, request.remote_addr)
        return Response("bad request", status=400)
    msg = env.message
    try:
        reply = convos.answer(msg)
    except Exception:
        # The one place that catches everything: the user gets a polite answer, the log gets the context.
        log.exception("failed to answer %s message from %s", msg.type, msg.source)
        reply = Reply(SORRY)
    if not reply.text and not reply.articles:
        return Response("success", mimetype="text/plain")
    xml = render(reply, msg, env, cfg.wechat_token, cfg.wechat_aes_key, cfg.wechat_appid)
    return Response(xml, mimetype="application/xml")
