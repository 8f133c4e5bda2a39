"""WeChat's customer-service window as Tencent counts it (since 2023-06): a message the user sends allows 5
text messages within 48 hours; a menu click or a follow allows 3 within a minute; windows do not add up,
and an event that is not the user's doing opens none. Pushes fall back to text only inside a window."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.services import Services
from core.window import spend
from devtools.chat import WeChatUser

MakeUser = Callable[..., WeChatUser]
HOUR = 3600


def allowed(services: Services, openid: str, at: float, tries: int = 10) -> int:
    """How many customer-service messages WeChat would take from us at `at`."""
    return sum(spend(services.redis, openid, at) for _ in range(tries))


def test_a_message_allows_five_texts_within_48_hours(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-win-msg")
    user.text("你好")
    assert allowed(services, user.openid, time.time() + 47 * HOUR) == 5


def test_a_message_window_closes_after_48_hours(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-win-old")
    user.text("你好")
    assert allowed(services, user.openid, time.time() + 48 * HOUR) == 0


def test_a_click_allows_three_texts_within_a_minute(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-win-click")
    user.click("HELP")
    assert allowed(services, user.openid, time.time() + 65) == 0
    assert allowed(services, user.openid, time.time()) == 3


def test_a_follow_allows_three_texts_within_a_minute(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-win-follow")
    user.event("subscribe")
    assert allowed(services, user.openid, time.time()) == 3


def test_a_click_does_not_shorten_the_window_of_a_message(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-win-both")
    user.text("你好")
    assert allowed(services, user.openid, time.time(), tries=1) == 1
    user.click("HELP")
    assert allowed(services, user.openid, time.time() + 2 * HOUR) == 4  # the larger of 4 left and 3


def test_a_new_message_renews_the_window(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-win-renew")
    user.text("你好")
    assert allowed(services, user.openid, time.time()) == 5
    user.text("在吗")
    assert allowed(services, user.openid, time.time() + HOUR) == 5


def test_events_that_are_not_the_user_s_doing_open_nothing(wechat: MakeUser, services: Services) -> None:
    user = wechat("o-win-none")
    user.event("VIEW", "https://example.edu/x")
    user.event("TEMPLATESENDJOBFINISH")
    user.event("unsubscribe")
    assert allowed(services, user.openid, time.time()) == 0
