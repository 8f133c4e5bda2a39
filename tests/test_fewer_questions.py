"""A one-message report asks only what means something for it: the place in one question when the words named
none, no floor for a lift, a tree or a street lamp, no spot on a field the words already placed, a whole place
taken where only a floor was asked, and short words that name the thing and its fault as the description."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import choose
from tests.support.tickets import filed_ticket

MakeUser = Callable[..., WeChatUser]
NO_HOME = "20260002"  # 李四: no default room


def test_a_report_naming_no_place_asks_it_once(wechat: MakeUser, bound: Callable[..., None],
                                                services: Services) -> None:
    user = wechat("o-few-where")
    bound(user.openid, NO_HOME)
    reply = user.text("卫生间的水龙头一直滴水").text
    assert "在哪儿坏的" in reply and "12栋502" in reply
    assert "照片" in user.text("13栋415").text  # no floor, room or type asked after it
    assert "请核对报修单" in user.image(media_id="M-FEW1").text
    assert "报修成功" in user.text("1").text
    t = filed_ticket(services, user.openid)
    assert (t.building, t.floor, t.room, t.group) == ("学生公寓13栋", "4", "415", "给水")
    assert t.category == "东环校区宿舍维修"
    assert t.description == "卫生间的水龙头一直滴水"


def test_the_place_question_takes_part_of_a_place_and_asks_the_rest(wechat: MakeUser,
                                                                     bound: Callable[..., None]) -> None:
    user = wechat("o-few-part")
    bound(user.openid, NO_HOME)
    assert "在哪儿坏的" in user.text("插座没电了").text
    assert "学生公寓9栋 在几楼" in user.text("9栋").text


def test_words_naming_no_place_at_the_place_question_go_to_the_lists(wechat: MakeUser,
                                                                     bound: Callable[..., None]) -> None:
    user = wechat("o-few-lists")
    bound(user.openid, NO_HOME)
    assert "在哪儿坏的" in user.text("插座没电了").text
    reply = user.text("不知道").text
    assert "没能从这句话里认出楼栋" in reply and "请选择维修类型" in reply


@pytest.mark.parametrize("words", ["六教的电梯按钮失灵了", "16栋的树歪了快倒了"])
def test_no_floor_is_asked_for_a_thing_that_has_none(wechat: MakeUser, bound: Callable[..., None],
                                                     services: Services, words: str) -> None:
    user = wechat("o-few-lift")
    bound(user.openid)
    reply = user.text(words).text
    assert "在几楼" not in reply and "照片" in reply
    user.image(media_id="M-FEW2")
    assert "报修成功" in user.text("1").text
    t = filed_ticket(services, user.openid)
    assert (t.floor, t.room) == (None, None)


def test_the_lists_ask_no_floor_for_a_lift_either(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-few-lift-menu")
    bound(user.openid)
    user.text("报修")
    for label in ("东环校区公共区域水电维修", "电梯", "电梯"):
        choose(user, label)
    reply = choose(user, "第六教学楼")
    assert "在几楼" not in reply and "请描述一下问题" in reply


def test_a_field_placed_by_the_words_asks_no_spot(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-few-field")
    bound(user.openid)
    reply = user.text("运动场边上那排路灯全都不亮了").text
    assert "田径场" in reply and "具体位置" not in reply and "照片" in reply


def test_a_whole_place_at_the_floor_question_is_taken(wechat: MakeUser, bound: Callable[..., None],
                                                      services: Services) -> None:
    user = wechat("o-few-whole")
    bound(user.openid)
    assert "学生公寓12栋 在几楼" in user.text("12栋的水龙头坏了").text
    assert "照片" in user.text("12栋611").text
    user.image(media_id="M-FEW3")
    assert "报修成功" in user.text("1").text
    t = filed_ticket(services, user.openid)
    assert (t.building, t.floor, t.room) == ("学生公寓12栋", "6", "611")


def test_short_words_naming_the_thing_and_its_fault_describe_it(wechat: MakeUser, bound: Callable[..., None],
                                                                services: Services) -> None:
    user = wechat("o-few-short")
    bound(user.openid, NO_HOME)
    assert "在哪儿坏的" in user.text("马桶堵了").text
    reply = user.text("12栋502").text
    assert "照片" in reply and "请描述" not in reply
    user.image(media_id="M-FEW4")
    assert "报修成功" in user.text("1").text
    assert filed_ticket(services, user.openid).description == "马桶堵了"


def test_a_corrected_typo_is_told_beside_the_place_question(wechat: MakeUser, bound: Callable[..., None],
                                                            services: Services) -> None:
    user = wechat("o-few-guess")
    bound(user.openid)
    reply = user.text("17栋二楼的吊扇不专了").text
    assert "我按「不转了」理解了" in reply and "请输入房间号" in reply and "您是说" not in reply
    assert "照片" in user.text("203").text  # the answer settles the correction too
    user.image(media_id="M-FEW5")
    assert "报修成功" in user.text("1").text
    t = filed_ticket(services, user.openid)
    assert (t.building, t.room, t.group, t.item) == ("学生公寓17栋", "203", "风扇", "吊扇")


def test_no_beside_the_place_question_reads_the_words_as_typed(wechat: MakeUser,
                                                               bound: Callable[..., None]) -> None:
    user = wechat("o-few-guess-no")
    bound(user.openid)
    assert "我按「不转了」理解了" in user.text("17栋二楼的吊扇不专了").text
    reply = user.text("不是").text
    assert "不转" not in reply and "学生公寓17栋 2楼" in reply and "请输入房间号" in reply
