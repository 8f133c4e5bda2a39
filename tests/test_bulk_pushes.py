"""Pushes by the batch (a notice to many residents, status changes): every one exactly once, however slow or
grudging WeChat is, what someone waits for first, and a user's pushes in order.

Against the loopback fake WeChat (devtools/fakewechat.py) with latency, made-up errors and "too many"
answers; real RQ workers (in other processes where it matters), the real database and Redis.  Counts, not
times, are asserted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from core.actions import move_ticket, push_notice
from core.jobs import OUTBOX_KEY
from core.pacing import STRIKES_KEY
from core.services import Services
from devtools.fakewechat import FakeServer, FakeWeChat
from models.clock import now
from models.notices import publish
from models.pushes import Push
from models.tickets import STATUS_PHRASE
from tests.support.cli import environment
from tests.support.http import running
from tests.support.jobs import queued_jobs, release_scheduled
from tests.support.people import make_resident
from tests.support.tickets import make_ticket
from tests.support.workers import run_worker_processes
from workers.sweeps import requeue_pending

BUILDING = "学生公寓12栋"


@pytest.fixture
def fake(services: Services) -> Iterator[FakeWeChat]:
    """The fake on a loopback port, this process's services pointed at it; a test sets how it answers."""
    api = FakeWeChat(token_delay_s=0.2, seed=16)
    server = FakeServer(api)
    with running(server):
        services.config = services.config.override(wechat_api_base_url=f"http://127.0.0.1:{server.port}/cgi-bin/")
        yield api


def push_settings(services: Services, **settings: float) -> None:
    services.config = services.config.override(**settings)


def notice_to(services: Services, residents: int) -> int:
    """`residents` subscribed residents of one building and a notice about it, pushed; return the notice's id."""
    for i in range(residents):
        make_resident(services, f"o-r-{i:03d}", BUILDING)
    with services.db.session() as s:
        notice_id = publish(s, "12栋停水检修", "今天14:00-18:00停水", "admin", buildings=[["东环校区", BUILDING]]).id
    assert push_notice(services, notice_id) == residents
    return notice_id


def statuses(services: Services, notice_id: int) -> Counter[str]:
    with services.db.session() as s:
        return Counter(s.scalars(select(Push.status).where(Push.notice_id == notice_id)))


def settle(services: Services, run_jobs: Callable[[], int], notice_id: int, rounds: int = 200) -> Counter[str]:
    """Run the jobs (retries and later senders as soon as they are scheduled) until no push is waiting."""
    for _ in range(rounds):
        release_scheduled(services)
        run_jobs()
        counts = statuses(services, notice_id)
        if not counts["pending"] and not counts["sending"] and not queued_jobs(services):
            return counts
        time.sleep(0.1)
    return statuses(services, notice_id)


def test_each_resident_gets_the_notice_once_from_two_worker_processes(
        services: Services, fake: FakeWeChat, run_jobs: Callable[[], int]) -> None:
    """Two worker processes, WeChat 20±10 ms away, one message in ten answered "busy", some "too many", and
    every id in the outbox twice: one token, one message per resident, every row sent."""
    fake.latency_s, fake.jitter_s, fake.error_rate, fake.too_many_rate = 0.02, 0.01, 0.1, 0.02
    notice_id = notice_to(services, 80)
    ids: Any = services.redis.lrange(OUTBOX_KEY, 0, -1)
    services.redis.rpush(OUTBOX_KEY, *ids)  # as if a sender had queued them again
    run_worker_processes(environment(services, WECHAT_API_BASE_URL=services.config.wechat_api_base_url,
                                     REPAIRBOT_PUSH_THREADS="8"), 2)
    counts = settle(services, run_jobs, notice_id)  # the retries RQ scheduled, and senders after a pause
    assert counts == {"sent": 80}
    assert Counter(m["openid"] for m in fake.sent) == {f"o-r-{i:03d}": 1 for i in range(80)}
    assert fake.token_fetches == 1
    assert fake.made_up["errors"] > 0 and fake.made_up["too_many"] > 0  # they were answered, and got over


def test_too_many_answers_slow_the_senders_and_every_push_ends_sent(
        services: Services, fake: FakeWeChat, run_jobs: Callable[[], int]) -> None:
    """An account allowed 15 messages a second and senders with no cap of their own: WeChat says "too many"
    again and again; the senders pause longer each time, and no push fails or spends an attempt on it."""
    fake.max_per_s = 15
    push_settings(services, push_rate=0.0)
    notice_id = notice_to(services, 45)
    assert settle(services, run_jobs, notice_id) == {"sent": 45}
    assert fake.made_up["too_many"] > 0
    strikes: Any = services.redis.get(STRIKES_KEY)
    assert int(strikes or 0) >= 1
    with services.db.session() as s:
        assert set(s.scalars(select(Push.attempts).where(Push.notice_id == notice_id))) == {1}
    assert len(fake.sent) == 45


def test_the_rate_cap_is_kept(services: Services, fake: FakeWeChat, run_jobs: Callable[[], int]) -> None:
    """REPAIRBOT_PUSH_RATE=20 and an account WeChat lets send 40 a second: never "too many", and 50 messages
    take at least the 49 steps of 1/20 s between them (a busy machine can only make them later)."""
    fake.max_per_s = 40
    push_settings(services, push_rate=20.0)
    notice_id = notice_to(services, 50)
    assert settle(services, run_jobs, notice_id) == {"sent": 50}
    assert fake.made_up["too_many"] == 0
    assert fake.accepted_at[-1] - fake.accepted_at[0] >= 49 / 20 - 0.05


def test_a_lost_outbox_is_filled_again_by_the_sweep(services: Services, fake: FakeWeChat,
                                                    run_jobs: Callable[[], int]) -> None:
    """Redis lost the outbox and the senders: the sweep puts the notice's pending pushes back, once each."""
    notice_id = notice_to(services, 12)
    services.redis.flushdb()
    with services.db.session() as s:
        s.execute(update(Push).values(created_at=now() - timedelta(minutes=5)))
    assert requeue_pending(services).pushes == 12
    assert requeue_pending(services).pushes == 0  # the senders have them: not queued twice
    assert settle(services, run_jobs, notice_id) == {"sent": 12}
    assert len(fake.sent) == 12


def test_a_status_change_goes_before_a_notice_already_waiting(
        services: Services, fake: FakeWeChat, run_jobs: Callable[[], int]) -> None:
    """A notice to 20 residents is waiting when a ticket is accepted: its reporter hears of it first."""
    push_settings(services, push_threads=1)  # one send at a time: the order is the senders' own
    notice_id = notice_to(services, 20)
    no = make_ticket(services, "o-reporter")
    move_ticket(services, no, "accepted", by="staff:调度员")
    assert run_jobs() == 21
    assert statuses(services, notice_id) == {"sent": 20}
    assert fake.sent[0]["openid"] == "o-reporter"


def test_a_users_pushes_arrive_in_the_order_they_were_made(
        services: Services, fake: FakeWeChat, run_jobs: Callable[[], int]) -> None:
    """Three changes of one ticket, sent by one sender with many threads: the reporter reads them in order."""
    push_settings(services, push_threads=16)
    no = make_ticket(services, "o-reporter")
    moves = ["accepted", "on_hold", "rejected"]
    for to in moves:
        move_ticket(services, no, to, by="staff:调度员", note="说明")
    run_jobs()
    said = [m["data"]["phrase2"]["value"] for m in fake.sent if m["openid"] == "o-reporter"]
    assert said == [STATUS_PHRASE[to] for to in moves]
