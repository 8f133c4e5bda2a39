"""Pushes as the user sees them: a send that got no answer is not sent again blindly, one budget of attempts
per row across every job and sweep, the sweep runs by itself, and a killed worker leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta

import psutil
import requests
import responses
from rq import Queue
from sqlalchemy import select, update

from core.actions import move_ticket
from core.services import Services
from devtools.chat import WeChatUser
from models.clock import now
from models.people import ensure_user
from models.pushes import Push
from models.tickets import NewTicket
from tests.support.cli import environment
from tests.support.http import eventually
from tests.support.tickets import create_ticket
from workers.push import MAX_ATTEMPTS, send_push
from workers.sweeps import UNKNOWN_RETRY_AFTER_S, requeue_pending

API = "https://api.weixin.qq.com/cgi-bin/"
SEND = API + "message/template/send"


def accepted_push(services: Services, openid: str) -> int:
    """File a ticket and accept it: one push owed to its reporter. Return the push's id."""
    with services.db.session() as s:
        ensure_user(s, openid)
        ticket, _ = create_ticket(s, NewTicket(
            openid=openid, person_id=None, category="东环校区宿舍维修", group="给水", item="水龙头",
            campus="东环校区", building="学生公寓12栋", floor="5", room="502", place_note=None,
            description="水龙头关不紧，一直在滴水", phone="13800000001"))
        no = ticket.no
    move_ticket(services, no, "accepted", by="staff:调度员")
    with services.db.session() as s:
        return int(s.scalars(select(Push.id).where(Push.openid == openid)).one())


def row(services: Services, push_id: int) -> Push:
    with services.db.session() as s:
        push = s.get(Push, push_id)
        assert push is not None
        return push


def sends(rsps: responses.RequestsMock) -> int:
    return sum(1 for c in rsps.calls if c.request.url and c.request.url.split("?")[0] == SEND)


def no_answer(rsps: responses.RequestsMock) -> None:
    """WeChat takes the message and never answers (the read times out)."""
    rsps.remove(responses.POST, SEND)
    rsps.post(SEND, body=requests.ReadTimeout("read timed out"))


def age_unknown(services: Services, push_id: int, seconds: int) -> None:
    """Let time pass for a push left `unknown` (its attempt was this long ago)."""
    with services.db.session() as s:
        s.execute(update(Push).where(Push.id == push_id).values(sent_at=now() - timedelta(seconds=seconds)))


# -- sent, but no answer ---------------------------------------------------------------------------------

def test_a_send_without_answer_is_unknown_until_wechat_reports_it_delivered(
        services: Services, wechat_api: responses.RequestsMock, wechat: Callable[..., WeChatUser]) -> None:
    """Before, a read timeout was retried like a busy error (one push reached WeChat 6 times). Now the row
    waits as `unknown`; WeChat's delivery report for that user settles it as sent, and nothing is resent."""
    push_id = accepted_push(services, "o-once-unknown")
    no_answer(wechat_api)
    assert send_push(push_id) == "unknown"
    assert row(services, push_id).status == "unknown"
    # The report carries a MsgID this push never learnt: matched by its user.
    user = wechat("o-once-unknown")
    user.send("event", "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>987654321</MsgID>"
              "<Status><![CDATA[success]]></Status>")
    settled = row(services, push_id)
    assert (settled.status, settled.msgid, settled.delivery) == ("sent", "987654321", "success")
    age_unknown(services, push_id, UNKNOWN_RETRY_AFTER_S + 60)
    assert requeue_pending(services, older_than_s=0).pushes == 0
    assert sends(wechat_api) == 1


def test_a_send_without_answer_is_tried_once_more_then_given_up(
        services: Services, wechat_api: responses.RequestsMock) -> None:
    push_id = accepted_push(services, "o-once-silent")
    no_answer(wechat_api)
    assert send_push(push_id) == "unknown"
    assert requeue_pending(services, older_than_s=0).pushes == 0  # not yet: a report may still come
    age_unknown(services, push_id, UNKNOWN_RETRY_AFTER_S + 60)
    assert requeue_pending(services, older_than_s=0).pushes == 1
    assert send_push(push_id) == "failed"
    failed = row(services, push_id)
    assert failed.status == "failed" and "may have arrived" in (failed.error or "")
    assert sends(wechat_api) == 2
    assert requeue_pending(services, older_than_s=0).pushes == 0


def test_a_row_has_one_budget_of_attempts_across_sweeps(
        services: Services, wechat_api: responses.RequestsMock, run_jobs: Callable[[], int]) -> None:
    """WeChat busy for ever, and each retry RQ schedules is lost (as when Redis restarts): before, every
    sweep queued a fresh job with a fresh count. Now the row is tried MAX_ATTEMPTS times in all, then failed."""
    push_id = accepted_push(services, "o-once-busy")
    wechat_api.remove(responses.POST, SEND)
    wechat_api.post(SEND, json={"errcode": -1, "errmsg": "system busy"})
    for _ in range(MAX_ATTEMPTS + 4):
        run_jobs()
        lose_scheduled_jobs(services)
        requeue_pending(services, older_than_s=0)
    assert sends(wechat_api) == MAX_ATTEMPTS
    assert row(services, push_id).status == "failed"


def lose_scheduled_jobs(services: Services) -> None:
    registry = Queue("pushes", connection=services.redis).scheduled_job_registry
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)


# -- the sweep on its own, and a killed worker --------------------------------------------------------------

def _worker(services: Services) -> subprocess.Popen[bytes]:
    env = {**os.environ, **environment(services, WECHAT_API_BASE_URL="http://127.0.0.1:9/cgi-bin/")}
    return subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_a_worker_schedules_the_sweep_and_its_scheduler_dies_with_it(services: Services) -> None:
    """`repairbot worker` queues the sweep by itself (nothing else schedules it), and when the worker is
    killed outright its scheduler process ends too instead of holding the scheduler lock for nobody."""
    proc = _worker(services)
    try:
        assert eventually(lambda: services.redis.keys("sweep:slot:*"), 30), "no sweep was scheduled"
        children = eventually(lambda: psutil.Process(proc.pid).children(), 30)
        assert children, "the worker started no scheduler"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"left running: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in psutil.Process().children(recursive=True):
            if child.pid != os.getpid() and "worker" in " ".join(child.cmdline()):
                child.kill()
