"""What the person said is neither lost nor contradicted in the repair dialog: every line of the summary can be
corrected in words, a choice screen takes a correction instead of asking for a number, and a sentence's place
is kept whole (a room the building does not have is said, a floor not said is asked)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from core.services import Services
from devtools.chat import WeChatUser
from models.notices import publish
from models.people import ensure_user, now
from tests.support.chat import choose
from tests.support.tickets import filed_ticket


def summary_of(user: WeChatUser, text: str) -> str:
    """Say a whole report, send its photo, and return the summary."""
    user.text(text)
    reply = user.image(media_id="M-FIX").text
    assert "请核对报修单" in reply
    return reply


def test_every_line_of_the_summary_is_corrected_in_words(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-fix-lines")
    bound("o-fix-lines")
    assert "第三教学楼 2楼（走廊）" in summary_of(user, "三教二楼走廊灯不亮")
    reply = user.text("描述改成走廊尽头那盏灯不亮").text
    assert "已修改描述" in reply and "描述：走廊尽头那盏灯不亮" in reply and "2楼（走廊）" in reply
    reply = user.text("电话改成13600002222").text
    assert "已修改电话" in reply and "电话：13600002222" in reply and "电话改成" not in reply
    reply = user.text("楼层改成3楼").text
    assert "已修改楼层" in reply and "第三教学楼 3楼（走廊）" in reply
    reply = user.text("房间改成203").text  # 三教 numbers its rooms 3203…
    assert "没有「203」这个房间" in reply and "3203" in reply and "3楼（走廊）" in reply
    reply = user.text("房间改成3305").text
    assert "已修改房间" in reply and "第三教学楼 3楼 3305" in reply
    reply = user.text("故障改成窗户").text
    assert "已修改故障" in reply and "门窗" in reply
    reply = user.text("维修类型改成宿舍维修").text
    assert "维修类型跟着位置和故障走" in reply and "请核对报修单" in reply
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-fix-lines")
    assert (t.building, t.floor, t.room, t.phone) == ("第三教学楼", "3", "3305", "13600002222")
    assert t.description == "走廊尽头那盏灯不亮"


def test_a_new_building_keeps_the_floor_and_note_and_the_description_follows(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """The floor and the place note hold in 四教 too; the description, the first sentence, named 五教: it says
    四教 now, in the user's own words, and the user is told."""
    user = wechat("o-fix-bldg")
    bound("o-fix-bldg")
    summary_of(user, "五教一楼卫生间便盆堵")
    reply = user.text("不是五教，是四教").text
    assert "已修改位置" in reply and "位置：东环校区 第四教学楼 1楼（卫生间）" in reply
    assert "描述里写的位置也一起改好了" in reply and "描述：四教一楼卫生间便盆堵" in reply
    reply = user.text("改成二教").text
    assert "位置：东环校区 第二教学楼 1楼（卫生间）" in reply and "描述：二教一楼卫生间便盆堵" in reply
    reply = user.text("是三楼").text
    assert "第二教学楼 3楼（卫生间）" in reply and "描述：二教三楼卫生间便盆堵" in reply
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-fix-bldg")
    assert (t.building, t.floor, t.room, t.place_note) == ("第二教学楼", "3", None, "卫生间")
    assert t.description == "二教三楼卫生间便盆堵"


def test_a_room_correction_reaches_the_description(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-fix-room")
    bound("o-fix-room")
    summary_of(user, "12栋503洗手池漏水")
    reply = user.text("房间改成604").text
    assert "学生公寓12栋 6楼 604" in reply and "描述：12栋604洗手池漏水" in reply
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-fix-room")
    assert (t.floor, t.room, t.description) == ("6", "604", "12栋604洗手池漏水")


def test_a_description_whose_place_cannot_be_rewritten_is_pointed_out(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """The user is told, and may rewrite it; a ticket filed as it is says which place holds."""
    for openid in ("o-fix-warn", "o-fix-rewrite"):
        user = wechat(openid)
        bound(openid)
        summary_of(user, "十二号楼503洗手池漏水")  # a way of naming 12栋 that is not in the register's aliases
        reply = user.text("改成4栋").text
        assert "学生公寓4栋" in reply and "描述里写的位置和「位置」一栏不一样" in reply
    reply = user.text("描述改成洗手池下面一直漏水").text
    assert "描述：洗手池下面一直漏水" in reply and "不一样" not in reply
    assert "报修成功" in wechat("o-fix-warn").text("确认").text
    assert filed_ticket(services, "o-fix-warn").description == (
        "十二号楼503洗手池漏水（位置以报修单为准：东环校区 学生公寓4栋 5楼 503）")


def test_the_duplicate_question_takes_a_correction(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    first = wechat("o-dup-first")
    bound("o-dup-first")
    summary_of(first, "五教一楼卫生间便盆堵")
    assert "报修成功" in first.text("确认").text
    user = wechat("o-dup-fix")
    bound("o-dup-fix", "20260002")
    assert "48小时内已有人报修过" in user.text("五教一楼卫生间便盆堵").text
    reply = user.text("不是五教，是四教").text
    assert "已修改位置" in reply and "已有人报修过" not in reply and "照片" in reply
    reply = user.image(media_id="M-DUP").text
    assert "第四教学楼 1楼（卫生间）" in reply
    assert "报修成功" in user.text("确认").text
    assert filed_ticket(services, "o-dup-fix").building == "第四教学楼"


def test_the_notice_question_takes_a_correction(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """The notice was about 12栋; the fault is in 13栋: no notice there, and the report goes on."""
    user = wechat("o-notice-fix")
    bound("o-notice-fix")
    with services.db.session() as s:
        publish(s, "12栋停水检修", "今天14:00-18:00停水检修，请提前储水。", "admin",
                buildings=[["东环校区", "学生公寓12栋"]], groups=["给水"], ends_at=now() + timedelta(hours=4))
    assert "仍要报修吗" in user.text("12栋502水龙头没水了").text
    reply = user.text("不是12栋，是13栋").text
    assert "已修改位置" in reply and "仍要报修吗" not in reply and "照片" in reply
    reply = user.image(media_id="M-NOTICE").text
    assert "学生公寓13栋 5楼 502" in reply and "描述：13栋502水龙头没水了" in reply
    assert "报修成功" in user.text("确认").text
    assert filed_ticket(services, "o-notice-fix").building == "学生公寓13栋"


def test_the_building_candidates_take_a_place_in_words(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-pick-words")
    bound("o-pick-words")
    assert "您说的是哪一栋" in user.text("食堂的灯坏了").text
    reply = user.text("是东环的一食堂").text
    assert "第一食堂" in reply and "哪一栋" not in reply and "在几楼" in reply


def test_a_room_the_building_does_not_have_is_said_and_asked(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-no-room")
    bound("o-no-room")
    reply = user.text("二教302的灯管一闪一闪").text
    assert "第二教学楼没有「302」这个房间" in reply and "2302" in reply and "在几楼" in reply
    assert "房间号" in user.text("3").text
    reply = user.text("2302").text
    assert "照片" in reply
    user.image(media_id="M-ROOM")
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-no-room")
    assert (t.building, t.floor, t.room) == ("第二教学楼", "3", "2302")


def test_a_floor_not_said_is_asked(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """「楼道」 says where on the floor (no room is asked), but not which floor."""
    user = wechat("o-floor")
    bound("o-floor", "20260002")  # no default room
    reply = user.text("东环3栋楼道灯坏了好几天了").text
    assert "学生公寓3栋 在几楼" in reply
    assert "照片" in user.text("3").text
    user.image(media_id="M-FLOOR")
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-floor")
    assert (t.building, t.floor, t.room, t.place_note) == ("学生公寓3栋", "3", None, "楼道")


def test_the_floor_question_takes_a_floor_with_its_spot(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-floor-spot")
    bound("o-floor-spot", "20260002")
    assert "在几楼" in user.text("东环5栋的灯坏了").text
    reply = user.text("4楼楼道").text
    assert "照片" in reply and "房间号" not in reply
    user.image(media_id="M-FS")
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-floor-spot")
    assert (t.building, t.floor, t.room, t.place_note) == ("学生公寓5栋", "4", None, "楼道")


def test_a_photo_first_then_the_report_in_words(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-photo-first")
    bound("o-photo-first")
    user.image(media_id="M-FIRST")
    reply = user.text("12栋503洗手池漏水").text
    assert "请核对报修单" in reply and "描述：12栋503洗手池漏水" in reply and "学生公寓12栋 5楼 503" in reply
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-photo-first")
    assert (t.building, t.room, t.group, t.description) == ("学生公寓12栋", "503", "排水", "12栋503洗手池漏水")


def test_a_number_after_the_line_name_needs_no_verb(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-fix-bare")
    bound("o-fix-bare")
    summary_of(user, "12栋503洗手池漏水")
    assert "电话：13600002222" in user.text("电话13600002222").text
    reply = user.text("电话打不通的话发短信").text  # not a number: more words about the report, as before
    assert "电话：13600002222" in reply
    assert "报修成功" in user.text("确认").text
    assert filed_ticket(services, "o-fix-bare").phone == "13600002222"


def test_a_number_in_a_building_without_room_numbers_is_kept_as_the_spot(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-lib")
    bound("o-lib")
    assert "图书馆 在几楼" in user.text("图书馆305的灯坏了").text
    assert "照片" in user.text("3").text
    user.image(media_id="M-LIB")
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-lib")
    assert (t.building, t.floor, t.room, t.place_note) == ("图书馆", "3", None, "305")


def test_a_place_typed_at_the_building_step_is_not_the_description(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-place-words")
    bound("o-place-words", "20260002")
    user.text("报修")
    for label in ("东环校区宿舍维修", "给水", "水龙头"):
        choose(user, label)
    assert "在几楼" in user.text("东环的12栋").text
    user.text("5")
    assert "描述" in user.text("502").text


def test_a_correction_at_a_place_question_is_not_the_answer(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """「改成二教」 at the place-note question corrects the building; it is not where in the building."""
    user = wechat("o-note-fix")
    bound("o-note-fix", "20260002")
    user.text("报修")
    for label in ("东环校区公共区域水电维修", "照明"):
        choose(user, label)
    assert "具体物品" in user.text("三教的灯坏了").text
    assert "第三教学楼 在几楼" in choose(user, "灯管")
    assert "房间号" in user.text("2").text
    assert "具体位置" in user.text("0").text
    reply = user.text("改成二教").text
    assert "已修改位置" in reply and "具体位置" in reply
    user.text("走廊")
    reply = user.image(media_id="M-NOTE").text
    assert "位置：东环校区 第二教学楼 2楼（走廊）" in reply and "描述：二教的灯坏了" in reply
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-note-fix")
    assert (t.building, t.floor, t.place_note) == ("第二教学楼", "2", "走廊")


def test_a_correction_naming_no_building_keeps_the_building_for_a_user_with_a_default_room(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """The default room fills a new report that names no place; 「是三楼」 at the summary is not one."""
    bound("o-fix-home")
    with services.db.session() as s:
        ensure_user(s, "o-fix-home").default_place = {
            "campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "room": "502"}
    user = wechat("o-fix-home")
    summary_of(user, "五教一楼卫生间便盆堵")
    reply = user.text("是三楼").text
    assert "位置：东环校区 第五教学楼 3楼（卫生间）" in reply
    reply = user.text("位置改成走廊").text
    assert "位置：东环校区 第五教学楼 3楼（走廊）" in reply
