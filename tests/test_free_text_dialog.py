"""Saying it in one message: free text fills the repair form, and only what is missing is asked."""

from __future__ import annotations

from collections.abc import Callable

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import choose, through_the_place
from tests.support.tickets import filed_ticket


def test_one_message_filing_takes_three_messages_with_a_profile_phone(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-one")
    bound("o-one")
    sent = 0

    def say(text: str) -> str:
        nonlocal sent
        sent += 1
        return user.text(text).text

    reply = say("五教一楼卫生间便盆堵")
    assert "东环校区 第五教学楼 1楼 卫生间" in reply
    assert "排水/便盆" in reply and "东环校区公共区域物业维修" in reply
    assert "照片" in reply  # the only thing missing
    sent += 1
    reply = user.image(media_id="M-ONE").text
    assert "请核对报修单" in reply and "电话：13800000001" in reply
    reply = say("确认")
    assert "报修成功" in reply
    assert sent <= 4
    t = filed_ticket(services, "o-one")
    assert (t.category, t.group, t.item) == ("东环校区公共区域物业维修", "排水", "便盆")
    assert (t.campus, t.building, t.floor, t.room) == ("东环校区", "第五教学楼", "1", None)
    assert t.place_note == "卫生间"
    assert t.description == "五教一楼卫生间便盆堵"


def test_one_message_filing_asks_the_phone_when_the_profile_has_none(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-nophone")
    bound("o-nophone", "20260003")  # 王五 has no phone in the roster
    assert "照片" in user.text("12栋502水龙头一直滴水").text
    assert "联系电话" in user.image().text
    assert "请核对报修单" in user.text("13912345678").text
    assert "报修成功" in user.text("确认").text  # four messages in all
    t = filed_ticket(services, "o-nophone")
    assert (t.building, t.floor, t.room, t.group, t.phone) == ("学生公寓12栋", "5", "502", "给水", "13912345678")
    assert t.category == "东环校区宿舍维修"


def test_unbound_user_binds_and_keeps_what_was_said(wechat: Callable[..., WeChatUser], services: Services) -> None:
    user = wechat("o-unbound-text")
    reply = user.text("3栋418水龙头漏水").text
    assert "学生公寓3栋" in reply and "校园卡号" in reply
    user.text("20260002")
    reply = user.text("234567").text
    assert "绑定成功" in reply and "照片" in reply  # back to the form, nothing asked twice


def test_corrections_at_the_summary(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                    services: Services) -> None:
    user = wechat("o-fix")
    bound("o-fix")
    user.text("五教一楼卫生间便盆堵")
    assert "请核对报修单" in user.image().text
    reply = user.text("不是五教，是四教").text
    assert "已修改" in reply and "第四教学楼" in reply and "第五教学楼" not in reply
    reply = user.text("是三楼").text
    assert "第四教学楼 3楼" in reply
    reply = user.text("改成水龙头").text
    assert "给水/水龙头" in reply and "东环校区公共区域水电维修" in reply  # a different department now
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-fix")
    assert (t.building, t.floor, t.group, t.item, t.category) == (
        "第四教学楼", "3", "给水", "水龙头", "东环校区公共区域水电维修")


def test_unknown_item_is_not_guessed(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                    services: Services) -> None:
    """A thing the register has no group for is 其他 (not a guess from the fault word), at the team that covers
    the place, with the words as the description."""
    user = wechat("o-aircon")
    bound("o-aircon")
    reply = user.text("五教五楼的空调坏了").text
    assert "第五教学楼" in reply and "其他" in reply and "东环校区公共区域物业维修" in reply
    assert "照片" in through_the_place(user, reply)  # the description is the words: not asked
    reply = user.image().text
    assert "描述：五教五楼的空调坏了" in reply and "故障：其他" in reply
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-aircon")
    assert (t.group, t.item, t.category, t.description) == (
        "其他", None, "东环校区公共区域物业维修", "五教五楼的空调坏了")


def test_complaint_typed_into_the_repair_form(wechat: Callable[..., WeChatUser],
                                              bound: Callable[..., None]) -> None:
    user = wechat("o-complain")
    bound("o-complain")
    user.text("报修")
    reply = user.text("三食堂的菜太贵了").text
    assert "意见" in reply and "维修类型" in reply  # told where it belongs; the form is kept
    assert "故障类别" in user.text("2").text


def test_complaint_and_query_outside_a_dialog(wechat: Callable[..., WeChatUser],
                                              bound: Callable[..., None]) -> None:
    user = wechat("o-idle")
    bound("o-idle")
    reply = user.text("建议食堂开到十点").text
    assert "收到您的建议" in reply and "饮食服务中心" in reply  # a suggestion, filled in for confirming
    assert "已取消" in user.text("取消").text
    assert "还没有报修记录" in user.text("我报的修什么时候来").text


def test_free_text_in_the_middle_of_the_form_fills_it(wechat: Callable[..., WeChatUser],
                                                      bound: Callable[..., None]) -> None:
    user = wechat("o-mid")
    bound("o-mid")
    user.text("报修")
    reply = user.text("12栋502水龙头坏了").text
    assert "收到" in reply and "学生公寓12栋" in reply
    assert "描述" in reply or "照片" in reply


def test_unsure_place_offers_the_candidates_and_the_menus(wechat: Callable[..., WeChatUser],
                                                          bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-unsure")
    bound("o-unsure")
    reply = user.text("食堂的灯坏了").text  # two campuses have a 食堂, the default campus three numbered ones
    assert "您说的是哪一栋" in reply
    for n, place in enumerate(("东环校区 第一食堂", "东环校区 第二食堂", "东环校区 第三食堂", "箭盘校区 食堂",
                               "柳石校区 食堂", "都不是，按菜单选择"), 1):
        assert f"{n} {place}" in reply  # the default campus's first; none dropped
    assert "照片" in through_the_place(user, user.text("4").text)  # the form goes on from the chosen building
    assert "箭盘校区 食堂" in user.image().text  # at the summary
    user.text("取消")
    user.text("食堂的灯坏了")
    reply = user.text("6").text  # none of them: the structured menus
    assert "维修类型" in reply


def test_a_named_fault_without_a_place_is_not_asked_again(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """「宿舍水笼头坏了」 (a typo, no building): only the repair types that fix taps are offered, and after one
    is chosen the bot goes on to the place instead of asking the fault again."""
    user = wechat("o-tap")
    bound("o-tap", "20260002")  # 李四 has no default room
    reply = user.text("我宿舍水笼头坏了一直滴水").text
    assert "给水/水龙头" in reply and "维修类型" in reply
    register = services.register()
    assert register is not None
    offered = {line.partition(" ")[2] for line in reply.splitlines() if line.partition(" ")[0].isdigit()}
    fixes_taps = {c.name for c in register.categories if "给水" in c.scope.groups}
    assert offered == fixes_taps and len(offered) < len(register.categories)
    reply = choose(user, "东环校区宿舍维修")
    assert "楼栋" in reply and "故障类别" not in reply and "具体物品" not in reply
    choose(user, "学生公寓12栋")
    user.text("5")
    assert "照片" in user.text("502").text
    assert "请核对报修单" in user.image(media_id="M-TAP").text
    assert "报修成功" in user.text("1").text
    t = filed_ticket(services, "o-tap")
    assert (t.category, t.group, t.item, t.building, t.room) == ("东环校区宿舍维修", "给水", "水龙头", "学生公寓12栋",
                                                               "502")


def test_by_the_building_asks_no_floor(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                       services: Services) -> None:
    """A fault by a building, not in it ("五教门口的路灯"), is filed outside it: no floor or room is asked."""
    user = wechat("o-outside")
    bound("o-outside")
    reply = user.text("五教门口的路灯不亮了").text
    assert "第五教学楼" in reply and "照片" in reply and "几楼" not in reply
    reply = user.image().text
    assert "请核对报修单" in reply and "门口" in reply
    assert "报修成功" in user.text("确认").text
    ticket = filed_ticket(services, "o-outside")
    assert ticket.building == "第五教学楼" and ticket.floor is None and ticket.room is None
