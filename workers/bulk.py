"""Pushes by the batch: many sends in flight per job, at the account's pace.

A job per push spends more on RQ's bookkeeping than on the push (about 1 ms of CPU for a job that does
nothing), and waits on WeChat (50-300 ms a call) one message at a time: a notice to 30,000 residents would
take most of an hour.  So push ids go to Redis lists (``core.jobs``: ``URGENT_KEY`` for the pushes someone
waits for — a status change, a reply —, ``OUTBOX_KEY`` for a notice's) and a few sender jobs, one per worker
process (``REPAIRBOT_PUSH_SENDERS``), each:

1. takes a batch of ids (the urgent list first) and claims the rows still pending in one UPDATE (exactly
   once per row: a row another job claimed is not returned);
2. reserves the batch's places in the account's pace (core/pacing.py: one schedule in Redis for every
   sender, ``REPAIRBOT_PUSH_RATE``; the access_token read along) and hands each user's pushes, in the order
   they were made, to a thread of its pool (``REPAIRBOT_PUSH_THREADS``), which sends each at its moment
   exactly as a job of one push would (``workers.push.deliver``: template, fallback, the msgid noted in Redis
   on acceptance);
3. while the next batch is in flight, writes how the previous one ended in a few statements, then queues
   what is to be tried again: transient errors (and crashes before WeChat was called) as a job of their own
   after RQ's first backoff, "too many" answers back at the head of the urgent list (their attempt not
   counted) behind a pause every sender keeps.

A sender gives its worker back after ``SLICE_S`` (photos and sweeps get their turn) and queues the next
job of its slot; a pause longer than a job should wait ends it the same way, the next job starting when
the pause ends.  Ids left in the lists by a worker that died are started again by the sweep.  The sweep and
the console's resend still queue a job for one push (``workers.push.send_push``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import redis
from sqlalchemy.engine import Connection

from core.jobs import OUTBOXES, RETRIES, SEND_PUSH, SEND_PUSHES, SENDER_HELD_S, SENDER_KEY, enqueue, queue_bulk
from core.pacing import paused_for, reserve
from core.services import Services, process_services
from core.wechat_api import TOKEN_KEY, WeChatAPI
from models.clock import now
from models.errors import WeChatError
from workers.push import CLAIM_MANY, LONGEST_WAIT_S, Attempt, Batch, Claimed, claimed_from, deliver, give_back, put_off

log = logging.getLogger(__name__)

# How long one sender job keeps its worker before it hands over to the next job of its slot.
SLICE_S = 30.0
# A batch is this many pushes per thread: the next batch is claimed while one is in flight.
BATCH_PER_THREAD = 4

_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
# A "too many" answer in this process: its other threads send nothing before this (time.monotonic()).
_held_until = [0.0]


def send_pushes(slot: int) -> str:
    """Send what waits in the outbox until it is empty, the slice is over, or WeChat asks for a long pause."""
    svc = process_services()
    started, sent, handover = time.monotonic(), 0, -1.0
    _token_first(svc)
    with svc.db.engine.connect() as conn:
        db = conn.execution_options(isolation_level="AUTOCOMMIT")
        flying: list[tuple[Batch, list[Future[None]]]] = []
        while True:
            pause = paused_for(svc.redis)
            if pause > LONGEST_WAIT_S or time.monotonic() - started > SLICE_S:
                handover = pause
                break
            batch = _next_batch(svc, db)
            if batch is not None:
                flying.append(batch)
                svc.redis.expire(SENDER_KEY.format(slot=slot), SENDER_HELD_S)
            if len(flying) > (1 if batch is not None else 0):
                sent += _settle(svc, db, *flying.pop(0))
            elif batch is None and _release(svc.redis, slot):
                break
        for flown in flying:
            sent += _settle(svc, db, *flown)
    if handover >= 0:
        _hand_over(svc.redis, slot, handover)
    return f"sent {sent}" + (f"; the next sender of slot {slot} goes on" if handover >= 0 else "")


def _token_first(svc: Services) -> None:
    """Have the access_token before the first batch: its sends go at their moments, not all at once after a
    fetch they all waited for."""
    if svc.config.wechat_ready:
        try:
            WeChatAPI(svc.config, svc.redis).token()
        except Exception as exc:  # each push meets it again, and says why on its row
            log.warning("bulk sender: no access_token yet (%s)", type(exc).__name__)


def _next_batch(svc: Services, db: Connection) -> tuple[Batch, list[Future[None]]] | None:
    """Take ids from the outbox, claim their rows, and start sending them; None when the outbox is empty."""
    size = svc.config.push_threads * BATCH_PER_THREAD
    ids = _pop(svc.redis, size)
    if not ids:
        return None
    claimed = [claimed_from(int(r.id), r) for r in db.execute(CLAIM_MANY, {"ids": ids, "at": now()})]
    batch = Batch()
    if not claimed:
        return batch, []
    places = reserve(svc.redis, len(claimed), svc.config.push_rate, also_read=TOKEN_KEY)
    first = time.monotonic() + places.wait_s
    pool = _pool(svc.config.push_threads)
    return batch, [pool.submit(_send_in_turn, svc, batch, pushes, [first + i * places.step_s for i in places_of],
                               places.also) for pushes, places_of in _by_user(claimed, ids)]


def _pop(conn: redis.Redis, size: int) -> list[int]:
    """Up to `size` ids: the urgent outbox's first, then a notice's."""
    ids: list[int] = []
    for key in OUTBOXES:
        raw: Any = conn.lpop(key, size - len(ids))
        ids.extend(int(i) for i in raw or ())
        if len(ids) >= size:
            break
    return ids


def _by_user(claimed: list[Claimed], order: list[int]) -> list[tuple[list[Claimed], list[int]]]:
    """The batch's pushes per user, users in the order their first push was taken from the outboxes (what
    someone waits for first), each user's pushes in the order they were made, with their places in the
    batch's pace: a user's pushes go one after the other, so the rating hint never comes before the
    completion it follows."""
    taken = {push_id: i for i, push_id in enumerate(order)}
    users: dict[str, list[Claimed]] = {}
    for push in sorted(claimed, key=lambda p: taken.get(p.id, len(taken))):
        users.setdefault(push.openid, []).append(push)
    grouped, place = [], 0
    for pushes in users.values():
        pushes.sort(key=lambda p: p.id)
        grouped.append((pushes, list(range(place, place + len(pushes)))))
        place += len(pushes)
    return grouped


def _send_in_turn(svc: Services, batch: Batch, pushes: list[Claimed], moments: list[float],
                  token: str | None) -> None:
    for push, at in zip(pushes, moments, strict=True):
        _send_one(svc, batch, push, at, token)


def _send_one(svc: Services, batch: Batch, push: Claimed, at: float, token: str | None) -> None:
    """In a thread of the pool: wait for the push's moment, then send it as a job of one push would."""
    delay = at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    attempt = Attempt(paced=True, token=token)
    try:
        if time.monotonic() < _held_until[0]:
            put_off(svc, batch, push)
        elif deliver(svc, batch, push, attempt) == "throttled":
            _held_until[0] = time.monotonic() + paused_for(svc.redis)
    except WeChatError:
        pass  # recorded in the batch
    except Exception:
        log.exception("push %s: unexpected error in a bulk sender", push.id)
        if not attempt.delivered:
            give_back(svc, push.id)
            batch.retry.append(push.id)  # a job of its own, after RQ's first backoff


def _settle(svc: Services, db: Connection, batch: Batch, futures: list[Future[None]]) -> int:
    """Wait for a batch, write how each push ended, queue what goes again; return how many were sent."""
    wait(futures)
    by_statement: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for statement, params in batch.rows:
        by_statement[statement].append(params)
    for statement, rows in by_statement.items():
        db.execute(statement, rows)
    for push_id in batch.retry:
        enqueue(svc.redis, "pushes", SEND_PUSH, push_id, job_id=f"push-{push_id}",
                delay_s=_first_backoff())
    if batch.again:
        queue_bulk(svc.redis, batch.again, svc.config.push_senders, first=True)
    return sum(1 for _, params in batch.rows if params.get("status") == "sent")


def _first_backoff() -> int:
    intervals = RETRIES["pushes"].intervals
    return int(intervals[0] if isinstance(intervals, list) else intervals)


def _release(conn: redis.Redis, slot: int) -> bool:
    """The outbox looked empty: free the slot; True when this sender is done (False: ids came meanwhile and
    the slot was taken back, so it goes on)."""
    key = SENDER_KEY.format(slot=slot)
    conn.delete(key)
    if not any(conn.llen(key) for key in OUTBOXES):
        return True
    return not conn.set(key, 1, nx=True, ex=SENDER_HELD_S)


def _hand_over(conn: redis.Redis, slot: int, pause_s: float) -> None:
    """Queue the next sender of this slot (after the pause, if any); the slot stays held until it runs."""
    delay = math.ceil(pause_s) if pause_s > 0 else 0
    conn.set(SENDER_KEY.format(slot=slot), 1, ex=SENDER_HELD_S + delay)
    enqueue(conn, "pushes", SEND_PUSHES, slot, delay_s=delay, fresh=True)


def _pool(threads: int) -> ThreadPoolExecutor:
    """This process's senders' threads, as many as the setting says (a forked child makes its own)."""
    key = (os.getpid(), threads)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                for old in _pools.values():
                    old.shutdown(wait=False)  # a parent's pool, or one of another size: not ours to use
                _pools.clear()
                pool = _pools[key] = ThreadPoolExecutor(threads, thread_name_prefix="push-sender")
    return pool
