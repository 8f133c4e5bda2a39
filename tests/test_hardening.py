"""Small but real: integers from URLs, a redirect target with CR/LF, replayed 留言, bidi controls, the
passwords in repr(Config).  Each case was a 500, a spurious row or a leak before it was fixed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from core.config import Config
from core.links import make_token
from core.services import Services
from devtools.chat import WeChatUser
from dialogs.store import DialogStore
from models.consult import NewConsult, create_consult
from models.notices import publish
from models.people import Person, add_staff, ensure_user, load_roster
from models.replies import CannedReply
from models.tickets import NewTicket, Ticket, add_message, get_ticket
from tests.support.tickets import create_ticket

PASSWORD = "console-pass-1"
DORM = "东环校区宿舍维修"
TOKEN_RE = re.compile(r'name="(?:[\w-]*-)?csrf_token"[^>]*value="([^"]+)"')
# Integers no column can hold: PostgreSQL's INTEGER ends at 2^31 - 1, SQLite's (and BIGINT) at 2^63 - 1.
HUGE = ["2147483648", str(2 ** 40), str(2 ** 63), str(2 ** 64), "9" * 20, "99999999999999999999"]
# What str.isdigit() and int() accept besides ASCII digits: a superscript two, Arabic-Indic and full-width.
ODD_DIGITS = ["²", "٣", "３", "1²"]
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


# -- helpers (small copies: the other test modules are not imported) ---------------------------------------

def make_ticket(services: Services, *, openid: str = "o-hard", description: str = "水龙头一直在滴水",
                status: str | None = None, media: tuple[str, ...] = ()) -> str:
    with services.db.session() as s:
        ensure_user(s, openid)
        ticket, _ = create_ticket(s, NewTicket(
            openid=openid, person_id=None, category=DORM, group="给水", item="水龙头", campus="东环校区",
            building="学生公寓12栋", floor="5", room="502", place_note=None, description=description,
            phone="13800000001", media_ids=tuple((m, None) for m in media)))
        if status:
            s.execute(update(Ticket).where(Ticket.id == ticket.id).values(status=status))
        return ticket.no


def messages(services: Services, no: str) -> list[str]:
    with services.db.session() as s:
        t = get_ticket(s, no)
        return [e.note or "" for e in t.events if e.kind == "message"]


class Console:
    """A staff member's browser over the test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self, url: str = "/console/login") -> str:
        found = TOKEN_RE.search(self.client.get(url).get_data(as_text=True))
        assert found
        return found.group(1)

    def login(self, name: str, next_: str | None = None) -> Any:
        url = "/console/login" + ("?" + requests.compat.urlencode({"next": next_}) if next_ else "")
        return self.client.post(url, data={"name": name, "password": PASSWORD, "csrf_token": self.token()})


@pytest.fixture
def config(config: Config) -> Config:
    """The /t/ pages are browsed on the plain-http test server: with an http public URL, so that the session
    cookie (which carries the CSRF token) is not Secure and requests sends it back."""
    return config.override(public_url="http://127.0.0.1")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(app: Flask, services: Services) -> Console:
    with services.db.session() as s:
        add_staff(s, "管理员", "admin", PASSWORD)
    c = Console(app.test_client())
    assert c.login("管理员").status_code == 302
    return c


def friendly(resp: Any, *words: str) -> bool:
    body = resp.get_data(as_text=True)
    return resp.status_code in (400, 404) and any(w in body for w in words)


# -- integers from URLs and query strings ---------------------------------------------------------------

@pytest.mark.parametrize("raw", [*HUGE, *ODD_DIGITS, "0", "-1", "1e3", "0x10"])
def test_a_notice_id_out_of_range_is_a_friendly_404(client: FlaskClient, services: Services, raw: str) -> None:
    with services.db.session() as s:
        publish(s, "停水通知", "正文", "staff:管理员")
    resp = client.get(f"/notices/{raw}")
    assert friendly(resp, "找不到这条通知"), (raw, resp.status_code)


@pytest.mark.parametrize("raw", [*HUGE, *ODD_DIGITS])
def test_a_photo_id_out_of_range_on_the_reporter_page_is_a_friendly_404(client: FlaskClient, services: Services,
                                                                        raw: str) -> None:
    no = make_ticket(services)
    token = make_token(services.config.secret_key, no)
    resp = client.get(f"/t/{token}/photo/{raw}")
    assert resp.status_code == 404, (raw, resp.status_code)


@pytest.mark.parametrize("path", [f"/console/photos/{n}" for n in (*HUGE, "²")] +
                         [f"/console/notices/{n}" for n in HUGE])
def test_ids_out_of_range_in_the_console_are_a_friendly_404(admin: Console, path: str) -> None:
    resp = admin.client.get(path)
    assert friendly(resp, "找不到"), (path, resp.status_code)


@pytest.mark.parametrize("path", [*(f"/console/pushes/{n}/resend" for n in HUGE[:2] + HUGE[-1:]),
                                  *(f"/console/replies/{n}" for n in HUGE[:2] + HUGE[-1:]),
                                  *(f"/console/replies/{n}/delete" for n in HUGE[-1:]),
                                  *(f"/console/notices/{n}/end" for n in HUGE[-1:]),
                                  *(f"/console/consults/departments/{n}" for n in HUGE[-1:])])
def test_ids_out_of_range_in_console_posts_are_a_friendly_404(admin: Console, path: str) -> None:
    resp = admin.client.post(path, data={"csrf_token": admin.token("/console/")})
    assert friendly(resp, "找不到"), (path, resp.status_code)


@pytest.mark.parametrize("args", [{"page": "99999999999999999999"}, {"page": str(2 ** 63)}, {"page": "²"},
                                  {"page": "-5"}, {"worker": "²"}, {"worker": "99999999999999999999"},
                                  {"worker": "2147483648"}])
@pytest.mark.parametrize("url", ["/console/", "/console/consults"])
def test_queue_arguments_out_of_range_are_ignored(admin: Console, services: Services, url: str,
                                                  args: dict[str, str]) -> None:
    no = make_ticket(services)
    resp = admin.client.get(url, query_string=args)
    assert resp.status_code in (200, 400, 404), (url, args, resp.status_code)
    if url == "/console/" and "worker" in args:
        assert no in resp.get_data(as_text=True) or "没有" in resp.get_data(as_text=True)


@pytest.mark.parametrize("args", [{"until": "9999-12-31"}, {"since": "0001-01-01"}, {"since": "²０２６-01-01"}])
@pytest.mark.parametrize("url", ["/console/", "/console/consults"])
def test_days_out_of_range_are_ignored(admin: Console, url: str, args: dict[str, str]) -> None:
    assert admin.client.get(url, query_string=args).status_code == 200


@pytest.mark.parametrize("args", [{"q": "\x00"}, {"building": "楼\x00"}, {"category": "\x00"}, {"worker": "\x00"},
                                  {"department": "\x00"}])
@pytest.mark.parametrize("url", ["/console/", "/console/consults"])
def test_a_nul_in_a_query_string_is_a_friendly_400(admin: Console, url: str, args: dict[str, str]) -> None:
    """PostgreSQL cannot compare a string holding NUL: refused before any view."""
    assert friendly(admin.client.get(url, query_string=args), "刷新页面")


def test_a_nul_in_a_path_or_a_form_is_a_friendly_400(admin: Console, app: Flask, services: Services,
                                                     server: str) -> None:
    no = make_ticket(services, status="in_progress")
    assert friendly(admin.client.get("/console/tickets/R%00"), "刷新页面", "找不到")
    resp = admin.client.post(f"/console/tickets/{no}/reply", data={"csrf_token": admin.token("/console/"),
                                                                    "text": "马上\x00来"})
    assert friendly(resp, "刷新页面")
    anonymous = Console(app.test_client())
    resp = anonymous.client.post("/console/login", data={"name": "管\x00理员", "password": "x",
                                                         "csrf_token": anonymous.token()})
    assert friendly(resp, "刷新页面")
    url = f"{server}/t/{make_token(services.config.secret_key, no)}"
    http = requests.Session()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', http.get(url, timeout=30).text)
    assert csrf
    resp = http.post(f"{url}/message", data={"csrf_token": csrf.group(1), "text": "有\x00人"}, timeout=30)
    assert resp.status_code == 400 and "无法识别的字符" in resp.text
    assert friendly(admin.client.get("/notices/1%00"), "找不到", "无法识别")
    assert messages(services, no) == []


def test_a_canned_reply_position_out_of_range_is_refused(admin: Console, services: Services) -> None:
    resp = admin.client.post("/console/replies", data={"csrf_token": admin.token("/console/"), "status": "accepted",
                                                       "text": "已受理", "position": "99999999999999999999"})
    assert resp.status_code in (200, 302, 400)
    with services.db.session() as s:
        assert all(abs(r.position) < 2 ** 31 for r in s.scalars(select(CannedReply)))


def test_anonymous_requests_with_huge_numbers_are_redirected_to_login(client: FlaskClient) -> None:
    for url in ("/console/?page=99999999999999999999", "/console/photos/99999999999999999999"):
        resp = client.get(url)
        assert resp.status_code in (302, 404) and resp.status_code != 500, url
        if resp.status_code == 302:
            assert "/console/login" in resp.headers["Location"]


@pytest.mark.parametrize("target", ["/console/\r\nSet-Cookie: pwned=1", "/console/%0d%0aX: y", "/console/\n",
                                    "/console\\..\\evil", "/console/\x00", "//evil.example/console",
                                    "/console/\u2028x"])
def test_login_next_with_control_characters_is_a_safe_redirect(app: Flask, services: Services,
                                                               target: str) -> None:
    with services.db.session() as s:
        add_staff(s, "管理员", "admin", PASSWORD)
    resp = Console(app.test_client()).login("管理员", next_=target)
    if "\x00" in target:  # refused before any view (bot/errors.py)
        assert friendly(resp, "刷新页面")
        return
    assert resp.status_code in (302, 303), resp.status_code
    location = resp.headers["Location"]
    assert not any(ch in location for ch in "\r\n\x00\\") and "pwned" not in resp.headers.get("Set-Cookie", "")
    assert location.endswith("/console/") or location.startswith("/console/")


# -- a replayed 留言 is added once ------------------------------------------------------------------------

def test_add_message_is_idempotent_per_source(services: Services) -> None:
    no = make_ticket(services)
    for _ in range(2):
        with services.db.session() as s:
            add_message(s, get_ticket(s, no), "晚上八点后有人", by="user:o-hard", source_key="m:o-hard:42")
    with services.db.session() as s:
        add_message(s, get_ticket(s, no), "晚上八点后有人", by="user:o-hard", source_key="m:o-hard:43")
        add_message(s, get_ticket(s, no), "没有来源的留言", by="user:o-hard")
    assert messages(services, no) == ["晚上八点后有人", "晚上八点后有人", "没有来源的留言"]


HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')


def _hidden_fields(form_html: str) -> dict[str, str]:
    fields = {}
    for tag in HIDDEN.findall(form_html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value:
            fields[name.group(1)] = value.group(1)
    return fields


def test_a_message_form_posted_twice_adds_one_message(server: str, services: Services) -> None:
    """The browser resends the form (a double tap, a reload of the POST): the 留言 is there once."""
    no = make_ticket(services, status="in_progress")
    url = f"{server}/t/{make_token(services.config.secret_key, no)}"
    http = requests.Session()
    page = http.get(url, timeout=30).text
    form = page[page.index('id="message"'):]
    form = form[:form.index("</form>")]
    data = {**_hidden_fields(form), "text": "晚上八点后宿舍有人"}
    for _ in range(2):
        resp = http.post(f"{url}/message", data=data, timeout=30)
        assert resp.status_code == 200 and "留言已送达" in resp.text
    assert messages(services, no) == ["晚上八点后宿舍有人"]
    # A new form (the page shown again) is a new message, even with the same words.
    page = http.get(url, timeout=30).text
    form = page[page.index('id="message"'):]
    data = {**_hidden_fields(form[:form.index("</form>")]), "text": "晚上八点后宿舍有人"}
    http.post(f"{url}/message", data=data, timeout=30)
    assert messages(services, no) == ["晚上八点后宿舍有人"] * 2


def _choose(user: WeChatUser, label: str) -> str:
    for line in user.last_reply.splitlines():
        number, _, text = line.partition(" ")
        if number.isdigit() and text == label:
            return user.text(number).text
    raise AssertionError(f"{label!r} not offered in:\n{user.last_reply}")


def test_a_chat_message_redelivered_after_the_dedupe_window_adds_one_message(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """WeChat delivers the same 留言 (same MsgId) again after its reply was forgotten and the dialog state was
    lost (Redis refused the save): the dialog runs again, but the ticket gets the message once."""
    bound("o-hard-chat")
    no = make_ticket(services, openid="o-hard-chat")
    user = wechat("o-hard-chat")
    assert no in user.text("我的报修").text
    user.text("1")
    assert "留言" in _choose(user, "留言")
    state_key = DialogStore.state_key("o-hard-chat")
    before = services.redis.get(state_key)
    assert before is not None
    user.send("text", "<Content><![CDATA[晚上八点后宿舍有人]]></Content>", msg_id=777001)
    assert messages(services, no) == ["晚上八点后宿舍有人"]
    # The reply is forgotten (dedupe window over) and the state is as it was before the message.
    services.redis.delete(DialogStore.msg_key(f"m:o-hard-chat:{777001}"))
    services.redis.set(state_key, before)
    user.post_xml(_same_message(user, 777001))
    assert messages(services, no) == ["晚上八点后宿舍有人"]


def _same_message(user: WeChatUser, msg_id: int) -> str:
    """The XML of the 留言 again, with its MsgId and CreateTime, to be signed afresh as a redelivery."""
    return (f"<xml><ToUserName><![CDATA[{user.account}]]></ToUserName><FromUserName><![CDATA[{user.openid}]]>"
            f"</FromUserName><CreateTime>{user.clock}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[晚上八点后宿舍有人]]></Content><MsgId>{msg_id}</MsgId></xml>")


# -- bidi controls never reach staff ---------------------------------------------------------------------

def test_strip_bidi_removes_every_bidi_control() -> None:
    from models.text import strip_bidi

    assert strip_bidi(f"a{BIDI}b") == "ab"
    assert strip_bidi("invoice\u202efdp.exe") == "invoicefdp.exe"
    assert strip_bidi("普通的中文，no controls") == "普通的中文，no controls"
    assert strip_bidi("") == "" and strip_bidi(None) is None


def test_bidi_controls_are_not_stored_from_users(services: Services) -> None:
    """Every path that stores a user's words: a ticket (plain statements), a message, a consult, a roster name."""
    no = make_ticket(services, description="水龙头\u202e坏了\u2066")
    with services.db.session() as s:
        add_message(s, get_ticket(s, no), "留\u200f言\u061c", by="user:o-hard")
        c = create_consult(s, NewConsult("o-hard", None, "标\u202d题", "投诉", "饮食服务中心", "内\u202b容",
                                         "建\u2069议", False))
        consult_id = c.id
        load_roster(s, "card_no,name,id_last6,role,phone\n20269999,王\u202e五,12345X,student,\n",
                    pepper=services.config.id_pepper)
        add_staff(s, "赵\u202e调度", "dispatcher", PASSWORD)
    with services.db.session() as s:
        t = get_ticket(s, no)
        texts = [t.description, *(e.note or "" for e in t.events)]
        c = s.get_one(type(c), consult_id)
        texts += [c.title, c.description, c.suggestion or ""]
        texts += list(s.scalars(select(Person.name)))
        from models.people import Staff
        texts += list(s.scalars(select(Staff.name)))
    assert "水龙头坏了" in texts and "留言" in texts and "王五" in texts and "赵调度" in texts
    assert not [x for x in texts if any(ch in x for ch in BIDI)]


def test_the_console_shows_no_bidi_controls(admin: Console, services: Services, server: str) -> None:
    no = make_ticket(services, description="热水器\u202egnp.exe")
    token = make_token(services.config.secret_key, no, view_only=False)
    http = requests.Session()
    url = f"{server}/t/{token}"
    page = http.get(url, timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    http.post(f"{url}/message", data={"csrf_token": csrf.group(1), "text": "请\u202e快点来"}, timeout=30)
    page = admin.client.get(f"/console/tickets/{no}").get_data(as_text=True)
    assert "热水器gnp.exe" in page and "请快点来" in page
    assert not any(ch in page for ch in BIDI)


# -- repr(Config) hides passwords ------------------------------------------------------------------------

@pytest.mark.parametrize("db_url, redis_url", [
    ("postgresql+psycopg://repair:s3cr%40t-pw@db.internal:5432/repair", "redis://:r3dis-pw@cache:6379/0"),
    ("postgresql://repair:s3cr%40t-pw@db.internal/repair?sslmode=require", "rediss://default:r3dis-pw@cache/1"),
    ("postgresql://db.internal/repair?user=repair&password=s3cr%40t-pw", "redis://cache/0?password=r3dis-pw"),
])
def test_repr_of_config_hides_passwords(tmp_path: Any, db_url: str, redis_url: str) -> None:
    cfg = Config.from_env({"REPAIRBOT_INSTANCE_PATH": str(tmp_path), "REPAIRBOT_DATABASE_URL": db_url,
                           "REPAIRBOT_REDIS_URL": redis_url, "REPAIRBOT_SECRET_KEY": "k"}, dotenv=None)
    for shown in (repr(cfg), str(cfg), f"{cfg}"):
        assert "s3cr" not in shown and "r3dis-pw" not in shown, shown
        assert "db.internal" in shown and "cache" in shown  # still says where
    assert cfg.database_url == db_url and cfg.redis_url == redis_url  # the values themselves are untouched
