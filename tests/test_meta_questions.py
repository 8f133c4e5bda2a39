"""The engine's own questions (「要离开吗？」 after a menu click mid-form, and the one after a pause) never
swallow what comes next: global words work, a second click renames the question's target, and anything
else goes on with the form."""

from __future__ import annotations

import json
from collections.abc import Callable

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import to_description


def at_the_leave_question(user: WeChatUser) -> None:
    assert "描述" in to_description(user)
    assert "要离开吗" in user.text("我的报修").text


def test_cancel_at_the_leave_question_cancels(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                              services: Services) -> None:
    user = wechat("o-meta-cancel")
    bound("o-meta-cancel")
    at_the_leave_question(user)
    assert "已取消" in user.text("取消").text
    assert services.redis.get("dlg:o-meta-cancel") is None


def test_help_at_the_leave_question_asks_it_again(wechat: Callable[..., WeChatUser],
                                                  bound: Callable[..., None]) -> None:
    user = wechat("o-meta-help")
    bound("o-meta-help")
    at_the_leave_question(user)
    reply = user.text("帮助").text
    assert "取消" in reply and "要离开吗" in reply and "我的报修" in reply


def test_a_second_click_renames_the_target(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-meta-click")
    bound("o-meta-click")
    at_the_leave_question(user)
    reply = user.text("个人信息").text
    assert "要离开吗" in reply and "去「个人信息」" in reply
    assert "张三" in user.text("1").text  # 1 goes where the question now says


def test_other_words_go_on_with_the_form(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                         services: Services) -> None:
    user = wechat("o-meta-words")
    bound("o-meta-words")
    at_the_leave_question(user)
    reply = user.text("水龙头关不紧，一直在滴水").text
    assert "继续填写" in reply and "照片" in reply  # taken as the description, the photo is asked next
    assert json.loads(services.redis.get("dlg:o-meta-words") or b"{}").get("step") == "photo"


def test_help_after_a_pause_asks_the_question_again(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                    services: Services) -> None:
    user = wechat("o-meta-pause")
    bound("o-meta-pause")
    assert "描述" in to_description(user)
    state = json.loads(services.redis.get("dlg:o-meta-pause") or b"{}")
    state["updated"] -= 3600
    services.redis.set("dlg:o-meta-pause", json.dumps(state))
    assert "未完成" in user.text("水龙头关不紧").text
    reply = user.text("帮助").text
    assert "未完成" in reply and "取消" in reply
    assert "已取消" in user.text("取消").text


def test_help_clicked_mid_form_answers_and_keeps_the_form(wechat: Callable[..., WeChatUser],
                                                          bound: Callable[..., None]) -> None:
    """帮助 opens nothing to leave for: it is answered, and the form goes on where it was."""
    user = wechat("o-help-click")
    bound("o-help-click")
    to_description(user)
    reply = user.click("HELP").text
    assert "我可以帮您" in reply and "要离开吗" not in reply and "问题描述" in reply
    assert "照片" in user.text("水龙头一直在滴水").text
