"""What an operator looks at first when students say the bot is silent: queues, failed jobs, the sweeps' last
runs, the access_token's age, failed pushes, overdue tickets and whether Redis and PostgreSQL answer.

One home for these facts: the /metrics collector (core/metrics.py) and the console's 系统状态 page read them
from here, at the moment they are asked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.jobs import QUEUE_NAMES, all_queues
from core.wechat_api import TOKEN_FETCHED_KEY, TOKEN_KEY
from models.clock import LOCAL, now
from models.db import Database
from models.pushes import Push

# When each sweep last ran (a hash: sweep name → epoch seconds).
SWEEPS_KEY = "ops:sweeps"
SWEEP = "sweep"  # workers/sweeps.py: pushes and photos queued again
SLA_SWEEP = "sla"  # the SLA sweep: overdue stages


def record_sweep(conn: redis.Redis, name: str, at: float | None = None) -> None:
    """Note that the sweep `name` just ran (the status page shows it; a sweep that stops is a worker gone)."""
    conn.hset(SWEEPS_KEY, name, f"{time.time() if at is None else at:.3f}")


def last_sweeps(conn: redis.Redis) -> dict[str, float]:
    """Sweep name → when it last ran (epoch seconds)."""
    raw: dict[bytes | str, bytes | str] = conn.hgetall(SWEEPS_KEY)  # type: ignore[assignment]
    return {_str(k): float(_str(v)) for k, v in raw.items()}


def queue_depths(conn: redis.Redis) -> dict[str, int]:
    """Jobs waiting on each queue."""
    return {q.name: q.count for q in all_queues(conn)}


def failed_counts(conn: redis.Redis) -> dict[str, int]:
    """Jobs kept in RQ's failed registry of each queue (for RQ's failure_ttl, a week)."""
    return {name: FailedJobRegistry(name, connection=conn).count for name in QUEUE_NAMES}


@dataclass(frozen=True)
class FailedJob:
    """A failed job as the status page lists it: what it was, when it failed and the last line of the error."""

    id: str
    queue: str
    func: str
    ended_at: datetime | None
    error: str


def failed_jobs(conn: redis.Redis, limit: int = 50) -> list[FailedJob]:
    """The most recent failed jobs of every queue, newest first."""
    found: list[FailedJob] = []
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(name, connection=conn)
        ids = registry.get_job_ids(0, limit - 1, desc=True)
        for job in Job.fetch_many(ids, connection=conn):
            if job is not None:
                result = job.latest_result()
                found.append(FailedJob(job.id, name, (job.func_name or "").rsplit(".", 1)[-1], job.ended_at,
                                       _last_line(result.exc_string if result else None)))
    found.sort(key=lambda j: j.ended_at.timestamp() if j.ended_at else 0.0, reverse=True)
    return found[:limit]


def is_failed(conn: redis.Redis, queue: str, job_id: str) -> bool:
    """Whether the job is in that queue's failed registry (still)."""
    return queue in QUEUE_NAMES and job_id in FailedJobRegistry(queue, connection=conn)


def retry_failed(conn: redis.Redis, queue: str, job_id: str) -> bool:
    """Put a failed job back on its queue; False when it is not in that queue's failed registry (any more)."""
    if not is_failed(conn, queue, job_id):
        return False
    FailedJobRegistry(queue, connection=conn).requeue(job_id)
    return True


def _last_line(exc_info: str | None) -> str:
    lines = [line for line in (exc_info or "").strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def token_age_s(conn: redis.Redis, at: float | None = None) -> float | None:
    """Seconds since the shared access_token was fetched; None when there is none."""
    with conn.pipeline(transaction=False) as pipe:
        pipe.exists(TOKEN_KEY)
        pipe.get(TOKEN_FETCHED_KEY)
        exists, fetched = pipe.execute()
    if not exists or fetched is None:
        return None
    return max(0.0, (time.time() if at is None else at) - float(_str(fetched)))


def pushes_failed_today(session: Session) -> int:
    """Pushes that failed for good since midnight, school time."""
    midnight = now().astimezone(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(session.scalar(select(func.count(Push.id)).where(Push.status == "failed",
                                                                Push.created_at >= midnight)) or 0)


def db_health(db: Database) -> str:
    """"ok", or the kind of error the database answered with."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "down"; the name of it is enough
        return f"down: {type(exc).__name__}"
    return "ok"


def redis_health(conn: redis.Redis) -> str:
    try:
        conn.ping()
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
