"""The public pages: 通知公告 (/notices, /notices/<id>) and a complaint's page for its sender (/c/<token>)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from core.actions import consult_close, consult_reply
from core.links import CONSULT_LINK_MAX_AGE_S as LINK_MAX_AGE_S
from core.links import consult_link, make_consult_token, read_consult_token
from core.services import Services
from models.notices import publish
from models.people import now
from tests.support.constants import SECRET_KEY
from tests.support.consults import make_consult


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _publish(services: Services, title: str, body: str | None = None, **kw: Any) -> int:
    with services.db.session() as s:
        return publish(s, title, body or f"{title}的正文", "staff:管理员", **kw).id


# -- /notices -------------------------------------------------------------------------------------------

def test_the_notice_list(client: FlaskClient, services: Services) -> None:
    assert "目前没有正在生效的通知" in client.get("/notices").get_data(as_text=True)
    live = _publish(services, "12栋停水检修", buildings=[["东环校区", "学生公寓12栋"]], groups=["给水"],
                    ends_at=now() + timedelta(hours=4))
    forever = _publish(services, "报修电话变更", starts_at=now() - timedelta(days=1))
    past = _publish(services, "上周停电", campus="箭盘校区", starts_at=now() - timedelta(days=8),
                    ends_at=now() - timedelta(days=7))
    _publish(services, "明天的通知", starts_at=now() + timedelta(days=1))
    resp = client.get("/notices")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'name="viewport"' in page
    current, _, earlier = page.partition('id="past"')
    assert f'href="/notices/{live}"' in current and f'href="/notices/{forever}"' in current
    assert "12栋停水检修" in current and "东环校区 学生公寓12栋" in current and "生效中" in current
    assert f'href="/notices/{past}"' in earlier and "上周停电" in earlier and "已结束" in earlier
    assert "箭盘校区" in earlier and "上周停电" not in current
    assert "明天的通知" not in page  # not published yet
    assert current.index("12栋停水检修") < current.index("报修电话变更")  # newest first


def test_one_notice(client: FlaskClient, services: Services) -> None:
    body = "因管道检修，今天14:00-18:00停水。\n请提前储水。<script>alert(1)</script>"
    live = _publish(services, "12栋停水检修", body=body, buildings=[["东环校区", "学生公寓12栋"]],
                    ends_at=now() + timedelta(hours=4))
    resp = client.get(f"/notices/{live}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "12栋停水检修" in page and "请提前储水" in page and "生效中" in page and "东环校区 学生公寓12栋" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page  # the body is text
    assert 'href="/notices"' in page


def test_an_ended_notice_is_still_readable(client: FlaskClient, services: Services) -> None:
    past = _publish(services, "上周停电", starts_at=now() - timedelta(days=8), ends_at=now() - timedelta(days=7))
    resp = client.get(f"/notices/{past}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "上周停电" in page and "已结束" in page and "仅供查阅" in page


@pytest.mark.parametrize("path", ["/notices/99999", "/notices/abc", "/notices/-1", "/notices/" + "9" * 30])
def test_an_unknown_notice_is_a_friendly_404(client: FlaskClient, services: Services, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404 and "找不到这条通知" in resp.get_data(as_text=True)


def test_a_notice_not_started_is_not_public(client: FlaskClient, services: Services) -> None:
    future = _publish(services, "明天的通知", starts_at=now() + timedelta(days=1))
    assert client.get(f"/notices/{future}").status_code == 404


# -- /c/<token> --------------------------------------------------------------------------------------------

def test_the_senders_page(client: FlaskClient, services: Services) -> None:
    no = make_consult(services, card_no=None, anonymous=True)
    link = consult_link(services.config, no)
    assert link.startswith("https://repair.example.edu/c/")
    path = link.removeprefix("https://repair.example.edu")
    resp = client.get(path)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for expected in (no, "二食堂饭菜偏咸", "投诉", "饮食服务中心", "最近一周二食堂的青菜和汤都特别咸", "希望少放点盐",
                     "待处理", "已提交", "您选择了匿名"):
        assert expected in page, expected
    assert resp.headers["Cache-Control"] == "no-store" and "noindex" in resp.headers["X-Robots-Tag"]
    consult_reply(services, no, "已通知二食堂减盐，谢谢反馈", by="staff:饮食调度")
    consult_close(services, no, by="staff:饮食调度", note="已整改")
    page = client.get(path).get_data(as_text=True)
    assert "饮食服务中心回复" in page and "已通知二食堂减盐" in page and "已办结" in page and "已整改" in page
    assert "饮食调度" not in page  # replies are signed by the department, not by a person
    assert page.index("已办结") < page.index("已通知二食堂减盐") < page.index("已提交")  # newest first


def test_a_tampered_or_foreign_token_is_a_friendly_404(client: FlaskClient, services: Services) -> None:
    no = make_consult(services, card_no=None)
    token = make_consult_token(SECRET_KEY, no)
    bad = [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense",
           make_consult_token("another-secret", no),
           URLSafeTimedSerializer(SECRET_KEY, salt="ticket-page").dumps(no),  # a ticket page's token
           make_consult_token(SECRET_KEY, "C000000000")]  # genuine, but names nothing
    for t in bad:
        resp = client.get(f"/c/{t}")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 404 and "链接无效" in page and "二食堂" not in page, t


def test_an_expired_token_is_a_friendly_410(client: FlaskClient, services: Services) -> None:
    no = make_consult(services, card_no=None)
    with mock.patch("time.time", return_value=time.time() - LINK_MAX_AGE_S - 60):
        old = make_consult_token(SECRET_KEY, no)
    resp = client.get(f"/c/{old}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 410 and "链接已过期" in page and "90 天" in page and "二食堂" not in page
    assert read_consult_token(SECRET_KEY, make_consult_token(SECRET_KEY, no)) == no


def test_pages_need_no_login(client: FlaskClient, services: Services) -> None:
    assert client.get("/notices").status_code == 200
    assert "Set-Cookie" not in client.get("/notices").headers
