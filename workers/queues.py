"""Queues and retry policies; jobs are enqueued only after their data is committed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from rq import Queue, Retry

from bot.services import QUEUE_NAMES, Services

# Backoff between tries, for errors worth another try (a job raising on a permanent error sets its
# retries_left to 0 first).  WeChat keeps media 3 days: photo downloads keep trying for hours.
RETRIES = {
    "media": Retry(max=6, interval=[10, 60, 300, 1800, 3600, 7200]),
    "pushes": Retry(max=5, interval=[5, 30, 120, 600, 1800]),
    "default": Retry(max=3, interval=[10, 60, 300]),
}


def enqueue(svc: Services, queue: str, func: Callable[..., Any], *args: Any, job_id: str | None = None,
            delay_s: int = 0) -> None:
    """Enqueue a job once (a job id already queued or running is not added again), now or after a delay."""
    q = Queue(queue, connection=svc.redis)
    if job_id is not None:
        existing = q.fetch_job(job_id)
        # fetch_job has just read the job's status: no second round trip for it.
        if existing is not None and existing.get_status(refresh=False) in ("queued", "started", "scheduled",
                                                                            "deferred"):
            return
    options: dict[str, Any] = {"job_id": job_id, "retry": RETRIES.get(queue, RETRIES["default"]),
                               "result_ttl": 3600, "failure_ttl": 7 * 24 * 3600}
    if delay_s > 0:
        q.enqueue_in(timedelta(seconds=delay_s), func, *args, **options)
    else:
        q.enqueue(func, *args, **options)


def all_queues(svc: Services) -> list[Queue]:
    return [Queue(name, connection=svc.redis) for name in QUEUE_NAMES]


def enqueue_many(svc: Services, jobs: Iterable[tuple[str, Callable[..., Any], tuple[Any, ...], str | None]]) -> None:
    for queue, func, args, job_id in jobs:
        enqueue(svc, queue, func, *args, job_id=job_id)
