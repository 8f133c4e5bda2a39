"""The dispatcher's day in a real browser: the queue refreshes itself when a student files a repair through
WeChat (a badge, the count in the tab's title, no reload), the tone is off until turned on and remembered,
受理并指派 in one click, a merge across buildings confirmed first, and canned replies managed by an admin."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import responses
from flask import Flask
from playwright.sync_api import expect

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import file_repair
from tests.support.console import log_in_page
from tests.support.people import CONSOLE_STAFF, seed_staff
from tests.support.tickets import make_ticket
from tests.support.wechat_api import sent_templates


def test_a_new_repair_appears_in_the_open_queue_with_a_badge(
        new_page: Callable[..., Any], server: str, app: Flask, services: Services,
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    app.config["CONSOLE_POLL_S"] = 1
    seed_staff(services, CONSOLE_STAFF)
    earlier = make_ticket(services, building="学生公寓7栋", room="316", description="宿舍灯管不亮")
    page = new_page()
    log_in_page(page, server, "王调度")
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    expect(page.locator("#fresh-count")).to_be_hidden()
    assert page.title().startswith("工单队列")
    page.evaluate("window.stillHere = true")  # gone if the page were loaded again

    bound("o-new")
    no = file_repair(wechat("o-new"), "卫生间水龙头关不紧，一直在滴水")
    row = page.locator("table.queue tbody tr", has_text=no)
    expect(row).to_be_visible()
    expect(row.locator(".badge.fresh")).to_have_text("新")
    expect(row).to_contain_text("张*")  # the reporter, masked
    expect(page.locator("#fresh-count")).to_have_text("新工单 1")
    expect(page).to_have_title(re.compile(r"^\(1\) 工单队列"))
    expect(page.locator("[data-count=submitted]")).to_have_text("2")
    expect(page.locator("#queue-total")).to_have_text("2")
    expect(page.locator("table.queue tbody tr", has_text=earlier).locator(".badge.fresh")).to_have_count(0)
    assert page.evaluate("window.stillHere") is True


def test_the_tone_is_off_until_turned_on_and_remembered(
        new_page: Callable[..., Any], server: str, services: Services) -> None:
    seed_staff(services, CONSOLE_STAFF)
    page = new_page()
    log_in_page(page, server, "王调度")
    toggle = page.get_by_label("新工单提示音")
    expect(toggle).not_to_be_checked()
    toggle.check()
    assert page.evaluate("localStorage.getItem('repairbot.queue.sound')") == "on"
    page.reload()
    expect(page.get_by_label("新工单提示音")).to_be_checked()
    page.get_by_label("新工单提示音").uncheck()
    page.reload()
    expect(page.get_by_label("新工单提示音")).not_to_be_checked()


def test_accept_and_assign_in_one_click(new_page: Callable[..., Any], server: str, services: Services,
                                        wechat_api: responses.RequestsMock, run_jobs: Callable[[], int]) -> None:
    seed_staff(services, CONSOLE_STAFF)
    no = make_ticket(services, openid="o-reporter")
    page = new_page()
    log_in_page(page, server, "王调度")
    page.get_by_role("link", name=no).click()
    form = page.locator("form.act-accept-assign")
    form.locator("select[name=worker]").select_option("李师傅")
    form.get_by_role("button", name="受理并指派").click()
    expect(page.locator(".flash.success")).to_contain_text(f"{no}：已受理并指派给 李师傅")
    expect(page.locator("h1 .badge").first).to_have_text("指派维修")
    timeline = page.locator("ol.timeline li")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(1)).to_contain_text("维修单受理")
    expect(timeline.nth(2)).to_contain_text("指派维修")
    expect(page.locator("form.act-accept-assign")).to_have_count(0)
    run_jobs()
    assert [m["data"]["phrase2"]["value"] for m in sent_templates(wechat_api)] == ["维修单受理", "指派维修"]


def test_a_merge_across_buildings_is_confirmed_first(new_page: Callable[..., Any], server: str, services: Services,
                                                     wechat_api: responses.RequestsMock,
                                                     run_jobs: Callable[[], int]) -> None:
    seed_staff(services, CONSOLE_STAFF)
    first = make_ticket(services, openid="o-first", status="accepted")
    dup = make_ticket(services, openid="o-dup", building="学生公寓3栋", room="301")
    page = new_page(phone=True)
    log_in_page(page, server, "王调度")
    page.goto(f"{server}/console/tickets/{dup}")
    page.get_by_placeholder("合并到单号").fill(first)
    page.get_by_role("button", name="合并", exact=True).click()
    expect(page.locator(".sec-merge-confirm")).to_contain_text("不在同一栋楼")
    expect(page.locator(".sec-merge-confirm")).to_contain_text("学生公寓3栋")
    page.get_by_role("button", name=f"确认合并到 {first}").click()
    expect(page.locator(".flash.success")).to_contain_text(f"{dup} 已合并到 {first}")
    run_jobs()
    told = [m for m in sent_templates(wechat_api) if m["touser"] == "o-dup"]
    assert told[0]["data"]["thing3"]["value"] == f"已合并到 {first}"
    assert told[0]["data"]["phrase2"]["value"] == "已合并"


def test_an_admin_manages_canned_replies_and_a_dispatcher_picks_one(
        new_page: Callable[..., Any], server: str, services: Services) -> None:
    seed_staff(services, CONSOLE_STAFF)
    admin = new_page()
    log_in_page(admin, server, "管理员")
    admin.get_by_role("link", name="常用回复").click()
    add = admin.locator("form", has=admin.get_by_role("button", name="添加"))
    for category, reply in (("全部类型", "等待配件到货"), ("东环校区宿舍维修", "需与室友约定上门时间")):
        add.get_by_label("用于状态").select_option(label="暂时无法维修")
        add.get_by_label("维修类型").select_option(label=category)
        add.get_by_label("内容").fill(reply)
        add.get_by_role("button", name="添加").click()
        expect(admin.locator(".flash.success")).to_contain_text("已添加常用回复")
    rows = admin.locator(".canned-status[data-status=on_hold] .canned-row")
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_role("button", name="上移").click()
    expect(admin.locator(".flash.success")).to_contain_text("已调整常用回复的顺序")
    expect(rows.nth(0).locator("textarea")).to_have_value("需与室友约定上门时间")

    no = make_ticket(services, status="accepted")
    page = new_page()
    log_in_page(page, server, "王调度")
    page.goto(f"{server}/console/tickets/{no}")
    canned = page.locator("form.act-on_hold select.canned option")
    expect(canned).to_have_count(3)
    assert canned.all_inner_texts()[1:] == ["需与室友约定上门时间", "等待配件到货"]
    page.locator("form.act-on_hold select.canned").select_option("等待配件到货")
    expect(page.locator("#note-on_hold")).to_have_value("等待配件到货")
