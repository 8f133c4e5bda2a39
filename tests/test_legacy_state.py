"""State saved by the version before typed forms (the untyped dict in Redis) still loads and continues.

Each blob below was captured from Redis (``dlg:{openid}``) by walking the dialogs with that version through
the webhook; ``{no}`` stands for the ticket number it named, ``updated`` is set to now when it is loaded.
Each is put back in Redis and the conversation goes on through the webhook to what it was for: a filed
ticket, a filed consult, a saved room, a rating.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from core.services import Services
from devtools.chat import WeChatUser
from dialogs.registry import DIALOGS
from dialogs.state import State
from dialogs.store import DialogStore
from models.consult import Consult
from models.tickets import Ticket
from tests.support.chat import choose
from tests.support.people import user_row
from tests.support.tickets import filed_ticket, make_ticket, stored

V0 = {
    "repair_confirm_structured": (
        '{"flow": "repair", "step": "confirm", "data": {"phone": "13800000001", '
        '"category": "东环校区宿舍维修", "group": "给水", "item": "水龙头", "campus": "东环校区", '
        '"building": "学生公寓12栋", "floor": "5", "room": "502", "place_note": null, '
        '"description": "水龙头关不紧，一直在滴水", "photo": {"media_id": "MEDIA-1", '
        '"pic_url": "http://mmbiz.qpic.cn/MEDIA-1"}}, "history": ["category", '
        '"group", "item", "building", "floor", "room", "description", "photo"], '
        '"updated": 0, "resume": null, "pending": null}'),
    "repair_duplicate": (
        '{"flow": "repair", "step": "duplicate", '
        '"data": {"phone": "13800000002", "category": "东环校区宿舍维修", "group": "给水", '
        '"item": "水龙头", "campus": "东环校区", "building": "学生公寓12栋", "floor": "5", '
        '"room": "508", "place_note": null, "dup_no": "{no}", '
        '"_dup": {"no": "{no}", "place": "东环校区 学生公寓12栋 5楼 502", '
        '"fault": "给水/水龙头", "status_zh": "提交维修单"}}, "history": ["category", '
        '"group", "item", "building", "floor", "room"], "updated": 0, '
        '"resume": null, "pending": null}'),
    "repair_confirm_after_duplicate": (
        '{"flow": "repair", "step": "confirm", "data": {"phone": "13800000002", '
        '"category": "东环校区宿舍维修", "group": "给水", "item": "水龙头", "campus": "东环校区", '
        '"building": "学生公寓12栋", "floor": "5", "room": "508", "place_note": null, '
        '"dup_no": "{no}", "_dup": {"no": "{no}", '
        '"place": "东环校区 学生公寓12栋 5楼 502", "fault": "给水/水龙头", '
        '"status_zh": "提交维修单"}, "dup_choice": "new", '
        '"description": "我这边是热水龙头断了，水一直喷", "photo": {"media_id": "MEDIA-B", '
        '"pic_url": "http://mmbiz.qpic.cn/MEDIA-B"}}, "history": ["category", '
        '"group", "item", "building", "floor", "room", "duplicate", '
        '"description", "photo"], "updated": 0, "resume": null, '
        '"pending": null}'),
    "repair_confirm_free_text": (
        '{"flow": "repair", "step": "confirm", "data": {"group": "排水", '
        '"item": "便盆", "campus": "东环校区", "building": "第五教学楼", "floor": "1", '
        '"room": null, "place_note": "卫生间", "fault": "堵", '
        '"category": "东环校区公共区域物业维修", "description": "五教一楼卫生间便盆堵", '
        '"phone": "13800000001", "photo": {"media_id": "M-C", '
        '"pic_url": "http://mmbiz.qpic.cn/M-C"}}, "history": ["photo"], '
        '"updated": 0, "resume": null, "pending": null}'),
    "repair_pick_building": (
        '{"flow": "repair", "step": "pick_building", '
        '"data": {"_bcands": [["箭盘校区", "食堂"], ["柳石校区", "食堂"]], '
        '"_rest": {"floor": null, "room": null, "place_note": null}, '
        '"group": "照明", "item": null, "fault": "损坏", "description": "食堂的灯坏了", '
        '"phone": "13800000001"}, "history": [], "updated": 0, "resume": null, '
        '"pending": null}'),
    "bind_card_resume_repair": (
        '{"flow": "bind", "step": "card", "data": {}, "history": [], '
        '"updated": 0, "resume": {"flow": "repair", "step": null, '
        '"data": {"group": "给水", "item": "水龙头", "campus": "东环校区", '
        '"building": "学生公寓3栋", "floor": "4", "room": "418", "place_note": null, '
        '"fault": "漏水", "category": "东环校区宿舍维修", "description": "3栋418水龙头漏水"}, '
        '"history": []}, "pending": null}'),
    "bind_password_resume_repair": (
        '{"flow": "bind", "step": "password", "data": {"card": "20260002"}, '
        '"history": ["card"], "updated": 0, "resume": {"flow": "repair", '
        '"step": null, "data": {"group": "给水", "item": "水龙头", "campus": "东环校区", '
        '"building": "学生公寓3栋", "floor": "4", "room": "418", "place_note": null, '
        '"fault": "漏水", "category": "东环校区宿舍维修", "description": "3栋418水龙头漏水"}, '
        '"history": []}, "pending": null}'),
    "consult_confirm_free_text": (
        '{"flow": "consult", "step": "confirm", "data": {"department": "饮食服务中心", '
        '"kind": "投诉", "title": "二饭的阿姨打菜手抖，分量太少", '
        '"description": "二饭的阿姨打菜手抖，分量太少", "suggestion": null, '
        '"anonymous": false}, "history": ["suggestion", "anonymous"], '
        '"updated": 0, "resume": null, "pending": null}'),
    "consult_suggestion": (
        '{"flow": "consult", "step": "suggestion", "data": {"title": "二食堂饭菜偏咸", '
        '"kind": "投诉", "department": "饮食服务中心", '
        '"description": "最近一周二食堂的青菜和汤都特别咸"}, "history": ["title", "kind", '
        '"department", "description"], "updated": 0, "resume": null, '
        '"pending": null}'),
    "profile_home_room": (
        '{"flow": "profile", "step": "home_room", "data": {"_greeted": true, '
        '"home_campus": "东环校区", "home_building": "学生公寓12栋", "home_floor": "5"}, '
        '"history": ["show", "home_campus", "home_building", "home_floor"], '
        '"updated": 0, "resume": null, "pending": null}'),
    "my_tickets_detail": (
        '{"flow": "my_tickets", "step": "detail", "data": {"no": "{no}"}, '
        '"history": ["list"], "updated": 0, "resume": null, "pending": null}'),
    "rate_comment": (
        '{"flow": "rate", "step": "comment", "data": {"no": "{no}", "stars": 2}, '
        '"history": [], "updated": 0, "resume": null, "pending": null}'),
    "rework_what": (
        '{"flow": "rework", "step": "what", "data": {"no": "{no}"}, '
        '"history": [], "updated": 0, "resume": null, "pending": null}'),
    "consult_history_range": (
        '{"flow": "consult_history", "step": "range", "data": {}, "history": [], '
        '"updated": 0, "resume": null, "pending": null}'),
    "repair_notice": (
        '{"flow": "repair", "step": "notice", "data": {"phone": "13800000001", '
        '"category": "东环校区宿舍维修", "group": "给水", "item": "水龙头", "campus": "东环校区", '
        '"building": "学生公寓12栋", "floor": "6", "room": "601", "place_note": null, '
        '"_notice": "12栋停水检修：今天14:00-18:00停水检修，请提前储水。"}, "history": ["category", '
        '"group", "item", "building", "floor", "room"], "updated": 0, '
        '"resume": null, "pending": null}'),
    "repair_confirm_after_notice": (
        '{"flow": "repair", "step": "confirm", "data": {"phone": "13800000001", '
        '"category": "东环校区宿舍维修", "group": "给水", "item": "水龙头", "campus": "东环校区", '
        '"building": "学生公寓12栋", "floor": "6", "room": "601", "place_note": null, '
        '"_notice": "12栋停水检修：今天14:00-18:00停水检修，请提前储水。", "notice_seen": true, '
        '"description": "水龙头没水了，一直不出水", "photo": {"media_id": "M-W", '
        '"pic_url": "http://mmbiz.qpic.cn/M-W"}}, "history": ["category", '
        '"group", "item", "building", "floor", "room", "notice", "description", '
        '"photo"], "updated": 0, "resume": null, "pending": null}'),
}


def load(services: Services, openid: str, name: str, no: str = "") -> dict[str, object]:
    """Put a v0 blob in Redis as that version left it (just now, so no pause question comes first)."""
    state = json.loads(V0[name].replace("{no}", no))
    state["updated"] = time.time()
    services.redis.set(DialogStore.state_key(openid), json.dumps(state, ensure_ascii=False))
    return state


def saved(services: Services, openid: str) -> dict[str, object]:
    return json.loads(services.redis.get(DialogStore.state_key(openid)) or b"{}")


def test_every_blob_reads_into_typed_forms_and_is_written_in_the_new_layout() -> None:
    """Reading and writing a v0 state keeps every field (renamed where it was hidden, the one photo as the list
    of photos), with the form's version."""
    assert DIALOGS  # the dialogs, with the forms they keep, are defined
    for name, blob in V0.items():
        old = json.loads(blob.replace("{no}", "R000000001"))
        state = State.from_dict(old)
        new = state.to_dict()
        assert new["data"]["v"] == type(state.data).VERSION, name
        assert not [k for k in new["data"] if k.startswith("_")], name
        renamed = {"_dup": "dup", "_notice": "notice", "_bcands": "building_candidates", "_rest": "place_guess",
                   "_greeted": "greeted", "photo": "photos"}
        assert {renamed.get(k, k) for k in old["data"]} == set(new["data"]) - {"v"}, name
        assert State.from_dict(new) == state, name  # and the new layout reads back the same


@pytest.mark.parametrize("name, openid, card, where", [
    ("repair_confirm_structured", "o-v0-1", "20260001", ("学生公寓12栋", "5", "502", "水龙头关不紧，一直在滴水")),
    ("repair_confirm_free_text", "o-v0-2", "20260001", ("第五教学楼", "1", None, "五教一楼卫生间便盆堵")),
    ("repair_confirm_after_notice", "o-v0-3", "20260001", ("学生公寓12栋", "6", "601", "水龙头没水了，一直不出水")),
    ("repair_confirm_after_duplicate", "o-v0-4", "20260002",
     ("学生公寓12栋", "5", "508", "我这边是热水龙头断了，水一直喷")),
])
def test_a_repair_saved_at_the_summary_is_filed(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                               services: Services, name: str, openid: str, card: str,
                                               where: tuple[str, str, str | None, str]) -> None:
    bound(openid, card)
    no = make_ticket(services, "o-v0-other", moved_to="submitted")
    state = load(services, openid, name, no)
    photo = state["data"]["photo"]["media_id"]  # type: ignore[index]
    reply = wechat(openid).text("确认").text
    assert "报修成功" in reply
    with services.db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.openid == openid)).one()
        assert (t.building, t.floor, t.room, t.description) == where
        assert [p.media_id for p in t.photos] == [photo]


def test_a_repair_saved_at_the_duplicate_question_goes_on(wechat: Callable[..., WeChatUser],
                                                          bound: Callable[..., None], services: Services) -> None:
    bound("o-v0-dup", "20260002")
    no = make_ticket(services, "o-v0-first", moved_to="submitted")
    load(services, "o-v0-dup", "repair_duplicate", no)
    user = wechat("o-v0-dup")
    reply = user.text("9").text  # a wrong number: the question again, from the kept details
    assert no in reply and "东环校区 学生公寓12栋 5楼 502" in reply and "给水/水龙头" in reply
    assert saved(services, "o-v0-dup")["data"]["dup"]["no"] == no  # type: ignore[index]
    assert "描述" in choose(user, "我的问题不一样，继续报修")
    user.text("我这边是热水龙头断了，水一直喷")
    assert "请核对报修单" in user.image(media_id="M-V0").text
    assert "报修成功" in user.text("确认").text
    assert filed_ticket(services, "o-v0-dup").room == "508"


def test_a_repair_saved_at_the_notice_goes_on(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                              services: Services) -> None:
    bound("o-v0-notice")
    load(services, "o-v0-notice", "repair_notice")
    user = wechat("o-v0-notice")
    assert "描述" in user.text("仍要报修").text  # the question was there, with the notice told
    user.text("水龙头没水了，一直不出水")
    assert "请核对报修单" in user.image(media_id="M-V0N").text
    assert "报修成功" in user.text("确认").text
    assert filed_ticket(services, "o-v0-notice").room == "601"


def test_a_repair_saved_at_the_building_candidates_goes_on(wechat: Callable[..., WeChatUser],
                                                           bound: Callable[..., None], services: Services) -> None:
    bound("o-v0-cands")
    load(services, "o-v0-cands", "repair_pick_building")
    user = wechat("o-v0-cands")
    reply = user.text("2").text  # 2 柳石校区 食堂
    assert "食堂 在几楼" in reply  # the sentence named no floor, and the canteen has two
    assert "具体位置" in user.text("1").text  # no room numbers there: where on the floor
    assert "照片" in user.text("大厅").text
    assert "请核对报修单" in user.image(media_id="M-V0C").text
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-v0-cands")
    assert (t.campus, t.building, t.floor, t.group, t.description) == ("柳石校区", "食堂", "1", "照明", "食堂的灯坏了")


@pytest.mark.parametrize("name, typed", [("bind_card_resume_repair", ["20260002", "234567"]),
                                         ("bind_password_resume_repair", ["234567"])])
def test_binding_saved_before_a_repair_goes_back_to_it(wechat: Callable[..., WeChatUser], services: Services,
                                                       name: str, typed: list[str]) -> None:
    load(services, "o-v0-bind", name)
    user = wechat("o-v0-bind")
    replies = [user.text(t).text for t in typed]
    assert "绑定成功" in replies[-1] and "照片" in replies[-1]  # back to the repair, nothing asked twice
    assert "请核对报修单" in user.image(media_id="M-V0B").text
    assert "报修成功" in user.text("确认").text
    t = filed_ticket(services, "o-v0-bind")
    assert (t.building, t.floor, t.room, t.phone) == ("学生公寓3栋", "4", "418", "13800000002")


def consult_of(services: Services, openid: str) -> Consult:
    with services.db.session() as s:
        return s.scalars(select(Consult).where(Consult.openid == openid)).one()


def test_a_consult_saved_at_the_summary_is_filed(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                services: Services) -> None:
    bound("o-v0-consult")
    load(services, "o-v0-consult", "consult_confirm_free_text")
    assert "已提交" in wechat("o-v0-consult").text("确认").text
    c = consult_of(services, "o-v0-consult")
    assert (c.department, c.kind, c.suggestion, c.anonymous) == ("饮食服务中心", "投诉", None, False)


def test_a_consult_saved_halfway_goes_on(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                        services: Services) -> None:
    bound("o-v0-consult2")
    load(services, "o-v0-consult2", "consult_suggestion")
    user = wechat("o-v0-consult2")
    assert "匿名" in user.text("希望少放点盐").text
    assert "标题：二食堂饭菜偏咸" in user.text("2").text
    assert "已提交" in user.text("确认").text
    c = consult_of(services, "o-v0-consult2")
    assert (c.title, c.suggestion, c.anonymous) == ("二食堂饭菜偏咸", "希望少放点盐", True)


def test_a_default_room_saved_halfway_is_saved(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                               services: Services) -> None:
    bound("o-v0-prof")
    load(services, "o-v0-prof", "profile_home_room")
    reply = wechat("o-v0-prof").text("502").text
    assert "默认房间已更新" in reply and "欢迎您回来" not in reply  # greeted already, by that version
    row = user_row(services, "o-v0-prof")
    assert row is not None and row.default_place == {"campus": "东环校区", "building": "学生公寓12栋",
                                                         "floor": "5", "room": "502"}


def test_a_ticket_open_in_my_tickets_takes_a_message(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                     services: Services) -> None:
    bound("o-v0-mine")
    no = make_ticket(services, "o-v0-mine", moved_to="submitted")
    load(services, "o-v0-mine", "my_tickets_detail", no)
    user = wechat("o-v0-mine")
    assert "请输入留言" in user.text("1").text  # 1 留言
    assert f"留言已添加到 {no}" in user.text("师傅下午来之前请先打电话").text
    assert [e.note for e in stored(services, no).events if e.kind == "message"] == ["师傅下午来之前请先打电话"]


def test_a_rating_saved_at_its_comment_is_given(wechat: Callable[..., WeChatUser], services: Services) -> None:
    no = make_ticket(services, "o-v0-rate", moved_to="completed")
    load(services, "o-v0-rate", "rate_comment", no)
    reply = wechat("o-v0-rate").text("师傅没有按时来").text
    assert f"{no} 已评 2 星" in reply
    t = stored(services, no)
    assert (t.status, t.rating, t.rating_comment) == ("closed", 2, "师傅没有按时来")


def test_a_rework_saved_at_its_question_is_sent(wechat: Callable[..., WeChatUser], services: Services) -> None:
    no = make_ticket(services, "o-v0-rework", moved_to="completed")
    load(services, "o-v0-rework", "rework_what", no)
    assert f"{no} 已重新受理" in wechat("o-v0-rework").text("还在滴水").text


def test_history_saved_at_its_question_answers(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                               services: Services) -> None:
    bound("o-v0-hist")
    load(services, "o-v0-hist", "consult_history_range")
    assert "没有您提交的意见建议" in wechat("o-v0-hist").text("1").text
