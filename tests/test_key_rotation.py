"""A change of EncodingAESKey without a silent hour: during the rotation window the previous key
(WECHAT_AES_KEY_PREVIOUS) still opens safe-mode messages, and each reply is encrypted with the key its
message came with — the one WeChat is sure to read it with, whichever key it is using at that moment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import DORM_TAP, choose
from tests.support.constants import AES_KEY, APPID, TOKEN
from tests.support.http import other_app

NEW_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
OTHER_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def user(url: str, key: str, openid: str) -> WeChatUser:
    """A user as WeChat's servers speak for them: encrypting with `key`, and reading replies with it."""
    return WeChatUser(f"{url}/wechat", TOKEN, openid, aes_key=key, appid=APPID)


@pytest.fixture
def rotating(services: Services, wechat_api: Any, bound: Callable[[str, str], None]) -> Iterator[str]:
    """The account in the middle of a change: the new key is current, the old one still accepted."""
    for openid, card in (("o-rotate-old", "20260001"), ("o-rotate-new", "20260002"), ("o-rotate-both", "20260003")):
        bound(openid, card)
    with other_app(services, wechat_aes_key=NEW_KEY, wechat_aes_key_previous=AES_KEY) as url:
        yield url


def test_a_message_under_the_previous_key_is_answered_under_it(rotating: str) -> None:
    old = user(rotating, AES_KEY, "o-rotate-old")
    answer = old.text("报修")
    assert answer.status == 200 and "维修类型" in answer.text  # the reply opens with the old key


def test_a_message_under_the_new_key_is_answered_under_it(rotating: str) -> None:
    new = user(rotating, NEW_KEY, "o-rotate-new")
    answer = new.text("报修")
    assert answer.status == 200 and "维修类型" in answer.text


def test_a_dialog_carries_on_across_the_change(rotating: str) -> None:
    """WeChat switches keys mid-conversation: the dialog does not notice."""
    old, new = user(rotating, AES_KEY, "o-rotate-both"), user(rotating, NEW_KEY, "o-rotate-both")
    new.last_reply = old.text("报修").text
    assert "维修类型" in new.last_reply
    assert DORM_TAP[1] in choose(new, DORM_TAP[0])  # the same dialog's next step, under the new key


def test_a_key_that_is_neither_is_refused(rotating: str) -> None:
    assert user(rotating, OTHER_KEY, "o-rotate-other").text("报修").status == 400


def test_without_a_rotation_window_the_old_key_is_refused(services: Services, wechat_api: Any,
                                                          bound: Callable[..., None]) -> None:
    """Once WECHAT_AES_KEY_PREVIOUS is removed, the old key opens nothing."""
    bound("o-rotate-late")
    with other_app(services, wechat_aes_key=NEW_KEY) as url:
        assert user(url, AES_KEY, "o-rotate-late").text("报修").status == 400
        assert "维修类型" in user(url, NEW_KEY, "o-rotate-late").text("报修").text
