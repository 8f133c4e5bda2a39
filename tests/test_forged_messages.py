"""Forged messages: a signed query string copied from a log must not let anyone speak as a user.

In plain mode WeChat signs only token, timestamp and nonce, not the body; these tests play the attacker
who has read such a query string and posts a body of their own choosing with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot import create_app
from bot.wechat import MAX_BODY, new_nonce, signature
from core.services import Services
from devtools.chat import Request, WeChatUser
from models.people import add_staff, bind_openid
from models.tickets import get_ticket
from tests.support.constants import AES_KEY, APPID, TOKEN
from tests.support.http import other_app
from tests.support.tickets import make_ticket

REPORTER, WORKER = "o-forge-reporter", "o-forge-worker"


@contextmanager
def app_with(services: Services, **changes: Any) -> Iterator[str]:
    """Serve a second app with some settings changed; yield its webhook URL."""
    with other_app(services, **changes) as url:
        yield url + "/wechat"


def plain(url: str, openid: str) -> WeChatUser:
    return WeChatUser(url, TOKEN, openid)


def resign(req: Request, xml: str) -> Request:
    """The attacker's request: a logged query string, with a body of their own."""
    return Request(dict(req.params), xml.encode())


def text_xml(openid: str, content: str, msg_id: int) -> str:
    return (f"<xml><ToUserName>gh_repairbot</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def signed_at(user: WeChatUser, xml: str, ts: int) -> Request:
    nonce = new_nonce()
    params = {"timestamp": str(ts), "nonce": nonce, "signature": signature(TOKEN, str(ts), nonce),
              "openid": user.openid}
    return Request(params, xml.encode())


@pytest.fixture
def plain_url(services: Services, wechat_api: Any) -> Iterator[str]:
    """An account in plain mode (no AES key): every message is signed only by its query string."""
    with app_with(services, wechat_aes_key="", wechat_appid="") as url:
        yield url


@pytest.fixture
def worker_on_ticket(services: Services) -> str:
    """A bound worker with a ticket in progress; return the ticket's number."""
    with services.db.session() as s:
        add_staff(s, "刘师傅", "worker", "worker-pass-1", ["东环校区宿舍维修"], "13900000009")
        bind_openid(s, "刘师傅", WORKER)
    return make_ticket(services, REPORTER, moved_to="in_progress", worker="刘师傅")


def status(services: Services, no: str) -> str:
    with services.db.session() as s:
        ticket = get_ticket(s, no)
        assert ticket is not None
        return ticket.status


# -- a logged query string used again ------------------------------------------------------------------

def test_a_logged_signature_cannot_carry_another_body(plain_url: str, services: Services,
                                                      worker_on_ticket: str) -> None:
    """The worker's own 「我的任务」 is answered; its query string reused with 「完成 R…」 is refused and the
    ticket does not move (before, this pushed 维修完成 to the reporter)."""
    worker = plain(plain_url, WORKER)
    assert worker_on_ticket in worker.text("我的任务").text
    assert worker.last is not None
    forged = resign(worker.last, text_xml(WORKER, f"完成 {worker_on_ticket} 修好了", 777001))
    assert worker.deliver(forged).status == 403
    assert status(services, worker_on_ticket) == "in_progress"


def test_wechats_own_resend_of_one_request_is_answered_the_same(plain_url: str) -> None:
    """A resend of the very same request (same body) is WeChat retrying, not a forgery: same answer."""
    user = plain(plain_url, "o-forge-retry")
    first = user.text("帮助")
    again = user.retry()
    assert again.status == 200 and again.text == first.text and "报修" in first.text


@pytest.mark.parametrize("age", [301, -301, 86_400, 365 * 86_400], ids=["5min-old", "5min-ahead", "day", "year"])
def test_a_signature_outside_the_window_is_refused(plain_url: str, services: Services, age: int) -> None:
    """A correctly signed request whose timestamp is more than 300 s away from now gets 403, and nothing happens."""
    user = plain(plain_url, "o-forge-old")
    answer = user.deliver(signed_at(user, text_xml("o-forge-old", "个人信息", 777002), int(time.time()) - age))
    assert answer.status == 403
    assert services.redis.keys("dlg:*") == []


@pytest.mark.parametrize("ts", ["0", "", "abc", "1e9", "１７００"], ids=["zero", "empty", "word", "float", "fullwidth"])
def test_a_timestamp_that_is_no_time_is_refused(plain_url: str, ts: str) -> None:
    user = plain(plain_url, "o-forge-ts")
    nonce = "n" + ts
    req = Request({"timestamp": ts, "nonce": nonce, "signature": signature(TOKEN, ts, nonce)},
                  text_xml("o-forge-ts", "你好", 777003).encode())
    assert user.deliver(req).status == 403


def test_a_signature_inside_the_window_is_accepted(plain_url: str) -> None:
    user = plain(plain_url, "o-forge-fresh")
    answer = user.deliver(signed_at(user, text_xml("o-forge-fresh", "帮助", 777004), int(time.time()) - 250))
    assert answer.status == 200 and "报修" in answer.text


def test_the_window_is_a_setting(services: Services, wechat_api: Any) -> None:
    with app_with(services, wechat_aes_key="", wechat_max_skew_s=30) as url:
        user = plain(url, "o-forge-skew")
        late = user.deliver(signed_at(user, text_xml("o-forge-skew", "帮助", 777005), int(time.time()) - 60))
        assert late.status == 403


# -- an account with an AES key ------------------------------------------------------------------------

def test_plain_mode_is_refused_when_safe_mode_is_configured(server: str, services: Services,
                                                             worker_on_ticket: str) -> None:
    """With WECHAT_AES_KEY set (the test config), a correctly signed plain-mode message gets 403."""
    worker = plain(f"{server}/wechat", WORKER)
    assert worker.text(f"完成 {worker_on_ticket} 修好了").status == 403
    assert status(services, worker_on_ticket) == "in_progress"


def test_accepted_plain_mode_cannot_act(services: Services, worker_on_ticket: str, bound: Callable[..., None],
                                        wechat_api: Any) -> None:
    """With WECHAT_ACCEPT_PLAIN=1 a plain message is answered, but it may not act: no worker command, no
    profile, no ticket change, no dialog; the help is shown."""
    bound(REPORTER)
    with app_with(services, wechat_accept_plain=True) as url:
        worker, reporter = plain(url, WORKER), plain(url, REPORTER)
        refused = worker.text(f"完成 {worker_on_ticket} 修好了")
        assert refused.status == 200 and "加密" in refused.text
        profile = reporter.text("个人信息").text
        assert "张三" not in profile and "138" not in profile and "加密" in profile
        assert worker_on_ticket not in reporter.click("MY_TICKETS").text
        assert "加密" in reporter.text("撤销").text
        assert "报修" in reporter.text("帮助").text
        assert "欢迎" in reporter.event("subscribe").text
        safe = WeChatUser(url, TOKEN, REPORTER, aes_key=AES_KEY, appid=APPID)
        assert "张三" in safe.text("个人信息").text  # the same user, encrypted, is served in full
    assert status(services, worker_on_ticket) == "in_progress"
    assert services.redis.get(f"dlg:{WORKER}") is None


def test_accept_plain_is_read_from_the_environment(services: Services) -> None:
    from core.config import Config

    env = {"WECHAT_ACCEPT_PLAIN": "1", "WECHAT_MAX_SKEW_S": "120", "REPAIRBOT_SECRET_KEY": "x"}
    cfg = Config.from_env(env, dotenv=None)
    assert cfg.wechat_accept_plain and cfg.wechat_max_skew_s == 120
    assert not Config.from_env({"REPAIRBOT_SECRET_KEY": "x"}, dotenv=None).wechat_accept_plain


# -- bodies that cost work before anyone checked them --------------------------------------------------

def test_an_oversized_body_is_refused_unread(wechat: Callable[..., WeChatUser]) -> None:
    user = wechat("o-forge-big")
    big = text_xml("o-forge-big", "好" * (MAX_BODY // 3 + 10), 777006)
    assert user.post_xml(big).status == 413


def test_an_unsigned_safe_mode_body_is_refused_before_it_is_parsed(wechat: Callable[..., WeChatUser]) -> None:
    """A deeply nested body with a wrong msg_signature is refused as forged (403), not parsed into a 400."""
    user = wechat("o-forge-nested")
    nested = "<a>" * 5000 + "</a>" * 5000
    ts, nonce = str(int(time.time())), "n0nce"
    body = f"<xml><Encrypt><![CDATA[QUFB]]></Encrypt>{nested}</xml>"
    req = Request({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": "0" * 40},
                  body.encode())
    assert user.deliver(req).status == 403


# -- what the logs keep ---------------------------------------------------------------------------------

def test_the_development_server_logs_no_signature(wechat: Callable[..., WeChatUser], services: Services,
                                                  logged: list[logging.LogRecord]) -> None:
    """`repairbot serve` logs each request by its path: no signature, msg_signature, nonce or timestamp."""
    from werkzeug.serving import make_server

    import bot.cli

    app = create_app(services.config, services)
    srv = make_server("127.0.0.1", 0, app, threaded=True, request_handler=bot.cli.path_only_handler())
    import threading

    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        user = WeChatUser(f"http://127.0.0.1:{srv.port}/wechat", TOKEN, "o-forge-log", aes_key=AES_KEY, appid=APPID)
        assert user.text("帮助").status == 200
        assert user.last is not None
        params = user.last.params
    finally:
        srv.shutdown()
        srv.server_close()
    lines = [logging.Formatter("%(message)s").format(r) for r in logged if r.name == "werkzeug"]
    assert any("POST /wechat" in line for line in lines)  # the request was logged
    text = "\n".join(lines)
    for name in ("signature", "msg_signature", "nonce", "timestamp"):
        assert params[name] not in text and f"{name}=" not in text


def test_gunicorn_and_nginx_log_the_path_only() -> None:
    """The production access logs name the path, never the query string that carries the signature."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    conf: dict[str, Any] = {}
    exec((root / "deploy/gunicorn.conf.py").read_text(), conf)
    fmt = conf["access_log_format"]
    assert "%(U)s" in fmt and "%(r)s" not in fmt and "%(q)s" not in fmt
    nginx = (root / "deploy/nginx.conf").read_text()
    assert "$request_method $uri" in nginx and "$request " not in nginx and "$args" not in nginx
    assert "access_log /var/log/nginx/repairbot.access.log repairbot_path;" in nginx
