"""The RQ workers repairbot runs: jobs in the worker process, with cheap heartbeats."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

import redis
from redis.client import Pipeline
from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.utils import now as rq_now
from rq.worker.base import BaseWorker

from workers.sla import schedule_sla_sweep
from workers.sweeps import schedule_sweep

# Workers beat at most this often outside a job's own bookkeeping (RQ's worker_ttl is 420 s), and
# look whether `rq suspend` was said at most this often.
HEARTBEAT_EVERY_S = 5.0
SUSPENSION_CHECK_EVERY_S = 1.0
# How often a worker looks whether this period's sweep is queued (one SET NX).
SWEEP_CHECK_EVERY_S = 10.0


# prctl(2): ask the kernel to signal this process when its parent dies.
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have the kernel send SIGTERM to this process when the process that forked it dies (Linux); exit now
    if it is dead already."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent or parent == 1:
        os._exit(0)


class ParentBoundScheduler(RQScheduler):
    """RQ's scheduler process, ended with the worker that forked it. A worker killed outright (SIGKILL,
    the OOM killer) used to leave its scheduler running, holding the scheduler lock for a worker that was
    gone; now the kernel stops it, and the next worker to start takes the lock."""

    def work(self) -> None:
        die_with_parent()
        super().work()


class _LeanHeartbeat(BaseWorker):
    """RQ 3 sends a worker's heartbeat (HSET and two EXPIREs) as three round trips, about five times a
    job, and asks Redis whether workers are suspended before every job: half of a short job's Redis
    traffic.  Here a heartbeat of its own is one pipelined round trip, skipped when the last one is
    less than HEARTBEAT_EVERY_S old, and suspension is looked up at most once a second.  Heartbeats
    that ride on RQ's own pipelines, or that ask for a particular timeout, are left as they are."""

    _suspension_checked = 0.0

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO", *args: object,
                         **kwargs: object) -> None:
        """RQ's own start of the scheduler, with a scheduler bound to this worker's life."""
        scheduler = ParentBoundScheduler(self.queues, connection=self.connection,
                                         logging_level=logging_level or self.log.level, serializer=self.serializer)
        self.scheduler = scheduler
        scheduler.acquire_locks()
        if not scheduler.acquired_locks:
            return
        if not burst:
            scheduler.start()
            return
        try:
            scheduler.register_birth()
            scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()
            scheduler.register_death()

    def check_for_suspension(self, burst: bool) -> None:
        at = time.monotonic()
        if at - self._suspension_checked >= SUSPENSION_CHECK_EVERY_S:
            self._suspension_checked = at
            super().check_for_suspension(burst)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        self._keep_sweeping()
        self._heartbeat(timeout, pipeline)

    _sweep_checked = 0.0

    def _keep_sweeping(self) -> None:
        """Make sure the sweep runs every SWEEP_EVERY_S, and the SLA sweep every SLA_SWEEP_EVERY_S, whichever worker
        is alive (and after Redis was lost)."""
        at = time.monotonic()
        if at - self._sweep_checked < SWEEP_CHECK_EVERY_S:
            return
        self._sweep_checked = at
        try:
            schedule_sweep(self.connection)
            schedule_sla_sweep(self.connection)
        except redis.RedisError as exc:
            self.log.warning("could not schedule the sweep: %s", type(exc).__name__)

    def _heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
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
    than the job (tests/support/workers.py keeps a forking one, for comparison)."""
