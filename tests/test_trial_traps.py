"""A student who ignores the prompts: a second fault at the summary is a new report, not a correction; a bare
room number corrects the room; a place-only first message is no description; what is said while binding is
kept; words that name a building win over a shared location; an emergency asks only what fits it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from core.actions import move_ticket
from core.services import Services
from devtools.chat import WeChatUser
from models.people import ensure_user
from models.pushes import Push
from models.tickets import Ticket
from tests.support.chat import choose, say, ticket_no
from tests.support.consults import make_consult
from tests.support.tickets import filed_ticket, make_ticket, stored
from tests.test_location import mapped, point_of, share  # noqa: F401

MakeUser = Callable[..., WeChatUser]
HOME = {"campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "room": "502"}


def at_home(services: Services, openid: str) -> None:
    with services.db.session() as s:
        ensure_user(s, openid).default_place = dict(HOME)


def test_a_second_fault_at_the_summary_is_a_new_report(wechat: MakeUser, bound: Callable[..., None],
                                                       services: Services) -> None:
    user = wechat("o-trap-second")
    bound(user.openid)
    say(user, "6栋307水笼头坏了关不上")
    summary = user.image(media_id="M-TAP").text
    assert "请核对报修单" in summary and "307" in summary
    reply = say(user, "算了 等等 二教三楼走廊的灯也坏了")
    assert "另一处新的问题" in reply and "308" not in reply
    assert "1 先提交这张，再报新的" in reply
    reply = say(user, "1")
    no = ticket_no(reply)
    t = filed_ticket(services, user.openid)
    assert t.no == no and t.room == "307" and t.description == "6栋307水笼头坏了关不上"
    assert "第二教学楼" in reply  # the new report goes on, at its own place
    assert "照片" in reply or "描述" in reply or "请核对" in reply


def test_a_second_fault_can_replace_the_first_when_asked(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-trap-replace")
    bound(user.openid)
    say(user, "6栋307水笼头坏了关不上")
    user.image(media_id="M-TAP2")
    say(user, "二教三楼走廊的灯也坏了")
    reply = say(user, "2")
    assert "第二教学楼 3楼" in reply and "照明" in reply
    assert "308" not in reply and "二教308" not in reply


def test_a_bare_room_number_corrects_the_room(wechat: MakeUser, bound: Callable[..., None],
                                              services: Services) -> None:
    user = wechat("o-trap-room")
    bound(user.openid)
    at_home(services, user.openid)
    say(user, "我宿舍门锁坏了")
    summary = user.image(media_id="M-LOCK").text
    assert "学生公寓12栋 5楼 502" in summary
    reply = say(user, "不是502 是503")
    assert "已修改房间" in reply and "学生公寓12栋 5楼 503" in reply and "补充到描述" not in reply
    reply = say(user, "是308")
    assert "已修改房间" in reply and "学生公寓12栋 3楼 308" in reply
    reply = say(user, "503才对")
    assert "学生公寓12栋 5楼 503" in reply
    assert "报修成功" in say(user, "确认")
    t = filed_ticket(services, user.openid)
    assert (t.floor, t.room) == ("5", "503") and "502" not in t.description


def test_a_room_the_building_lacks_is_said(wechat: MakeUser, bound: Callable[..., None],
                                           services: Services) -> None:
    user = wechat("o-trap-noroom")
    bound(user.openid)
    at_home(services, user.openid)
    say(user, "我宿舍门锁坏了")
    user.image(media_id="M-LOCK2")
    reply = say(user, "改成5099")
    assert "没有「5099」这个房间" in reply and "学生公寓12栋 5楼 502" in reply


def test_a_place_only_first_message_is_not_the_description(wechat: MakeUser, bound: Callable[..., None],
                                                           services: Services) -> None:
    user = wechat("o-trap-placeonly")
    bound(user.openid)
    reply = say(user, "12栋305")
    assert "故障类别" in reply
    reply = say(user, "宿舍水龙头一直滴水")
    if "描述" in reply and "照片" not in reply:
        reply = say(user, "水龙头一直滴水关不紧")
    summary = user.image(media_id="M-DRIP").text
    assert "请核对报修单" in summary and "描述：12栋305" not in summary
    assert "描述：宿舍水龙头一直滴水" in summary


def test_a_fault_and_a_photo_sent_while_binding_are_kept(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-trap-bind")
    reply = say(user, "报修")
    assert "校园卡号" in reply
    reply = say(user, "宿舍灯不亮了")
    assert "先绑定校园卡，绑好后接着报修这个问题" in reply and "8 位数字" not in reply
    reply = user.image(media_id="M-BIND").text
    assert "照片已收到" in reply and "这一步需要文字回复" not in reply
    say(user, "20260001")
    reply = say(user, "12345X")
    assert "绑定成功" in reply and "照明" in reply  # the repair goes on with the fault said
    for _ in range(8):
        if "请核对报修单" in reply:
            break
        if "维修类型" in reply:
            reply = choose(user, "东环校区宿舍维修")
        elif "具体物品" in reply:
            reply = say(user, "1")
        elif "在几楼" in reply:
            reply = say(user, "5")
        elif "房间号" in reply:
            reply = say(user, "502")
        elif "楼栋" in reply:
            reply = say(user, "学生公寓12栋")
        elif "描述" in reply:
            reply = say(user, "宿舍灯不亮了，开关没反应")
        else:
            break
    assert "请核对报修单" in reply and "照片：1 张" in reply and "宿舍灯不亮了" in reply


def test_a_building_in_words_wins_over_a_shared_location(wechat: MakeUser, bound: Callable[..., None],
                                                         mapped: dict[str, Any]) -> None:  # noqa: F811
    user = wechat("o-trap-loc")
    bound(user.openid)
    assert "第一教学楼 附近" in share(user, point_of(mapped, "第一教学楼")).text
    reply = say(user, "图书馆门口路灯不亮")
    assert "图书馆" in reply and "第一教学楼" not in reply


def test_a_lift_emergency_asks_only_the_building(wechat: MakeUser, bound: Callable[..., None],
                                                 services: Services) -> None:
    user = wechat("o-trap-lift")
    bound(user.openid)
    reply = say(user, "电梯困人了！")
    assert "值班电话" in reply and "在哪栋楼" in reply and "维修类型" not in reply and "回复数字" not in reply
    reply = say(user, "学生公寓9栋")
    assert "电梯停在几楼附近" in reply and "房间号" not in reply
    assert "请说说大概在几楼" in say(user, "确认")  # agreeing is not where
    reply = say(user, "卡在3楼和4楼中间")
    assert "房间号" not in reply and "只有" not in reply and "照片" in reply
    reply = say(user, "确认")
    assert "紧急报修成功" in reply
    t = filed_ticket(services, user.openid)
    assert (t.building, t.floor, t.room, t.place_note) == ("学生公寓9栋", "3", None, "卡在3楼和4楼中间")
    assert t.priority == "urgent"


def test_a_confirmation_is_never_a_place_note(wechat: MakeUser, bound: Callable[..., None],
                                              services: Services) -> None:
    user = wechat("o-trap-note")
    bound(user.openid)
    reply = say(user, "二教的灯不亮了")
    if "在几楼" in reply:
        reply = say(user, "0")
    assert "说明具体位置" in reply
    reply = say(user, "确认")
    assert "请用几个字说在哪里" in reply and "说明具体位置" in reply
    reply = say(user, "门口")
    assert "描述" in reply or "照片" in reply


def test_a_description_that_follows_a_correction_invents_no_room(wechat: MakeUser,
                                                                 bound: Callable[..., None]) -> None:
    user = wechat("o-trap-invent")
    bound(user.openid)
    say(user, "6栋307水笼头坏了关不上")
    user.image(media_id="M-TAP3")
    reply = say(user, "不是6栋，是二教三楼走廊")
    if "请输入房间号" in reply:
        reply = say(user, "0")
    assert "第二教学楼 3楼（走廊）" in reply
    description = reply.split("描述：")[1].splitlines()[0]
    assert "308" not in description and "二教307" not in description, description
    assert "描述里写的位置和「位置」一栏不一样" in reply


def test_a_bare_room_number_at_the_duplicate_question(wechat: MakeUser, bound: Callable[..., None],
                                                      services: Services) -> None:
    first = wechat("o-trap-dup-1")
    bound(first.openid)
    say(first, "12栋502门锁坏了")
    first.image(media_id="M-DUP-1")
    assert "报修成功" in say(first, "确认")
    user = wechat("o-trap-dup-2")
    bound(user.openid, "20260002")
    assert "48小时内已有人报修过" in say(user, "12栋502门锁坏了")
    reply = say(user, "改成603")
    assert "已修改房间" in reply and "已有人报修过" not in reply and "没能从这句话里" not in reply
    summary = user.image(media_id="M-DUP-2").text
    assert "学生公寓12栋 6楼 603" in summary and "描述：12栋603门锁坏了" in summary


def test_the_same_kind_of_fault_elsewhere_said_with_also_is_asked_too(wechat: MakeUser,
                                                                      bound: Callable[..., None]) -> None:
    user = wechat("o-trap-also")
    bound(user.openid)
    say(user, "三教二楼走廊灯不亮")
    user.image(media_id="M-ALSO")
    reply = say(user, "四教一楼的灯也不亮")
    assert "另一处新的问题" in reply
    reply = say(user, "3")  # neither: back to the summary as it was
    assert "请核对报修单" in reply and "第三教学楼 2楼（走廊）" in reply


def test_a_report_with_its_room_sent_while_binding_is_kept(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-trap-bind-room")
    assert "校园卡号" in say(user, "报修")
    reply = say(user, "12栋502水龙头一直滴水")
    assert "先绑定校园卡" in reply and "8 位数字" not in reply
    say(user, "20260001")
    reply = say(user, "12345X")
    assert "绑定成功" in reply and "学生公寓12栋 5楼 502" in reply and "照片" in reply
    summary = user.image(media_id="M-BIND-ROOM").text
    assert "学生公寓12栋 5楼 502" in summary and "描述：12栋502水龙头一直滴水" in summary


def test_a_lift_emergency_never_takes_the_default_room(wechat: MakeUser, bound: Callable[..., None],
                                                       services: Services) -> None:
    """The home building may be guessed (and said), never the home room; a building said instead wins."""
    user = wechat("o-trap-lift-home")
    bound(user.openid)
    at_home(services, user.openid)
    reply = say(user, "电梯困人了！")
    assert "502" not in reply and ("在哪栋楼" in reply or "电梯停在几楼附近" in reply)
    if "在哪栋楼" in reply:
        reply = say(user, "学生公寓12栋")
    reply = say(user, "不是12栋，是9栋")
    assert "已修改位置" in reply and "电梯停在几楼附近" in reply
    reply = say(user, "5楼")
    assert "房间号" not in reply and "照片" in reply
    assert "紧急报修成功" in say(user, "确认")
    t = filed_ticket(services, user.openid)
    assert (t.building, t.floor, t.room, t.place_note) == ("学生公寓9栋", "5", None, "电梯")


def test_emergency_words_at_the_photo_make_it_urgent(wechat: MakeUser, bound: Callable[..., None],
                                                     services: Services) -> None:
    user = wechat("o-trap-photo-fire")
    bound(user.openid)
    assert "照片" in say(user, "12栋502灯不亮了")
    reply = say(user, "灯泡那里冒火花了，有焦味")
    assert "值班电话" in reply and "可以不拍" in reply
    reply = say(user, "跳过")
    if "请核对报修单" in reply:
        reply = say(user, "确认")
    assert "紧急报修成功" in reply
    t = filed_ticket(services, user.openid)
    assert t.priority == "urgent" and "冒火花" in t.description


def test_another_fault_said_at_the_photo_is_asked_as_a_new_report(wechat: MakeUser, bound: Callable[..., None],
                                                                  services: Services) -> None:
    user = wechat("o-trap-photo-another")
    bound(user.openid)
    assert "照片" in say(user, "6栋307水龙头坏了")
    reply = say(user, "二教三楼走廊的灯也坏了")
    assert "另一处新的问题" in reply and "补充到描述" not in reply
    reply = say(user, "3")  # neither: the photo is still wanted
    assert "请拍一张故障处的照片" in reply
    summary = user.image(media_id="M-PHOTO-ANOTHER").text
    assert "请核对报修单" in summary and "二教" not in summary.split("描述：")[1].splitlines()[0]


def test_a_complaint_at_the_photo_is_not_the_description(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-trap-photo-canteen")
    bound(user.openid)
    assert "照片" in say(user, "12栋502马桶堵了")
    reply = say(user, "食堂的饭菜太咸了，希望改进一下")
    assert "投诉建议" in reply and "补充到描述" not in reply and "请拍一张故障处的照片" in reply
    summary = user.image(media_id="M-PHOTO-CANTEEN").text
    assert "食堂" not in summary


def test_a_card_number_at_the_idle_screen_starts_binding(wechat: MakeUser) -> None:
    user = wechat("o-trap-card-idle")
    assert "绑定校园卡后就能看到" in say(user, "我的报修")
    reply = say(user, "20260001")
    assert "密码" in reply and "没看懂" not in reply
    assert "绑定成功" in say(user, "12345X")
    assert "已绑定校园卡" in say(user, "20260001")
    other = wechat("o-trap-card-unknown")
    reply = say(other, "29999999")
    assert "没有查到这个校园卡号" in reply and "8 位校园卡号" in reply


def test_asking_for_a_person_gives_the_duty_phone_and_keeps_the_form(wechat: MakeUser,
                                                                     bound: Callable[..., None]) -> None:
    user = wechat("o-trap-human")
    reply = say(user, "人工")
    assert "值班电话 0772-2686552" in reply and "没看懂" not in reply
    bound(user.openid)
    assert "照片" in say(user, "12栋502马桶堵了")
    reply = say(user, "转人工")
    assert "值班电话" in reply and "还没完成" in reply and "这一步需要一张照片" not in reply
    assert "请核对报修单" in user.image(media_id="M-HUMAN").text


def test_an_emergency_in_a_building_not_on_the_register_offers_a_list(wechat: MakeUser, bound: Callable[..., None],
                                                                      services: Services) -> None:
    user = wechat("o-trap-fire-nowhere")
    bound(user.openid)
    assert "在哪栋楼" in say(user, "着火了！冒烟了")
    reply = say(user, "北门小卖部旁边那栋")
    assert "请从下面选" in reply and "学生公寓12栋" in reply and "都不是，按菜单选择" in reply
    reply = choose(user, "东环校区 学生公寓12栋")
    assert "在几楼" in reply
    reply = say(user, "3楼")
    assert "照片" in reply
    assert "紧急报修成功" in say(user, "确认")
    t = filed_ticket(services, user.openid)
    assert (t.building, t.floor, t.priority) == ("学生公寓12栋", "3", "urgent")


def test_an_emergency_floor_or_room_is_not_asked_again(wechat: MakeUser, bound: Callable[..., None],
                                                       services: Services) -> None:
    user = wechat("o-trap-fire-room")
    bound(user.openid)
    say(user, "着火了！冒烟了")
    assert "在几楼" in say(user, "学生公寓12栋")
    reply = say(user, "302")
    assert "房间号" not in reply and "照片" in reply
    assert "紧急报修成功" in say(user, "确认")
    t = filed_ticket(services, user.openid)
    assert (t.building, t.floor, t.room) == ("学生公寓12栋", "3", "302")


def test_back_at_a_summary_reached_at_once_says_how_to_change_it(wechat: MakeUser,
                                                                  bound: Callable[..., None]) -> None:
    user = wechat("o-trap-summary-back")
    bound(user.openid)
    say(user, "12栋502马桶堵了")
    assert "请核对报修单" in user.image(media_id="M-BACK-SUM").text
    reply = say(user, "返回")
    assert "要改哪一项" in reply and "请核对报修单" in reply and "请拍一张" not in reply
    reply = say(user, "2")
    assert "修改" not in reply or "校区" in reply or "楼栋" in reply or "位置" in reply


def test_another_fault_at_the_same_place_is_not_swapped_in_silently(wechat: MakeUser, bound: Callable[..., None],
                                                                    services: Services) -> None:
    user = wechat("o-trap-same-place")
    bound(user.openid)
    say(user, "12栋502马桶堵了")
    user.image(media_id="M-SAME")
    reply = say(user, "12栋502水龙头坏了一直滴水")
    assert "另一处新的问题" in reply and "已修改故障" not in reply
    reply = say(user, "1")
    assert "报修成功" in reply
    t = filed_ticket(services, user.openid)
    assert t.group == "排水" and "马桶" in t.description


def test_a_card_bound_on_a_new_wechat_brings_its_tickets_and_consults(wechat: MakeUser, bound: Callable[..., None],
                                                                      services: Services) -> None:
    old, new = wechat("o-trap-phone-old"), wechat("o-trap-phone-new")
    bound(old.openid)
    say(old, "12栋502马桶堵了")
    old.image(media_id="M-NEWPHONE")
    no = ticket_no(say(old, "确认"))
    make_consult(services, openid=old.openid, card_no="20260001", title="二食堂饭菜偏咸")
    assert "校园卡号" in say(new, "绑定")
    say(new, "20260001")
    assert "之前绑定在另一个微信上" in say(new, "12345X")
    assert no in say(new, "我的报修")
    assert "撤销" in say(new, no)
    assert "二食堂饭菜偏咸" in say(new, "查看历史") + choose(new, "最近7天")
    assert no not in say(old, "我的报修")  # the old WeChat, unbound, no longer lists the card's tickets


def test_a_repair_rated_in_words_is_rated(wechat: MakeUser, bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-trap-rate-words")
    bound(user.openid)
    no = make_ticket(services, user.openid, moved_to="completed")
    reply = say(user, "修得还行吧，就是来得有点慢")
    assert f"{no} 已评 3 星" in reply
    other = wechat("o-trap-rate-stars")
    bound(other.openid, "20260002")
    no = make_ticket(services, other.openid, moved_to="completed")
    assert f"{no} 已评 3 星" in say(other, "三星吧")
    assert stored(services, no).status == "closed"


def test_progress_asked_by_the_thing_opens_that_ticket(wechat: MakeUser, bound: Callable[..., None],
                                                       services: Services) -> None:
    user = wechat("o-trap-shower")
    bound(user.openid)
    shower = make_ticket(services, user.openid, item="花洒", description="花洒不出水")
    lamp = make_ticket(services, user.openid, group="照明", item="灯管", description="灯管不亮")
    reply = say(user, "上周二报的花洒修好了没有")
    assert shower in reply and lamp not in reply
    assert lamp in say(user, "我的报修")  # the list is still the list


def test_an_outage_asked_with_no_notice_says_how_to_report_it(wechat: MakeUser) -> None:
    user = wechat("o-trap-outage")
    reply = say(user, "宿舍停水了吗")
    assert "目前没有新的通知公告" in reply and "直接告诉我就能报修" in reply


def test_giving_up_in_words_cancels_the_form(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-trap-never-mind")
    bound(user.openid)
    assert "维修类型" in say(user, "报修")
    assert "已取消" in say(user, "算了")
    assert "当前没有进行中的操作" in say(user, "1")


def test_a_complaint_said_at_the_leave_question_goes_where_it_was_clicked(wechat: MakeUser,
                                                                          bound: Callable[..., None]) -> None:
    user = wechat("o-trap-leave-words")
    bound(user.openid)
    assert "照片" in say(user, "12栋502马桶堵了")
    assert "要离开吗" in user.click("CONSULT").text
    reply = say(user, "食堂的饭菜太咸了，希望改进一下")
    assert "继续填写" not in reply and "补充到描述" not in reply
    assert "饮食服务中心" in reply or "匿名" in reply or "投诉" in reply


def test_a_question_about_a_list_is_answered_with_how_to_choose(wechat: MakeUser,
                                                                 bound: Callable[..., None]) -> None:
    user = wechat("o-trap-what")
    bound(user.openid)
    say(user, "报修")
    say(user, "2")
    reply = say(user, "什么意思？")
    assert "不知道选哪个" in reply and "没能从这句话里" not in reply and "故障类别" in reply


def test_photos_first_then_the_fault_asks_the_place_in_words(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-trap-photos-first")
    bound(user.openid)
    for n in range(3):
        user.image(media_id=f"M-FIRST-{n}")
    reply = say(user, "灯坏了")
    assert "在哪儿坏的" in reply
    reply = say(user, "12栋502")
    if "具体物品" in reply:
        reply = choose(user, "灯管")
    if "描述" in reply:
        reply = say(user, "宿舍的灯坏了，开关没反应")
    assert "请核对报修单" in reply and "照片：3 张" in reply and "学生公寓12栋 5楼 502" in reply


def test_a_person_asked_for_in_a_sentence_or_by_voice(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-trap-human-voice")
    bound(user.openid)
    assert "值班电话" in say(user, "帮我转人工")
    assert "照片" in say(user, "12栋502马桶堵了")
    reply = user.voice("有没有真人客服。").text
    assert "值班电话" in reply and "还没完成" in reply
    assert "值班电话" not in say(user, "人工湖边的路灯坏了")


def test_a_person_asked_for_while_writing_a_complaint(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-trap-human-consult")
    bound(user.openid)
    say(user, "宿管阿姨态度太差了")
    reply = say(user, "人工")
    assert "值班电话" in reply and "您正在写的意见建议提交后" in reply and "回复「投诉建议」" not in reply


def test_progress_of_a_card_s_ticket_is_pushed_to_the_wechat_it_moved_to(wechat: MakeUser,
                                                                          bound: Callable[..., None],
                                                                          services: Services) -> None:
    old, new = wechat("o-trap-push-old"), wechat("o-trap-push-new")
    bound(old.openid)
    say(old, "12栋502马桶堵了")
    old.image(media_id="M-PUSH-MOVED")
    no = ticket_no(say(old, "确认"))
    say(new, "绑定")
    say(new, "20260001")
    assert "之前绑定在另一个微信上" in say(new, "12345X")
    move_ticket(services, no, "accepted", by="staff:王调度")
    with services.db.session() as s:
        told = set(s.scalars(select(Push.openid).join(Ticket, Push.ticket_id == Ticket.id)
                             .where(Ticket.no == no, Push.kind == "status")))
    assert told == {new.openid}


def test_an_emergency_said_at_a_list_gives_the_duty_phone(wechat: MakeUser, bound: Callable[..., None],
                                                          services: Services) -> None:
    user = wechat("o-trap-list-lift")
    bound(user.openid)
    say(user, "报修")
    reply = say(user, "电梯里困了人")
    assert "值班电话" in reply and "在哪栋楼" in reply and "维修类型" not in reply
    reply = say(user, "学生公寓9栋")
    assert "电梯停在几楼附近" in reply
    say(user, "3楼")
    assert "紧急报修成功" in say(user, "确认")
    assert filed_ticket(services, user.openid).priority == "urgent"


def test_a_shared_location_and_a_fault_before_binding_ask_no_repair_type(wechat: MakeUser,
                                                                         mapped: dict[str, Any]) -> None:  # noqa: F811
    user = wechat("o-trap-loc-bind")
    assert "附近" in share(user, point_of(mapped, "第一教学楼")).text
    assert "先绑定校园卡" in say(user, "门锁坏了")
    say(user, "20260001")
    reply = say(user, "12345X")
    assert "绑定成功" in reply and "第一教学楼" in reply and "维修类型" not in reply


def test_a_phone_number_offered_at_a_list_is_kept(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-trap-phone-early")
    bound(user.openid)
    say(user, "报修")
    reply = say(user, "13900001111")
    assert "已记下联系电话 13900001111" in reply and "维修类型" in reply and "没能从这句话里" not in reply


def test_a_report_no_longer_needed_said_in_words_offers_to_withdraw_it(wechat: MakeUser,
                                                                        bound: Callable[..., None],
                                                                        services: Services) -> None:
    user = wechat("o-trap-not-needed")
    bound(user.openid)
    say(user, "12栋502门锁坏了")
    user.image(media_id="M-NOT-NEEDED")
    no = ticket_no(say(user, "确认"))
    reply = say(user, "不用修了，自己弄好了")
    assert f"确定撤销 {no} 吗" in reply or ("撤销哪一张" in reply and no in reply)
