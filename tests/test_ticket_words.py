"""The words people type without opening 我的报修 — 留言, 撤销, 撤销 R…, 评价 — act on their ticket: the one that
fits, a numbered choice when several do, and a sentence saying what to do instead when none does."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.services import Services
from devtools.chat import WeChatUser
from dialogs.ticket_words import TicketWordForm, read_message, read_withdraw
from tests.support.chat import choose
from tests.support.tickets import make_ticket, stored


@pytest.mark.parametrize("text, form", [
    ("留言", TicketWordForm()),
    ("留言 师傅下午两点后在", TicketWordForm(text="师傅下午两点后在")),
    ("留言：晚上有人", TicketWordForm(text="晚上有人")),
    ("留言 R261127001", TicketWordForm(no="R261127001")),
    ("留言 r261127001 门口等", TicketWordForm(no="R261127001", text="门口等")),
    ("留言板在哪", None),
    ("我想留言", None),
])
def test_read_message(text: str, form: TicketWordForm | None) -> None:
    assert read_message(text) == form


@pytest.mark.parametrize("text, form", [
    ("撤销", TicketWordForm()),
    ("撤销报修", TicketWordForm()),
    ("撤销 R261127001", TicketWordForm(no="R261127001")),
    ("撤销Ｒ２６１１２７００１。", TicketWordForm(no="R261127001")),
    ("撤销那个投诉吧", None),
])
def test_read_withdraw(text: str, form: TicketWordForm | None) -> None:
    assert read_withdraw(text) == form


def last_event(services: Services, no: str) -> tuple[str, str | None]:
    e = stored(services, no).events[-1]
    return e.kind, e.note


# -- 留言 ------------------------------------------------------------------------------------------------------



def test_message_goes_on_the_one_open_ticket(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                             services: Services) -> None:
    """One ticket in progress: 「留言」 asks for the words on it; 「留言 …」 adds them at once."""
    bound("o-tw-one")
    no = make_ticket(services, "o-tw-one")
    make_ticket(services, "o-tw-one", status="closed")
    user = wechat("o-tw-one")
    assert "请输入留言" in user.text("留言").text
    reply = user.text("晚上八点后宿舍有人").text
    assert f"留言已添加到 {no}" in reply and "留言：晚上八点后宿舍有人" in reply
    assert last_event(services, no) == ("message", "晚上八点后宿舍有人")
    assert f"留言已添加到 {no}" in user.text("留言：门没锁，直接进").text
    assert last_event(services, no) == ("message", "门没锁，直接进")


def test_message_with_several_offers_a_choice(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                              services: Services) -> None:
    bound("o-tw-two")
    first = make_ticket(services, "o-tw-two", building="学生公寓3栋")
    second = make_ticket(services, "o-tw-two", building="学生公寓7栋")
    user = wechat("o-tw-two")
    reply = user.text("留言 下午有人").text
    assert "给哪一张留言" in reply and first in reply and second in reply
    assert "没有第 3 项" in user.text("3").text
    line = next(x for x in user.last_reply.splitlines() if first in x)
    assert f"留言已添加到 {first}" in user.text(line.split(" ")[0]).text
    assert last_event(services, first) == ("message", "下午有人")
    assert last_event(services, second)[0] == "status"


def test_message_with_none_says_what_to_do(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                           services: Services) -> None:
    bound("o-tw-none")
    make_ticket(services, "o-tw-none", status="closed")
    reply = wechat("o-tw-none").text("留言").text
    assert "没有处理中的报修单" in reply and "报修" in reply
    assert "没看懂" not in reply


def test_message_to_a_named_ticket(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                   services: Services) -> None:
    bound("o-tw-named")
    mine = make_ticket(services, "o-tw-named")
    make_ticket(services, "o-tw-named")
    theirs = make_ticket(services, "o-someone-else")
    user = wechat("o-tw-named")
    assert f"留言已添加到 {mine}" in user.text(f"留言 {mine} 钥匙在宿管").text
    assert "没有找到您的报修单" in user.text(f"留言 {theirs} 看看").text
    assert last_event(services, theirs)[0] == "status"


# -- 撤销 ------------------------------------------------------------------------------------------------------

def test_withdraw_the_one_submitted_ticket(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                           services: Services) -> None:
    bound("o-tw-wd")
    no = make_ticket(services, "o-tw-wd")
    make_ticket(services, "o-tw-wd", moved_to="accepted")
    user = wechat("o-tw-wd")
    assert f"确定撤销 {no} 吗" in user.text("撤销").text
    assert f"{no} 已撤销" in choose(user, "确定撤销")
    assert stored(services, no).status == "cancelled"


def test_withdraw_by_number(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                            services: Services) -> None:
    bound("o-tw-wdno")
    first = make_ticket(services, "o-tw-wdno")
    second = make_ticket(services, "o-tw-wdno")
    accepted = make_ticket(services, "o-tw-wdno", moved_to="accepted")
    user = wechat("o-tw-wdno")
    assert f"确定撤销 {second} 吗" in user.text(f"撤销 {second}").text
    choose(user, "确定撤销")
    assert stored(services, second).status == "cancelled" and stored(services, first).status == "submitted"
    assert f"{accepted} 已经受理，不能撤销了" in user.text(f"撤销 {accepted}").text
    assert "没有找到您的报修单" in user.text("撤销 R999999999").text


def test_withdraw_with_several_offers_a_choice(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                               services: Services) -> None:
    bound("o-tw-wd2")
    first = make_ticket(services, "o-tw-wd2", building="学生公寓3栋")
    second = make_ticket(services, "o-tw-wd2", building="学生公寓7栋")
    user = wechat("o-tw-wd2")
    reply = user.text("撤销").text
    assert "要撤销哪一张" in reply and first in reply and second in reply
    line = next(x for x in reply.splitlines() if first in x)
    assert f"确定撤销 {first} 吗" in user.text(line.split(" ")[0]).text


@pytest.mark.parametrize("moved_to, expect", [("accepted", "都已经受理了"), (None, "没有可以撤销的报修单")])
def test_withdraw_with_none_says_why(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                     services: Services, moved_to: str | None, expect: str) -> None:
    openid = f"o-tw-wdnone-{moved_to}"
    bound(openid)
    if moved_to:
        make_ticket(services, openid, moved_to=moved_to)
    reply = wechat(openid).text("撤销").text
    assert expect in reply and "没看懂" not in reply


# -- 评价 ------------------------------------------------------------------------------------------------------

def test_rate_word_from_the_list_rates_the_latest_completed(wechat: Callable[..., WeChatUser],
                                                            bound: Callable[..., None], services: Services) -> None:
    """「评价」 typed at 我的报修's list (no ticket open) asks for the stars of the one completed ticket."""
    bound("o-tw-rate")
    make_ticket(services, "o-tw-rate")
    done = make_ticket(services, "o-tw-rate", moved_to="completed")
    user = wechat("o-tw-rate")
    user.text("我的报修")
    assert f"请为 {done}" in user.text("评价").text
    assert "还有什么想说的" in user.text("5").text
    assert "谢谢您的评价" in user.text("无").text
    assert stored(services, done).rating == 5


def test_rate_word_with_none_says_so(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                     services: Services) -> None:
    bound("o-tw-rate0")
    make_ticket(services, "o-tw-rate0")
    assert "没有待评价的报修单" in wechat("o-tw-rate0").text("评价").text
