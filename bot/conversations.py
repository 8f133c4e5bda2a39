"""Hand a message to the dialogs: open the state, route, commit, save the state, enqueue jobs."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError
from wechatpy.messages import BaseMessage

from bot import events
from bot.wechat import Reply, dedupe_key
from core import logs
from core.jobs import enqueue
from core.metrics import REPLIES_BUSY, REPLY_SECONDS
from core.services import Services
from core.who import Who
from dialogs.context import Ctx
from dialogs.engine import Engine
from dialogs.nlu.parse import Parse, get_parser
from dialogs.registry import BY_WORD, help_text
from dialogs.router import TEXT as ROUTER_TEXT
from dialogs.router import build_engine, route
from dialogs.state import Incoming, State
from dialogs.store import DialogStore
from models.errors import RegisterError
from models.scenes import is_place_scene

log = logging.getLogger(__name__)

FOLLOW = "follow"  # a scan that made the user a follower
# wechatpy's event names, as the dialogs know them: a follow is a follow, whatever was scanned to make it.
EVENT_KINDS = {"subscribe": "subscribe", "subscribe_scan": "subscribe", "subscribe_scan_product": "subscribe",
               "unsubscribe": "unsubscribe", "click": "click"}


def incoming(msg: BaseMessage) -> Incoming:
    """Turn a wechatpy message into what the dialogs understand."""
    key = dedupe_key(msg)
    if msg.type == "text":
        return Incoming("text", raw=str(msg.content or ""), msg_key=key)
    if msg.type == "voice":
        heard = spoken(str(getattr(msg, "recognition", "") or ""))
        return Incoming("text", raw=heard, msg_key=key, heard=True) if heard else Incoming("voice", msg_key=key)
    if msg.type == "location":
        return Incoming("location", raw=str(msg.label or ""), key=f"{msg.location_x},{msg.location_y}", msg_key=key)
    if msg.type == "image":
        return Incoming("image", media_id=str(msg.media_id or ""), pic_url=str(msg.image or ""), msg_key=key)
    if msg.type == "event" and msg.event == "templatesendjobfinish":
        return Incoming("delivery", raw=str(getattr(msg, "status", "")), key=str(msg.id), msg_key=key)
    if msg.type == "event" and msg.event in ("subscribe_scan", "scan") and is_place_scene(str(msg.scene_id or "")):
        # A 扫码报修 sticker (models/scenes.py); a follow through one is a follow too.
        return Incoming("scan", raw=FOLLOW if msg.event == "subscribe_scan" else "", key=str(msg.scene_id),
                        msg_key=key)
    if msg.type == "event" and msg.event == "location":
        # 上报地理位置 (sent as the user opens the chat): answers a repair's place step, else nothing.
        return Incoming("location_report", key=f"{msg.latitude},{msg.longitude}", msg_key=key)
    if msg.type == "event":
        kind = EVENT_KINDS.get(str(msg.event), "event")
        return Incoming(kind, key=str(getattr(msg, "key", "") or ""), msg_key=key)
    if _raw_type(msg) == "event":
        # An event wechatpy does not know (订阅通知's popups, WeCom's, a new one): not something the user said.
        return Incoming("event", msg_key=key)
    return Incoming("other", msg_key=key)


def spoken(recognition: str) -> str:
    """What speech recognition wrote, as a person would have typed it: without the full stop it ends with."""
    return recognition.strip().rstrip("。.!！？?，, ")


def _raw_type(msg: BaseMessage) -> str:
    data = getattr(msg, "_data", None)
    return str(data.get("MsgType") or "").lower() if isinstance(data, dict) else ""


@dataclass
class Conversations:
    """Answer messages for every user, keeping each user's dialog state in Redis."""

    services: Services
    engine: Engine
    store: DialogStore

    @classmethod
    def create(cls, services: Services) -> Conversations:
        cfg = services.config
        return cls(services, build_engine(cfg.dialog_pause_s),
                   DialogStore(services.redis, cfg.dialog_ttl_s, cfg.dedupe_ttl_s, cfg.turn_wait_s))

    def answer(self, msg: BaseMessage) -> Reply:
        """Answer one message (timed, and logged with its sender's hashed openid, its dialog and step)."""
        started = time.perf_counter()
        logs.bind(openid=str(msg.source))
        dialog = "none"
        try:
            reply, dialog = self._answer(msg)
        finally:
            took = time.perf_counter() - started
            REPLY_SECONDS.labels(dialog).observe(took)
            logs.bind(duration_ms=round(took * 1000, 1))
        log.debug("answered")
        return reply

    def _answer(self, msg: BaseMessage) -> tuple[Reply, str]:
        """Answer one message; a retry of a message already answered gets the same reply. Also say in which
        dialog it was answered."""
        inc = incoming(msg)
        openid = str(msg.source)
        opened = self.store.open(openid, inc.msg_key)
        if opened.busy:
            # Answering from the state the earlier message is about to replace would lose one of them.
            self._release(openid, inc.msg_key)
            REPLIES_BUSY.inc()
            return Reply(ROUTER_TEXT["busy"]), "busy"
        if opened.duplicate:
            remembered = opened.reply or self.store.wait_reply(inc.msg_key)
            log.info("retry of %s answered from memory", inc.msg_key)
            return (Reply.from_dict(remembered) if remembered else Reply()), "retry"
        now = time.time()
        ctx = Ctx(openid=openid, state=State.from_dict(opened.state), msg=inc, now=now,
                  redis=self.services.redis, session_factory=self.services.db.sessionmaker,
                  register_loader=self.services.register, config=self.services.config, parser=self.parse,
                  who_remembered=opened.who, notices_loader=lambda: self.services.notices(opened.notices_version),
                  reader=self.services.db.reading)
        dialog = ctx.state.flow or "none"
        logs.bind(dialog=ctx.state.flow, step=ctx.state.step)
        try:
            result = events.answer(ctx) if inc.kind in events.KINDS else route(self.engine, ctx)
            if inc.kind == "scan" and inc.raw == FOLLOW:
                result = events.followed_through(ctx, result)
            # Taken before the commit, whose listener forgets the old copy of a changed profile.
            who = ctx.who_to_remember()
            if ctx.opened_session is not None:
                ctx.opened_session.commit()
        except BaseException:
            self._release(openid, inc.msg_key)
            raise
        finally:
            if ctx.opened_session is not None:
                ctx.opened_session.close()
        ctx.state.updated = now
        reply = result if isinstance(result, Reply) else Reply(result)
        if inc.heard and reply.text:  # a misheard word can be seen, and corrected
            reply = Reply(ROUTER_TEXT["heard"].format(text=inc.raw) + "\n" + reply.text, reply.articles)
        self._after_commit(ctx, reply, who)
        return reply, dialog if dialog != "none" else (ctx.state.flow or "none")

    def _after_commit(self, ctx: Ctx, reply: Reply, who: Who | None) -> None:
        """Keep the state and queue the jobs of a committed message. What was committed is answered whatever
        happens here: a job Redis cannot take now is a pending row that `repairbot sweep` queues again."""
        state = ctx.state.to_dict() if ctx.state.active else None
        try:
            # What the user did opens WeChat's customer-service window, by Tencent's rules (core/window.py).
            self.store.save(ctx.openid, ctx.msg.msg_key, state, reply.to_dict(), ctx.msg.kind, ctx.now,
                            who.to_dict() if who else None)
        except redis.RedisError as exc:
            log.error("message %s committed, but its dialog state was not saved (%s)", ctx.msg.msg_key,
                      type(exc).__name__)
        for job in ctx.jobs:
            try:
                enqueue(self.services.redis, job.queue, job.func, *job.args, job_id=job.job_id, fresh=job.fresh,
                        delay_s=job.delay_s)
            except redis.RedisError as exc:
                log.error("job %s not queued (%s); its row stays pending for `repairbot sweep`", job.job_id,
                          type(exc).__name__)

    def _release(self, openid: str, msg_key: str) -> None:
        """Give the message back for WeChat's retry; with Redis down there is nothing to give back."""
        try:
            self.store.release(openid, msg_key)
        except redis.RedisError as exc:
            log.warning("could not release %s (%s)", msg_key, type(exc).__name__)

    def answer_untrusted(self, msg: BaseMessage) -> Reply:
        """Answer a message whose body nobody signed (plain mode on a safe-mode account, by the operator's
        leave): it may read the help, nothing else — no dialog, no profile, no ticket, no staff command."""
        inc = incoming(msg)
        if inc.kind == "subscribe":
            return Reply(ROUTER_TEXT["welcome"])
        if inc.kind not in {"text", "click", "image", "voice", "other"}:
            return Reply()
        entry = BY_WORD.get(inc.text) if inc.kind == "text" else None
        asked = inc.key if inc.kind == "click" else (entry.key if entry else "")
        return Reply(help_text() if asked == "HELP" else ROUTER_TEXT["unsigned"])

    def parse(self, text: str, **context: Any) -> Parse:
        """Parse free text with this process's parser for the register in force."""
        register = self.services.register()
        if register is None:
            raise RegisterError("no register loaded: run `repairbot register load FILE.yaml`")
        return get_parser(register).parse(text, **context)

    def warm_up(self) -> None:
        """Load the language dictionaries now (before gunicorn forks), not on the first message."""
        try:
            register = self.services.register()
        except SQLAlchemyError as exc:
            # Start anyway: /healthz must be able to say the database is down.
            log.warning("language model not preloaded: the register cannot be read (%s)", type(exc).__name__)
            return
        if register is not None:
            get_parser(register)
        # gunicorn forks after this (preload_app): no pooled connection may be inherited by the workers,
        # or they would all share one database socket.
        self.services.db.dispose()
