"""The RQ workers repairbot runs: jobs in the worker process, with cheap heartbeats."""

from __future__ import annotations

import time

from redis.client import Pipeline
from rq import SimpleWorker, Worker
from rq.utils import now as rq_now
from rq.worker.base import BaseWorker

from core.services import Services

# Workers beat at most this often outside a job's own bookkeeping (RQ's worker_ttl is 420 s), and
# look whether `rq suspend` was said at most this often.
HEARTBEAT_EVERY_S = 5.0
SUSPENSION_CHECK_EVERY_S = 1.0


class _LeanHeartbeat(BaseWorker):
    """RQ 3 sends a worker's heartbeat (HSET and two EXPIREs) as three round trips, about five times a
    job, and asks Redis whether workers are suspended before every job: half of a short job's Redis
    traffic.  Here a heartbeat of its own is one pipelined round trip, skipped when the last one is
    less than HEARTBEAT_EVERY_S old, and suspension is looked up at most once a second.  Heartbeats
    that ride on RQ's own pipelines, or that ask for a particular timeout, are left as they are."""

    _suspension_checked = 0.0

    def check_for_suspension(self, burst: bool) -> None:
        at = time.monotonic()
        if at - self._suspension_checked >= SUSPENSION_CHECK_EVERY_S:
            self._suspension_checked = at
            super().check_for_suspension(burst)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        if pipeline is not None or timeout is not None:
            super().heartbeat(timeout, pipeline)
            return
        last = self.last_heartbeat
        if last is not None and (rq_now() - last).total_seconds() < HEARTBEAT_EVERY_S:
            return
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(None, pipe)
            pipe.execute()


class LeanSimpleWorker(_LeanHeartbeat, SimpleWorker):
    """A SimpleWorker (jobs run in the worker process: no fork per job) with cheaper heartbeats.

    What a push worker should be: a job is a few milliseconds of work, and a fork per job costs more
    than the job (see ``prepare_worker`` when forking is wanted)."""


class LeanWorker(_LeanHeartbeat, Worker):
    """RQ's forking Worker with cheaper heartbeats (prepare its parent with ``prepare_worker``)."""


def prepare_worker(svc: Services) -> None:
    """Get a forking worker's parent ready: call it once before `Worker(...).work()`.

    RQ's default Worker forks a work-horse for every job, and the horse starts from the parent's
    memory.  Without this, every push pays for loading the job modules, SQLAlchemy's first connection
    (the dialect's questions to the server), mapper configuration and statement compilation — about
    a hundred milliseconds of CPU a push.  `gc.freeze()` keeps the collector in each horse from
    touching (and so copying) every page the parent owns.  A SimpleWorker does not need this: it
    pays those costs once, on its first job.
    """
    import gc

    from workers import media, push  # the jobs' modules, imported before the fork

    del media
    push.warm_up(svc)
    gc.collect()
    gc.freeze()
