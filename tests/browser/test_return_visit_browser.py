"""服务回访 in a real browser: a dispatcher phones the reporter of a completed repair, records 不满意 on the
ticket's page (a phone screen), and the ticket goes back to its worker as rework; a poor rating's follow-up
is shown in the queue and closed with what was done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import responses
from playwright.sync_api import expect

from core.actions import rate
from core.services import Services
from tests.support.console import log_in_page
from tests.support.people import seed_staff
from tests.support.tickets import REPORTER, make_ticket, stored


def test_a_return_visit_recorded_on_a_phone_sends_the_ticket_back(
        new_page: Callable[..., Any], server: str, services: Services, wechat_api: responses.RequestsMock,
        shots: Path) -> None:
    seed_staff(services)
    no = make_ticket(services, moved_to="completed", worker="李师傅")
    page = new_page(phone=True)
    log_in_page(page, server, "王调度")
    page.goto(f"{server}/console/tickets/{no}")
    visit = page.locator("section.sec-visit")
    expect(visit).to_contain_text("满意或基本满意即销单")
    visit.get_by_label("回访结果").select_option(label="不满意")
    visit.get_by_placeholder("回访记录").fill("报修人说晚上还是在滴水")
    visit.get_by_role("button", name="记录回访").click()
    expect(page.locator(".flashes")).to_contain_text("回访不满意，已退回返修")
    expect(page.locator("section.sec-office")).to_contain_text("不满意")
    expect(page.locator("section.sec-office")).to_contain_text("报修人说晚上还是在滴水")
    expect(page.locator("ol.timeline")).to_contain_text("还没修好：回访不满意：报修人说晚上还是在滴水")
    expect(page.locator("h1 .badge").first).to_have_text("维修单受理")
    page.screenshot(path=str(shots / "console-return-visit-phone.png"), full_page=True)
    t = stored(services, no)
    assert (t.status, t.reworks, t.worker.name if t.worker else None) == ("accepted", 1, "李师傅")


def test_a_poor_ratings_follow_up_is_closed_from_the_queue(
        new_page: Callable[..., Any], server: str, services: Services, wechat_api: responses.RequestsMock) -> None:
    seed_staff(services)
    no = make_ticket(services, moved_to="completed", worker="李师傅")
    rate(services, no, REPORTER, 1, "修完地上全是水也不收拾")
    page = new_page()
    log_in_page(page, server, "王调度")
    tasks = page.locator("#followups")
    expect(tasks).to_contain_text(no)
    expect(tasks).to_contain_text("差评")
    tasks.get_by_label(f"{no} 的处理情况").fill("已电话致歉，安排保洁")
    tasks.get_by_role("button", name="记录处理").click()
    expect(page.locator(".flashes")).to_contain_text(f"已记录跟进处理：{no}")
    expect(page.locator("#followups")).to_have_count(0)
