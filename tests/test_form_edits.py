"""Changing an answer of the repair form, through the real webhook: what depends on it is asked again only
when it no longer holds (the form's one declaration, dialogs/repair_form.py), whichever way it is changed —
a correction in words at the summary, the summary's edit menu, or 返回 and another answer."""

from __future__ import annotations

from collections.abc import Callable

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import choose
from tests.support.tickets import filed_ticket


def to_summary(user: WeChatUser, floor: str, room: str, building: str = "学生公寓12栋") -> str:
    """Walk the structured dorm-tap path with the given floor and room; return the summary."""
    user.text("报修")
    for label in ("东环校区宿舍维修", "给水", "水龙头", building):
        choose(user, label)
    user.text(floor)
    assert "描述" in user.text(room).text
    user.text("水龙头关不紧，一直在滴水")
    reply = user.image(media_id="M-EDIT").text
    assert "请核对报修单" in reply
    return reply


def file_it(user: WeChatUser) -> None:
    assert "报修成功" in user.text("确认").text


# -- a correction in words at the summary -------------------------------------------------------------------

def test_another_building_keeps_the_floor_and_room_it_also_has(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """「改成4栋」: 4栋 has a 5th floor and a room 502, so nothing more is asked."""
    user = wechat("o-edit-keep")
    bound("o-edit-keep")
    assert "学生公寓12栋 5楼 502" in to_summary(user, "5", "502")
    reply = user.text("改成4栋").text
    assert "已修改位置" in reply and "请核对报修单" in reply
    assert "位置：东环校区 学生公寓4栋 5楼 502" in reply
    file_it(user)
    t = filed_ticket(services, "o-edit-keep")
    assert (t.building, t.floor, t.room) == ("学生公寓4栋", "5", "502")


def test_another_building_asks_again_the_floor_it_does_not_have(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """12栋 has 7 floors, 4栋 only 6: the floor and the room are asked again, then the summary comes back."""
    user = wechat("o-edit-floor")
    bound("o-edit-floor")
    to_summary(user, "7", "720")
    reply = user.text("改成4栋").text
    assert "已修改位置" in reply and "学生公寓4栋 在几楼" in reply and "请核对报修单" not in reply
    assert "房间号" in user.text("6").text
    reply = user.text("606").text
    assert "请核对报修单" in reply and "学生公寓4栋 6楼 606" in reply
    assert "描述：水龙头关不紧，一直在滴水" in reply and "照片：1 张" in reply  # the rest is kept
    file_it(user)
    t = filed_ticket(services, "o-edit-floor")
    assert (t.building, t.floor, t.room) == ("学生公寓4栋", "6", "606")


def test_another_building_asks_again_only_the_room_it_does_not_have(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """12栋 has 24 rooms a floor, 4栋 20: the 5th floor stays, room 524 is asked again."""
    user = wechat("o-edit-room")
    bound("o-edit-room")
    to_summary(user, "5", "524")
    reply = user.text("改成4栋").text
    assert "房间号" in reply and "几楼" not in reply
    reply = user.text("520").text
    assert "学生公寓4栋 5楼 520" in reply
    file_it(user)
    assert filed_ticket(services, "o-edit-room").room == "520"


def test_another_floor_asks_again_a_room_not_on_it(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    """「是四楼」 at 5楼 502: room 502 is not on the 4th floor, so the room is asked."""
    user = wechat("o-edit-floor-only")
    bound("o-edit-floor-only")
    to_summary(user, "5", "502")
    reply = user.text("是四楼").text
    assert "已修改楼层" in reply and "房间号" in reply
    assert "学生公寓12栋 4楼 402" in user.text("402").text


# -- the summary's edit menu ------------------------------------------------------------------------------

def test_another_fault_from_the_menu_asks_the_item_again(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """修改故障: another group, then its item (the tap belongs to 给水, not to 照明); the place is kept."""
    user = wechat("o-edit-group")
    bound("o-edit-group")
    to_summary(user, "5", "502")
    reply = choose(user, "修改故障")
    assert "故障类别" in reply and "照明" in reply
    reply = choose(user, "照明")
    assert "具体物品" in reply and "灯管" in reply
    reply = choose(user, "灯管")
    assert "请核对报修单" in reply and "故障：照明/灯管" in reply and "学生公寓12栋 5楼 502" in reply
    file_it(user)
    t = filed_ticket(services, "o-edit-group")
    assert (t.group, t.item, t.category, t.room) == ("照明", "灯管", "东环校区宿舍维修", "502")


def test_another_type_from_the_menu_asks_again_the_place_it_does_not_cover(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """修改维修类型 shows the types; the public-area one keeps the tap but not a dormitory, so the place is
    asked again among the buildings it covers."""
    user = wechat("o-edit-type")
    bound("o-edit-type")
    to_summary(user, "5", "502")
    reply = choose(user, "修改维修类型")
    assert "请选择维修类型" in reply and "东环校区公共区域水电维修" in reply
    reply = choose(user, "东环校区公共区域水电维修")
    assert "楼栋" in reply and "第四教学楼" in reply and "学生公寓12栋" not in reply
    assert "第四教学楼 在几楼" in choose(user, "第四教学楼")
    assert "房间号" in user.text("5").text
    reply = user.text("4505").text
    assert "请核对报修单" in reply and "维修类型：东环校区公共区域水电维修" in reply
    assert "故障：给水/水龙头" in reply and "第四教学楼 5楼 4505" in reply
    file_it(user)
    t = filed_ticket(services, "o-edit-type")
    assert (t.category, t.group, t.building, t.floor, t.room) == (
        "东环校区公共区域水电维修", "给水", "第四教学楼", "5", "4505")


def test_the_same_type_from_the_menu_changes_nothing(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-edit-same-type")
    bound("o-edit-same-type")
    before = to_summary(user, "5", "502")
    choose(user, "修改维修类型")
    assert choose(user, "东环校区宿舍维修") == before


def test_back_from_an_edit_shows_what_is_missing_and_asks_it_on_confirming(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """修改描述, then 返回 to the summary: the description is shown as missing, and 确认 asks it first."""
    user = wechat("o-edit-back")
    bound("o-edit-back")
    to_summary(user, "5", "502")
    assert "请描述一下问题" in choose(user, "修改描述")
    reply = user.text("返回").text
    assert "请核对报修单" in reply and "描述：（待填写）" in reply
    assert "请描述一下问题" in user.text("确认").text
    reply = user.text("热水龙头断了，水一直喷").text
    assert "请核对报修单" in reply and "描述：热水龙头断了，水一直喷" in reply
    file_it(user)
    assert filed_ticket(services, "o-edit-back").description == "热水龙头断了，水一直喷"


# -- 返回 and another answer ---------------------------------------------------------------------------------

def walk_to_room(user: WeChatUser, floor: str) -> None:
    user.text("报修")
    for label in ("东环校区宿舍维修", "给水", "水龙头", "学生公寓12栋"):
        choose(user, label)
    assert "房间号" in user.text(floor).text


def test_back_to_the_building_and_another_one_asks_a_floor_it_lacks(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """7楼 of 12栋, then 返回 twice and 1栋 (6 floors): the floor is asked again."""
    user = wechat("o-back-floor")
    bound("o-back-floor")
    walk_to_room(user, "7")
    assert "几楼" in user.text("返回").text
    assert "楼栋" in user.text("返回").text
    reply = choose(user, "学生公寓1栋")
    assert "学生公寓1栋 在几楼" in reply
    user.text("6")
    assert "描述" in user.text("601").text


def test_back_to_the_building_and_another_one_keeps_a_floor_it_has(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """5楼 of 12栋, then 返回 twice and 1栋: the 5th floor holds, the room is asked next."""
    user = wechat("o-back-keep")
    bound("o-back-keep")
    walk_to_room(user, "5")
    user.text("返回")
    user.text("返回")
    reply = choose(user, "学生公寓1栋")
    assert "房间号" in reply and "几楼" not in reply
    user.text("501")
    user.text("水龙头关不紧，一直在滴水")
    assert "学生公寓1栋 5楼 501" in user.image(media_id="M-BACK").text
    file_it(user)
    t = filed_ticket(services, "o-back-keep")
    assert (t.building, t.floor, t.room) == ("学生公寓1栋", "5", "501")


# -- words at the summary that change nothing ----------------------------------------------------------------

def test_more_words_about_the_fault_at_the_summary_join_the_description(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """A photo and a line of text sent together reach the summary photo first; the words then arrive at the
    summary. Before: 「请回复列表前的数字」 and the words were lost. Now they are added to the description."""
    user = wechat("o-edit-words")
    bound("o-edit-words")
    to_summary(user, "5", "502")
    reply = user.text("晚上滴水声音很大吵得睡不着").text
    assert "已把这句话补充到描述里" in reply and "请核对报修单" in reply
    assert "描述：水龙头关不紧，一直在滴水；晚上滴水声音很大吵得睡不着" in reply
    assert "列表前的数字" in user.text("哦").text  # a word that says nothing is still asked to choose (嗯 is a yes)
    file_it(user)
    assert filed_ticket(services, "o-edit-words").description.endswith("吵得睡不着")
