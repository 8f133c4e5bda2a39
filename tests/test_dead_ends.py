"""No dead end and no wrong promise: a fault the register has no group for, a place several campuses have,
a notice that does not explain the fault, and a complaint that is a question or praise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from core.services import Services
from devtools.chat import WeChatUser
from models.clock import now
from models.consult import Consult
from models.notices import publish
from models.people import ensure_user
from models.register import store_register
from tests.support.chat import choose, through_the_place
from tests.support.constants import REGISTER_FILE
from tests.support.tickets import filed_ticket

HOME = {"campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "room": "502"}


def at_home(services: Services, openid: str) -> None:
    with services.db.session() as s:
        ensure_user(s, openid).default_place = dict(HOME)


def numbered(reply: str) -> list[str]:
    """The labels of a numbered list, in order."""
    return [text for number, _, text in (line.partition(" ") for line in reply.splitlines()) if number.isdigit()]


# -- a fault of no group ---------------------------------------------------------------------------------

def test_an_aircon_in_my_dorm_is_an_other_fault_of_the_dorm_team(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-ac")
    at_home(services, "o-ac")
    user = wechat("o-ac")
    reply = user.text("宿舍空调坏了，一直不制冷").text
    assert "其他" in reply and "东环校区宿舍维修" in reply and "绿化" not in reply
    summary = user.image().text
    assert "故障：其他" in summary and "描述：宿舍空调坏了，一直不制冷" in summary
    assert "学生公寓12栋 5楼 502" in summary
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-ac")
    assert (t.group, t.category, t.description) == ("其他", "东环校区宿舍维修", "宿舍空调坏了，一直不制冷")


def test_the_group_list_has_the_other_it_promises(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                  services: Services) -> None:
    bound("o-menu-other")
    at_home(services, "o-menu-other")
    user = wechat("o-menu-other")
    groups = numbered(user.text("报修").text)
    assert groups[-1] == "其他" and "给水" in groups and len(groups) == len(set(groups))
    reply = choose(user, "其他")
    assert "描述" in reply and "具体物品" not in reply  # nothing to pick from: straight to the words
    user.text("洗衣机不脱水了，转不起来")
    assert "故障：其他" in user.image().text
    assert "报修成功" in user.text("确认").text
    assert filed_ticket(services, "o-menu-other").category == "东环校区宿舍维修"


def test_a_projector_typed_at_a_list_is_kept_as_the_description(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    bound("o-proj")
    user = wechat("o-proj")
    user.text("报修")
    reply = user.text("五教的投影仪坏了").text
    assert "其他" in reply and "第五教学楼" in reply
    assert "照片" in through_the_place(user, reply)  # the words are the description: not asked
    reply = user.image().text
    assert "描述：五教的投影仪坏了" in reply


# -- a place several campuses have ---------------------------------------------------------------------

def test_every_canteen_is_offered_the_users_campus_first(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-lamp")
    user = wechat("o-lamp")
    options = numbered(user.text("食堂门口那盏路灯坏了").text)
    assert options == ["东环校区 第一食堂", "东环校区 第二食堂", "东环校区 第三食堂", "箭盘校区 食堂", "柳石校区 食堂",
                       "都不是，按菜单选择"]
    user.text("取消")
    bound("o-lamp-ls")
    with services.db.session() as s:
        ensure_user(s, "o-lamp-ls").default_place = {"campus": "柳石校区", "building": "学生公寓1栋"}
    summary = wechat("o-lamp-ls").text("饭堂门口那盏路灯坏了").text
    assert "柳石校区 食堂" in summary  # the only canteen of the user's own campus


# -- notices ---------------------------------------------------------------------------------------------

def water_cut(services: Services, *, ends_in: timedelta | None, started: timedelta = timedelta(0)) -> None:
    with services.db.session() as s:
        publish(s, "12栋停水检修", "停水检修，请提前储水。", "admin", buildings=[["东环校区", "学生公寓12栋"]],
                groups=["给水"], starts_at=now() - started, ends_at=now() + ends_in if ends_in else None)


def test_a_water_cut_does_not_turn_away_a_dripping_tap(wechat: Callable[..., WeChatUser],
                                                       bound: Callable[..., None], services: Services) -> None:
    """停水 explains "no water", not a tap that drips: only a fault that looks like the cut is answered."""
    bound("o-drip")
    water_cut(services, ends_in=timedelta(hours=4))
    user = wechat("o-drip")
    assert "停水" not in user.text("12栋502水龙头一直滴水").text
    user.text("取消")
    assert "停水检修" in user.text("12栋502水龙头没水了").text


def test_a_notice_without_an_end_stops_deflecting_after_three_days(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-open")
    water_cut(services, ends_in=None, started=timedelta(days=3, hours=1))
    user = wechat("o-open")
    assert "停水" not in user.text("12栋502水龙头没水了").text
    user.text("取消")
    water_cut(services, ends_in=None, started=timedelta(days=1))
    assert "停水检修" in user.text("12栋502水龙头没水了").text


# -- 投诉建议 ---------------------------------------------------------------------------------------------

def consults(services: Services, openid: str) -> list[Consult]:
    with services.db.session() as s:
        return list(s.scalars(select(Consult).where(Consult.openid == openid)))


def test_a_question_is_a_question_and_is_not_asked_to_improve(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-ask")
    user = wechat("o-ask")
    reply = user.text("请问暑假宿舍能不能留宿？宿管说不行").text
    assert "咨询" in reply and "改进" not in reply and "匿名" in reply
    summary = user.text("1").text
    assert "类型：咨询" in summary and "建议：" not in summary and "修改建议" not in summary


def test_the_summary_changes_the_kind_and_anonymity_in_words(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-change")
    user = wechat("o-change")
    user.text("请问暑假宿舍能不能留宿？宿管说不行")
    user.text("1")  # named
    reply = user.text("匿名").text
    assert "匿名：是" in reply
    reply = user.text("改成建议").text
    assert "改进" in reply  # a suggestion asks how things should be better
    reply = user.text("暑假开放一栋宿舍给留校的同学").text
    assert "类型：建议" in reply and "建议：暑假开放一栋宿舍给留校的同学" in reply and "匿名：是" in reply
    reply = user.text("不匿名").text
    assert "匿名：否" in reply
    assert "已提交" in user.text("确认提交").text
    [c] = consults(services, "o-change")
    assert (c.kind, c.suggestion, c.anonymous) == ("建议", "暑假开放一栋宿舍给留校的同学", False)


def test_praise_is_not_asked_to_improve_and_the_edit_menu_has_anonymity(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-praise")
    user = wechat("o-praise")
    user.click("CONSULT")
    user.text("感谢宿管阿姨")
    choose(user, "表扬")
    choose(user, "公寓管理中心")
    reply = user.text("宿管阿姨帮我找回了丢失的饭卡，非常感谢").text
    assert "改进" not in reply and "匿名" in reply
    summary = user.text("1").text
    assert "建议：" not in summary
    reply = choose(user, "修改是否匿名")
    assert "匿名" in reply
    assert "匿名：是" in choose(user, "匿名")


def test_a_list_of_one_is_not_asked(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                    services: Services) -> None:
    doc = yaml.safe_load(Path(REGISTER_FILE).read_text(encoding="utf-8"))
    doc["departments"] = ["后勤管理处"]
    with services.db.session() as s:
        store_register(s, yaml.safe_dump(doc, allow_unicode=True), "one-department.yaml")
    services.forget_register()  # as another process would within a minute
    bound("o-one")
    user = wechat("o-one")
    user.click("CONSULT")
    user.text("留宿的问题")
    reply = choose(user, "咨询")
    assert "哪个部门" not in reply and "详细" in reply
    user.text("暑假宿舍能不能留宿，怎么申请")
    assert "部门：后勤管理处" in user.text("2").text
