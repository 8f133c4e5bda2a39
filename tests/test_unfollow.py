"""Unfollowing, as policy: the binding is kept for 30 days (following again finds everything as it was), then
the scheduled sweep forgets who the user was — binding, phone, default room — and they start afresh."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update

from core.services import Services
from devtools.chat import WeChatUser
from models.clock import now
from models.people import WechatUser
from tests.support.chat import say
from workers.sweeps import forget_unfollowed_users

MakeUser = Callable[..., WeChatUser]


def unfollowed_days_ago(services: Services, openid: str, days: float) -> None:
    with services.db.session() as s:
        s.execute(update(WechatUser).where(WechatUser.openid == openid)
                  .values(unsubscribed_at=now() - timedelta(days=days)))
        s.commit()


def test_coming_back_within_thirty_days_finds_the_binding(wechat: MakeUser, bound: Callable[..., None],
                                                          services: Services) -> None:
    user = wechat("o-back-soon")
    bound(user.openid)
    user.event("unsubscribe")
    unfollowed_days_ago(services, user.openid, 29)
    assert "o-back-soon" not in forget_unfollowed_users(services)
    assert "张三，欢迎您回来" in user.event("subscribe").text
    assert "张三" in say(user, "个人信息")


def test_after_thirty_days_the_sweep_forgets_who_they_were(wechat: MakeUser, bound: Callable[..., None],
                                                            services: Services) -> None:
    user = wechat("o-gone-long")
    bound(user.openid)
    assert "张三" in say(user, "个人信息")  # the profile is now in the who cache too
    say(user, "取消")
    user.event("unsubscribe")
    unfollowed_days_ago(services, user.openid, 31)
    assert forget_unfollowed_users(services) == ["o-gone-long"]
    assert forget_unfollowed_users(services) == []  # safe to run again
    welcome = user.event("subscribe").text
    assert "欢迎关注" in welcome and "张三" not in welcome
    assert "绑定" in say(user, "个人信息")


def test_someone_who_still_follows_is_never_forgotten(wechat: MakeUser, bound: Callable[..., None],
                                                       services: Services) -> None:
    user = wechat("o-stays")
    bound(user.openid)
    unfollowed_days_ago(services, user.openid, 400)  # a stale date, but still following
    assert "o-stays" not in forget_unfollowed_users(services)
    assert "张三" in say(user, "个人信息")
