"""The console in a real browser against the app over real HTTP: a repair from the queue to 维修完成.

A student files a ticket through the webhook (signed, as WeChat sends it), a dispatcher accepts and
assigns it on a desktop screen, the worker starts and completes it on a phone screen, and the reporter
gets one template push per change.  A dispatcher of another category cannot open the ticket.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import responses
from playwright.sync_api import expect

from core.services import Services
from devtools.chat import WeChatUser
from models.replies import CannedReply
from tests.support.chat import file_repair
from tests.support.console import log_in_page
from tests.support.constants import API, JIANPAN
from tests.support.people import CONSOLE_STAFF, seed_staff
from tests.support.tickets import DESCRIPTION, make_ticket
from tests.support.wechat_api import sent_templates
from workers.sla import run_sla_sweep


def png(width: int = 320, height: int = 240) -> bytes:
    """A real PNG (a tiled wall with a pipe), so the photo shows as a picture."""
    def pixel(x: int, y: int) -> bytes:
        if (100 < x < 220 and 40 < y < 70) or (145 < x < 175 and 40 < y < 170):
            return bytes((150, 160, 170))
        if (x // 40 + y // 40) % 2:
            return bytes((225, 232, 238))
        return bytes((208, 218, 228))

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def act(page: Any, to: str, label: str) -> None:
    page.locator(f"form.act-{to}").get_by_role("button", name=label, exact=True).click()


def test_a_repair_from_queue_to_completed(
        new_page: Callable[..., Any], server: str, services: Services, wechat: Callable[..., WeChatUser],
        bound: Callable[..., None], wechat_api: responses.RequestsMock, run_jobs: Callable[[], int],
        shots: Path) -> None:
    wechat_api.replace(responses.GET, API + "media/get", body=png(), content_type="image/png")
    seed_staff(services, CONSOLE_STAFF)
    with services.db.session() as s:
        s.add_all([CannedReply(status="completed", text="已更换水龙头阀芯，试水正常", position=1),
                   CannedReply(status="on_hold", text="等待配件到货", position=1)])
    # Other work in the queue, so it looks like a queue.
    make_ticket(services, age=timedelta(hours=3), building="学生公寓7栋", room="316", group="照明", item="灯管",
                description="宿舍灯管不亮")
    make_ticket(services, status="assigned", worker="孙师傅", age=timedelta(hours=20), building="学生公寓3栋",
                room="121", group="门窗", item="门锁", description="门锁坏了，钥匙插不进去")
    make_ticket(services, status="on_hold", worker="李师傅", age=timedelta(hours=55), building="学生公寓9栋",
                room="604", group="家具", item="床铺", description="床板断裂，等材料")
    bound("o-browser")
    no = file_repair(wechat("o-browser"), "卫生间水龙头关不紧，一直在滴水，晚上声音很大")
    run_jobs()  # the photo is fetched
    assert sent_templates(wechat_api) == []
    run_sla_sweep(services)  # the 3-hour-old report is late for acceptance (the register: 2 hours)

    # A dispatcher, on a desktop screen: the new ticket is first in the queue.
    page = new_page()
    log_in_page(page, server, "王调度")
    first_row = page.locator("table.queue tbody tr").first
    expect(first_row).to_contain_text(no)
    expect(first_row).to_contain_text("提交维修单")
    expect(first_row).to_contain_text("学生公寓12栋 5楼 502")
    expect(page.locator("table.queue")).to_contain_text("受理超时")
    page.screenshot(path=str(shots / "console-queue.png"), full_page=True)

    page.get_by_role("link", name=no).click()
    expect(page.locator("h1")).to_contain_text(no)
    expect(page.locator("h1 .badge").first).to_have_text("提交维修单")
    photo = page.locator(".photos img").first
    expect(photo).to_be_visible()
    page.wait_for_function("() => document.querySelector('.photos img').naturalWidth === 320")
    expect(page.locator("dl.facts")).to_contain_text("卫生间水龙头关不紧")
    expect(page.locator("dl.facts")).to_contain_text("张三")

    act(page, "accepted", "受理")
    expect(page.locator(".flash.success")).to_contain_text(f"{no}：已受理，当前状态「维修单受理」")
    expect(page.locator("h1 .badge").first).to_have_text("维修单受理")
    run_jobs()
    assert len(sent_templates(wechat_api)) == 1

    workers = page.locator("form.act-assigned select[name=worker] option")
    expect(workers).to_have_count(3)  # a prompt, then the two workers of this category
    assert sorted(workers.all_inner_texts()[1:]) == ["孙师傅 13900000002（在办 1 单）",
                                                     "李师傅 13900000001（在办 1 单）"]
    page.locator("form.act-assigned select[name=worker]").select_option("李师傅")
    act(page, "assigned", "指派")
    expect(page.locator(".flash.success")).to_contain_text("已指派，当前状态「指派维修」")
    expect(page.locator("dl.facts")).to_contain_text("李师傅 13900000001")
    run_jobs()
    assert len(sent_templates(wechat_api)) == 2
    page.reload()  # the pushes' results, now that they went out
    expect(page.locator("table.pushes tbody tr")).to_have_count(2)
    page.screenshot(path=str(shots / "console-ticket.png"), full_page=True)
    page.get_by_role("button", name="退出").click()
    expect(page.locator(".flash")).to_contain_text("已退出登录")

    # The worker, on a phone: their tickets only, and no accept/assign.
    phone = new_page(phone=True)
    log_in_page(phone, server, "李师傅")
    rows = phone.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)  # the one just assigned and their own on-hold ticket
    phone.screenshot(path=str(shots / "console-queue-phone.png"), full_page=True)
    phone.get_by_role("link", name=no).click()
    expect(phone.locator("form.act-in_progress")).to_be_visible()
    expect(phone.locator("form.act-accepted")).to_have_count(0)
    expect(phone.locator("form.act-assigned")).to_have_count(0)
    phone.screenshot(path=str(shots / "console-ticket-phone.png"), full_page=True)
    act(phone, "in_progress", "开始维修")
    expect(phone.locator(".flash.success")).to_contain_text("已开始维修，当前状态「维修中」")
    run_jobs()
    assert len(sent_templates(wechat_api)) == 3

    phone.locator("form.act-completed select.canned").select_option("已更换水龙头阀芯，试水正常")
    expect(phone.locator("#note-completed")).to_have_value("已更换水龙头阀芯，试水正常")
    act(phone, "completed", "维修完成")
    expect(phone.locator(".flash.success")).to_contain_text("已维修完成，当前状态「维修完成」")
    expect(phone.locator("ol.timeline")).to_contain_text("已更换水龙头阀芯，试水正常")
    expect(phone.locator("ol.timeline li")).to_have_count(5)
    run_jobs()
    sent = sent_templates(wechat_api)
    assert [m["data"]["phrase2"]["value"] for m in sent] == ["维修单受理", "指派维修", "维修中", "维修完成"]
    assert {m["touser"] for m in sent} == {"o-browser"}
    phone.reload()
    # The four status templates, and the text after 维修完成 that says how to rate (skipped: the reporter
    # has not written to the account, so WeChat's window for a text is closed).
    expect(phone.locator("table.pushes tbody tr")).to_have_count(5)
    expect(phone.locator("table.pushes")).not_to_contain_text("发送失败")


def test_a_dispatcher_of_another_category_cannot_open_it(
        new_page: Callable[..., Any], server: str, services: Services) -> None:
    seed_staff(services, CONSOLE_STAFF)
    no = make_ticket(services)
    theirs = make_ticket(services, category=JIANPAN, campus="箭盘校区", building="学生公寓1栋", room="101")
    page = new_page()
    log_in_page(page, server, "赵调度")
    expect(page.locator("table.queue")).to_contain_text(theirs)
    expect(page.locator("table.queue")).not_to_contain_text(no)
    response = page.goto(f"{server}/console/tickets/{no}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_contain_text("找不到")
    expect(page.locator("body")).not_to_contain_text(DESCRIPTION)
