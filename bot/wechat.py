"""WeChat's envelope: signatures, safe-mode encryption, message parsing and reply rendering."""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
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
    """A verified incoming message and how to answer it."""

    message: BaseMessage
    safe: bool
    nonce: str
    timestamp: str


def open_envelope(body: bytes, args: Mapping[str, str], token: str, aes_key: str, appid: str) -> Envelope:
    """Verify, decrypt (safe mode) and parse a POST from WeChat."""
    ts, nonce = args.get("timestamp", ""), args.get("nonce", "")
    text = _text(body)
    if args.get("encrypt_type", "raw").lower() == "aes":
        if not aes_key:
            raise BadSignature("safe mode is not configured (WECHAT_AES_KEY)")
        encrypt = _encrypt_field(text)
        if not signature_ok(signature(token, ts, nonce, encrypt), args.get("msg_signature")):
            raise BadSignature("bad or missing msg_signature")
        try:
            text = PrpCrypto(WeChatCrypto(token, aes_key, appid).key).decrypt(encrypt, appid)
        except (InvalidAppIdException, ValueError, UnicodeDecodeError, IndexError, struct.error) as exc:
            raise BadMessage("cannot decrypt the message") from exc
        return Envelope(_parse(text), True, nonce, ts)
    check_plain(token, args)
    return Envelope(_parse(text), False, nonce, ts)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage("body is not UTF-8") from exc


def _encrypt_field(text: str) -> str:
    import xmltodict

    try:
        doc = xmltodict.parse(text)["xml"]
        value = doc["Encrypt"]
    except (ExpatError, ValueError, KeyError, TypeError) as exc:
        raise BadMessage("safe-mode body has no Encrypt field") from exc
    if not isinstance(value, str):
        raise BadMessage("safe-mode Encrypt field is empty")
    return value


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
    """Name a message so WeChat's retries of it can be recognised."""
    if getattr(msg, "id", 0):
        return f"m:{msg.id}"
    # Events carry MsgId 0: WeChat's own advice is to dedupe them on sender + CreateTime.
    return f"e:{msg.source}:{int(msg.time)}"


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
        return WeChatCrypto(token, aes_key, appid).encrypt_message(xml, env.nonce, str(int(time.time())))
    return xml


def new_nonce() -> str:
    return random_string(10)
