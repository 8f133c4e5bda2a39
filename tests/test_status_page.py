"""系统状态: what an admin sees first when students say the bot is silent, and the retry of a failed job."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import responses
from flask import Flask
from sqlalchemy import select

from core.jobs import DOWNLOAD_PHOTO, all_queues, enqueue
from core.services import Services
from models.tickets import TicketPhoto
from tests.support.console import Console, text
from tests.support.constants import API
from tests.support.metrics import scrape, value
from tests.support.people import seed_staff
from tests.support.tickets import make_ticket
from workers.queues import LeanSimpleWorker
from workers.sweeps import sweep

RETRY_RE = re.compile(r'action="(/console/status/jobs/[^"]+/retry)"')


@pytest.fixture
def console(app: Flask, services: Services) -> Callable[[str], Console]:
    seed_staff(services)
    return lambda name: Console.logged_in(app, name)


def work(services: Services) -> None:
    """A real RQ worker, as `repairbot worker` runs it, until the queues are empty."""
    LeanSimpleWorker(all_queues(services.redis), connection=services.redis).work(burst=True)


def test_status_page_for_admins_only(console: Callable[[str], Console], services: Services) -> None:
    admin = console("管理员")
    page = text(admin.get("/console/status"))
    assert "系统状态" in page
    assert page.count("正常") >= 2  # PostgreSQL (or the test's database) and Redis answer
    assert "微信推送" in page and "照片下载" in page
    assert "还没有运行记录" in page and "尚未获取" in page and "没有失败的任务" in page
    assert "系统状态" in text(admin.get("/console/")).split("<main>")[0]  # in the admin's header
    dispatcher = console("王调度")
    assert dispatcher.get("/console/status").status_code == 403
    assert "系统状态" not in text(dispatcher.get("/console/")).split("<main>")[0]
    assert dispatcher.post("/console/status/jobs/pushes/push-1/retry").status_code == 403


def test_the_sweep_shows_when_it_ran(console: Callable[[str], Console], services: Services) -> None:
    sweep()
    page = text(console("管理员").get("/console/status"))
    assert "补发清扫（推送、照片）" in page and "刚刚" in page
    # The SLA sweep has not run: it is shown as late.
    assert "未按时运行" in page


def test_retry_a_failed_job(console: Callable[[str], Console], services: Services, app: Flask,
                            wechat_api: responses.RequestsMock) -> None:
    """A photo WeChat no longer has fails its download for good (a failed RQ job); once the cause is mended, 重试
    on the status page runs it again.  (A push never fails as a job: its row says why: workers/bulk.py.)"""
    client = app.test_client()
    failed_before = value(scrape(client), "repairbot_jobs_failed_total", queue="media")
    wechat_api.replace(responses.GET, API + "media/get", json={"errcode": 40007, "errmsg": "invalid media_id"})
    make_ticket(services, media=("m-gone",))
    with services.db.session() as s:
        photo_id = s.scalars(select(TicketPhoto.id)).one()
    enqueue(services.redis, "media", DOWNLOAD_PHOTO, photo_id, job_id=f"photo-{photo_id}")
    work(services)
    assert value(scrape(client), "repairbot_jobs_failed_total", queue="media") == failed_before + 1
    admin = console("管理员")
    page = text(admin.get("/console/status"))
    assert "下载报修照片" in page and "40007" in page
    retry = RETRY_RE.findall(page)
    assert len(retry) == 1
    # WeChat answers again (the photo was there after all): the retry goes through.
    wechat_api.replace(responses.GET, API + "media/get", body=b"\x89PNG\r\n\x1a\nfake-photo", content_type="image/png")
    assert "任务已重新排队" in text(admin.post(retry[0]))
    work(services)
    with services.db.session() as s:
        photo = s.get(TicketPhoto, photo_id)
        assert photo is not None and photo.status == "saved"
    page = text(admin.get("/console/status"))
    assert "没有失败的任务" in page
    assert "已不在失败列表中" in text(admin.post(retry[0]))  # a second click does nothing twice
