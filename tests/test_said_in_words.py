"""A person who never types the numbers: yes and no in their own words on every yes/no screen, the leading words
of a choice, 「要离开吗？」 answered 是, the global words after a pause, the profile's actions and default room in
words, a room number at the floor question and a phone number inside a sentence. Through the real webhook."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import (
    DORM_TAP,
    choose,
    file_dorm_tap,
    file_repair,
    start_repair,
    ticket_no,
    to_description,
)
from tests.support.tickets import count_tickets, stored


def paused(services: Services, openid: str) -> None:
    """Make the user's open dialog look left an hour ago."""
    state = json.loads(services.redis.get(f"dlg:{openid}") or b"{}")
    state["updated"] -= 3600
    services.redis.set(f"dlg:{openid}", json.dumps(state))


# -- yes and no in words ---------------------------------------------------------------------------------------

def test_withdrawal_is_confirmed_or_refused_in_words(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                     services: Services) -> None:
    bound("o-yn-wd")
    user = wechat("o-yn-wd")
    no = file_repair(user)
    user.text("我的报修")
    user.text("1")
    assert f"确定撤销 {no} 吗" in choose(user, "撤销报修")
    reply = user.text("不撤了").text
    assert "请回复列表前的数字" not in reply and reply.startswith(no)  # back to the ticket
    assert stored(services, no).status == "submitted"
    choose(user, "撤销报修")
    assert f"{no} 已撤销" in user.text("确定").text
    assert stored(services, no).status == "cancelled"


def test_unbinding_is_confirmed_in_words_and_opened_by_its_name(wechat: Callable[..., WeChatUser],
                                                                bound: Callable[..., None]) -> None:
    bound("o-yn-unbind")
    user = wechat("o-yn-unbind")
    assert "确定解除绑定吗" in user.text("解除绑定").text  # typed with nothing open: the question at once
    assert "姓名：张三" in user.text("算了").text
    assert "确定解除绑定吗" in user.text("解绑").text  # what people call the action on the page
    assert "已解除绑定" in user.text("确定").text
    assert "校园卡号" in user.text("个人信息").text


@pytest.mark.parametrize(("words", "then"), [("关注", "已为您关注"), ("对 就是这个", "已为您关注"),
                                             ("不一样", "请描述一下问题")])
def test_the_duplicate_question_is_answered_in_words(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                     services: Services, words: str, then: str) -> None:
    bound("o-yn-dup-a")
    bound("o-yn-dup-b", "20260002")
    file_repair(wechat("o-yn-dup-a"))
    b = wechat("o-yn-dup-b")
    assert "48小时内已有人报修过" in to_description(b, room="508")
    assert then in b.text(words).text
    assert count_tickets(services) == 1


def test_anonymity_is_answered_in_words(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    bound("o-yn-anon")
    user = wechat("o-yn-anon")
    user.click("CONSULT")
    user.text("二食堂饭菜偏咸")
    user.text("1")
    user.text("饮食服务中心")
    user.text("最近一周二食堂的青菜和汤都特别咸，吃不下去")
    assert "是否匿名" in user.text("希望少放点盐").text
    assert "匿名：否" in user.text("不匿名").text
    assert "已提交，编号 C" in user.text("好的").text


@pytest.mark.parametrize("words", ["嗯", "嗯嗯", "可以", "对的，提交吧"])
def test_the_repair_summary_is_confirmed_in_words(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                  words: str) -> None:
    bound("o-yn-sum")
    user = wechat("o-yn-sum")
    file_dorm_tap(user)
    assert "报修成功" in user.text(words).text


def test_a_sentence_beginning_with_yes_is_not_a_yes(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                    services: Services) -> None:
    bound("o-yn-long")
    user = wechat("o-yn-long")
    file_dorm_tap(user)
    assert "报修成功" not in user.text("是三楼").text
    assert count_tickets(services) == 0


# -- the engine's own questions -----------------------------------------------------------------------------------

def test_yes_at_the_leave_question_leaves_and_a_full_form_is_told_it_is_dropped(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-yn-leave")
    user = wechat("o-yn-leave")
    file_dorm_tap(user)
    reply = user.text("我的报修").text
    assert "要离开吗" in reply and "已经填写的内容不会保存" in reply
    reply = user.text("是").text
    assert "继续填写" not in reply and "您还没有报修记录" in reply  # gone to 我的报修
    assert count_tickets(services) == 0


def test_no_at_the_leave_question_stays(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    bound("o-yn-stay")
    user = wechat("o-yn-stay")
    assert "描述" in to_description(user)
    assert "要离开吗" in user.text("个人信息").text
    reply = user.text("不用").text
    assert "继续填写" in reply and "描述" in reply


def test_global_words_come_before_the_pause_question(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                     services: Services) -> None:
    bound("o-yn-pause")
    user = wechat("o-yn-pause")
    assert "描述" in to_description(user)
    paused(services, "o-yn-pause")
    reply = user.text("帮助").text
    assert "未完成" not in reply and "取消" in reply
    paused(services, "o-yn-pause")
    assert "已取消" in user.text("取消").text
    assert "描述" not in user.text("水龙头关不紧，一直在滴水").text  # no form left to take it


# -- the profile in words -----------------------------------------------------------------------------------

def test_profile_actions_and_the_default_room_in_words(wechat: Callable[..., WeChatUser],
                                                       bound: Callable[..., None]) -> None:
    bound("o-yn-prof")
    user = wechat("o-yn-prof")
    user.text("个人信息")
    assert "新的联系电话" in user.text("改电话").text
    reply = user.text("我电话13912345678").text
    assert "电话已更新" in reply and "电话：13912345678" in reply
    reply = user.text("默认房间").text
    assert "请选择校区" in reply and "取消" in reply and "12栋502" in reply
    reply = user.text("12栋502").text
    assert "默认房间已更新" in reply and "默认房间：东环校区 学生公寓12栋 5楼 502" in reply
    assert "当前密码" in user.text("改密码").text


# -- a room at the floor question, a phone in words ------------------------------------------------------

def at_the_floor(user: WeChatUser) -> None:
    start_repair(user)
    for label in DORM_TAP:
        reply = choose(user, label)
    assert "在几楼" in reply


@pytest.mark.parametrize("words", ["612", "612宿舍", "6楼612"])
def test_a_room_at_the_floor_question_sets_floor_and_room(wechat: Callable[..., WeChatUser],
                                                          bound: Callable[..., None], services: Services,
                                                          words: str) -> None:
    bound("o-yn-floor")
    user = wechat("o-yn-floor")
    at_the_floor(user)
    assert "请描述一下问题" in user.text(words).text  # no room asked, no "只有 7 层"
    user.text("水龙头关不紧，一直在滴水")
    summary = user.image(media_id="MEDIA-1").text
    assert "学生公寓12栋 6楼 612" in summary
    t = stored(services, ticket_no(user.text("1").text))
    assert (t.floor, t.room) == ("6", "612")


@pytest.mark.parametrize("words", ["确认", "嗯嗯"])
def test_words_at_the_floor_question_ask_for_a_number(wechat: Callable[..., WeChatUser],
                                                      bound: Callable[..., None], words: str) -> None:
    bound("o-yn-floor-w")
    user = wechat("o-yn-floor-w")
    at_the_floor(user)
    reply = user.text(words).text
    assert "请回复楼层数字" in reply and "只有" not in reply


@pytest.mark.parametrize("words", ["我电话13912345678", "电话是 139 1234 5678"])
def test_a_phone_in_words_at_the_phone_step(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                            words: str) -> None:
    bound("o-yn-phone")
    user = wechat("o-yn-phone")
    file_dorm_tap(user)
    choose(user, "修改电话")
    reply = user.text(words).text
    assert "号码好像不对" not in reply and "电话：13912345678" in reply


@pytest.mark.parametrize("spot", ["走廊", "男厕", "楼梯间"])
def test_a_public_area_is_said_at_the_room_question(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                    services: Services, spot: str) -> None:
    """One answer, not 0 and then the spot: the room question takes where on the floor in words."""
    user = wechat(f"o-spot-{spot}")
    bound(user.openid)
    assert "请输入房间号" in user.text("12栋五楼的灯不亮了").text
    assert "照片" in user.text(spot).text
    summary = user.image().text
    assert f"学生公寓12栋 5楼（{spot}）" in summary
    no = ticket_no(user.text("确认").text)
    t = stored(services, no)
    assert (t.floor, t.room, t.place_note) == ("5", None, spot)


def test_words_that_are_no_place_are_not_taken_as_the_spot(wechat: Callable[..., WeChatUser],
                                                           bound: Callable[..., None]) -> None:
    user = wechat("o-spot-yes")
    bound(user.openid)
    assert "请输入房间号" in user.text("12栋五楼的灯不亮了").text
    assert "没有「确认」这个房间" in user.text("确认").text
