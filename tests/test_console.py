"""The staff console over Flask's test client: login, sessions, CSRF, who may see and do what, the queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import responses
from flask import Flask
from sqlalchemy import func, select

from core.services import Services
from models.people import add_staff
from models.pushes import Push
from models.replies import CannedReply
from models.tickets import TicketEvent, TicketPhoto, get_ticket
from tests.support.console import TOKEN_RE, Console, text
from tests.support.constants import DORM, JIANPAN, PASSWORD
from tests.support.people import CONSOLE_STAFF, seed_staff, staff_id
from tests.support.tickets import DESCRIPTION, make_ticket
from tests.support.wechat_api import sent_templates
from workers.sla import run_sla_sweep


def ticket_state(services: Services, no: str) -> tuple[str, int, int]:
    """A ticket's status, how many timeline events it has, and how many pushes."""
    with services.db.session() as s:
        t = get_ticket(s, no)
        events = s.scalar(select(func.count(TicketEvent.id)).where(TicketEvent.ticket_id == t.id)) or 0
        pushes = s.scalar(select(func.count(Push.id)).where(Push.ticket_id == t.id)) or 0
        return t.status, int(events), int(pushes)


# -- fixtures ------------------------------------------------------------------------------------------

@pytest.fixture
def staff(services: Services) -> None:
    seed_staff(services, CONSOLE_STAFF)


@pytest.fixture
def console(app: Flask, staff: None) -> Callable[[str | None], Console]:
    """A logged-in console for a staff name (None: not logged in); each call is a new browser."""

    def make(name: str | None = "管理员") -> Console:
        return Console.logged_in(app, name)

    return make


@pytest.fixture
def api(wechat_api: responses.RequestsMock) -> Iterator[responses.RequestsMock]:
    yield wechat_api


# -- login, sessions, CSRF -----------------------------------------------------------------------------

def test_console_needs_login(console: Callable[..., Console]) -> None:
    c = console(None)
    resp = c.get("/console/")
    assert resp.status_code == 302 and "/console/login" in resp.headers["Location"]
    page = text(c.get("/console/login"))
    assert "工作人员登录" in page and "请先登录" in page


def test_login_and_logout(console: Callable[..., Console]) -> None:
    c = console(None)
    resp = c.login("王调度")
    page = text(resp)
    assert resp.status_code == 200
    assert "欢迎，王调度（调度员）" in page and "工单队列" in page
    assert "账号" not in page.split("<main>")[0]  # no admin links in a dispatcher's header
    resp = c.post("/console/logout")
    assert "已退出登录" in text(resp)
    assert c.get("/console/").status_code == 302


def test_bad_password_and_unknown_name(console: Callable[..., Console]) -> None:
    c = console(None)
    resp = c.login("王调度", "wrong-password")
    assert resp.status_code == 401 and "姓名或密码不正确" in text(resp)
    resp = c.login("没有这个人", PASSWORD)
    assert resp.status_code == 401 and "姓名或密码不正确" in text(resp)
    assert c.get("/console/").status_code == 302


def test_repeated_bad_passwords_lock_the_account(console: Callable[..., Console]) -> None:
    c = console(None)
    for _ in range(10):
        assert c.login("赵调度", "wrong-password").status_code == 401
    resp = c.login("赵调度")
    assert resp.status_code == 429 and "15 分钟" in text(resp)
    assert console("王调度")  # another account is not affected


def test_login_follows_next_but_only_inside_the_console(console: Callable[..., Console],
                                                        services: Services) -> None:
    no = make_ticket(services)
    c = console(None)
    resp = c.get(f"/console/tickets/{no}")
    assert resp.status_code == 302
    login_url = resp.headers["Location"]
    token = TOKEN_RE.search(text(c.get(login_url)))
    assert token
    resp = c.client.post(login_url, data={"name": "管理员", "password": PASSWORD, "csrf_token": token.group(1)})
    assert resp.headers["Location"].endswith(f"/console/tickets/{no}")
    c2 = console(None)
    token = TOKEN_RE.search(text(c2.get("/console/login")))
    assert token
    resp = c2.client.post("/console/login?next=https://evil.example/x",
                          data={"name": "管理员", "password": PASSWORD, "csrf_token": token.group(1)})
    assert resp.headers["Location"].endswith("/console/")


def test_login_needs_the_csrf_token(console: Callable[..., Console]) -> None:
    c = console(None)
    resp = c.client.post("/console/login", data={"name": "管理员", "password": PASSWORD})
    assert resp.status_code == 400 and "刷新页面" in text(resp)
    assert c.get("/console/").status_code == 302


def test_every_console_post_needs_the_csrf_token(console: Callable[..., Console], services: Services) -> None:
    no = make_ticket(services)
    c = console("管理员")
    for url, data in [(f"/console/tickets/{no}/move", {"to": "accepted"}),
                      (f"/console/tickets/{no}/reply", {"text": "马上来"}),
                      (f"/console/tickets/{no}/merge", {"into": no}),
                      ("/console/replies", {"status": "accepted", "text": "已受理"}),
                      ("/console/logout", {})]:
        for token in (None, "forged-token"):
            data = dict(data, **({"csrf_token": token} if token else {}))
            resp = c.client.post(url, data=data)
            assert resp.status_code == 400, url
            assert "页面已过期或表单无效" in text(resp)
    assert ticket_state(services, no) == ("submitted", 1, 0)
    assert c.get("/console/").status_code == 200  # still logged in: the logout was refused too


def test_the_webhook_is_not_asked_for_a_csrf_token(app: Flask) -> None:
    client = app.test_client()
    # Unsigned: refused by the signature check (403), not by CSRF (400).
    assert client.post("/wechat", data=b"<xml></xml>").status_code == 403
    assert client.get("/healthz").status_code == 200


def test_idle_and_old_sessions_expire(console: Callable[..., Console]) -> None:
    c = console("王调度")
    with c.client.session_transaction() as sess:
        sess["seen_at"] = time.time() - 61 * 60
    resp = c.get("/console/", follow_redirects=True)
    assert "登录已过期" in text(resp) and "工作人员登录" in text(resp)
    c = console("王调度")
    assert c.get("/console/").status_code == 200
    with c.client.session_transaction() as sess:
        sess["login_at"] = time.time() - 8 * 3600 - 60
    assert "登录已过期" in text(c.get("/console/", follow_redirects=True))


def test_session_cookie_is_permanent_for_eight_hours(console: Callable[..., Console], app: Flask) -> None:
    assert app.permanent_session_lifetime == timedelta(hours=8)
    c = Console(app.test_client())
    resp = c.login("管理员", follow=False)
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_a_new_password_ends_old_sessions(console: Callable[..., Console], services: Services) -> None:
    c = console("李师傅")
    assert c.get("/console/").status_code == 200
    with services.db.session() as s:
        add_staff(s, "李师傅", "worker", "another-pass-2", categories=[DORM])
    assert c.get("/console/").status_code == 302


def test_inactive_staff_cannot_log_in(console: Callable[..., Console], services: Services) -> None:
    from models.people import get_staff
    with services.db.session() as s:
        get_staff(s, "孙师傅").active = False
    assert console(None).login("孙师傅").status_code == 401


# -- who sees what ------------------------------------------------------------------------------------------

def test_a_dispatcher_sees_only_their_categories(console: Callable[..., Console], services: Services) -> None:
    mine = make_ticket(services)
    theirs = make_ticket(services, category=JIANPAN, campus="箭盘校区", building="学生公寓1栋", room="501")
    c = console("王调度")
    assert c.queue(status="all") == [mine]
    assert c.get(f"/console/tickets/{mine}").status_code == 200
    resp = c.get(f"/console/tickets/{theirs}")
    assert resp.status_code == 404 and "找不到" in text(resp)
    for url, data in [(f"/console/tickets/{theirs}/move", {"to": "accepted"}),
                      (f"/console/tickets/{theirs}/reply", {"text": "看看"}),
                      (f"/console/tickets/{theirs}/merge", {"into": mine})]:
        assert c.post(url, data).status_code == 404, url
    # Nor can their ticket be reached through a merge of one of mine.
    page = text(c.post(f"/console/tickets/{mine}/merge", {"into": theirs}))
    assert f"找不到单号 {theirs}" in page
    assert ticket_state(services, theirs) == ("submitted", 1, 0)
    assert ticket_state(services, mine) == ("submitted", 1, 0)
    # The filters cannot widen the scope either.
    assert c.queue(status="all", category=JIANPAN) == []
    assert console("赵调度").queue() == [theirs]
    assert sorted(console("管理员").queue()) == sorted([mine, theirs])


def test_a_worker_sees_only_tickets_assigned_to_them(console: Callable[..., Console], services: Services) -> None:
    theirs = make_ticket(services, status="assigned", worker="李师傅")
    other = make_ticket(services, status="assigned", worker="孙师傅")
    waiting = make_ticket(services)
    c = console("李师傅")
    assert c.queue(status="all") == [theirs]
    assert c.get(f"/console/tickets/{other}").status_code == 404
    assert c.get(f"/console/tickets/{waiting}").status_code == 404
    page = text(c.get(f"/console/tickets/{theirs}"))
    assert "开始维修" in page and "维修完成" in page
    assert ">退回待指派<" not in page and ">改派<" not in page and "合并重复报修" not in page


def test_a_worker_cannot_accept_assign_reject_or_merge(console: Callable[..., Console],
                                                      services: Services) -> None:
    no = make_ticket(services, status="assigned", worker="李师傅")
    other = make_ticket(services)
    c = console("李师傅")
    for to, extra in [("accepted", {}), ("assigned", {"worker": "李师傅"}), ("rejected", {"note": "不修"}),
                      ("closed", {})]:
        resp = c.move(no, to, **extra)
        assert resp.status_code == 403 and "没有权限" in text(resp), to
    assert c.post(f"/console/tickets/{no}/merge", {"into": other}).status_code == 403
    assert ticket_state(services, no) == ("assigned", 1, 0)
    # What a worker may do: start, hold with a reason, resume, complete, reply.
    assert "已开始维修" in text(c.move(no, "in_progress"))
    assert "已暂时无法维修" in text(c.move(no, "on_hold", note="等配件"))
    assert "已恢复" in text(c.move(no, "in_progress"))
    assert "已维修完成" in text(c.move(no, "completed", note="换了阀芯"))
    assert "回复已发送" in text(c.post(f"/console/tickets/{no}/reply", {"text": "已修好，请验收"}))
    assert ticket_state(services, no)[0] == "completed"


def test_admin_pages_are_for_admins_only(console: Callable[..., Console]) -> None:
    for name in ("王调度", "李师傅"):
        c = console(name)
        for url in ("/console/staff", "/console/replies"):
            assert c.get(url).status_code == 403, (name, url)
        assert c.post("/console/staff", {"name": "黑客", "role": "admin", "password": "x" * 10,
                                         "confirm": "x" * 10}).status_code == 403
        assert c.post("/console/replies", {"status": "accepted", "text": "x"}).status_code == 403
    assert console("李师傅").get("/console/pushes/failed").status_code == 403
    admin = console("管理员")
    assert admin.get("/console/staff").status_code == 200
    assert admin.get("/console/replies").status_code == 200


# -- the queue --------------------------------------------------------------------------------------------

def test_queue_rows_and_order(console: Callable[..., Console], services: Services) -> None:
    old_accepted = make_ticket(services, status="accepted", age=timedelta(hours=50), description="灯不亮了很久")
    new = make_ticket(services, age=timedelta(minutes=10))
    late = make_ticket(services, age=timedelta(hours=3))
    c = console("王调度")
    assert c.queue() == [new, late, old_accepted]  # waiting for acceptance first, then newest first
    assert c.queue(overdue="1") == []  # late only once the SLA sweep has recorded it (every 5 minutes)
    run_sla_sweep(services)  # the register's limits: accept 2h, assign 4h
    page = text(c.get("/console/"))
    row = page.split(f">{late}<")[1].split("</tr>")[0]
    assert "东环校区 学生公寓12栋 5楼 502" in row and "给水/水龙头" in row
    assert "3 小时" in row and "提交维修单" in row and "受理超时" in row
    row = page.split(f">{old_accepted}<")[1].split("</tr>")[0]
    assert "2 天" in row and "维修单受理" in row and "指派超时" in row
    row = page.split(f">{new}<")[1].split("</tr>")[0]
    assert "10 分钟" in row and "超时" not in row
    assert c.queue(overdue="1") == [late, old_accepted]


def test_a_search_lists_the_newest_page_and_says_there_are_more(console: Callable[..., Console],
                                                                  services: Services) -> None:
    old = make_ticket(services, status="closed", age=timedelta(days=400), description="门锁坏了 老的")
    newest = [make_ticket(services, status="closed", age=timedelta(hours=60 - i), description=f"门锁坏了 {i}")
              for i in range(51)]
    c = console("管理员")
    found = c.queue(q="门锁", status="all")
    assert len(found) == 50 and set(found) == set(newest[1:])  # the newest page, the rest left out
    page = text(c.get("/console/", query_string={"q": "门锁", "status": "all"}))
    assert "符合的超过 50 单，只列出最新的 50 单" in page
    assert c.queue(q="老的", status="all") == [old]  # a rare word is found however old


def test_queue_filters(console: Callable[..., Console], services: Services) -> None:
    a = make_ticket(services, description="水龙头关不紧")
    b = make_ticket(services, status="assigned", worker="李师傅", building="学生公寓3栋", room="301",
                    group="照明", item="灯管", description="灯管闪烁")
    c_ = make_ticket(services, status="closed", age=timedelta(days=10), building="学生公寓3栋", room="302")
    d = make_ticket(services, category="东环校区公共区域物业维修", building="第五教学楼", floor="1", room=None,
                    group="排水", item="便盆", description="卫生间便盆堵了")
    e = make_ticket(services, category=JIANPAN, campus="箭盘校区", building="学生公寓1栋", room="101")
    c = console("管理员")
    assert set(c.queue()) == {a, b, d, e}  # open by default
    assert set(c.queue(status="all")) == {a, b, c_, d, e}
    assert c.queue(status="closed") == [c_]
    assert c.queue(status="assigned") == [b]
    assert set(c.queue(category=DORM)) == {a, b}
    assert c.queue(campus="箭盘校区") == [e]
    assert set(c.queue(status="all", building="学生公寓3栋")) == {b, c_}
    assert c.queue(worker=str(staff_id(services, "李师傅"))) == [b]
    assert set(c.queue(worker="none")) == {a, d, e}
    assert c.queue(q="便盆") == [d]
    assert c.queue(q="闪烁") == [b]
    assert c.queue(q=a) == [a]  # a ticket number
    assert c.queue(q="100%_") == []  # LIKE wildcards are searched for literally
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert c_ not in c.queue(status="all", since=(today - timedelta(days=1)).isoformat())
    assert c.queue(status="all", until=(today - timedelta(days=5)).isoformat()) == [c_]
    # Bad values are ignored, not errors.
    assert set(c.queue(status="nonsense", since="yesterday", page="x")) == {a, b, d, e}


# -- actions ---------------------------------------------------------------------------------------------

def test_the_whole_repair_from_the_console(console: Callable[..., Console], services: Services,
                                           api: responses.RequestsMock, run_jobs: Callable[[], int]) -> None:
    no = make_ticket(services, openid="o-reporter")
    c = console("王调度")
    page = text(c.get(f"/console/tickets/{no}"))
    assert ">受理<" in page and ">驳回<" in page and ">维修完成<" not in page
    steps = [("accepted", {}, "已受理", "维修单受理"),
             ("assigned", {"worker": "李师傅"}, "已指派", "指派维修"),
             ("in_progress", {}, "已开始维修", "维修中"),
             ("completed", {"note": "已更换水龙头阀芯"}, "已维修完成", "维修完成")]
    for n, (to, fields, flash, zh) in enumerate(steps, start=1):
        page = text(c.move(no, to, **fields))
        assert f"{no}：{flash}，当前状态「{zh}」" in page
        run_jobs()
        sent = sent_templates(api)
        assert len(sent) == n
        assert sent[-1]["touser"] == "o-reporter" and sent[-1]["template_id"] == "TPL-TICKET"
    t_page = text(c.get(f"/console/tickets/{no}"))
    assert "李师傅" in t_page and "已更换水龙头阀芯" in t_page and "已发送" in t_page
    with services.db.session() as s:
        t = get_ticket(s, no)
        assert [e.by for e in t.events][1:] == ["staff:王调度"] * 4
        assert t.worker is not None and t.worker.name == "李师傅"


def test_an_illegal_move_is_a_message_not_an_error(console: Callable[..., Console], services: Services) -> None:
    no = make_ticket(services)
    c = console("管理员")
    resp = c.move(no, "completed", note="好了")
    page = text(resp)
    assert resp.status_code == 200
    assert f"{no} 当前状态为「提交维修单」，不能「维修完成」。当前可进行：受理、驳回" in page
    assert c.move(no, "nonsense").status_code == 200
    closed = make_ticket(services, status="closed")
    assert "当前可进行：无（工单已结束）" in text(c.move(closed, "accepted"))
    assert ticket_state(services, no) == ("submitted", 1, 0)
    assert ticket_state(services, closed) == ("closed", 1, 0)


def test_reasons_and_workers_are_checked(console: Callable[..., Console], services: Services) -> None:
    no = make_ticket(services, status="accepted")
    c = console("王调度")
    assert "「暂时无法维修」需要填写原因" in text(c.move(no, "on_hold", note="  "))
    assert "「驳回」需要填写原因" in text(c.move(no, "rejected"))
    assert "请选择一位维修工" in text(c.move(no, "assigned"))
    assert f"钱师傅 不是负责「{DORM}」的维修工" in text(c.move(no, "assigned", worker="钱师傅"))
    assert "不是负责" in text(c.move(no, "assigned", worker="王调度"))
    assert ticket_state(services, no) == ("accepted", 1, 0)
    page = text(c.get(f"/console/tickets/{no}"))
    worker_select = page.split('name="worker"')[1].split("</select>")[0]
    assert "李师傅" in worker_select and "孙师傅" in worker_select and "钱师傅" not in worker_select


def test_a_reply_reaches_the_reporter_as_a_push(console: Callable[..., Console], services: Services,
                                               api: responses.RequestsMock, run_jobs: Callable[[], int]) -> None:
    no = make_ticket(services, openid="o-replied")
    c = console("王调度")
    assert "回复内容不能为空" in text(c.post(f"/console/tickets/{no}/reply", {"text": "   "}))
    page = text(c.post(f"/console/tickets/{no}/reply", {"text": "师傅明天上午到，请留人开门"}))
    assert f"{no}：回复已发送给报修人" in page
    assert run_jobs() == 1
    sent = sent_templates(api)
    assert len(sent) == 1
    assert sent[0]["template_id"] == "TPL-REPLY" and sent[0]["touser"] == "o-replied"
    assert sent[0]["data"]["thing2"]["value"] == "师傅明天上午到，请留人开门"
    with services.db.session() as s:
        push = s.scalars(select(Push)).one()
        assert (push.kind, push.status, push.msgid) == ("reply", "sent", "1001")
    page = text(c.get(f"/console/tickets/{no}"))
    assert "工作人员回复" in page and "师傅明天上午到" in page and "已发送" in page


def test_merge_into_another_ticket(console: Callable[..., Console], services: Services) -> None:
    first = make_ticket(services, openid="o-first", status="accepted")
    dup = make_ticket(services, openid="o-dup")
    c = console("王调度")
    assert "找不到单号 R000000000" in text(c.post(f"/console/tickets/{dup}/merge", {"into": "R000000000"}))
    assert "不能把工单合并到它自己" in text(c.post(f"/console/tickets/{dup}/merge", {"into": dup}))
    closed = make_ticket(services, status="closed")
    assert f"{closed} 已结束" in text(c.post(f"/console/tickets/{dup}/merge", {"into": closed}))
    page = text(c.post(f"/console/tickets/{dup}/merge", {"into": first.lower()}))
    assert f"{dup} 已合并到 {first}" in page
    with services.db.session() as s:
        t = get_ticket(s, dup)
        assert (t.status, t.merged_into) == ("rejected", first)
    assert "不能合并" in text(c.post(f"/console/tickets/{dup}/merge", {"into": first}))


def test_canned_replies_are_edited_by_admins_and_offered_by_status(console: Callable[..., Console],
                                                                   services: Services) -> None:
    admin = console("管理员")
    page = text(admin.post("/console/replies", {"status": "on_hold", "text": "等待配件到货，预计两天",
                                                "position": "1"}))
    assert "已添加常用回复" in page and "等待配件到货" in page
    admin.post("/console/replies", {"status": "submitted", "text": "已收到，尽快安排"})
    with services.db.session() as s:
        rows = {r.text: r.id for r in s.scalars(select(CannedReply))}
    rid = rows["等待配件到货，预计两天"]
    page = text(admin.post(f"/console/replies/{rid}", {f"r{rid}-status": "on_hold",
                                                       f"r{rid}-text": "等待配件到货", f"r{rid}-position": "2"}))
    assert "已保存常用回复" in page
    no = make_ticket(services, status="accepted")
    page = text(console("王调度").get(f"/console/tickets/{no}"))
    hold_form = page.split("act-on_hold")[1].split("</form>")[0]
    assert 'value="等待配件到货"' in hold_form
    no2 = make_ticket(services)
    page = text(console("王调度").get(f"/console/tickets/{no2}"))
    assert 'value="已收到，尽快安排"' in page.split("回复报修人")[1]
    page = text(admin.post(f"/console/replies/{rid}/delete"))
    assert "已删除常用回复" in page
    with services.db.session() as s:
        assert s.scalar(select(func.count(CannedReply.id))) == 1


# -- staff accounts --------------------------------------------------------------------------------------

def test_admin_adds_a_staff_account(console: Callable[..., Console], services: Services) -> None:
    admin = console("管理员")
    page = text(admin.get("/console/staff"))
    assert "王调度" in page and "调度员" in page and DORM in page and JIANPAN in page
    form = {"name": "周师傅", "role": "worker", "categories": [DORM, JIANPAN], "phone": "13900000009",
            "openid": "o-zhou", "password": "zhou-pass-1", "confirm": "zhou-pass-1"}
    page = text(admin.post("/console/staff", form))
    assert "已添加账号：周师傅（维修工）" in page
    from models.people import get_staff
    with services.db.session() as s:
        zhou = get_staff(s, "周师傅")
        assert (zhou.role, zhou.categories, zhou.phone, zhou.openid) == \
            ("worker", [DORM, JIANPAN], "13900000009", "o-zhou")
    assert "已有名为「周师傅」的账号" in text(admin.post("/console/staff", form))
    assert "已更新账号" in text(admin.post("/console/staff", dict(form, update="y", role="dispatcher")))
    assert "欢迎，周师傅（调度员）" in text(console(None).login("周师傅", "zhou-pass-1"))
    page = text(admin.post("/console/staff", dict(form, name="短密码", password="short", confirm="short")))
    assert "密码至少 8 位" in page
    page = text(admin.post("/console/staff", dict(form, name="不一致", confirm="other-pass-1")))
    assert "两次输入的密码不一致" in page
    page = text(admin.post("/console/staff", dict(form, name="坏类型", categories=["不存在的类型"])))
    assert "表单有误" in page
    with services.db.session() as s:
        names = set(s.scalars(select(ticket_staff_name())))
    assert not names & {"短密码", "不一致", "坏类型"}


def ticket_staff_name() -> Any:
    from models.people import Staff
    return Staff.name


# -- failed pushes and photos ------------------------------------------------------------------------

def _failed_push(services: Services, no: str, errcode: int = 43004) -> int:
    with services.db.session() as s:
        t = get_ticket(s, no)
        push = Push(ticket_id=t.id, openid=t.openid, kind="status", template_id="TPL-TICKET",
                    payload={"character_string1": {"value": no}}, status="failed", errcode=errcode,
                    error="require subscribe", attempts=1)
        s.add(push)
        s.flush()
        return push.id


def test_failed_pushes_by_scope_and_resend(console: Callable[..., Console], services: Services,
                                           api: responses.RequestsMock, run_jobs: Callable[[], int]) -> None:
    mine = make_ticket(services, openid="o-failed")
    theirs = make_ticket(services, category=JIANPAN, campus="箭盘校区", building="学生公寓1栋", room="101")
    mine_push, theirs_push = _failed_push(services, mine), _failed_push(services, theirs, 40003)
    page = text(console("王调度").get("/console/pushes/failed"))
    assert mine in page and "43004" in page and theirs not in page
    page = text(console("管理员").get("/console/pushes/failed"))
    assert mine in page and theirs in page and "40003" in page
    c = console("王调度")
    assert c.post(f"/console/pushes/{theirs_push}/resend").status_code == 404
    assert "已重新排队发送" in text(c.post(f"/console/pushes/{mine_push}/resend"))
    assert run_jobs() == 1
    assert len(sent_templates(api)) == 1
    with services.db.session() as s:
        assert s.get(Push, mine_push).status == "sent"  # type: ignore[union-attr]
        assert s.get(Push, theirs_push).status == "failed"  # type: ignore[union-attr]
    page = text(c.get(f"/console/tickets/{mine}"))
    assert "已发送" in page


def test_photos_are_served_only_to_staff_who_see_the_ticket(console: Callable[..., Console],
                                                            services: Services, tmp_path: Path) -> None:
    no = make_ticket(services)
    media = services.config.media_dir / no
    media.mkdir(parents=True)
    (media / "1.png").write_bytes(b"\x89PNG\r\n\x1a\nphoto")
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG secret")
    with services.db.session() as s:
        t = get_ticket(s, no)
        saved = TicketPhoto(ticket_id=t.id, media_id="M1", path=str(media / "1.png"), status="saved")
        pending = TicketPhoto(ticket_id=t.id, media_id="M2")
        sneaky = TicketPhoto(ticket_id=t.id, media_id="M3", path=str(outside), status="saved")
        s.add_all([saved, pending, sneaky])
        s.flush()
        ids = saved.id, pending.id, sneaky.id
    c = console("王调度")
    page = text(c.get(f"/console/tickets/{no}"))
    assert f'src="/console/photos/{ids[0]}"' in page and "照片下载中（待处理）" in page
    resp = c.get(f"/console/photos/{ids[0]}")
    assert resp.status_code == 200 and resp.data.startswith(b"\x89PNG")
    assert c.get(f"/console/photos/{ids[1]}").status_code == 404
    assert c.get(f"/console/photos/{ids[2]}").status_code == 404  # a path outside the media folder
    assert console("赵调度").get(f"/console/photos/{ids[0]}").status_code == 404
    assert console(None).get(f"/console/photos/{ids[0]}").status_code == 302


def test_ticket_page_shows_everything(console: Callable[..., Console], services: Services,
                                      api: responses.RequestsMock, run_jobs: Callable[[], int]) -> None:
    no = make_ticket(services, openid="o-all", status="completed", worker="李师傅")
    from core.actions import rate, reporter_message
    reporter_message(services, no, "o-all", "师傅来的时候请打电话")
    rate(services, no, "o-all", 5, "很快就修好了")
    page = text(console("管理员").get(f"/console/tickets/{no}"))
    for expected in ("东环校区 学生公寓12栋 5楼 502", "给水/水龙头", DESCRIPTION, "13800000001",
                     "李师傅", "报修人留言", "师傅来的时候请打电话", "已销单", "★★★★★", "很快就修好了",
                     "提交维修单", "没有照片", "还没有推送"):
        assert expected in page, expected
    assert "当前状态下您没有可进行的操作" in page
