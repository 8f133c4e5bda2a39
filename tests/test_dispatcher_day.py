"""The dispatcher's day over HTTP: the queue's poll, 返修 marks, the type and reporter columns, 受理并指派,
a merge across buildings (confirmed first, and the student told 已合并), and canned replies per category."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
import responses
from flask import Flask
from sqlalchemy import select, update

from core import actions
from core.links import ticket_link
from core.services import Services
from devtools.demo import demo_replies
from models.people import Person
from models.pushes import Push, custom_text
from models.replies import CannedReply, seed_canned
from models.tickets import Ticket, get_ticket
from tests.support.console import Console, text
from tests.support.constants import DORM, JIANPAN
from tests.support.people import CONSOLE_STAFF, seed_staff
from tests.support.tickets import make_ticket
from tests.support.wechat_api import sent_templates

PAGE_MARKS = re.compile(r'data-since="(\d+)" data-version="([^"]+)"')


@pytest.fixture
def console(app: Flask, services: Services) -> Callable[..., Console]:
    seed_staff(services, CONSOLE_STAFF)
    return lambda name="王调度": Console.logged_in(app, name)


def row_of(page: str, no: str) -> str:
    return page.split(f">{no}<")[1].split("</tr>")[0]


def poll(c: Console, since: str, v: str, **args: str) -> dict[str, Any]:
    resp = c.get("/console/queue/poll", query_string={"since": since, "v": v, **args})
    assert resp.status_code == 200 and resp.is_json
    data: dict[str, Any] = resp.get_json()
    return data


# -- the queue refreshes itself --------------------------------------------------------------------------

def test_the_queue_poll_brings_new_tickets_and_says_how_many(console: Callable[..., Console],
                                                             services: Services) -> None:
    make_ticket(services, description="早上的报修")
    c = console()
    marks = PAGE_MARKS.search(text(c.get("/console/")))
    assert marks
    since, v = marks.groups()
    assert poll(c, since, v) == {"same": True, "new": 0, "version": v}  # nothing changed: a few bytes

    new = make_ticket(services, description="新来的报修")
    make_ticket(services, category=JIANPAN, campus="箭盘校区", building="学生公寓1栋", room="101")  # not theirs
    data = poll(c, since, v)
    assert data["same"] is False and data["new"] == 1 and data["total"] == 2
    assert data["counts"]["submitted"] == 2
    row = row_of(data["rows"], new)
    assert ">新<" in row and "新来的报修" in row
    assert poll(c, since, data["version"])["same"] is True
    # A move changes the queue too (the count of new tickets stays what it was).
    c.move(new, "accepted")
    moved = poll(c, since, data["version"])
    assert moved["same"] is False and moved["new"] == 1 and moved["counts"]["accepted"] == 1
    # Filters are the page's own: the poll gives the rows of the same view.
    assert new not in poll(c, since, "", status="submitted")["rows"]


def test_an_expired_session_polls_into_the_login_page(app: Flask, services: Services) -> None:
    resp = Console.logged_in(app, None).get("/console/queue/poll?since=1&v=x")
    assert resp.status_code in (302, 303) and "/console/login" in resp.headers["Location"]


# -- type, reporter and 返修 ---------------------------------------------------------------------------------

def test_the_queue_shows_type_reporter_and_rework(console: Callable[..., Console], services: Services) -> None:
    with services.db.session() as s:
        zhang = s.scalars(select(Person).where(Person.name == "张三")).one().id
    named = make_ticket(services, person_id=zhang)
    anonymous = make_ticket(services, openid="o-unbound")
    sent_back = make_ticket(services, openid="o-back", moved_to="completed")
    actions.rework(services, sent_back, "o-back", "还在滴水")
    visited = make_ticket(services, status="accepted")
    with services.db.session() as s:
        s.execute(update(Ticket).where(Ticket.no == visited).values(reworks=1))  # an unsatisfied return visit
    page = text(console().get("/console/"))
    assert "<th>类型</th>" in page and "<th>报修人</th>" in page
    row = row_of(page, named)
    assert DORM in row and "张*" in row and "张三" not in row
    assert "报修人" in row_of(page, anonymous)
    for no in (sent_back, visited):
        assert "返修" in row_of(page, no)
    for no in (named, anonymous):
        assert "返修" not in row_of(page, no)
    assert 'badge rework">返修' in text(console().get(f"/console/tickets/{sent_back}"))


# -- 受理并指派 ----------------------------------------------------------------------------------------------

def test_accept_and_assign_is_one_action(console: Callable[..., Console], services: Services,
                                         wechat_api: responses.RequestsMock, run_jobs: Callable[[], int]) -> None:
    no = make_ticket(services, openid="o-reporter")
    c = console()
    page = text(c.get(f"/console/tickets/{no}"))
    form = page.split("act-accept-assign")[1].split("</form>")[0]
    assert "李师傅" in form and "受理并指派" in form and "钱师傅" not in form
    assert "不是负责" in text(c.post(f"/console/tickets/{no}/accept-assign", {"worker": "钱师傅"}))
    assert "请选择一位维修工" in text(c.post(f"/console/tickets/{no}/accept-assign", {"worker": ""}))
    assert get_status(services, no) == "submitted"

    page = text(c.post(f"/console/tickets/{no}/accept-assign", {"worker": "李师傅", "note": "下午上门"}))
    assert f"{no}：已受理并指派给 李师傅，当前状态「指派维修」" in page, re.findall(r"flash .*", page)
    with services.db.session() as s:
        t = get_ticket(s, no)
        assert [(e.status, e.by) for e in t.events] == [
            ("submitted", "user:o-reporter"), ("accepted", "staff:王调度"), ("assigned", "staff:王调度")]
        assert t.events[-1].note == "下午上门" and t.worker is not None and t.worker.name == "李师傅"
    assert run_jobs() == 2
    sent = sent_templates(wechat_api)
    assert [m["touser"] for m in sent] == ["o-reporter", "o-reporter"]
    assert [m["data"]["phrase2"]["value"] for m in sent] == ["维修单受理", "指派维修"]
    # Done once: the ticket has moved on, and a worker may not do it at all.
    assert "不能「受理并指派」" in text(c.post(f"/console/tickets/{no}/accept-assign", {"worker": "孙师傅"}))
    assert "act-accept-assign" not in text(c.get(f"/console/tickets/{no}"))
    other = make_ticket(services, status="submitted", worker="李师傅")
    assert console("李师傅").post(f"/console/tickets/{other}/accept-assign", {"worker": "李师傅"}).status_code == 403


def get_status(services: Services, no: str) -> str:
    with services.db.session() as s:
        return get_ticket(s, no).status


# -- merging across buildings ------------------------------------------------------------------------------

def test_a_merge_across_buildings_is_confirmed_and_the_student_is_told_merged(
        console: Callable[..., Console], services: Services, wechat_api: responses.RequestsMock,
        run_jobs: Callable[[], int]) -> None:
    first = make_ticket(services, openid="o-first", status="accepted")
    dup = make_ticket(services, openid="o-dup", building="学生公寓3栋", room="301")
    c = console()
    page = text(c.post(f"/console/tickets/{dup}/merge", {"into": first}))
    assert "不在同一栋楼" in page and f"确认合并到 {first}" in page
    assert "学生公寓3栋" in page and "学生公寓12栋" in page
    assert get_status(services, dup) == "submitted"  # nothing happened yet

    page = text(c.post(f"/console/tickets/{dup}/merge", {"into": first, "confirm": "1"}))
    assert f"{dup} 已合并到 {first}" in page
    run_jobs()
    told = [m for m in sent_templates(wechat_api) if m["touser"] == "o-dup"]
    assert len(told) == 1
    data = json.dumps(told[0]["data"], ensure_ascii=False)
    assert told[0]["data"]["phrase2"]["value"] == "已合并"
    assert told[0]["data"]["thing3"]["value"] == f"已合并到 {first}"
    assert "驳回" not in data
    # The text that stands in for the template (outside its reach) says the same.
    with services.db.session() as s:
        push = s.scalars(select(Push).where(Push.openid == "o-dup")).one()
        said = custom_text(s, push.kind, push.ticket_id, push.event_id, push.payload, link="")
    assert f"已合并到 {first}" in said and "驳回" not in said
    # So does their ticket's page (the link in the push), and the console says 已合并 as well.
    page = text(c.get(urlparse(ticket_link(services.config, dup)).path))
    assert "已合并" in page and f"此单已合并到 {first}" in page and "驳回" not in page
    assert 'st-rejected">已合并<' in text(c.get(f"/console/tickets/{dup}"))


def test_a_merge_in_the_same_building_needs_no_confirmation(console: Callable[..., Console],
                                                            services: Services) -> None:
    first = make_ticket(services, status="accepted")
    dup = make_ticket(services, openid="o-dup", room="503")
    assert f"{dup} 已合并到 {first}" in text(console().post(f"/console/tickets/{dup}/merge", {"into": first}))


# -- canned replies per category and status -------------------------------------------------------------------

def canned_ids(services: Services) -> dict[str, int]:
    with services.db.session() as s:
        return {r.text: r.id for r in s.scalars(select(CannedReply))}


def offered(c: Console, no: str, to: str) -> list[str]:
    form = text(c.get(f"/console/tickets/{no}")).split(f"act-{to}")[1].split("</form>")[0]
    return re.findall(r'<option value="([^"]+)">', form.split('class="canned"')[1].split("</select>")[0])


def test_canned_replies_per_category_are_managed_and_offered(console: Callable[..., Console],
                                                             services: Services) -> None:
    admin = console("管理员")
    page = text(admin.get("/console/replies"))
    assert "全部类型" in page and DORM in page and JIANPAN in page
    for category, reply in (("", "等待配件到货"), (DORM, "宿舍需留人开门"), (JIANPAN, "箭盘校区配件在途")):
        page = text(admin.post("/console/replies", {"status": "on_hold", "category": category, "text": reply}))
        assert "已添加常用回复" in page
    assert "没有维修类型「不存在的类型」" in text(admin.post("/console/replies", {
        "status": "on_hold", "category": "不存在的类型", "text": "x"}))
    ids = canned_ids(services)
    assert "x" not in ids

    dorm = make_ticket(services, status="accepted")
    dispatcher = console()
    assert offered(dispatcher, dorm, "on_hold") == ["等待配件到货", "宿舍需留人开门"]
    admin.post(f"/console/replies/{ids['宿舍需留人开门']}/up")
    assert offered(dispatcher, dorm, "on_hold") == ["宿舍需留人开门", "等待配件到货"]
    assert "已调整常用回复的顺序" in text(admin.post(f"/console/replies/{ids['宿舍需留人开门']}/up"))  # already first

    rid = ids["箭盘校区配件在途"]
    page = text(admin.post(f"/console/replies/{rid}", {f"r{rid}-status": "on_hold", f"r{rid}-category": "",
                                                       f"r{rid}-text": "配件在途", f"r{rid}-position": "9"}))
    assert "已保存常用回复" in page
    assert offered(dispatcher, dorm, "on_hold") == ["宿舍需留人开门", "等待配件到货", "配件在途"]
    admin.post(f"/console/replies/{ids['宿舍需留人开门']}/delete")
    assert offered(dispatcher, dorm, "on_hold") == ["等待配件到货", "配件在途"]
    assert dispatcher.post(f"/console/replies/{rid}/down").status_code == 403


def test_the_demo_ships_canned_replies(services: Services) -> None:
    register = services.register()
    assert register is not None
    rows = demo_replies(register)
    assert {r["status"] for r in rows} >= {"submitted", "on_hold", "completed"}
    with services.db.session() as s:
        assert seed_canned(s, rows) == len(rows)
        assert seed_canned(s, rows) == 0  # once: an office's own replies are never added to
