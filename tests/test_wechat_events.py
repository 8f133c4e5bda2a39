"""Events and idempotency, from real WeChat samples (tests/data/wechat/, origins in its README): no event is
mistaken for a message, no remembered reply crosses from one user to another or from one event to another."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from core.services import Services
from core.window import window_key
from devtools.chat import Answer, WeChatUser
from models.people import WechatUser
from tests.support.samples import sample


def user_row(services: Services, openid: str) -> WechatUser | None:
    with services.db.session() as s:
        return s.scalars(select(WechatUser).where(WechatUser.openid == openid)).first()


def is_success(answer: Answer) -> bool:
    return answer.status == 200 and answer.body == "success"


def test_an_event_wechatpy_does_not_know_is_not_a_message(wechat: Callable[..., WeChatUser],
                                                          bound: Callable[..., None], services: Services) -> None:
    """订阅通知's popup event mid-dialog: `success`, the open question is not asked again, and it does not
    open the 48-hour window (only what the user says does). Before: 「暂时只能看懂文字和照片」."""
    user = wechat("o-ev-popup")
    bound("o-ev-popup")
    assert "维修类型" in user.text("报修").text
    services.redis.delete(window_key("o-ev-popup"))
    assert is_success(user.post_xml(sample("subscribe_msg_popup_event.xml", "o-ev-popup")))
    assert not services.redis.exists(window_key("o-ev-popup"))
    assert "故障类别" in user.text("1").text  # the dialog went on where it was


def test_an_event_of_another_product_is_ignored(wechat: Callable[..., WeChatUser], services: Services) -> None:
    user = wechat("o-ev-wecom")
    assert is_success(user.post_xml(sample("wecom_change_contact.xml", "o-ev-wecom")))
    assert user_row(services, "o-ev-wecom") is None


def test_following_by_scanning_a_barcode_is_welcomed(wechat: Callable[..., WeChatUser],
                                                     services: Services) -> None:
    """A subscribe whose EventKey is `scanbarcode|…`: the welcome, and the user is marked subscribed."""
    answer = wechat("o-ev-scan").post_xml(sample("subscribe_scanbarcode.xml", "o-ev-scan"))
    assert "欢迎关注" in answer.text
    row = user_row(services, "o-ev-scan")
    assert row is not None and row.subscribed


def test_events_in_the_same_second_are_each_answered(wechat: Callable[..., WeChatUser],
                                                     bound: Callable[..., None]) -> None:
    """LOCATION then subscribe, and LOCATION then a click, each in one second: the second of each pair is
    answered for itself (before, from the memory of the first: no welcome, a click answered `success`)."""
    user = wechat("o-ev-second")
    at = int(time.time())
    assert is_success(user.post_xml(sample("location_event.xml", "o-ev-second", at)))
    assert "欢迎" in user.post_xml(sample("unsubscribe.xml", "o-ev-second", at)
                                   .replace("unsubscribe", "subscribe")).text
    bound("o-ev-second")
    at += 1
    assert is_success(user.post_xml(sample("location_event.xml", "o-ev-second", at)))
    click = sample("click_event.xml", "o-ev-second", at).replace("EVENTKEY", "REPAIR")
    assert "维修类型" in user.post_xml(click).text


def test_a_msgid_of_another_user_never_returns_their_reply(wechat: Callable[..., WeChatUser],
                                                           bound: Callable[..., None]) -> None:
    """Two users whose messages carry the same MsgId: each gets their own answer (before, the second got the
    first's remembered reply, with name, masked card and phone)."""
    bound("o-ev-first")
    first = wechat("o-ev-first").post_xml(sample("text.xml", "o-ev-first", msg_id="5550001").replace(
        "this is a test", "个人信息"))
    assert "张三" in first.text
    second = wechat("o-ev-other").post_xml(sample("text.xml", "o-ev-other", msg_id="5550001").replace(
        "this is a test", "个人信息"))
    assert "张三" not in second.text and "13800000001" not in second.text


def test_an_old_menu_key_mid_dialog_shows_the_menu_and_leaves_the_dialog(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    """Before: the raw key in 「要离开吗」, then 「这个菜单暂时不可用」."""
    user = wechat("o-ev-oldkey")
    bound("o-ev-oldkey")
    assert "维修类型" in user.text("报修").text
    click = sample("click_event.xml", "o-ev-oldkey").replace("EVENTKEY", "V1001_OLD_BUTTON")
    answer = user.post_xml(click).text
    assert "V1001_OLD_BUTTON" not in answer and "要离开" not in answer
    assert "菜单已经更新" in answer and "我的报修" in answer and "维修类型" in answer
    assert "故障类别" in user.text("1").text


def test_unfollowing_by_someone_never_seen_leaves_no_record(wechat: Callable[..., WeChatUser],
                                                            services: Services) -> None:
    user = wechat("o-ev-stranger")
    assert is_success(user.post_xml(sample("unsubscribe.xml", "o-ev-stranger")))
    assert user_row(services, "o-ev-stranger") is None
