"""The profile the dialogs remember in Redis never outlives a change to it, whoever makes the change.

Each test of forgetting first checks the profile WAS remembered (the Redis key who:{openid} holds it),
so that it cannot pass because nothing was ever cached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import redis as redis_lib
from click.testing import Result
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.services import Services
from core.who import Who, forget
from devtools.chat import WeChatUser
from models.people import set_subscribed, unbind
from tests.support.chat import choose, file_dorm_tap
from tests.support.constants import ROSTER


def remembered(services: Services, openid: str) -> bool:
    return bool(services.redis.exists(f"who:{openid}"))


def cached(services: Services, openid: str) -> Who | None:
    """The profile remembered for a user (None: none, or an unreadable copy)."""
    raw = services.redis.get(f"who:{openid}")
    return Who.from_dict(json.loads(raw)) if raw else None


def assert_cached(services: Services, openid: str, **facts: Any) -> None:
    """The user's profile is remembered, with these facts (bound=True, name="张三", …)."""
    who = cached(services, openid)
    assert who is not None, f"no profile remembered under who:{openid}"
    assert {k: getattr(who, k) for k in facts} == facts


def test_first_repair_remembers_the_profile(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                            services: Services) -> None:
    """After one 报修 the bot knows the user without the database; the phone still comes from the profile."""
    bound("o-who-1")
    user = wechat("o-who-1")
    assert not remembered(services, "o-who-1")
    assert "维修类型" in user.text("报修").text
    assert_cached(services, "o-who-1", bound=True, name="张三", phone="13800000001")
    user.text("取消")
    assert "13800000001" in file_dorm_tap(user)


def test_unbinding_elsewhere_is_seen_at_once(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                             services: Services) -> None:
    """An office unbinding a user (any commit through the application) drops the remembered profile."""
    bound("o-who-2")
    user = wechat("o-who-2")
    assert "维修类型" in user.text("报修").text
    user.text("取消")
    assert_cached(services, "o-who-2", bound=True, name="张三")
    with services.db.session() as s:
        unbind(s, "o-who-2")
    assert not remembered(services, "o-who-2")
    assert "8 位校园卡号" in user.text("报修").text


def test_binding_in_chat_then_repair_goes_on(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """A user remembered as unbound who binds is at once known as bound: the repair continues."""
    user = wechat("o-who-3")
    assert "8 位校园卡号" in user.text("报修").text
    assert_cached(services, "o-who-3", bound=False)
    user.text("取消")
    assert "8 位校园卡号" in user.text("报修").text
    user.text("20260001")
    assert "维修类型" in user.text("12345X").text
    assert_cached(services, "o-who-3", bound=True, name="张三", phone="13800000001")


def test_phone_changed_in_profile_is_used_next_repair(wechat: Callable[..., WeChatUser],
                                                      bound: Callable[..., None], services: Services) -> None:
    bound("o-who-4")
    user = wechat("o-who-4")
    user.text("报修")
    user.text("取消")
    assert_cached(services, "o-who-4", phone="13800000001")
    user.text("个人信息")
    choose(user, "修改电话")
    assert "电话已更新" in user.text("13912345678").text
    after = cached(services, "o-who-4")
    assert after is None or after.phone == "13912345678"  # forgotten, or remembered afresh
    choose(user, "完成")
    summary = file_dorm_tap(user)
    assert "13912345678" in summary and "13800000001" not in summary


def test_roster_reload_renaming_a_person_is_seen(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                 services: Services,
                                                 roster_load: Callable[[str], Result]) -> None:
    """`repairbot roster load` with a corrected name: the bound user is greeted by the new name."""
    bound("o-who-5")
    user = wechat("o-who-5")
    assert "张三，欢迎您回来" in user.text("你好").text
    assert_cached(services, "o-who-5", bound=True, name="张三")
    result = roster_load(ROSTER.replace("20260001,张三,", "20260001,张三丰,"))
    assert result.exit_code == 0, result.output
    assert not remembered(services, "o-who-5")
    assert "张三丰，欢迎您回来" in user.text("你好").text


def test_roster_reload_that_changes_nothing_keeps_the_profile(wechat: Callable[..., WeChatUser],
                                                              bound: Callable[..., None], services: Services,
                                                              roster_load: Callable[[str], Result]) -> None:
    """Reloading the same roster (new password salts only) forgets nobody."""
    bound("o-who-6")
    wechat("o-who-6").text("你好")
    assert_cached(services, "o-who-6", bound=True, name="张三")
    assert roster_load(ROSTER).exit_code == 0
    assert_cached(services, "o-who-6", bound=True, name="张三")


def test_unsubscribing_forgets_the_profile(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                           services: Services) -> None:
    bound("o-who-7")
    wechat("o-who-7").text("你好")
    assert_cached(services, "o-who-7", bound=True, name="张三")
    with services.db.session() as s:
        set_subscribed(s, "o-who-7", False)
    assert not remembered(services, "o-who-7")


def test_a_rolled_back_change_leaves_the_profile_alone(wechat: Callable[..., WeChatUser],
                                                       bound: Callable[..., None], services: Services) -> None:
    bound("o-who-8")
    user = wechat("o-who-8")
    user.text("你好")
    assert_cached(services, "o-who-8", bound=True, name="张三")
    with pytest.raises(RuntimeError), services.db.session() as s:
        unbind(s, "o-who-8")
        s.flush()
        raise RuntimeError("the office changed its mind")
    assert_cached(services, "o-who-8", bound=True, name="张三")
    assert "张三，欢迎您回来" in user.text("你好").text


@pytest.mark.parametrize("raw", [None, {}, [], "x", {"bound": "yes"}, {"bound": True, "colour": "red"}])
def test_unreadable_copy_counts_as_not_remembered(raw: Any) -> None:
    assert Who.from_dict(raw) is None


def test_a_corrupt_copy_is_read_again_from_the_database(wechat: Callable[..., WeChatUser],
                                                        bound: Callable[..., None], services: Services) -> None:
    bound("o-who-9")
    services.redis.set("who:o-who-9", b"{not json")
    assert "张三，欢迎您回来" in wechat("o-who-9").text("你好").text


def test_redis_down_while_forgetting_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    # No retries: a refused connection is enough (redis-py would otherwise back off for about four seconds).
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    with caplog.at_level(logging.WARNING):
        forget(dead, ["o-who-10"])
    assert "could not forget 1 cached profiles" in caplog.text
