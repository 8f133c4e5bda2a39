"""One message of a user at a time: a photo and a line of text sent together are both kept."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot import create_app
from core.services import Services, use_services
from devtools.chat import Answer, WeChatUser
from dialogs.router import route
from dialogs.store import DialogStore
from tests.support.chat import to_description
from tests.support.http import serve
from tests.support.tickets import DESCRIPTION


def at_description(user: WeChatUser) -> None:
    """Walk a bound user's repair to the description step."""
    assert "描述" in to_description(user)


def in_thread(send: Callable[[], Answer]) -> tuple[threading.Thread, list[Answer]]:
    got: list[Answer] = []
    thread = threading.Thread(target=lambda: got.append(send()))
    thread.start()
    return thread, got


def test_photo_and_text_sent_together_are_both_kept(wechat: Callable[..., WeChatUser],
                                                    bound: Callable[..., None],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bound("o-turn-1")
    user, same_phone = wechat("o-turn-1"), wechat("o-turn-1")
    at_description(user)

    def slow_route(*args: Any) -> Any:
        time.sleep(0.2)  # a busy moment: the two messages surely overlap
        return route(*args)

    monkeypatch.setattr("bot.conversations.route", slow_route)
    start = threading.Barrier(2)

    def text() -> Answer:
        start.wait()
        return user.text(DESCRIPTION)

    def photo() -> Answer:
        start.wait()
        return same_phone.image(media_id="MEDIA-TOGETHER")

    threads = [in_thread(text), in_thread(photo)]
    for thread, _ in threads:
        thread.join(timeout=30)
    replies = [got[0].text for _, got in threads]
    # Whichever came first, the second was answered from what the first left: the form is complete.
    assert sum("请核对报修单" in r for r in replies) == 1, replies


def test_a_message_waits_for_the_one_before(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                            services: Services) -> None:
    """While another message of the user's is being answered, the next one waits for it, then goes on."""
    bound("o-turn-2")
    user = wechat("o-turn-2")
    at_description(user)
    services.redis.set(DialogStore.turn_key("o-turn-2"), "an earlier message", px=10_000)
    thread, got = in_thread(lambda: user.text(DESCRIPTION))
    time.sleep(0.4)
    assert not got, "answered while the turn was someone else's"
    services.redis.delete(DialogStore.turn_key("o-turn-2"))
    thread.join(timeout=10)
    assert got and "照片" in got[0].text
    assert not services.redis.exists(DialogStore.turn_key("o-turn-2")), "the turn was not given back"


@pytest.fixture
def impatient_server(services: Services) -> Iterator[str]:
    """The webhook with a short wait for the turn (0.3 s, not 3), over real HTTP.

    The app's dialogs take their settings from the Services they are given, so the services are built on
    the changed config too.
    """
    impatient = Services(services.config.override(turn_wait_s=0.3), redis_conn=services.redis)
    try:
        with serve(create_app(impatient.config, impatient)) as url:
            yield url
    finally:
        impatient.close()
        use_services(services)


def test_a_message_that_cannot_have_its_turn_is_not_answered_from_a_stale_state(
        impatient_server: str, services: Services, bound: Callable[..., None],
        caplog: pytest.LogCaptureFixture) -> None:
    """The message before is still being answered after the wait (slow, or its process died): this one is
    not answered from the state that message will replace — the user is asked to send it again, and the
    resend, once the turn is free, is answered from the state the first one left."""
    bound("o-turn-3")
    cfg = services.config
    user = WeChatUser(f"{impatient_server}/wechat", cfg.wechat_token, "o-turn-3", aes_key=cfg.wechat_aes_key,
                      appid=cfg.wechat_appid)
    assert "维修类型" in user.text("报修").text
    store = DialogStore(services.redis, cfg.dialog_ttl_s, cfg.dedupe_ttl_s)
    services.redis.set(DialogStore.turn_key("o-turn-3"), "m:slow-first", px=10_000)
    with caplog.at_level(logging.WARNING):
        answer = user.text("1")
    assert "还在处理" in answer.text and "再发" in answer.text
    assert "asked to send again" in caplog.text
    assert services.redis.get(DialogStore.turn_key("o-turn-3")) == b"m:slow-first"  # not taken from it
    # The slow message ends: it saves (here, the user cancelled) and gives its own turn back.
    store.save("o-turn-3", "m:slow-first", None, {"text": "已取消"}, "event", 0)
    resent = user.retry().text  # the resend is answered from the state the first left (no dialog now)
    assert "当前没有进行中的操作" in resent and "维修类型" not in resent


def test_saving_never_gives_back_a_turn_another_message_holds(services: Services) -> None:
    cfg = services.config
    store = DialogStore(services.redis, cfg.dialog_ttl_s, cfg.dedupe_ttl_s)
    services.redis.set(DialogStore.turn_key("o-turn-5"), "m:second", px=10_000)
    store.save("o-turn-5", "m:first", None, {"text": "x"}, "event", 0)  # the first took longer than its turn
    store.release("o-turn-5", "m:first")
    assert services.redis.get(DialogStore.turn_key("o-turn-5")) == b"m:second"


def test_a_crash_gives_the_turn_back(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                     services: Services, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    """After a crash the next message is answered at once: it does not wait for a turn left taken."""
    bound("o-turn-4")
    user = wechat("o-turn-4")

    def crash(*_args: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.conversations.route", crash)
    assert "稍后" in user.text("报修").text
    monkeypatch.undo()
    assert not services.redis.exists(DialogStore.turn_key("o-turn-4"))
    with caplog.at_level(logging.WARNING):
        assert "维修类型" in user.text("报修").text
    assert "answering anyway" not in caplog.text  # it did not wait out a turn the crash left taken
