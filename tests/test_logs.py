"""Log lines: one JSON object each with REPAIRBOT_LOG_FORMAT=json, carrying the request id, the sender's openid
hashed, the dialog, its step and the time the answer took — and never what the user wrote, nor a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from bot import create_app
from core.logs import HANDLER_NAME, openid_tag
from core.services import Services
from tests.support.chat import say
from tests.support.chat import wechat_user as _user
from tests.support.constants import AES_KEY, APP_SECRET, SECRET_KEY, TOKEN
from tests.support.http import serve

SECRETISH = "pwd=Sup3r-Secret-Passw0rd 身份证110101199003074512"


@pytest.fixture
def json_log(services: Services) -> Iterator[tuple[str, io.StringIO]]:
    """The app with REPAIRBOT_LOG_FORMAT=json, served; its log handler writes into a buffer (DEBUG and up)."""
    app = create_app(services.config.override(log_format="json"), services)
    root = logging.getLogger()
    handler = next(h for h in root.handlers if h.get_name() == HANDLER_NAME)
    buf = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buf)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        with serve(app) as url:
            yield url, buf
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def ours(buf: io.StringIO) -> list[dict[str, object]]:
    """The JSON lines, each parsed (every line must parse), without those of the test's own HTTP server and
    client in this process: werkzeug's access line (gunicorn's logs the path only: deploy/gunicorn.conf.py) and
    the test client's urllib3, which name the URL WeChat signed."""
    lines = [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line["logger"] not in ("werkzeug", "urllib3.connectionpool")]


def test_json_lines_carry_the_context_but_no_body_or_secret(json_log: tuple[str, io.StringIO],
                                                            bound: Callable[[str], None]) -> None:
    url, buf = json_log
    bound("o-logs-1")
    user = _user(url, "o-logs-1")
    say(user, "报修")
    say(user, SECRETISH)
    user.retry()  # WeChat's resend of the same message: logged with its key, which names the sender
    lines = ours(buf)
    answered = [line for line in lines if line["message"] == "answered"]
    assert len(answered) == 3
    retried = [line for line in lines if str(line["message"]).startswith("retry of")]
    assert len(retried) == 1 and openid_tag("o-logs-1") in str(retried[0]["message"])
    for line in answered:
        assert {"time", "level", "logger", "request_id", "openid", "duration_ms"} <= set(line)
        assert line["openid"] == openid_tag("o-logs-1") != "o-logs-1"
    assert answered[1]["dialog"] == "repair" and answered[1]["step"]
    assert answered[0]["request_id"] != answered[1]["request_id"]
    text = buf.getvalue()
    for secret in ("Sup3r-Secret", "110101199003074512", "o-logs-1", TOKEN, AES_KEY, APP_SECRET, SECRET_KEY):
        assert secret not in "\n".join(json.dumps(line, ensure_ascii=False) for line in lines), secret
    assert "Sup3r-Secret" not in text  # not even in the test server's access line


def test_an_error_is_one_json_line_with_its_traceback(json_log: tuple[str, io.StringIO],
                                                      bound: Callable[[str], None],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url, buf = json_log
    bound("o-logs-2")

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("the dialogs broke")

    monkeypatch.setattr("bot.conversations.route", broken)
    assert "系统有点忙" in say(_user(url, "o-logs-2"), SECRETISH)
    errors = [line for line in ours(buf) if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert "RuntimeError: the dialogs broke" in str(errors[0]["error"])
    assert errors[0]["openid"] == openid_tag("o-logs-2") and "o-logs-2" not in json.dumps(errors[0])
    assert "Sup3r-Secret" not in buf.getvalue()


def test_plain_text_is_the_default(services: Services) -> None:
    assert services.config.log_format == "text"
