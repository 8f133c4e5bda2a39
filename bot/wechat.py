"""WeChat's envelope: signatures, safe-mode encryption, message parsing and reply rendering."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.parsers.expat import ExpatError

from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.messages import BaseMessage
from wechatpy.replies import ArticlesReply, TextReply
from wechatpy.utils import random_string

from dialogs.reply import Article, Reply
from models.errors import RepairbotError

__all__ = ["Article", "Reply"]

# WeChat's messages are a few kilobytes; anything larger is refused before it is read.
MAX_BODY = 64 * 1024
# The Encrypt field of a safe-mode envelope, found without parsing the body: the signature over it is
# checked before any XML parser sees an unsigned body.
_ENCRYPT_RE = re.compile(r"<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=\s]*)\]\]>|([A-Za-z0-9+/=\s]*))\s*</Encrypt>")
# Where a used timestamp+nonce is remembered, so that a signed query string cannot be used twice.
NONCE_KEY = "wxnonce:{ts}:{nonce}"


class BadSignature(RepairbotError):
    """The request is not signed with our token (answer 403)."""


class BadMessage(RepairbotError):
    """The request body is not a WeChat message we can read (answer 400)."""


def signature(token: str, *parts: str) -> str:
    """Sign as WeChat does: SHA-1 over the sorted token, timestamp, nonce (and Encrypt)."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8")).hexdigest()


def signature_ok(expected: str, given: str | None) -> bool:
    # Compare bytes: compare_digest raises TypeError on non-ASCII str, which would turn a forgery into a 500.
    return bool(given) and hmac.compare_digest(expected.encode("utf-8"), (given or "").encode("utf-8"))


def check_plain(token: str, args: Mapping[str, str]) -> None:
    """Verify the plain `signature` of a handshake or a plain-mode POST."""
    ts, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not token or not signature_ok(signature(token, ts, nonce), args.get("signature")):
        raise BadSignature("bad or missing signature")


@dataclass(frozen=True)
class Envelope:
    """A verified incoming message and how to answer it.

    `trusted` is False only for a plain-mode message that an account configured for safe mode accepts
    because the operator allowed it (WECHAT_ACCEPT_PLAIN): its body is not signed, so it may not act.
    """

    message: BaseMessage
    safe: bool
    nonce: str
    timestamp: str
    trusted: bool = True
    # The EncodingAESKey a safe-mode message was encrypted with (the current one, or during a change of key
    # the previous one): its reply is encrypted with the same key, the one WeChat is sure to read it with.
    aes_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class Gate:
    """What a POST must satisfy before its body is believed."""

    token: str
    aes_key: str = ""
    appid: str = ""
    max_skew_s: int = 300
    accept_plain: bool = False
    # During a change of EncodingAESKey: the key before it (WECHAT_AES_KEY_PREVIOUS), tried second.
    aes_key_previous: str = field(default="", repr=False)


def open_envelope(body: bytes, args: Mapping[str, str], gate: Gate, now: float) -> Envelope:
    """Verify (signature first, then freshness), decrypt (safe mode) and parse a POST from WeChat."""
    ts, nonce = args.get("timestamp", ""), args.get("nonce", "")
    text = _text(body)
    if args.get("encrypt_type", "raw").lower() == "aes":
        if not gate.aes_key:
            raise BadSignature("safe mode is not configured (WECHAT_AES_KEY)")
        encrypt = _encrypt_field(text)
        if not gate.token or not signature_ok(signature(gate.token, ts, nonce, encrypt), args.get("msg_signature")):
            raise BadSignature("bad or missing msg_signature")
        _check_fresh(ts, now, gate.max_skew_s)
        key, text = _decrypt(encrypt, gate)
        return Envelope(_parse(text), True, nonce, ts, aes_key=key)
    check_plain(gate.token, args)
    if gate.aes_key and not gate.accept_plain:
        raise BadSignature("plain mode refused: safe mode is configured (WECHAT_ACCEPT_PLAIN is off)")
    _check_fresh(ts, now, gate.max_skew_s)
    return Envelope(_parse(text), False, nonce, ts, trusted=not gate.aes_key)


def _check_fresh(ts: str, now: float, max_skew_s: int) -> None:
    """Refuse a signature made too long ago (or in the future): a logged query string must not be reusable."""
    if not (ts.isascii() and ts.isdigit()) or abs(now - int(ts)) > max_skew_s:
        raise BadSignature("timestamp outside the accepted window")


def _decrypt(encrypt: str, gate: Gate) -> tuple[str, str]:
    """The key that opens the message (the current one first, then the previous one) and what it says."""
    for key in filter(None, (gate.aes_key, gate.aes_key_previous)):
        with contextlib.suppress(*_UNREADABLE):
            return key, PrpCrypto(WeChatCrypto(gate.token, key, gate.appid).key).decrypt(encrypt, gate.appid)
    raise BadMessage("cannot decrypt the message")


# What decrypting with a wrong key (or a damaged message) raises: the padding, the length or the AppID
# inside come out wrong.
_UNREADABLE = (InvalidAppIdException, ValueError, UnicodeDecodeError, IndexError, struct.error)


def _text(body: bytes) -> str:
    if len(body) > MAX_BODY:
        raise BadMessage("body too large")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage("body is not UTF-8") from exc


def _encrypt_field(text: str) -> str:
    found = _ENCRYPT_RE.search(text)
    value = "".join((found.group(1) or found.group(2) or "").split()) if found else ""
    if not value:
        raise BadMessage("safe-mode body has no Encrypt field")
    return value


def nonce_key(ts: str, nonce: str) -> str:
    return NONCE_KEY.format(ts=ts, nonce=nonce)


def body_digest(body: bytes) -> str:
    """Name a request body, so that WeChat's own resend of one request is told from a forged reuse."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _parse(text: str) -> BaseMessage:
    # xmltodict refuses entity declarations, which keeps XXE and entity bombs out.
    try:
        msg = parse_message(text)
        if msg is not None:
            # wechatpy converts fields lazily: convert the ones we rely on now, while a fault is still a 400.
            int(msg.id or 0), int(msg.time or 0)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadMessage("body is not a WeChat message") from exc
    if msg is None or not isinstance(msg.source, str) or not msg.source:
        raise BadMessage("message has no sender")
    return msg


def dedupe_key(msg: BaseMessage) -> str:
    """Name a message so WeChat's retries of it can be recognised — always within its sender, so that no
    MsgId, chosen or colliding, can fetch another user's remembered reply."""
    if getattr(msg, "id", 0):
        return f"m:{msg.source}:{msg.id}"
    # Events carry MsgId 0: WeChat's advice is sender + CreateTime; two events in one second differ by kind.
    key = getattr(msg, "key", "") or getattr(msg, "scene_id", "") or ""
    return f"e:{msg.source}:{int(msg.time)}:{getattr(msg, 'event', '')}:{key}"


def render(reply: Reply, msg: BaseMessage, env: Envelope, token: str, aes_key: str, appid: str) -> str:
    """Render a reply to XML, encrypted when the message came in safe mode."""
    if reply.articles:
        news = ArticlesReply(message=msg)
        for a in reply.articles[:8]:
            news.add_article({"title": a.title, "description": a.description, "image": a.image, "url": a.url})
        xml = news.render()
    else:
        xml = TextReply(message=msg, content=reply.text).render()
    if env.safe:
        key = env.aes_key or aes_key
        return WeChatCrypto(token, key, appid).encrypt_message(xml, env.nonce, str(int(time.time())))
    return xml


def new_nonce() -> str:
    return random_string(10)
