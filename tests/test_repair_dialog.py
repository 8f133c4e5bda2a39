"""Filing a repair through the real webhook, step by step, and what lands in the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from core.services import Services
from devtools.chat import WeChatUser
from models.tickets import Ticket, TicketPhoto, get_ticket
from tests.support.chat import choose, file_dorm_tap, say, start_repair, to_description
from tests.support.tickets import count_tickets


def test_file_a_repair_with_photo(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                  services: Services, run_jobs: Callable[[], int]) -> None:
    user = wechat("o-filer")
    bound("o-filer")
    summary = file_dorm_tap(user)
    assert "东环校区 学生公寓12栋 5楼 502" in summary
    assert "电话：13800000001" in summary  # from the roster, not asked again
    reply = user.text("1").text
    assert "报修成功" in reply
    no = reply.split("单号 ")[1].split("。")[0]
    with services.db.session() as s:
        t = get_ticket(s, no)
        assert (t.status, t.category, t.group, t.item) == ("submitted", "东环校区宿舍维修", "给水", "水龙头")
        assert (t.campus, t.building, t.floor, t.room) == ("东环校区", "学生公寓12栋", "5", "502")
        assert t.description == "水龙头关不紧，一直在滴水"
        assert [p.media_id for p in t.photos] == ["MEDIA-1"]
    assert run_jobs() >= 1
    with services.db.session() as s:
        photo = s.scalars(select(TicketPhoto)).one()
        assert photo.status == "saved"
        assert Path(photo.path or "").read_bytes().startswith(b"\x89PNG")


def test_retried_confirmation_files_one_ticket(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                services: Services) -> None:
    user = wechat("o-retry")
    bound("o-retry")
    file_dorm_tap(user)
    first = user.text("1")
    again = user.retry()
    assert again.text == first.text
    assert count_tickets(services) == 1


def test_unbound_user_binds_then_continues(wechat: Callable[..., WeChatUser]) -> None:
    user = wechat("o-new")
    reply = user.text("报修").text
    assert "8 位校园卡号" in reply
    assert "密码" in user.text("20260001").text
    reply = user.text("12345x").text
    assert "绑定成功" in reply and "张三" in reply
    assert "维修类型" in reply  # straight back to the repair form


@pytest.mark.parametrize("bad, why", [
    ("", "没有收到内容"),
    ("99", "没有第 99 项"),
    ("随便说两句", "请回复列表前的数字"),
    ("😀😀", "请回复列表前的数字"),
])
def test_bad_choice_repeats_the_list(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                     bad: str, why: str) -> None:
    user = wechat("o-bad")
    bound("o-bad")
    start_repair(user)
    reply = user.text(bad).text
    assert why in reply
    assert "1 校园管理" in reply  # the list again


def test_full_width_digits_are_numbers(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-fw")
    bound("o-fw")
    start_repair(user)
    assert "故障类别" in user.text("２").text


def test_photo_step_wants_a_photo_and_text_steps_keep_early_photos(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-photo")
    bound("o-photo")
    start_repair(user)
    reply = user.image(media_id="EARLY").text
    assert "照片已收到" in reply and "维修类型" in reply
    for label in ("东环校区宿舍维修", "给水", "水龙头", "学生公寓12栋"):
        if label not in user.last_reply:
            user.text("x")  # the list again
        choose(user, label)
    say(user, "5")
    say(user, "502")
    reply = say(user, "水龙头一直在滴水")
    assert "请核对报修单" in reply and "照片：1 张" in reply


def test_text_when_photo_expected(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    """A word that is no answer asks for the photo again; someone who cannot take one is not trapped."""
    user = wechat("o-nophoto")
    bound("o-nophoto")
    to_description(user)
    say(user, "水龙头一直在滴水")
    assert "需要一张照片" in user.text("嗯").text
    reply = user.text("没有照片").text
    assert "先不带照片" in reply and "请核对报修单" in reply and "照片：0 张" in reply
    assert "报修成功" in say(user, "确认")


def test_description_limits(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-desc")
    bound("o-desc")
    to_description(user)
    assert "太短" in say(user, "坏了")
    reply = say(user, "滴" * 5000)
    assert "500 字以内" in reply and "5000" in reply
    assert "照片" in say(user, "水龙头一直在滴水")


def test_back_cancel_and_restart(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                 services: Services) -> None:
    user = wechat("o-nav")
    bound("o-nav")
    start_repair(user)
    choose(user, "东环校区宿舍维修")
    assert "故障类别" in user.last_reply
    reply = say(user, "返回")
    assert "维修类型" in reply
    reply = say(user, "上一步")
    assert "已经是第一步" in reply
    choose(user, "东环校区宿舍维修")
    reply = say(user, "重新开始")
    assert "从头开始" in reply and "维修类型" in reply
    reply = say(user, "取消")
    assert "已取消" in reply
    assert "当前没有进行中的操作" in say(user, "1")  # nothing half-filed is waiting
    assert count_tickets(services) == 0


def test_menu_click_in_the_middle_asks_before_leaving(wechat: Callable[..., WeChatUser],
                                                     bound: Callable[..., None]) -> None:
    user = wechat("o-click")
    bound("o-click")
    start_repair(user)
    choose(user, "东环校区宿舍维修")
    reply = user.click("MY_TICKETS").text
    assert "要离开吗" in reply
    reply = say(user, "2")
    assert "继续填写" in reply and "故障类别" in reply
    user.click("MY_TICKETS")
    assert "还没有报修记录" in say(user, "1")


def test_help_inside_a_step(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-help")
    bound("o-help")
    start_repair(user)
    reply = say(user, "帮助")
    assert "取消" in reply and "返回" in reply and "维修类型" in reply


def test_pause_asks_whether_to_continue(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                        services: Services) -> None:
    user = wechat("o-pause")
    bound("o-pause")
    start_repair(user)
    choose(user, "东环校区宿舍维修")
    _age_dialog(services, "o-pause", seconds=3600)
    reply = say(user, "1")
    assert "未完成的报修单" in reply and "故障类别" in reply
    reply = say(user, "1")
    assert "继续填写" in reply and "故障类别" in reply
    assert "具体物品" in say(user, "1")


def test_message_after_dialog_expired(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                      services: Services) -> None:
    user = wechat("o-expired")
    bound("o-expired")
    start_repair(user)
    services.redis.delete("dlg:o-expired")  # what the TTL does after a day
    reply = say(user, "3")
    assert "当前没有进行中的操作" in reply and "报修" in reply


def _age_dialog(services: Services, openid: str, seconds: int) -> None:
    import json

    key = f"dlg:{openid}"
    state = json.loads(services.redis.get(key) or b"{}")
    state["updated"] -= seconds
    services.redis.set(key, json.dumps(state))


def test_words_sent_instead_of_the_photo_join_the_description(wechat: Callable[..., WeChatUser],
                                                              bound: Callable[..., None],
                                                              services: Services) -> None:
    """More about the fault at the photo step is kept in the description (not lost), and the photo is still asked."""
    user = wechat("o-more")
    bound("o-more")
    to_description(user)
    say(user, "水龙头一直在滴水")
    reply = user.text("热水那边的龙头也关不紧").text
    assert "补充到描述" in reply and "照片" in reply
    assert "补充到描述" not in user.text("拍不了照片").text  # about the photo, not the fault
    assert "补充到描述" not in user.text("滴" * 490).text  # would pass 500 characters
    reply = user.image(media_id="M-MORE").text
    assert "描述：水龙头一直在滴水；热水那边的龙头也关不紧" in reply
    assert "报修成功" in say(user, "1")
    with services.db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.openid == "o-more")).one()
        assert t.description == "水龙头一直在滴水；热水那边的龙头也关不紧"
