"""Queues, retry policies and the names of the jobs: what the web and the dialogs need to queue work
without importing the workers that do it. Jobs are enqueued only after their data is committed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis
from rq import Queue, Retry

QUEUE_NAMES = ("pushes", "media", "default")
# The jobs, by name: RQ imports the function in the worker process.
SEND_PUSH = "workers.push.send_push"
DOWNLOAD_PHOTO = "workers.media.download_photo"
RECORD_LATE_DELIVERY = "workers.deliveries.record_late_delivery"
# WeChat can report a delivery within milliseconds of accepting the message, before the worker that
# sent it has written the msgid down: the report is tried again after this long (then RQ's retries).
LATE_DELIVERY_AFTER_S = 10

# Backoff between tries, for errors worth another try (a job raising on a permanent error sets its
# retries_left to 0 first).  WeChat keeps media 3 days: photo downloads keep trying for hours.
RETRIES = {
    "media": Retry(max=6, interval=[10, 60, 300, 1800, 3600, 7200]),
    "pushes": Retry(max=5, interval=[5, 30, 120, 600, 1800]),
    "default": Retry(max=3, interval=[10, 60, 300]),
}


def enqueue(conn: redis.Redis, queue: str, func: str | Callable[..., Any], *args: Any, job_id: str | None = None,
            delay_s: int = 0, fresh: bool = False) -> None:
    """Enqueue a job once (a job id already queued or running is not added again), now or after a delay.

    ``fresh``: the job id names something created just now, so it cannot be queued yet; not looked up.
    """
    q = Queue(queue, connection=conn)
    if job_id is not None and not fresh:
        existing = q.fetch_job(job_id)
        # fetch_job has just read the job's status: no second round trip for it.
        if existing is not None and existing.get_status(refresh=False) in ("queued", "started", "scheduled",
                                                                            "deferred"):
            return
    options: dict[str, Any] = {"job_id": job_id, "retry": RETRIES.get(queue, RETRIES["default"]),
                               "result_ttl": 3600, "failure_ttl": 7 * 24 * 3600}
    if delay_s > 0:
        q.enqueue_in(timedelta(seconds=delay_s), func, *args, **options)  # type: ignore[type-var]
    else:
        q.enqueue(func, *args, **options)  # type: ignore[type-var]


def all_queues(conn: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=conn) for name in QUEUE_NAMES]


# -- pushes by the thousand (a notice) ----------------------------------------------------------------------
# Their ids wait in a Redis list, and a few sender jobs (one per worker process: REPAIRBOT_PUSH_SENDERS) take
# them by the hundred and keep many sends in flight at once (workers/bulk.py): a job per push would spend
# more on RQ's bookkeeping than on the push, and wait on WeChat one message at a time.
OUTBOX_KEY = "push:outbox"
# Pushes someone is waiting for (a status change, a reply): taken before any of a notice's.
URGENT_KEY = "push:outbox:now"
OUTBOXES = (URGENT_KEY, OUTBOX_KEY)
# Held while a sender job of that slot is queued or running: a second is not queued.  It outlives a job's
# timeout, so a sender that died frees its slot; the sweep then starts another if ids are waiting.
SENDER_KEY = "push:sender:{slot}"
SENDER_HELD_S = 300
SEND_PUSHES = "workers.bulk.send_pushes"
# Another sender is started for every this many ids waiting.
SENDER_PER = 50
# Ids pushed at once (one round trip each).
OUTBOX_CHUNK = 5000


def queue_bulk(conn: redis.Redis, ids: list[int], senders: int, *, first: bool = False, urgent: bool = False) -> None:
    """Put push ids in the outbox (the urgent one for pushes someone waits for; at its head when `first`: they
    were there before) and start senders."""
    key = URGENT_KEY if urgent or first else OUTBOX_KEY
    chunks = [ids[at:at + OUTBOX_CHUNK] for at in range(0, len(ids), OUTBOX_CHUNK)]
    with conn.pipeline(transaction=False) as pipe:
        for chunk in reversed(chunks) if first else chunks:
            if first:
                pipe.lpush(key, *reversed(chunk))
            else:
                pipe.rpush(key, *chunk)
        waiting = max(pipe.execute(), default=0)
    # One sender for a trickle; one more for every SENDER_PER ids waiting, up to `senders`.
    start_senders(conn, min(senders, 1 + int(waiting) // SENDER_PER))


def start_senders(conn: redis.Redis, senders: int, delay_s: int = 0) -> int:
    """Queue a sender job for every free slot up to `senders`; return how many were queued."""
    started = 0
    for slot in range(senders):
        if conn.set(SENDER_KEY.format(slot=slot), 1, nx=True, ex=SENDER_HELD_S + delay_s):
            enqueue(conn, "pushes", SEND_PUSHES, slot, delay_s=delay_s, fresh=True)
            started += 1
    return started
