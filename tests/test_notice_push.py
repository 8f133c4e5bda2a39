"""A notice about some buildings reaches the users who live there, once, through the push system."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from core.actions import consult_reply, push_notice
from core.services import Services
from models.errors import IllegalMove
from models.notices import publish
from models.people import now
from models.pushes import Push
from tests.support.consults import make_consult
from tests.support.people import make_resident
from tests.support.wechat_api import sent_templates


def test_notice_push_reaches_residents_once(services: Services, wechat_api: responses.RequestsMock,
                                            run_jobs: Callable[[], int]) -> None:
    make_resident(services, "o-12-a", "学生公寓12栋")
    make_resident(services, "o-12-b", "学生公寓12栋")
    make_resident(services, "o-12-gone", "学生公寓12栋", subscribed=False)
    make_resident(services, "o-13", "学生公寓13栋")
    with services.db.session() as s:
        notice = publish(s, "12栋停水检修", "今天14:00-18:00停水", "admin",
                         buildings=[["东环校区", "学生公寓12栋"]], groups=["给水"], ends_at=now() + timedelta(hours=4))
        notice_id = notice.id
    assert push_notice(services, notice_id) == 2
    with pytest.raises(IllegalMove):
        push_notice(services, notice_id)  # pushing twice would spam people
    run_jobs()
    sends = sent_templates(wechat_api)
    assert sorted(m["touser"] for m in sends) == ["o-12-a", "o-12-b"]
    assert all(m["template_id"] == "TPL-REPLY" and m["data"]["thing2"]["value"] == "12栋停水检修" for m in sends)
    with services.db.session() as s:
        statuses = [p.status for p in s.scalars(select(Push).where(Push.notice_id == notice_id))]
    assert statuses == ["sent", "sent"]


def test_consult_reply_is_pushed_to_its_sender(services: Services, wechat_api: responses.RequestsMock,
                                               run_jobs: Callable[[], int]) -> None:
    no = make_consult(services, card_no=None, title="饭菜太咸", description="二食堂的菜太咸了", suggestion=None,
                      anonymous=True)
    consult_reply(services, no, "已通知二食堂减盐，谢谢反馈", by="staff:王老师")
    run_jobs()
    [sent] = sent_templates(wechat_api)
    assert sent["touser"] == "o-sender" and sent["template_id"] == "TPL-REPLY"
    assert sent["data"]["character_string1"]["value"] == no
    assert sent["data"]["thing2"]["value"] == "已通知二食堂减盐，谢谢反馈"
