"""The room set in 个人信息 is used: a report that names no place (or only 宿舍) is filed there, the summary
shows it, and it is never asked; a place the words name wins."""

from __future__ import annotations

from collections.abc import Callable

from core.services import Services
from devtools.chat import WeChatUser
from models.people import ensure_user
from tests.support.tickets import filed_ticket

HOME = {"campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "room": "502"}


def at_home(services: Services, openid: str) -> None:
    with services.db.session() as s:
        ensure_user(s, openid).default_place = dict(HOME)


def file_with_photo(user: WeChatUser, text: str) -> str:
    reply = user.text(text).text
    if "照片" in reply and "请核对报修单" not in reply:
        reply = user.image().text
    return reply


def test_a_report_naming_no_place_goes_to_the_default_room(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    bound("o-home-1")
    at_home(services, "o-home-1")
    user = wechat("o-home-1")
    summary = file_with_photo(user, "开关按了没反应")
    assert "请核对报修单" in summary and "学生公寓12栋 5楼 502" in summary
    assert "报修成功" in user.text("1").text
    t = filed_ticket(services, "o-home-1")
    assert (t.building, t.floor, t.room) == ("学生公寓12栋", "5", "502")


def test_my_dorm_means_the_default_room(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                        services: Services) -> None:
    bound("o-home-2")
    at_home(services, "o-home-2")
    summary = file_with_photo(wechat("o-home-2"), "我宿舍的灯不亮了")
    assert "学生公寓12栋 5楼 502" in summary and "几楼" not in summary


def test_a_place_in_the_words_wins(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                   services: Services) -> None:
    bound("o-home-3")
    at_home(services, "o-home-3")
    summary = file_with_photo(wechat("o-home-3"), "五教一楼卫生间便盆堵")
    assert "第五教学楼 1楼" in summary and "学生公寓12栋" not in summary


def test_the_menu_path_offers_it_too(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                     services: Services) -> None:
    bound("o-home-4")
    at_home(services, "o-home-4")
    user = wechat("o-home-4")
    user.text("报修")
    for label in ("给水", "水龙头"):  # the type follows from the room and the fault: not asked
        lines = user.last_reply.splitlines()
        number = next((line.split()[0] for line in lines if line.endswith(label)), None)
        assert number is not None, user.last_reply
        reply = user.text(number).text
    assert "描述" in reply and "楼栋" not in reply, reply  # the place is known: the description is asked
    user.text("水龙头关不紧，一直在滴水")
    assert "学生公寓12栋 5楼 502" in user.image().text
