"""网上咨询 and 通知公告 in a real browser against the app over real HTTP.

An admin publishes a notice about a dormitory (a wrong end time is refused first), pushes it to the
residents, and the chat's 通知公告 then returns it as a news article.  A student files an anonymous
complaint through the chat; the staffer of that department finds it, replies (one template push to the
sender, sent by the RQ worker) and closes it; the sender's page shows the reply; a staffer of another
department cannot open it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import responses
from playwright.sync_api import expect

from core.links import consult_link
from core.services import Services
from devtools.chat import WeChatUser
from models.clock import now
from models.consult import get_consult
from models.notices import publish
from tests.support.console import log_in_page
from tests.support.constants import ESTATE, FOOD
from tests.support.consults import make_consult
from tests.support.people import DESK_STAFF, make_resident, seed_staff
from tests.support.wechat_api import sent_templates

CHINA = ZoneInfo("Asia/Shanghai")
INPUT = "%Y-%m-%dT%H:%M"


def test_an_admin_publishes_and_pushes_a_notice(
        new_page: Callable[..., Any], server: str, services: Services, wechat: Callable[..., WeChatUser],
        wechat_api: responses.RequestsMock, run_jobs: Callable[[], int], shots: Path) -> None:
    seed_staff(services, DESK_STAFF)
    for openid in ("o-res-1", "o-res-2"):
        make_resident(services, openid, "学生公寓12栋", floor="3", room="301")
    make_resident(services, "o-res-other", "学生公寓3栋", floor="3", room="301")
    with services.db.session() as s:
        publish(s, "上周停电", "箭盘校区上周六 8:00-12:00 停电检修。", "staff:管理员", campus="箭盘校区",
                starts_at=now() - timedelta(days=8), ends_at=now() - timedelta(days=7))
    start = datetime.now(CHINA) - timedelta(minutes=30)
    end = start + timedelta(hours=5)

    page = new_page()
    log_in_page(page, server, "管理员")
    page.locator("header nav").get_by_role("link", name="通知公告").click()
    expect(page.locator("h1")).to_contain_text("通知公告")
    expect(page.locator("table.notices")).to_contain_text("上周停电")
    page.get_by_role("link", name="发布通知").click()
    page.get_by_label("标题").fill("学生公寓12栋停水检修")
    page.get_by_label("正文").fill("因供水管道检修，学生公寓12栋今天停水约 5 小时，请提前储水。\n"
                                   "恢复供水后请先放水 1 分钟。")
    page.get_by_label("开始时间").fill(start.strftime(INPUT))
    page.get_by_label("结束时间").fill((start - timedelta(hours=1)).strftime(INPUT))  # before the start
    east = page.locator("details.campus", has_text="东环校区")
    east.locator("summary").click()
    east.get_by_label("学生公寓12栋", exact=True).check()
    page.locator("fieldset", has_text="涉及的维修类别").get_by_label("给水").check()
    page.screenshot(path=str(shots / "console-notice-form.png"), full_page=True)
    page.get_by_role("button", name="发布").click()
    expect(page.locator(".flash.error")).to_contain_text("结束时间必须晚于开始时间")
    expect(page.get_by_label("标题")).to_have_value("学生公寓12栋停水检修")  # nothing typed is lost
    expect(east.get_by_label("学生公寓12栋", exact=True)).to_be_checked()
    page.get_by_label("结束时间").fill(end.strftime(INPUT))
    page.get_by_role("button", name="发布").click()
    expect(page.locator(".flash.success")).to_contain_text("已发布通知「学生公寓12栋停水检修」")
    expect(page.locator("h1 .badge")).to_have_text("生效中")
    expect(page.locator("dl.facts")).to_contain_text("东环校区：学生公寓12栋")
    expect(page.locator("dl.facts")).to_contain_text(end.strftime("%Y-%m-%d %H:%M"))
    expect(page.locator(".audience")).to_have_text("2")

    page.get_by_role("button", name="推送给住户").click()
    expect(page.locator(".flash.success")).to_contain_text("共 2 位用户")
    expect(page.locator(".count-pending")).to_have_text("2")
    run_jobs()
    page.reload()
    expect(page.locator(".count-sent")).to_have_text("2")
    expect(page.locator(".count-failed")).to_have_text("0")
    expect(page.locator(".count-pending")).to_have_text("0")
    page.screenshot(path=str(shots / "console-notice.png"), full_page=True)
    sent = sent_templates(wechat_api)
    assert sorted(m["touser"] for m in sent) == ["o-res-1", "o-res-2"]
    assert {m["template_id"] for m in sent} == {"TPL-REPLY"}
    page.locator("header nav").get_by_role("link", name="通知公告").click()
    row = page.locator("table.notices tbody tr", has_text="学生公寓12栋停水检修")
    expect(row).to_contain_text("生效中")
    expect(row).to_contain_text("已发送 2 / 失败 0 / 待发送 0")
    expect(page.locator("table.notices tbody tr", has_text="上周停电")).to_contain_text("已结束")
    page.screenshot(path=str(shots / "console-notices.png"), full_page=True)

    # The chat's 通知公告 answers with it as a news article, which opens its public page.
    articles = wechat("o-reader").click("NOTICES").articles
    assert articles[0]["Title"] == "学生公寓12栋停水检修"
    url = articles[0]["Url"]
    assert url.startswith("https://repair.example.edu/notices/")
    phone = new_page(phone=True)
    phone.goto(server + url.removeprefix("https://repair.example.edu"))
    expect(phone.locator("h1")).to_contain_text("学生公寓12栋停水检修")
    expect(phone.locator(".notice-body")).to_contain_text("恢复供水后请先放水 1 分钟")
    expect(phone.locator("h1 .tag")).to_have_text("生效中")
    phone.screenshot(path=str(shots / "notice-page-phone.png"), full_page=True)


def _file_complaint(user: WeChatUser) -> str:
    assert "标题" in user.click("CONSULT").text
    user.text("二食堂饭菜偏咸")
    user.text("1")  # 投诉
    user.text(FOOD)
    user.text("最近一周二食堂的青菜和汤都特别咸，吃不下去")
    user.text("希望少放点盐")
    assert "请核对" in user.text("匿名").text
    reply = user.text("确认").text
    assert "已提交，编号 C" in reply
    return reply.split("编号 ")[1].split("。")[0]


def test_a_department_replies_to_a_complaint_from_the_chat(
        new_page: Callable[..., Any], server: str, services: Services, wechat: Callable[..., WeChatUser],
        bound: Callable[..., None], wechat_api: responses.RequestsMock, run_jobs: Callable[[], int],
        shots: Path) -> None:
    seed_staff(services, DESK_STAFF)
    # Other consults, so the list looks like a list (one of another department).
    make_consult(services, kind="建议", title="希望延长晚餐时间", description="晚上有课的同学赶不上晚饭",
                 openid="o-other-1", age=timedelta(hours=20))
    make_consult(services, kind="表扬", title="三食堂阿姨服务热情", description="打菜分量足，态度好",
                 openid="o-other-2", card_no=None, age=timedelta(days=2), status="replied")
    make_consult(services, department=ESTATE, title="楼道灯坏了", openid="o-other-3")
    user = wechat("o-complainer")
    bound("o-complainer")  # 张三, 13800000001
    no = _file_complaint(user)
    assert run_jobs() == 0 and sent_templates(wechat_api) == []

    page = new_page()
    log_in_page(page, server, "饮食调度")
    page.locator("header nav").get_by_role("link", name="网上咨询").click()
    rows = page.locator("table.consults tbody tr")
    expect(rows).to_have_count(3)  # the two of 饮食服务中心 still open, and the new one; not 楼道灯坏了
    expect(rows.first).to_contain_text(no)
    expect(rows.first).to_contain_text("匿名")
    expect(page.locator("table.consults")).not_to_contain_text("楼道灯坏了")
    page.screenshot(path=str(shots / "console-consults.png"), full_page=True)
    page.get_by_role("link", name=no).click()
    expect(page.locator("h1")).to_contain_text(no)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("最近一周二食堂的青菜和汤都特别咸")
    expect(facts).to_contain_text("希望少放点盐")
    expect(facts).to_contain_text("匿名")
    body = page.locator("body")
    for secret in ("张三", "13800000001", "o-complainer"):
        expect(body).not_to_contain_text(secret)
    assert "张三" not in page.content() and "o-complainer" not in page.content()

    page.locator("#reply-text").fill("已通知二食堂减盐，下周起每道菜少放三成盐，谢谢您的反馈")
    page.get_by_role("button", name="发送回复").click()
    expect(page.locator(".flash.success")).to_contain_text(f"{no}：回复已发送给提交人")
    expect(page.locator("h1 .badge").first).to_have_text("已回复")
    expect(page.locator("ol.timeline li")).to_have_count(2)
    assert run_jobs() == 1
    [sent] = sent_templates(wechat_api)
    assert (sent["touser"], sent["template_id"]) == ("o-complainer", "TPL-REPLY")
    assert sent["data"]["character_string1"]["value"] == no
    page.reload()
    expect(page.locator("table.pushes")).to_contain_text("已发送")
    page.screenshot(path=str(shots / "console-consult.png"), full_page=True)

    on_phone = new_page(phone=True)
    log_in_page(on_phone, server, "饮食调度")
    on_phone.goto(f"{server}/console/consults/{no}")
    expect(on_phone.locator("#reply-text")).to_be_visible()
    on_phone.screenshot(path=str(shots / "console-consult-phone.png"), full_page=True)

    page.locator("#close-note").fill("已整改，持续关注")
    page.get_by_role("button", name="办结", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text(f"{no}：已办结")
    expect(page.locator("h1 .badge").first).to_have_text("已办结")
    expect(page.locator("#reply-text")).to_have_count(0)
    with services.db.session() as s:
        assert [e.kind for e in get_consult(s, no).events] == ["submitted", "reply", "closed"]
    assert len(sent_templates(wechat_api)) == 1

    # The sender's page, on a phone.
    phone = new_page(phone=True)
    phone.goto(server + consult_link(services.config, no).removeprefix("https://repair.example.edu"))
    expect(phone.locator("#consult")).to_contain_text("二食堂饭菜偏咸")
    expect(phone.locator("#timeline")).to_contain_text("饮食服务中心回复")
    expect(phone.locator("#timeline")).to_contain_text("下周起每道菜少放三成盐")
    expect(phone.locator("#timeline")).to_contain_text("已办结")
    phone.screenshot(path=str(shots / "consult-page-phone.png"), full_page=True)

    # A staffer of another department cannot open it.
    other = new_page()
    log_in_page(other, server, "物业调度")
    response = other.goto(f"{server}/console/consults/{no}")
    assert response is not None and response.status == 404
    expect(other.locator("h1")).to_contain_text("找不到")
    expect(other.locator("body")).not_to_contain_text("二食堂")


def test_an_admin_gives_a_staffer_a_department(
        new_page: Callable[..., Any], server: str, services: Services, shots: Path) -> None:
    seed_staff(services, DESK_STAFF)
    no = make_consult(services, title="二食堂饭菜偏咸")
    staffer = new_page()
    log_in_page(staffer, server, "无部门调度")
    expect(staffer.locator("header nav")).not_to_contain_text("网上咨询")
    staffer.goto(f"{server}/console/consults")
    expect(staffer.locator("main")).to_contain_text("还没有负责的咨询部门")

    page = new_page()
    log_in_page(page, server, "管理员")
    page.locator("header nav").get_by_role("link", name="网上咨询").click()
    page.get_by_role("link", name="咨询部门分工").click()
    card = page.locator("section.dept-row", has_text="无部门调度")
    card.get_by_label(FOOD).check()
    card.get_by_role("button", name="保存").click()
    expect(page.locator(".flash.success")).to_contain_text(f"已保存 无部门调度 负责的咨询部门：{FOOD}")
    expect(page.locator("section.dept-row", has_text="无部门调度").get_by_label(FOOD)).to_be_checked()
    page.screenshot(path=str(shots / "console-consult-departments.png"), full_page=True)

    staffer.goto(f"{server}/console/consults")  # the same session: the change applies at once
    expect(staffer.locator("header nav")).to_contain_text("网上咨询")
    expect(staffer.locator("table.consults")).to_contain_text(no)
