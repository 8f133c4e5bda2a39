"""网上咨询, 查看历史 and 通知公告 in chat, through the real webhook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.services import Services
from devtools.chat import WeChatUser
from dialogs.nlu.dates import RangeError, parse_range
from models import notices
from models.consult import Consult
from models.notices import Notice, publish
from models.people import now
from tests.support.consults import make_consult


def consults(services: Services, openid: str) -> list[Consult]:
    with services.db.session() as s:
        return list(s.scalars(select(Consult).where(Consult.openid == openid)))


def test_whole_complaint_dialog(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                services: Services) -> None:
    user = wechat("o-consult")
    bound("o-consult")
    assert "标题" in user.click("CONSULT").text
    assert "标题请写 2 到 30 个字" in user.text("差").text
    reply = user.text("二食堂饭菜偏咸").text
    assert "1 投诉" in reply and "4 表扬" in reply
    reply = user.text("1").text
    assert "饮食服务中心" in reply  # the register's departments, numbered
    reply = user.text("饮食服务中心").text  # a label works as well as its number
    assert "详细" in reply
    assert "至少 5 个字" in user.text("咸").text
    user.text("最近一周二食堂的青菜和汤都特别咸，吃不下去")
    reply = user.text("希望少放点盐").text
    assert "匿名" in reply
    reply = user.text("2").text
    assert "请核对" in reply and "匿名：是" in reply and "饮食服务中心" in reply
    reply = user.text("确认").text
    assert "已提交，编号 C" in reply
    [c] = consults(services, "o-consult")
    assert (c.title, c.kind, c.department, c.suggestion, c.anonymous, c.status) == (
        "二食堂饭菜偏咸", "投诉", "饮食服务中心", "希望少放点盐", True, "open")


def test_free_text_complaint_prefills_and_can_be_corrected(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-free-complaint")
    bound("o-free-complaint")
    reply = user.text("二饭的阿姨打菜手抖，分量太少").text
    assert "收到您的投诉" in reply and "饮食服务中心" in reply
    assert "改进" in reply  # title, kind, department, description are filled: the suggestion is next
    user.text("无")
    reply = user.text("1").text
    assert "内容：二饭的阿姨打菜手抖，分量太少" in reply and "建议：无" in reply
    reply = user.text("修改部门").text
    assert "希望哪个部门处理" in reply
    reply = user.text("后勤管理处").text
    assert "部门：后勤管理处" in reply  # straight back to the summary
    assert "已提交" in user.text("1").text
    [c] = consults(services, "o-free-complaint")
    assert (c.department, c.kind, c.description) == ("后勤管理处", "投诉", "二饭的阿姨打菜手抖，分量太少")


def test_complaint_needs_binding_first(wechat: Callable[..., WeChatUser]) -> None:
    user = wechat("o-consult-unbound")
    assert "校园卡号" in user.click("CONSULT").text
    user.text("20260001")
    reply = user.text("12345X").text
    assert "绑定成功" in reply and "标题" in reply


def _file(services: Services, openid: str, title: str, days_ago: int, reply: str | None = None) -> None:
    """A 建议 to 后勤管理处 filed days ago (by an openid, whether bound or not), perhaps replied to."""
    make_consult(services, openid=openid, card_no=None, kind="建议", department="后勤管理处", title=title,
                 description=title * 2, suggestion=None, age=timedelta(days=days_ago), reply=reply)


@pytest.mark.parametrize("ask, shown, hidden", [
    ("1", ["近的建议"], ["上月的建议", "去年的建议"]),
    ("最近7天", ["近的建议"], ["上月的建议"]),
    ("2", ["近的建议", "上月的建议"], ["去年的建议"]),
    ("最近30天", ["近的建议", "上月的建议"], ["去年的建议"]),
])
def test_history_by_range(wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services,
                          ask: str, shown: list[str], hidden: list[str]) -> None:
    user = wechat("o-history")
    bound("o-history")
    _file(services, "o-history", "近的建议", 1, reply="已安排，谢谢")
    _file(services, "o-history", "上月的建议", 20)
    _file(services, "o-history", "去年的建议", 400)
    _file(services, "o-someone-else", "别人的建议", 1)
    assert "查看哪段时间" in user.click("CONSULT_HISTORY").text
    reply = user.text(ask).text
    for title in shown:
        assert title in reply
    for title in [*hidden, "别人的建议"]:
        assert title not in reply
    assert "回复：已安排，谢谢" in reply and "已回复" in reply


def test_history_by_dates_and_bad_ranges(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                         services: Services) -> None:
    user = wechat("o-history2")
    bound("o-history2")
    _file(services, "o-history2", "去年的建议", 400)
    user.text("查看历史")
    assert "早于开始日期" in user.text("2026-11-27 至 2026-09-01").text
    assert "还没到" in user.text("2099-01-01 至 2099-02-01").text
    assert "没看懂" in user.text("上上个礼拜左右").text
    assert "不是有效的日期" in user.text("2026-02-30 至 2026-03-01").text
    last_year = (datetime.now(UTC) - timedelta(days=400)).date()
    reply = user.text(f"{last_year - timedelta(days=2):%Y-%m-%d} 至 {last_year + timedelta(days=2):%Y-%m-%d}").text
    assert "去年的建议" in reply


def test_semester_history_with_none(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-history3")
    bound("o-history3")
    user.text("查看历史")
    reply = user.text("本学期").text
    assert "没有您提交的意见建议" in reply


@pytest.mark.parametrize("text, start, end", [
    ("最近7天", date(2026, 11, 21), date(2026, 11, 27)),
    ("近30天", date(2026, 10, 29), date(2026, 11, 27)),
    ("本学期", date(2026, 9, 1), date(2026, 11, 27)),
    ("２０２６-０９-０１ 至 ２０２６-１１-２７", date(2026, 9, 1), date(2026, 11, 27)),
    ("2026年9月1日到2026年9月30日", date(2026, 9, 1), date(2026, 9, 30)),
])
def test_parse_range(text: str, start: date, end: date) -> None:
    rng = parse_range(text, date(2026, 11, 27))
    assert (rng.start, rng.end) == (start, end)


@pytest.mark.parametrize("text", ["", "明天", "2026-12-01", "2026-11-27 至 2026-11-01", "2026-13-01", "最近0天"])
def test_parse_range_refuses(text: str) -> None:
    with pytest.raises(RangeError):
        parse_range(text, date(2026, 11, 27))


def test_semester_in_spring() -> None:
    assert parse_range("本学期", date(2027, 3, 10)).start == date(2027, 2, 15)
    assert parse_range("本学期", date(2027, 1, 10)).start == date(2026, 9, 1)


def test_notices_as_news(wechat: Callable[..., WeChatUser], services: Services) -> None:
    user = wechat("o-news")
    assert "目前没有新的通知公告" in user.click("NOTICES").text
    with services.db.session() as s:
        for i in range(9):
            publish(s, f"通知{i}", f"内容{i}", "admin", starts_at=now() - timedelta(hours=10 - i))
        publish(s, "已过期", "旧的", "admin", starts_at=now() - timedelta(days=3), ends_at=now() - timedelta(days=1))
        publish(s, "还没开始", "未来的", "admin", starts_at=now() + timedelta(days=1))
    answer = user.text("通知公告")
    titles = [a["Title"] for a in answer.articles]
    assert len(titles) == 8  # WeChat's limit: seven notices and the list page
    assert titles[0] == "通知8" and titles[-1] == "查看全部通知"
    assert "已过期" not in titles and "还没开始" not in titles
    assert answer.articles[0]["Url"].startswith("https://repair.example.edu/notices/")
    assert user.text("有没有停电通知").articles  # free text asking for notices


def test_live_notice_is_told_before_a_repair(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                              services: Services) -> None:
    user = wechat("o-water")
    bound("o-water")
    with services.db.session() as s:
        publish(s, "12栋停水检修", "今天14:00-18:00停水检修，请提前储水。", "admin",
                buildings=[["东环校区", "学生公寓12栋"]], groups=["给水"], ends_at=now() + timedelta(hours=4))
    reply = user.text("12栋502水龙头没水了").text
    assert "停水检修" in reply and "仍要报修吗" in reply
    assert "如果通知结束后还有问题" in user.text("不用了").text
    reply = user.text("12栋502水龙头没水了").text
    assert "照片" in user.text("1").text  # went on with the repair
    reply = user.text("12栋502灯不亮").text  # another kind of fault is not held up
    assert "停水" not in reply


def test_a_notice_published_by_another_process_is_told_at_once(wechat: Callable[..., WeChatUser],
                                                               bound: Callable[..., None], services: Services) -> None:
    """The webhook keeps the notices in memory; a notice from the console of another process still counts."""
    user = wechat("o-water-2")
    bound("o-water-2")
    assert "停水" not in user.text("12栋502水龙头没水了").text  # no notice yet: now held in memory
    user.text("取消")
    console = Services(services.config, redis_conn=services.redis)
    try:
        with console.db.session() as s:
            notice = publish(s, "12栋停水检修", "今天14:00-18:00停水检修。", "admin",
                             buildings=[["东环校区", "学生公寓12栋"]], groups=["给水"])
        assert "停水检修" in user.text("12栋502水龙头没水了").text
        user.text("取消")
        with console.db.session() as s:
            s.get_one(Notice, notice.id).ends_at = now()
        assert "停水" not in user.text("12栋502水龙头没水了").text
    finally:
        console.close()


def test_a_notice_that_starts_later_is_told_from_its_start(wechat: Callable[..., WeChatUser],
                                                          bound: Callable[..., None], services: Services,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    user = wechat("o-water-3")
    bound("o-water-3")
    with services.db.session() as s:
        publish(s, "12栋停水检修", "稍后停水检修。", "admin", buildings=[["东环校区", "学生公寓12栋"]],
                groups=["给水"], starts_at=now() + timedelta(hours=1))
    assert "停水" not in user.text("12栋502水龙头没水了").text  # the notice, not started, is now held in memory
    user.text("取消")
    # An hour and a minute later (the clock notices are judged by), with nothing changed in between.
    later = now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(notices, "now", lambda: later)
    assert "停水检修" in user.text("12栋502水龙头没水了").text


@pytest.mark.parametrize("key, expect", [
    ("REPAIR", "维修类型"), ("MY_TICKETS", "还没有报修记录"), ("PROFILE", "校园卡"), ("HELP", "我可以帮您"),
    ("CONSULT", "标题"), ("CONSULT_HISTORY", "查看哪段时间"), ("NOTICES", "通知公告"),
])
def test_every_menu_key_answers(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                key: str, expect: str) -> None:
    user = wechat(f"o-key-{key}")
    bound(f"o-key-{key}")
    assert expect in user.click(key).text


def test_resubscribe_is_welcomed_back_and_pushes_resume(wechat: Callable[..., WeChatUser],
                                                        bound: Callable[..., None], services: Services) -> None:
    from models.people import get_user

    user = wechat("o-resub")
    bound("o-resub")
    assert user.event("unsubscribe").body == "success"
    with services.db.session() as s:
        u = get_user(s, "o-resub")
        assert u is not None and not u.subscribed
    reply = user.event("subscribe").text
    assert "张三，欢迎您回来" in reply
    with services.db.session() as s:
        u = get_user(s, "o-resub")
        assert u is not None and u.subscribed
