"""What the reporter is told after 维修完成 (how to rate, how to say 没修好), and what a complaint's sender is
told when it is closed: through the push rows and a real RQ worker, WeChat's API faked."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

import requests
import responses
from sqlalchemy import select

from core.actions import consult_close, move_ticket
from core.links import ticket_link
from core.services import Services
from devtools.chat import WeChatUser
from models.pushes import Push
from tests.support.consults import make_consult
from tests.support.tickets import make_ticket
from tests.support.wechat_api import CUSTOM, SEND, answers, bodies, sent_templates
from tests.support.wechat_api import user_wrote as wrote

STAFF = "staff:王调度"


def user_wrote(services: Services, openid: str, ago_s: float) -> None:
    wrote(services.redis, openid, ago_s)


def texts(wechat_api: responses.RequestsMock, openid: str) -> list[str]:
    return [b["text"]["content"] for b in bodies(wechat_api, CUSTOM) if b["touser"] == openid]


def test_the_completion_says_how_to_rate_and_a_text_follows(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    no = make_ticket(services, "o-done", moved_to="in_progress")
    run_jobs()
    user_wrote(services, "o-done", ago_s=3600)
    move_ticket(services, no, "completed", by=STAFF)
    run_jobs()
    template = sent_templates(wechat_api)[-1]
    assert template["data"]["thing3"]["value"] == "请回复「评价 5」或「没修好」"
    (text,) = texts(wechat_api, "o-done")
    assert no in text and "「评价 5」" in text and "「没修好" in text and "/t/" in text


def test_no_text_outside_the_48_hour_window(services: Services, run_jobs: Callable[[], int],
                                            wechat_api: responses.RequestsMock) -> None:
    user_wrote(services, "o-quiet", ago_s=49 * 3600)
    make_ticket(services, "o-quiet", moved_to="completed")
    run_jobs()
    assert texts(wechat_api, "o-quiet") == []
    assert sent_templates(wechat_api)[-1]["data"]["thing3"]["value"] == "换了阀芯"  # the worker's note
    with services.db.session() as s:
        hint = s.scalars(select(Push).where(Push.openid == "o-quiet", Push.kind == "rate_hint")).one()
        assert hint.status == "skipped"


def test_without_a_template_the_one_text_says_it(services: Services, run_jobs: Callable[[], int],
                                                 wechat_api: responses.RequestsMock) -> None:
    no = make_ticket(services, "o-plain", moved_to="in_progress")
    run_jobs()
    user_wrote(services, "o-plain", ago_s=60)
    unconfigured = Services(services.config.override(template_ticket=""), redis_conn=services.redis)
    try:
        move_ticket(unconfigured, no, "completed", by=STAFF, note="换了阀芯")
    finally:
        unconfigured.close()
    run_jobs()
    (text,) = texts(wechat_api, "o-plain")
    assert "维修完成" in text and "换了阀芯" in text and "「评价 5」" in text and "「没修好" in text


def test_the_commands_the_text_gives_work(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                          services: Services, run_jobs: Callable[[], int]) -> None:
    bound("o-rate")
    make_ticket(services, "o-rate", moved_to="completed")
    run_jobs()
    assert "已评 5 星" in wechat("o-rate").text("评价 5 修得很快").text


def test_the_reporters_page_says_it(server: str, services: Services, run_jobs: Callable[[], int]) -> None:
    no = make_ticket(services, "o-page", moved_to="completed")
    page = requests.get(server + urlparse(ticket_link(services.config, no)).path, timeout=10).text
    assert "「评价 5」" in page and "「没修好" in page


def test_a_closed_complaint_is_told_to_its_sender(services: Services, run_jobs: Callable[[], int],
                                                  wechat_api: responses.RequestsMock) -> None:
    with_note = make_consult(services, openid="o-closed")
    consult_close(services, with_note, by=STAFF, note="已安排食堂减盐")
    run_jobs()
    [template] = sent_templates(wechat_api)
    assert (template["touser"], template["template_id"]) == ("o-closed", "TPL-REPLY")
    assert template["data"]["thing2"]["value"] == "已安排食堂减盐"
    # The template refused: a text within the 48-hour window, the note in it.
    answers(wechat_api, SEND, {"errcode": 40037, "errmsg": "invalid template_id"})
    user_wrote(services, "o-closed-2", ago_s=60)
    no = make_consult(services, openid="o-closed-2")
    consult_close(services, no, by=STAFF)
    run_jobs()
    (text,) = texts(wechat_api, "o-closed-2")
    assert no in text and "已办结" in text and "/c/" in text
