"""Console sessions and logins: revoked server-side, Secure cookies and HSTS over https, CSP and no framing on
every page, one password hash per login whatever the name, limits no guesser can turn into a lock-out, and
an access matrix of every console route for every role."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from bot import create_app
from core.links import make_consult_token, make_token
from core.services import Services
from models.backoffice import FollowUp
from models.consult import NewConsult, create_consult
from models.notices import publish
from models.people import add_staff, ensure_user, get_staff
from models.pushes import Push
from models.replies import CannedReply
from models.tickets import NewTicket, Ticket, TicketEvent, TicketPhoto, get_ticket
from tests.support.tickets import create_ticket

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "console-pass-1"
DORM = "东环校区宿舍维修"
FOOD = "饮食服务中心"
TOKEN_RE = re.compile(r'name="(?:[\w-]*-)?csrf_token"[^>]*value="([^"]+)"')
# name, role, categories, departments
STAFF = [
    ("管理员", "admin", [], []),
    ("王调度", "dispatcher", [DORM], [FOOD]),
    ("李师傅", "worker", [DORM], []),
]


# -- helpers (small copies: the other test modules are not imported) -----------------------------------------

class Console:
    """A staff member's browser over the test client, from one address."""

    def __init__(self, app: Flask, ip: str = "10.1.0.1") -> None:
        self.client: FlaskClient = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = ip

    def token(self, url: str = "/console/login") -> str:
        found = TOKEN_RE.search(self.client.get(url).get_data(as_text=True))
        assert found, url
        return found.group(1)

    def login(self, name: str, password: str = PASSWORD) -> TestResponse:
        return self.client.post("/console/login", data={"name": name, "password": password,
                                                        "csrf_token": self.token()})

    def post(self, url: str, data: dict[str, Any] | None = None) -> TestResponse:
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token("/console/")})


def seed_staff(services: Services) -> None:
    with services.db.session() as s:
        for name, role, categories, departments in STAFF:
            add_staff(s, name, role, PASSWORD, categories=categories, departments=departments)


def make_ticket(services: Services, *, openid: str = "o-sec", worker: str | None = "李师傅") -> str:
    with services.db.session() as s:
        ensure_user(s, openid)
        ticket, _ = create_ticket(s, NewTicket(
            openid=openid, person_id=None, category=DORM, group="给水", item="水龙头", campus="东环校区",
            building="学生公寓12栋", floor="5", room="502", place_note=None, description="水龙头一直在滴水",
            phone="13800000001", media_ids=(("MEDIA-SEC", None),)))
        if worker:
            s.execute(update(Ticket).where(Ticket.id == ticket.id)
                      .values(status="assigned", worker_id=get_staff(s, worker).id))
        return ticket.no


def replies_on(services: Services, no: str) -> int:
    with services.db.session() as s:
        t = get_ticket(s, no)
        return int(s.scalar(select(func.count(TicketEvent.id)).where(
            TicketEvent.ticket_id == t.id, TicketEvent.kind == "reply")) or 0)


@pytest.fixture
def staff(services: Services) -> None:
    seed_staff(services)


@pytest.fixture
def unhurried(app: Flask) -> None:
    """Lift the per-minute limit on login POSTs, for tests about the failure counters behind it."""
    app.config["CONSOLE_LOGIN_RATE"] = "1000 per minute"


# -- logout ends the session on the server ---------------------------------------------------------------

def test_a_cookie_copied_before_logout_cannot_post_replies(app: Flask, services: Services, staff: None) -> None:
    no = make_ticket(services)
    c = Console(app)
    assert c.login("王调度").status_code == 302
    token = c.token("/console/")
    copied = c.client.get_cookie("session")
    assert copied is not None
    assert c.post("/console/logout").status_code == 302
    thief = Console(app, ip="10.9.9.9")
    thief.client.set_cookie("session", copied.value)
    resp = thief.client.post(f"/console/tickets/{no}/reply", data={"text": "被盗的会话", "csrf_token": token})
    assert resp.status_code == 302 and "/console/login" in resp.headers["Location"]
    assert replies_on(services, no) == 0
    assert thief.client.get("/console/").status_code == 302


def test_logout_ends_the_accounts_other_sessions_and_a_new_login_works(app: Flask, services: Services,
                                                                       staff: None) -> None:
    office, phone = Console(app), Console(app, ip="10.1.0.2")
    assert office.login("王调度").status_code == 302 and phone.login("王调度").status_code == 302
    office.post("/console/logout")
    assert phone.client.get("/console/").status_code == 302  # logged out everywhere
    assert office.login("王调度").status_code == 302 and office.client.get("/console/").status_code == 200


def test_a_new_password_ends_the_old_sessions(app: Flask, services: Services, staff: None) -> None:
    c = Console(app)
    assert c.login("李师傅").status_code == 302
    with services.db.session() as s:
        version = get_staff(s, "李师傅").session_version
        add_staff(s, "李师傅", "worker", "another-pass-2", categories=[DORM])
    with services.db.session() as s:
        assert get_staff(s, "李师傅").session_version == version + 1
    assert c.client.get("/console/").status_code == 302


# -- Secure cookies, HSTS, CSP, no framing -----------------------------------------------------------------

def test_over_https_the_cookie_is_secure_and_hsts_is_sent(app: Flask, services: Services, staff: None) -> None:
    assert services.config.public_url.startswith("https://")
    c = Console(app)
    resp = c.login("管理员")
    assert "Secure" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]
    for url in ("/console/login", "/console/", "/notices", "/healthz"):
        assert c.client.get(url).headers.get("Strict-Transport-Security") == "max-age=31536000", url


def test_over_http_neither(services: Services, staff: None) -> None:
    app = create_app(services.config.override(public_url="http://127.0.0.1:5000"), services)
    c = Console(app)
    resp = c.login("管理员")
    assert "Secure" not in resp.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in c.client.get("/console/").headers


def _pages(app: Flask, services: Services) -> Iterator[tuple[str, TestResponse]]:
    """Every kind of page the app shows, as the people who see them would get them."""
    no = make_ticket(services)
    with services.db.session() as s:
        notice = publish(s, "停水通知", "正文", "staff:管理员").id
        ensure_user(s, "o-sec-c")
        consult = create_consult(s, NewConsult("o-sec-c", None, "标题", "投诉", FOOD, "内容", None, False)).no
    anonymous = app.test_client()
    for url in ("/console/login", "/notices", f"/notices/{notice}", "/notices/999999",
                f"/t/{make_token(services.config.secret_key, no)}", "/t/forged-token",
                f"/c/{make_consult_token(services.config.secret_key, consult)}", "/no/such/page"):
        yield url, anonymous.get(url)
    c = Console(app)
    assert c.login("管理员").status_code == 302
    for url in ("/console/", f"/console/tickets/{no}", "/console/staff", "/console/consults", "/console/no-such",
                "/console/static/console.js"):
        yield url, c.client.get(url)


def test_every_page_has_a_csp_without_inline_script_and_cannot_be_framed(app: Flask, services: Services,
                                                                         staff: None) -> None:
    for url, resp in _pages(app, services):
        csp = resp.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert directives.get("frame-ancestors") == ["'none'"], url
        assert directives.get("script-src") == ["'self'"], url
        assert resp.headers.get("X-Frame-Options") == "DENY", url
        assert resp.status_code != 500, url


def test_no_template_has_inline_script_or_event_handlers() -> None:
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    templates = [*ROOT.glob("bot/**/templates/**/*.html")]
    assert templates
    for path in templates:
        found = inline.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(ROOT)}: {found.group(0) if found else ''}"


# -- one password hash per login, whatever the name ----------------------------------------------------------

@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the password hashes computed (werkzeug hashes with scrypt or pbkdf2)."""
    calls: list[str] = []
    for fn in ("scrypt", "pbkdf2_hmac"):
        real = getattr(hashlib, fn)

        def counting(*args: Any, _real: Any = real, _fn: str = fn, **kw: Any) -> Any:
            calls.append(_fn)
            return _real(*args, **kw)

        monkeypatch.setattr(hashlib, fn, counting)
    return calls


def test_a_wrong_name_costs_the_same_hash_as_a_wrong_password(app: Flask, services: Services, staff: None,
                                                              hashes: list[str]) -> None:
    with services.db.session() as s:
        get_staff(s, "李师傅").active = False
    counts = {}
    for label, name, password in [("wrong password", "王调度", "wrong-pass"), ("unknown name", "没有这个人", "x" * 10),
                                  ("inactive", "李师傅", PASSWORD)]:
        c = Console(app, ip=f"10.2.0.{len(counts) + 1}")
        token = c.token()
        hashes.clear()
        resp = c.client.post("/console/login", data={"name": name, "password": password, "csrf_token": token})
        assert resp.status_code == 401, label
        counts[label] = list(hashes)
    assert counts["wrong password"] == counts["unknown name"] == counts["inactive"], counts
    assert len(counts["unknown name"]) == 1


# -- login limits that cannot lock staff out -----------------------------------------------------------------

def test_a_guesser_elsewhere_does_not_lock_the_name_out(app: Flask, staff: None) -> None:
    guesser = Console(app, ip="203.0.113.7")
    for _ in range(10):
        assert guesser.login("王调度", "wrong-pass").status_code == 401
    resp = guesser.login("王调度")
    assert resp.status_code == 429 and "15 分钟" in resp.get_data(as_text=True)
    assert Console(app, ip="10.1.0.9").login("王调度").status_code == 302  # the person at their desk


def test_a_known_good_address_still_logs_in_during_a_spread_attack(app: Flask, staff: None, unhurried: None) -> None:
    desk = Console(app, ip="10.1.0.5")
    assert desk.login("王调度").status_code == 302
    desk.post("/console/logout")
    for n in range(50):  # five guesses each from ten machines: under the per-address limit, over the per-name one
        assert Console(app, ip=f"198.51.100.{n // 5}").login("王调度", "wrong-pass").status_code == 401
    assert Console(app, ip="198.51.100.200").login("王调度").status_code == 429  # a new address: refused
    assert desk.login("王调度").status_code == 302  # the known desk: in


def test_one_address_trying_many_names_is_stopped(app: Flask, staff: None, unhurried: None) -> None:
    guesser = Console(app, ip="203.0.113.8")
    for n in range(30):
        assert guesser.login(f"猜的名字{n}", "wrong-pass").status_code == 401
    assert guesser.login("管理员").status_code == 429
    assert Console(app, ip="10.1.0.6").login("管理员").status_code == 302


def test_a_successful_login_forgets_the_failures(app: Flask, staff: None, unhurried: None) -> None:
    c = Console(app, ip="10.1.0.7")
    for _ in range(9):
        assert c.login("管理员", "typo-pass").status_code == 401
    assert c.login("管理员").status_code == 302
    c.post("/console/logout")
    for _ in range(9):
        assert c.login("管理员", "typo-pass").status_code == 401
    assert c.login("管理员").status_code == 302


def test_login_posts_from_one_address_are_slowed(app: Flask, staff: None) -> None:
    c = Console(app, ip="203.0.113.9")
    statuses = [c.login(f"名字{n}", "wrong-pass").status_code for n in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    resp = c.login("管理员")
    assert resp.status_code == 429 and "请稍等一分钟" in resp.get_data(as_text=True)
    assert Console(app, ip="10.1.0.8").login("管理员").status_code == 302  # another address: not slowed


def test_concurrent_wrong_passwords_cannot_exceed_the_limit(server: str, staff: None) -> None:
    """Thirty wrong passwords sent at once from one address: at most ten are checked, the rest refused."""
    sessions = []
    for _ in range(30):
        http = requests.Session()
        page = http.get(f"{server}/console/login", timeout=30)
        token = TOKEN_RE.search(page.text)
        assert token
        # requests leaves a Secure cookie out over http: send it by hand.
        sessions.append((http, token.group(1), page.cookies.get("session")))
    start = threading.Barrier(len(sessions))
    statuses: list[int] = []

    def guess(http: requests.Session, token: str, cookie: str) -> None:
        start.wait()
        resp = http.post(f"{server}/console/login", data={"name": "王调度", "password": "wrong-pass",
                                                          "csrf_token": token},
                         headers={"Cookie": f"session={cookie}"}, timeout=60)
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=guess, args=s) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(statuses) == 30 and set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 10, statuses


# -- the access matrix ------------------------------------------------------------------------------------------

# Who may reach each console endpoint.  A new route must be added here, or this test fails.
PUBLIC, STAFF_ONLY, MANAGERS, ADMINS = "public", "staff", "managers", "admins"
REACH = {
    "console.login": PUBLIC, "console.static": PUBLIC,
    "console.queue": STAFF_ONLY, "console.ticket": STAFF_ONLY, "console.move": STAFF_ONLY,
    "console.reply": STAFF_ONLY, "console.merge": MANAGERS, "console.downgrade": MANAGERS, "console.photo": STAFF_ONLY,
    "console.consults": STAFF_ONLY, "console.consult": STAFF_ONLY, "console.consult_reply": STAFF_ONLY,
    "console.consult_close": STAFF_ONLY, "console.nowhere": STAFF_ONLY, "console.logout": STAFF_ONLY,
    "console.failed_pushes": MANAGERS, "console.resend_push": MANAGERS,
    "console.staff": ADMINS, "console.replies": ADMINS, "console.reply_edit": ADMINS,
    "console.reply_delete": ADMINS, "console.notices": ADMINS, "console.notice_new": ADMINS,
    "console.notice": ADMINS, "console.notice_push": ADMINS, "console.notice_end": ADMINS,
    "console.consult_departments_page": ADMINS, "console.consult_departments_save": ADMINS,
    "console.queue_poll": STAFF_ONLY, "console.accept_assign": MANAGERS, "console.reply_move": ADMINS,
    "console.visit": MANAGERS, "console.followup_done": MANAGERS,
    "console.ledger": MANAGERS, "console.ledger_export": MANAGERS, "console.stats": MANAGERS,
}
ROLES = {"admin": "管理员", "dispatcher": "王调度", "worker": "李师傅", "anonymous": None}
REACHES = {"admin": {PUBLIC, STAFF_ONLY, MANAGERS, ADMINS}, "dispatcher": {PUBLIC, STAFF_ONLY, MANAGERS},
           "worker": {PUBLIC, STAFF_ONLY}, "anonymous": {PUBLIC}}
# Reached: shown, or acted on and sent back (302), or refused for the form or the object (400/404/409), or
# not this method (405).  Refused: 403, or 404 where the object's existence stays hidden.
REACHED = {200, 302, 303, 400, 404, 405, 409}
REFUSED = {403, 404, 405}


@pytest.fixture
def objects(services: Services, staff: None) -> dict[str, Any]:
    """One of everything a console URL can name, visible to every staff role where roles allow."""
    no = make_ticket(services)
    with services.db.session() as s:
        photo = s.scalars(select(TicketPhoto)).first()
        assert photo is not None
        ensure_user(s, "o-sec-c")
        consult = create_consult(s, NewConsult("o-sec-c", None, "标题", "投诉", FOOD, "内容", None, False))
        notice = publish(s, "停水通知", "正文", "staff:管理员")
        reply = CannedReply(status="accepted", text="已受理", position=0)
        push = Push(ticket_id=photo.ticket_id, openid="o-sec", kind="status", status="failed", payload={})
        task = FollowUp(ticket_id=photo.ticket_id, reason="low_rating", category=DORM, note="2 星：太慢")
        s.add_all([reply, push, task])
        s.flush()
        return {"no": no, "consult_no": consult.no, "photo_id": photo.id, "push_id": push.id, "reply_id": reply.id,
                "notice_id": notice.id, "staff_id": get_staff(s, "李师傅").id, "rest": "no-such-page",
                "filename": "console.js", "direction": "up", "followup_id": task.id, "fmt": "csv"}


def _url(app: Flask, rule: Any, objects: dict[str, Any]) -> str:
    values = {arg: objects["consult_no"] if arg == "no" and "consult" in rule.endpoint else objects[arg]
              for arg in rule.arguments}
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **values)


def _as_expected(role: str, endpoint: str, resp: TestResponse) -> bool:
    """Never a 500; anonymous: sent to log in, or refused, but for the public pages; staff: reached or
    refused as REACH says, and never sent back to log in (but by logging out)."""
    reached = REACH[endpoint] in REACHES[role]
    to_login = resp.status_code == 302 and "/console/login" in resp.headers["Location"]
    if resp.status_code == 500:
        return False
    if role == "anonymous":
        return to_login or resp.status_code in (403, 405) or (reached and resp.status_code in REACHED)
    if to_login:
        return endpoint == "console.logout"
    return resp.status_code in (REACHED if reached else REFUSED)


def test_every_console_route_answers_each_role_as_its_check_says(app: Flask, services: Services,
                                                                 objects: dict[str, Any]) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/console")]
    unknown = sorted({r.endpoint for r in rules} - set(REACH))
    assert not unknown, f"new console routes: say who may reach them in REACH (and check it in the view): {unknown}"
    # Logging out ends the session: last.
    rules.sort(key=lambda r: r.endpoint == "console.logout")
    problems = []
    for role, name in ROLES.items():
        c = Console(app, ip=f"10.3.0.{list(ROLES).index(role) + 1}")
        if name:
            assert c.login(name).status_code == 302, role
        data = {"csrf_token": c.token("/console/" if name else "/console/login")}  # past CSRF, to the checks
        for rule in rules:
            url = _url(app, rule, objects)
            for method in ("GET", "POST"):
                resp = c.client.open(url, method=method, data=data if method == "POST" else None)
                if not _as_expected(role, rule.endpoint, resp):
                    problems.append((role, method, url, resp.status_code))
    assert not problems, problems
