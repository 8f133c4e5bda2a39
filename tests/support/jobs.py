"""Running the RQ jobs the code under test queued, with a real worker in this process.

RQ's scheduler is not run: `release_scheduled` does what it would do when a delayed job or a retry is due.
"""

from __future__ import annotations

from typing import Any

from rq import Queue, SimpleWorker

from core.jobs import OUTBOXES, SEND_PUSHES, all_queues
from core.services import Services


def queued_jobs(services: Services) -> int:
    """How much work waits on all the queues: the jobs, with a bulk sender's job counted as the pushes waiting in
    the outboxes for it (workers/bulk.py)."""
    queues = all_queues(services.redis)
    outboxes: Any = [services.redis.llen(key) for key in OUTBOXES]
    senders = sum(1 for q in queues for job in q.get_jobs() if job.func_name == SEND_PUSHES)
    return sum(q.count for q in queues) - senders + sum(int(n) for n in outboxes)


def drop_queued(services: Services) -> None:
    """Forget every queued job and every push waiting in the outboxes."""
    for q in all_queues(services.redis):
        q.empty()
    services.redis.delete(*OUTBOXES)


def run_jobs(services: Services) -> int:
    """Run every queued job with a real (in-process, burst) worker; return how much work was waiting
    (queued_jobs)."""
    queues = all_queues(services.redis)
    waiting = queued_jobs(services)
    SimpleWorker(queues, connection=services.redis).work(burst=True)
    return waiting


def release_scheduled(services: Services, queue: str = "pushes") -> int:
    """Put every scheduled job of a queue back on it, as RQ's scheduler does when it is due; return how many."""
    q = Queue(queue, connection=services.redis)
    registry = q.scheduled_job_registry
    ids = registry.get_job_ids()
    for job_id in ids:
        job = q.fetch_job(job_id)
        assert job is not None
        registry.remove(job)
        q.enqueue_job(job)
    return len(ids)
