"""The webhook as WeChat sees it: signatures, safe mode, bad requests, retries, events, health."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import requests
import xmltodict
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from bot import create_app
from bot.wechat import signature
from core.services import Services, use_services
from devtools.chat import Answer, Request, WeChatUser
from models.db import Database
from models.people import WechatUser
from tests.support.chat import wechat_user
from tests.support.constants import AES_KEY, APP_SECRET, APPID, TOKEN
from tests.support.http import other_app, serve

# Tencent's published safe-mode example (消息加解密接入指引).
VECTOR_TOKEN = "spamtest"
VECTOR_TIMESTAMP = "1409735669"
VECTOR_NONCE = "1320562132"
VECTOR_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
VECTOR_OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
VECTOR_ACCOUNT = "gh_10f6c3c3ac5a"
VECTOR_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2L"
    "dJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5"
    "VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgC"
    "SUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9Ghg"
    "lF2PE="
)
SECRETS = (TOKEN, AES_KEY, APP_SECRET)
_msg_ids = itertools.count(int(time.time()) * 1000 + 500_000_000)

MakeUser = Callable[..., WeChatUser]


# -- helpers ----------------------------------------------------------------------------------

@contextmanager
def vector_app(services: Services, **changes: Any) -> Iterator[str]:
    """An app that accepts Tencent's vector: its token, and a window wide enough for its 2014 timestamp."""
    settings = {"wechat_token": VECTOR_TOKEN, "wechat_aes_key": AES_KEY, "wechat_appid": APPID,
                "wechat_max_skew_s": int(time.time()) - int(VECTOR_TIMESTAMP) + 300, **changes}
    with other_app(services, **settings) as url:
        yield url


def vector_body(encrypt: str = VECTOR_ENCRYPT) -> bytes:
    return (f"<xml><ToUserName><![CDATA[{VECTOR_ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()


def vector_params(msg_signature: str = VECTOR_SIGNATURE) -> dict[str, str]:
    return {"timestamp": VECTOR_TIMESTAMP, "nonce": VECTOR_NONCE, "encrypt_type": "aes",
            "msg_signature": msg_signature}


def post(url: str, params: dict[str, str], body: bytes) -> requests.Response:
    return requests.post(f"{url}/wechat", params=params, data=body, headers={"Content-Type": "text/xml"},
                         timeout=30)


def reply_fields(user: WeChatUser, answer: Answer) -> dict[str, Any]:
    """Open a reply as the WeChat client does (decrypting it in safe mode) and return its fields."""
    assert answer.status == 200 and answer.body.startswith("<xml"), answer.body
    doc: dict[str, Any] = xmltodict.parse(answer.body)["xml"]
    if "Encrypt" in doc:
        crypto = WeChatCrypto(user.token, user.aes_key, user.appid)
        plain = crypto.decrypt_message(answer.body, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
        doc = xmltodict.parse(plain)["xml"]
    return doc


def signed(user: WeChatUser, xml: str, **param_changes: str | None) -> Request:
    """Sign a body as the user would, then change (or with None, drop) some query parameters."""
    req = user.sign(xml)
    for k, v in param_changes.items():
        if v is None:
            req.params.pop(k, None)
        else:
            req.params[k] = v
    return req


def message(openid: str, fields: str, msg_type: str = "text", msg_id: str | None = "424242") -> str:
    return (f"<xml><ToUserName>gh_repairbot</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType>{msg_type}</MsgType>{fields}"
            + (f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else "") + "</xml>")


@pytest.fixture
def plain_wechat(services: Services, wechat_api: Any) -> Iterator[MakeUser]:
    """Make WeChat users of an account in plain mode (no AES key): messages signed by their query string."""
    with other_app(services, wechat_aes_key="", wechat_appid="") as url:
        yield lambda openid="o-student-1": WeChatUser(f"{url}/wechat", TOKEN, openid)


@pytest.fixture
def make_user(wechat: MakeUser, plain_wechat: MakeUser) -> Callable[[str, bool], WeChatUser]:
    """A user of a safe-mode account (safe=True) or of a plain-mode one (safe=False)."""
    return lambda openid, safe: wechat(openid) if safe else plain_wechat(openid)


# -- the GET handshake --------------------------------------------------------------------------

def test_handshake_echoes_echostr(server: str) -> None:
    """WeChat's server-URL check: a correctly signed GET gets echostr back, as plain text."""
    params = {"timestamp": "1700000000", "nonce": "n0nce", "echostr": "5838479218127813673",
              "signature": signature(TOKEN, "1700000000", "n0nce")}
    resp = requests.get(f"{server}/wechat", params=params, timeout=10)
    assert resp.status_code == 200
    assert resp.text == "5838479218127813673"


@pytest.mark.parametrize("sig", [None, "", "0" * 40, signature("other-token", "1700000000", "n0nce"), "签名"])
def test_handshake_with_bad_signature_is_forbidden(server: str, sig: str | None) -> None:
    """A GET without our signature gets 403 and never the echostr."""
    params = {"timestamp": "1700000000", "nonce": "n0nce", "echostr": "5838479218127813673"}
    if sig is not None:
        params["signature"] = sig
    resp = requests.get(f"{server}/wechat", params=params, timeout=10)
    assert resp.status_code == 403
    assert "5838479218127813673" not in resp.text


def test_no_token_configured_refuses_everything(services: Services) -> None:
    """With WECHAT_TOKEN empty, nothing can be signed: even an 'empty-token' signature is refused."""
    with other_app(services, wechat_token="") as url:
        params = {"timestamp": "1", "nonce": "2", "echostr": "hello", "signature": signature("", "1", "2")}
        assert requests.get(f"{url}/wechat", params=params, timeout=10).status_code == 403
        user = wechat_user(url, "o-no-token", token="")
        assert user.text("你好").status == 403


# -- safe mode: Tencent's official vector ----------------------------------------------------------

def test_official_safe_mode_vector(services: Services) -> None:
    """Tencent's example request is accepted and answered with a reply encrypted for the same user."""
    with vector_app(services) as url:
        resp = post(url, vector_params(), vector_body())
    assert resp.status_code == 200
    assert "<Encrypt>" in resp.text and "abcdteT" not in resp.text and VECTOR_OPENID not in resp.text
    doc = xmltodict.parse(resp.text)["xml"]
    plain = WeChatCrypto(VECTOR_TOKEN, AES_KEY, APPID).decrypt_message(
        resp.text, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
    reply = xmltodict.parse(plain)["xml"]
    assert reply["ToUserName"] == VECTOR_OPENID
    assert reply["FromUserName"] == VECTOR_ACCOUNT
    assert reply["MsgType"] == "text"
    assert "报修" in reply["Content"]  # "abcdteT" means nothing: the user is told what works


@pytest.mark.parametrize("params, body", [
    (vector_params(VECTOR_SIGNATURE[:-1] + "0"), vector_body()),
    (vector_params(""), vector_body()),
    ({k: v for k, v in vector_params().items() if k != "msg_signature"}, vector_body()),
    (vector_params(), vector_body(VECTOR_ENCRYPT.replace("hyzA", "hyzB", 1))),
    ({**vector_params(), "nonce": "1320562133"}, vector_body()),
], ids=["tampered-signature", "empty-signature", "no-signature", "tampered-encrypt", "other-nonce"])
def test_tampered_safe_mode_request_is_forbidden(services: Services, params: dict[str, str],
                                                 body: bytes) -> None:
    """Any change to the signed parts of the vector gets 403."""
    with vector_app(services) as url:
        assert post(url, params, body).status_code == 403


def test_safe_mode_request_without_aes_key_is_forbidden(services: Services) -> None:
    """An app in plain mode refuses a safe-mode request rather than guessing."""
    with vector_app(services, wechat_aes_key="") as url:
        assert post(url, vector_params(), vector_body()).status_code == 403


def test_safe_mode_message_for_another_appid_is_refused(services: Services) -> None:
    """A correctly signed message encrypted for another account's AppID is not read."""
    with vector_app(services, wechat_appid="wx0000000000000000") as url:
        resp = post(url, vector_params(), vector_body())
    assert resp.status_code in (400, 403)


@pytest.mark.parametrize("encrypt", ["", "!!!!", "QUFB", "eHh4eHh4eHh4eHh4eHh4eA==",
                                     "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg="])
def test_signed_but_undecryptable_encrypt_is_bad_request(wechat: MakeUser, encrypt: str) -> None:
    """A correctly signed Encrypt value that is not a real ciphertext gets 400, not a server error."""
    user = wechat("o-garbage", safe=True)
    ts, nonce = str(int(time.time())), "n0nce"
    body = f"<xml><ToUserName>gh_repairbot</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    req = Request({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                   "msg_signature": signature(TOKEN, ts, nonce, encrypt)}, body.encode())
    assert user.deliver(req).status == 400


# -- whole exchanges, plain and safe ----------------------------------------------------------------

@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
def test_full_exchange(make_user: Callable[[str, bool], WeChatUser], services: Services, safe: bool) -> None:
    """Follow, bind, look at the profile: every answer reaches the same user, encrypted in safe mode."""
    openid = f"o-exchange-{'safe' if safe else 'plain'}"
    user = make_user(openid, safe)
    welcome = user.event("subscribe")
    assert "绑定" in welcome.text
    assert ("<Encrypt>" in welcome.body) == safe
    assert ("欢迎" in welcome.body) != safe  # in safe mode nothing readable goes over the wire
    assert reply_fields(user, welcome)["ToUserName"] == openid
    assert "8 位校园卡号" in user.text("绑定").text
    assert "密码" in user.text("20260002").text
    bound = user.text("234567")
    assert "绑定成功" in bound.text and "李四" in bound.text
    profile = user.click("PROFILE")
    assert "李四" in profile.text and "13800000002" in profile.text
    fields = reply_fields(user, profile)
    assert (fields["ToUserName"], fields["MsgType"]) == (openid, "text")
    with services.db.session() as s:
        row = s.scalars(select(WechatUser).where(WechatUser.openid == openid)).one()
        assert row.person is not None and row.person.card_no == "20260002"


# -- requests that are refused ----------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"signature": None},
    {"signature": ""},
    {"signature": "0" * 40},
    {"signature": "签名"},
    {"timestamp": "1"},
], ids=["missing", "empty", "wrong", "non-ascii", "other-timestamp"])
def test_post_with_bad_signature_is_forbidden(plain_wechat: MakeUser, services: Services,
                                              change: dict[str, str | None]) -> None:
    """An unsigned or wrongly signed message gets 403 and changes nothing."""
    user = plain_wechat("o-forged")
    answer = user.deliver(signed(user, message("o-forged", "<Event>subscribe</Event>", "event", None), **change))
    assert answer.status == 403
    with services.db.session() as s:
        assert s.scalars(select(WechatUser).where(WechatUser.openid == "o-forged")).first() is None


def test_post_signed_with_another_token_is_forbidden(server: str) -> None:
    """A sender that does not know our token cannot talk to the bot."""
    stranger = wechat_user(server, "o-stranger", token="not-our-token")
    assert stranger.text("报修").status == 403


def test_safe_mode_with_bad_msg_signature_is_forbidden(wechat: MakeUser) -> None:
    """In safe mode it is msg_signature that counts; a wrong one gets 403 even with a valid plain signature."""
    user = wechat("o-safe-forged", safe=True)
    req = signed(user, message("o-safe-forged", "<Content>报修</Content>"), msg_signature="0" * 40)
    assert "signature" in req.params
    assert user.deliver(req).status == 403


XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       + message("o-bad", "<Content>&xxe;</Content>"))
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "hahahahaha">'
          '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
          '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
          + message("o-bad", "<Content>&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;</Content>"))
BAD_BODIES = {
    "not-xml": "this is not xml",
    "empty": "",
    "truncated": message("o-bad", "<Content>hi</Content>")[:-8],
    "no-sender": "<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
                 "<Content>hi</Content><MsgId>1</MsgId></xml>",
    "empty-sender": message("", "<Content>hi</Content>"),
    "nested-sender": message("<a>o-bad</a>", "<Content>hi</Content>"),
    "no-type": "<xml><FromUserName>o-bad</FromUserName><CreateTime>1</CreateTime></xml>",
    "bad-msgid": message("o-bad", "<Content>hi</Content>", msg_id="abc"),
    "bad-createtime": message("o-bad", "<Content>hi</Content>").replace("1700000000", "yesterday"),
    "xxe": XXE,
    "billion-laughs": LAUGHS,
}


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_unreadable_body_is_bad_request(make_user: Callable[[str, bool], WeChatUser], services: Services, name: str,
                                       safe: bool) -> None:
    """A signed body that is not a WeChat message gets 400 (never 500, never an answer), and nothing happens."""
    user = make_user("o-bad", safe)
    answer = user.post_xml(BAD_BODIES[name])
    assert answer.status == 400, answer.body
    assert "root:" not in answer.body and "haha" not in answer.body
    with services.db.session() as s:
        assert s.scalars(select(WechatUser).where(WechatUser.openid == "o-bad")).first() is None


@pytest.mark.parametrize("body", [
    "not xml",
    "<xml><ToUserName>gh</ToUserName></xml>",
    "<xml><ToUserName>gh</ToUserName><Encrypt></Encrypt></xml>",
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>',
], ids=["not-xml", "no-encrypt", "empty-encrypt", "entity"])
def test_safe_mode_envelope_without_encrypt_is_bad_request(wechat: MakeUser, body: str) -> None:
    """A safe-mode request whose envelope has no usable Encrypt field gets 400."""
    user = wechat("o-envelope", safe=True)
    ts, nonce = str(int(time.time())), "n0nce"
    req = Request({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                   "msg_signature": signature(TOKEN, ts, nonce, "")}, body.encode())
    assert user.deliver(req).status == 400


def test_secrets_never_reach_the_logs(wechat: MakeUser, plain_wechat: MakeUser, server: str, services: Services,
                                      logged: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusals, bad bodies, safe mode and a crash are all logged, and no log line holds a secret."""
    plain, safe = plain_wechat("o-logs"), wechat("o-logs-safe")
    assert plain.deliver(signed(plain, message("o-logs", "<Content>hi</Content>"), signature="0" * 40)).status == 403
    assert plain.post_xml(XXE).status == 400
    assert safe.deliver(signed(safe, message("o-logs-safe", "<Content>hi</Content>"),
                               msg_signature="0" * 40)).status == 403
    assert safe.text("绑定").status == 200
    assert requests.get(f"{server}/wechat", params={"echostr": "x"}, timeout=10).status_code == 403

    def crash(*_args: Any) -> str:
        raise RuntimeError("dialog exploded")

    monkeypatch.setattr("bot.conversations.route", crash)
    assert plain.text("报修").status == 200

    text = "\n".join(logging.Formatter("%(name)s %(message)s").format(r) for r in logged)
    assert "refused" in text and "unreadable" in text and "dialog exploded" in text  # the capture works
    for secret in SECRETS:
        assert secret not in text


# -- retries --------------------------------------------------------------------------------------

def test_retried_subscribe_is_answered_from_memory(wechat: MakeUser, bound: Callable[..., None],
                                                   services: Services) -> None:
    """WeChat's retry of a subscribe event (same sender and CreateTime) gets the first answer again."""
    user = wechat("o-sub-retry")
    first = user.event("subscribe")
    assert "欢迎关注" in first.text
    bound("o-sub-retry")  # a fresh handling of the retry would now greet 张三 by name
    again = user.retry()
    assert again.status == 200 and again.text == first.text
    with services.db.session() as s:
        rows = s.scalars(select(WechatUser).where(WechatUser.openid == "o-sub-retry")).all()
        assert len(rows) == 1 and rows[0].subscribed


def test_retried_wrong_password_counts_once(wechat: MakeUser, services: Services) -> None:
    """A retried wrong password gets the same answer and uses up one attempt, not two."""
    user = wechat("o-pw-retry")
    user.text("绑定")
    user.text("20260003")
    first = user.text("000000")
    assert "还可以再试 4 次" in first.text
    again = user.retry()
    assert again.text == first.text
    assert "还可以再试 3 次" in user.text("111111").text
    assert services.redis.get("bindfail:card:20260003") == b"2"


def test_crash_in_the_dialogs_gets_a_polite_answer_and_a_fresh_retry(
        wechat: MakeUser, bound: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error gives the user a polite answer (not WeChat's error page); the retry is handled anew."""
    user = wechat("o-crash")
    bound("o-crash")

    def crash(*_args: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.conversations.route", crash)
    first = user.text("报修")
    assert first.status == 200
    assert "稍后" in first.text and "boom" not in first.body
    monkeypatch.undo()
    again = user.retry()
    assert again.status == 200
    assert "维修类型" in again.text


def test_crash_in_safe_mode_is_answered_encrypted(wechat: MakeUser, monkeypatch: pytest.MonkeyPatch) -> None:
    """The polite answer after a crash is encrypted like any other safe-mode reply."""
    user = wechat("o-crash-safe", safe=True)

    def crash(*_args: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.conversations.route", crash)
    answer = user.text("你好")
    assert answer.status == 200 and "<Encrypt>" in answer.body
    assert "稍后" in answer.text


# -- events and menu keys ---------------------------------------------------------------------------

def test_subscribe_welcomes_a_new_follower(wechat: MakeUser, services: Services) -> None:
    """A new follower learns how to bind and how to report."""
    answer = wechat("o-new-follower").event("subscribe")
    assert answer.status == 200
    assert "绑定" in answer.text and "报修" in answer.text
    with services.db.session() as s:
        row = s.scalars(select(WechatUser).where(WechatUser.openid == "o-new-follower")).one()
        assert row.subscribed


def test_unsubscribe_then_resubscribe(wechat: MakeUser, bound: Callable[..., None], services: Services) -> None:
    """Unfollowing gets the empty 'success' answer and is recorded; a bound user coming back is greeted by name."""
    user = wechat("o-leaver")
    bound("o-leaver")
    answer = user.event("unsubscribe")
    assert (answer.status, answer.body) == (200, "success")
    with services.db.session() as s:
        row = s.scalars(select(WechatUser).where(WechatUser.openid == "o-leaver")).one()
        assert row.subscribed is False and row.unsubscribed_at is not None
    back = user.event("subscribe")
    assert "张三，欢迎您回来" in back.text
    with services.db.session() as s:
        row = s.scalars(select(WechatUser).where(WechatUser.openid == "o-leaver")).one()
        assert row.subscribed is True and row.person_id is not None


def test_unsubscribe_in_the_middle_of_a_dialog_forgets_it(wechat: MakeUser, bound: Callable[..., None]) -> None:
    """A user who unfollows half-way does not come back to a half-filled form."""
    user = wechat("o-leaver-2")
    bound("o-leaver-2")
    assert "维修类型" in user.text("报修").text
    user.event("unsubscribe")
    user.event("subscribe")
    assert "当前没有进行中的操作" in user.text("1").text


@pytest.mark.parametrize("key, expected", [
    ("REPAIR", ["维修类型", "1 "]),
    ("MY_TICKETS", ["还没有报修记录"]),
    ("PROFILE", ["张三", "20****01", "13800000001"]),
    ("HELP", ["报修", "我的报修", "个人信息"]),
    ("BIND", ["已绑定校园卡"]),
])
def test_menu_keys_for_a_bound_user(wechat: MakeUser, bound: Callable[..., None], key: str,
                                    expected: list[str]) -> None:
    """Each menu button opens what its name says."""
    user = wechat(f"o-menu-{key.lower()}")
    bound(user.openid)
    answer = user.click(key)
    assert answer.status == 200
    for part in expected:
        assert part in answer.text


@pytest.mark.parametrize("key, expected", [
    ("REPAIR", "8 位校园卡号"),
    ("PROFILE", "8 位校园卡号"),
    ("MY_TICKETS", "还没有报修记录"),
    ("HELP", "绑定"),
])
def test_menu_keys_for_an_unbound_user(wechat: MakeUser, key: str, expected: str) -> None:
    """Buttons that need a campus card ask for it first; the others just answer."""
    answer = wechat(f"o-unbound-{key.lower()}").click(key)
    assert answer.status == 200
    assert expected in answer.text


@pytest.mark.parametrize("key", ["NOPE", "", "repair"])
def test_unknown_menu_key_is_answered_kindly(wechat: MakeUser, key: str) -> None:
    """An old or unknown menu key gets a friendly pointer to 帮助, not silence."""
    answer = wechat("o-old-menu").click(key)
    assert answer.status == 200
    assert "帮助" in answer.text


# Far from any campus: answered in words whether or not the register has a map.
LOCATION = ("<Location_X>39.9042</Location_X><Location_Y>116.4074</Location_Y><Scale>20</Scale>"
            "<Label><![CDATA[北京市东城区]]></Label>")
LINK = ("<Title><![CDATA[宿舍漏水]]></Title><Description><![CDATA[看这个]]></Description>"
        "<Url><![CDATA[https://example.com/a]]></Url>")
VIDEO = "<MediaId><![CDATA[v1]]></MediaId><ThumbMediaId><![CDATA[t1]]></ThumbMediaId>"


def _other(user: WeChatUser, kind: str) -> Answer:
    if kind == "voice":
        return user.voice()
    fields = {"location": LOCATION, "link": LINK, "shortvideo": VIDEO, "miniprogrampage": "<Title>x</Title>"}[kind]
    return user.send(kind, fields, msg_id=next(_msg_ids))


@pytest.mark.parametrize("kind", ["voice", "location", "link", "shortvideo", "miniprogrampage"])
def test_other_message_kinds_get_a_helpful_answer(wechat: MakeUser, kind: str) -> None:
    """Voice, location, link and other kinds: the user is told what the bot can read."""
    answer = _other(wechat(f"o-kind-{kind}"), kind)
    assert answer.status == 200
    assert "文字" in answer.text and "报修" in answer.text


@pytest.mark.parametrize("kind", ["voice", "location", "link"])
def test_other_message_kinds_inside_a_dialog_repeat_the_question(wechat: MakeUser, bound: Callable[..., None],
                                                                 kind: str) -> None:
    """In the middle of the repair form, a voice message gets 'please type' and the question again."""
    user = wechat(f"o-kind-dialog-{kind}")
    bound(user.openid)
    user.text("报修")
    answer = _other(user, kind)
    assert answer.status == 200
    assert "文字" in answer.text and "维修类型" in answer.text
    assert "故障类别" in user.text("2").text  # the form is still there


@pytest.mark.parametrize("event, key", [
    ("VIEW", "https://repair.example.edu/t/abc"),
    ("TEMPLATESENDJOBFINISH", ""),
    ("LOCATION", ""),
    ("SCAN", "123"),
])
def test_events_without_an_answer_get_success(wechat: MakeUser, event: str, key: str) -> None:
    """Events that need no reply get 'success', which tells WeChat not to retry."""
    answer = wechat("o-events").event(event, key)
    assert (answer.status, answer.body) == (200, "success")


# -- health ---------------------------------------------------------------------------------------

def test_healthz_ok(server: str) -> None:
    """With the database and Redis up, the health check says so."""
    resp = requests.get(f"{server}/healthz", timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"db": "ok", "redis": "ok"}


def test_healthz_names_redis_when_it_is_down(services: Services) -> None:
    """With Redis unreachable, the health check answers 503 and says it is Redis."""
    # No retries: a refused connection is enough (redis-py would otherwise back off for about four seconds).
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    with other_app(services, redis_conn=dead) as url:
        resp = requests.get(f"{url}/healthz", timeout=30)
    assert resp.status_code == 503
    body = resp.json()
    assert body["db"] == "ok"
    assert body["redis"] != "ok" and "down" in body["redis"]


def test_healthz_names_the_database_when_it_is_down(services: Services, tmp_path: Path) -> None:
    """When the database goes away after start, the health check answers 503 and says it is the database."""
    svc = Services(services.config, redis_conn=services.redis)
    app = create_app(services.config, svc)
    svc.db.dispose()
    svc.db = Database(f"sqlite:///{tmp_path}/no-such-dir/repairbot.db")
    try:
        with serve(app) as url:
            resp = requests.get(f"{url}/healthz", timeout=30)
    finally:
        svc.close()
        use_services(services)
    assert resp.status_code == 503
    body = resp.json()
    assert body["redis"] == "ok"
    assert body["db"] != "ok" and "down" in body["db"]
