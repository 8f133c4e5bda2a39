"""One message of a user at a time: a photo and a line of text sent together are both kept."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot import create_app
from bot.chat import Answer, WeChatUser
from bot.services import Services, use_services
from dialogs.router import route
from dialogs.store import DialogStore
from tests.support.chat import to_description, wechat_user
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


def test_a_turn_never_given_back_delays_by_seconds_not_forever(
        impatient_server: str, services: Services, bound: Callable[..., None],
        caplog: pytest.LogCaptureFixture) -> None:
    """A turn left by a process that died is waited for a little, then the message is answered."""
    bound("o-turn-3")
    user = wechat_user(impatient_server, "o-turn-3")
    services.redis.set(DialogStore.turn_key("o-turn-3"), "a dead worker", px=10_000)
    with caplog.at_level(logging.WARNING):
        answer = user.text("报修")
    assert "维修类型" in answer.text
    # Answered only once the wait for the turn was over: the log says so, and how long it waited.
    assert "still taken after 0.3 s; answering anyway" in caplog.text


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
