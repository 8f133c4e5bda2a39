"""Binding a campus card and the 个人信息 page, through the real webhook."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import choose, file_repair
from tests.support.people import user_row
from tests.support.wechat_api import CUSTOM, bodies

ZHANG = "20260001"  # 张三, ID ending 12345X, phone 13800000001
WANG = "20260003"  # 王五, ID ending 34567x, no phone


class Records(logging.Handler):
    """Keep every log record the process emits (server thread included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Records]:
    """Capture all logging at DEBUG, whatever the pytest logging plugin does."""
    root = logging.getLogger()
    handler, level = Records(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def bound_card(services: Services, openid: str) -> str | None:
    """Return the card number an openid is bound to, as the database has it."""
    row = user_row(services, openid)
    return row.person.card_no if row is not None and row.person is not None else None


def start_bind(user: WeChatUser, card: str = ZHANG) -> str:
    assert "8 位校园卡号" in user.text("绑定").text
    return user.text(card).text


def wrong_passwords(user: WeChatUser, n: int) -> list[str]:
    return [user.text(f"6543{i}X").text for i in range(n)]


def unlock(services: Services) -> None:
    """What 15 minutes do: the failure counters expire."""
    keys = list(services.redis.scan_iter("bindfail:*"))
    assert keys, "no failure counter was kept"
    services.redis.delete(*keys)


# -- binding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("card, password, name", [
    (ZHANG, "12345X", "张三"), (ZHANG, "12345x", "张三"),
    (WANG, "34567X", "王五"), (WANG, "34567x", "王五"),
])
def test_bind_with_either_case_of_x(wechat: Callable[..., WeChatUser], services: Services,
                                    card: str, password: str, name: str) -> None:
    """The ID card's check letter is accepted in upper and lower case, whichever the roster holds."""
    user = wechat("o-bind-x")
    assert "密码" in start_bind(user, card)
    reply = user.text(password).text
    assert "绑定成功" in reply and name in reply
    assert bound_card(services, "o-bind-x") == card


def test_full_width_card_number_is_read(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """A card number typed with a Chinese keyboard's full-width digits is the same number."""
    user = wechat("o-bind-fw")
    assert "密码" in start_bind(user, "２０２６０００１")
    assert "绑定成功" in user.text("１２３４５Ｘ").text
    assert bound_card(services, "o-bind-fw") == ZHANG


def test_card_not_in_roster_explains_and_keeps_the_repair(wechat: Callable[..., WeChatUser],
                                                          services: Services) -> None:
    """An unknown card gets the seed platform's answer, and the repair the user started is still waiting."""
    user = wechat("o-bind-unknown")
    assert "8 位校园卡号" in user.text("报修").text
    reply = user.text("20269999").text
    assert "人员目录还没有更新" in reply and "访客暂时无法绑定" in reply
    assert "8 位校园卡号" in reply  # asked again, not dropped
    assert "密码" in user.text(ZHANG).text
    reply = user.text("12345X").text
    assert "绑定成功" in reply and "维修类型" in reply
    assert bound_card(services, "o-bind-unknown") == ZHANG


@pytest.mark.parametrize("bad", ["2026001", "202600011", "abcdefgh", "2026 00a1"])
def test_malformed_card_number_is_asked_again(wechat: Callable[..., WeChatUser], services: Services,
                                              bad: str) -> None:
    """Anything but eight digits gets a clear retry, and the next good answer goes on."""
    user = wechat("o-bind-bad")
    reply = start_bind(user, bad)
    assert "校园卡号是 8 位数字" in reply and "请再输入一次" in reply
    assert "密码" in user.text(ZHANG).text


def test_wrong_passwords_count_down_then_lock(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """Each wrong password says how many tries are left; the fifth locks for 15 minutes."""
    user = wechat("o-bind-wrong")
    start_bind(user)
    replies = wrong_passwords(user, 5)
    for reply, left in zip(replies[:4], (4, 3, 2, 1), strict=True):
        assert f"密码不对，还可以再试 {left} 次" in reply
    assert "锁定 15 分钟" in replies[4]
    assert "还可以再试" not in replies[4]
    for key in services.redis.scan_iter("bindfail:*"):
        assert 0 < int(services.redis.ttl(key)) <= 15 * 60
    assert bound_card(services, "o-bind-wrong") is None


def test_lock_during_a_repair_says_so(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """A repair that needed binding ends with the lock message, and asking again is answered the same way."""
    user = wechat("o-bind-repair-lock")
    assert "8 位校园卡号" in user.text("报修").text
    user.text(ZHANG)
    reply = wrong_passwords(user, 5)[-1]
    assert "锁定 15 分钟" in reply and "系统有点忙" not in reply
    reply = user.text("报修").text
    assert "锁定 15 分钟" in reply and "系统有点忙" not in reply
    # A card number typed at the idle screen starts binding, which is locked too; nothing is left waiting.
    assert "锁定 15 分钟" in user.text(ZHANG).text
    assert "密码不对" not in user.text("12345X").text


def test_locked_openid_is_refused_even_with_the_right_password(wechat: Callable[..., WeChatUser],
                                                               services: Services) -> None:
    """While locked the same user cannot bind, whichever card they try."""
    user = wechat("o-bind-locked")
    start_bind(user)
    wrong_passwords(user, 5)
    reply = user.text("绑定").text
    assert "锁定 15 分钟" in reply
    assert "绑定成功" not in user.text("12345X").text
    reply = user.text("报修").text  # a repair needs binding: still locked
    assert "锁定 15 分钟" in reply
    assert bound_card(services, "o-bind-locked") is None


def test_locked_card_is_refused_from_another_openid(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """The lock follows the card: a second phone cannot keep guessing, nor bind with the right password."""
    already_at_password = wechat("o-bind-other-1")
    start_bind(already_at_password)  # reached the password step before the lock
    guesser = wechat("o-bind-guesser")
    start_bind(guesser)
    wrong_passwords(guesser, 5)
    fresh = wechat("o-bind-other-2")
    assert "8 位校园卡号" in fresh.text("绑定").text
    assert "锁定 15 分钟" in fresh.text(ZHANG).text
    assert "锁定 15 分钟" in already_at_password.text("12345X").text
    assert "锁定" not in start_bind(wechat("o-bind-other-3"), "20260002")  # other cards are not locked
    for openid in ("o-bind-other-1", "o-bind-other-2", "o-bind-guesser"):
        assert bound_card(services, openid) is None


def test_after_the_lock_expires_the_right_password_works(wechat: Callable[..., WeChatUser],
                                                         services: Services) -> None:
    """Once the 15 minutes are over, binding works and the count starts afresh."""
    user = wechat("o-bind-later")
    start_bind(user)
    wrong_passwords(user, 5)
    unlock(services)
    assert "密码" in start_bind(user)
    assert "还可以再试 4 次" in user.text("00000X").text  # a fresh count, not the old one
    assert "绑定成功" in user.text("12345X").text
    assert bound_card(services, "o-bind-later") == ZHANG
    assert list(services.redis.scan_iter("bindfail:*")) == []  # success clears the count


def test_bound_user_starting_bind_is_welcomed_back(wechat: Callable[..., WeChatUser],
                                                   bound: Callable[..., None]) -> None:
    """A bound user asking to bind is told they are bound, with the card masked."""
    bound("o-bind-again")
    reply = wechat("o-bind-again").text("绑定").text
    assert reply.startswith("张三，欢迎您回来")
    assert "20****01" in reply and ZHANG not in reply


def test_id_digits_never_reach_logs_nor_redis(wechat: Callable[..., WeChatUser], services: Services,
                                              logs: Records) -> None:
    """Passwords typed, right or wrong, are found neither in any log line nor anywhere in Redis."""
    user = wechat("o-bind-secret")
    start_bind(user)
    typed = [f"6543{i}X" for i in range(3)]
    for text in typed:
        user.text(text)
    assert "绑定成功" in user.text("12345x").text
    assert logs.lines, "nothing was logged: the capture is not working"
    secrets = [t.lower() for t in (*typed, "12345X")]
    for line in logs.lines:
        assert not any(s in line.lower() for s in secrets), line
    for key in services.redis.scan_iter():
        blob = key + b" " + _dump(services, key)
        assert not any(s.encode() in blob.lower() for s in secrets), key


def _dump(services: Services, key: bytes) -> bytes:
    r: Any = services.redis
    kind = r.type(key)
    if kind == b"string":
        return r.get(key) or b""
    if kind == b"hash":
        return b" ".join(k + b"=" + v for k, v in r.hgetall(key).items())
    if kind == b"list":
        return b" ".join(r.lrange(key, 0, -1))
    if kind in (b"set", b"zset"):
        return b" ".join(r.smembers(key) if kind == b"set" else r.zrange(key, 0, -1))
    return b""


def test_second_openid_takes_the_card_over(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """A card is bound to one WeChat account at a time: binding from a new phone moves it."""
    old, new = wechat("o-old-phone"), wechat("o-new-phone")
    start_bind(old)
    assert "绑定成功" in old.text("12345X").text
    start_bind(new)
    assert "绑定成功" in new.text("12345X").text
    assert bound_card(services, "o-new-phone") == ZHANG
    assert bound_card(services, "o-old-phone") is None
    assert "8 位校园卡号" in old.text("个人信息").text  # the old phone must bind again


def test_the_first_account_is_told_when_its_card_moves(wechat: Callable[..., WeChatUser], services: Services,
                                                       run_jobs: Callable[[], int],
                                                       wechat_api: responses.RequestsMock) -> None:
    """The new phone is told the card was bound elsewhere; the old one gets a message saying what happened."""
    old, new = wechat("o-moved-old"), wechat("o-moved-new")
    start_bind(old)
    assert "之前绑定在另一个微信上" not in old.text("12345X").text
    run_jobs()
    assert bodies(wechat_api, CUSTOM) == []
    start_bind(new)
    assert "之前绑定在另一个微信上" in new.text("12345X").text
    run_jobs()
    sent = bodies(wechat_api, CUSTOM)
    assert [m["touser"] for m in sent] == ["o-moved-old"]
    text = sent[0]["text"]["content"]
    assert "20****01" in text and "另一个微信上绑定" in text and ZHANG not in text


# -- 个人信息 --------------------------------------------------------------------------------------

def test_profile_shows_name_masked_card_phone_and_room(wechat: Callable[..., WeChatUser],
                                                       bound: Callable[..., None]) -> None:
    """The page shows who the user is without the full card number."""
    bound("o-prof")
    reply = wechat("o-prof").text("个人信息").text
    assert reply.startswith("张三，欢迎您回来。\n姓名：张三")
    assert "校园卡：20****01" in reply and ZHANG not in reply
    assert "电话：13800000001" in reply
    assert "默认房间：未设置" in reply
    for action in ("修改电话", "修改默认房间", "解除绑定", "完成"):
        assert action in reply


def test_profile_needs_binding_first(wechat: Callable[..., WeChatUser]) -> None:
    """An unbound user asking for 个人信息 is taken to binding."""
    assert "8 位校园卡号" in wechat("o-prof-unbound").text("个人信息").text


def test_change_phone(wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """A bad number is refused and nothing is saved; a good one is saved and shown."""
    bound("o-prof-phone")
    user = wechat("o-prof-phone")
    user.text("个人信息")
    assert "新的联系电话" in choose(user, "修改电话")
    for bad in ("12345", "23800000000", "138000000011", "电话"):
        assert "这个号码好像不对" in user.text(bad).text
    assert user_row(services, "o-prof-phone").phone == "13800000001"  # type: ignore[union-attr]
    reply = user.text("139 1234 5678").text
    assert "电话已更新" in reply and "电话：13912345678" in reply
    assert "欢迎您回来" not in reply  # greeted once, when the page opened
    assert user_row(services, "o-prof-phone").phone == "13912345678"  # type: ignore[union-attr]


def test_change_default_room(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                             services: Services) -> None:
    """Campus, building, floor, room: a wrong room is refused, the right one is saved and shown."""
    bound("o-prof-room")
    user = wechat("o-prof-room")
    user.text("个人信息")
    assert "校区" in choose(user, "修改默认房间")
    assert "楼栋" in choose(user, "东环校区")
    assert "几楼" in choose(user, "学生公寓12栋")
    assert "房间号" in user.text("5").text
    assert "没有「599」这个房间" in user.text("599").text
    reply = user.text("502").text
    assert "默认房间已更新" in reply
    assert "默认房间：东环校区 学生公寓12栋 5楼 502" in reply
    row = user_row(services, "o-prof-room")
    assert row is not None and row.default_place == {"campus": "东环校区", "building": "学生公寓12栋",
                                                     "floor": "5", "room": "502"}
    assert "好的" in choose(user, "完成")
    assert "默认房间：东环校区 学生公寓12栋 5楼 502" in user.text("个人信息").text


def test_unbind_then_repair_asks_to_bind(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                         services: Services) -> None:
    """After unbinding (confirmed), a repair asks for the card again."""
    bound("o-prof-unbind")
    user = wechat("o-prof-unbind")
    user.text("个人信息")
    assert "确定解除绑定吗" in choose(user, "解除绑定")
    assert "姓名：张三" in choose(user, "不解除")  # changed their mind: nothing happens
    assert bound_card(services, "o-prof-unbind") == ZHANG
    choose(user, "解除绑定")
    assert "已解除绑定" in choose(user, "确定解除")
    assert bound_card(services, "o-prof-unbind") is None
    assert "8 位校园卡号" in user.text("报修").text


def test_unbound_tickets_leave_my_tickets_until_bound_again(wechat: Callable[..., WeChatUser], services: Services,
                                                            bound: Callable[..., None]) -> None:
    """Tickets filed while bound to a card are that card's: after 解除绑定 我的报修 no longer lists them (nor
    opens them by number), and binding the card again brings them back."""
    user = wechat("o-unbind-list")
    bound("o-unbind-list")
    no = file_repair(user)
    assert no in user.text("我的报修").text
    user.text("个人信息")
    choose(user, "解除绑定")
    assert "已解除绑定" in choose(user, "确定解除")
    reply = user.text("我的报修").text
    assert no not in reply and "还没有报修记录" in reply and "绑定校园卡后就能看到" in reply
    assert "没有找到您的报修单" in user.text(f"留言 {no} 看看").text
    start_bind(user)
    user.text("12345X")
    assert no in user.text("我的报修").text
