"""RQ's forking worker, kept for the tests and the push benchmark that compare it with the lean in-process
worker `repairbot worker` runs (workers/queues.py): a forking worker's parent must be warmed once, or every
work-horse pays for the first connection, the mappers and the statements."""

from __future__ import annotations

import gc
import multiprocessing as mp
from typing import Any

from rq import Worker
from sqlalchemy.orm import configure_mappers

from core.services import Services
from models.clock import now
from workers.push import CLAIM, FINISH
from workers.queues import _LeanHeartbeat


class LeanWorker(_LeanHeartbeat, Worker):
    """RQ's forking Worker with cheaper heartbeats (prepare its parent with ``prepare_worker``)."""


def prepare_worker(svc: Services) -> None:
    """Get a forking worker's parent ready: call it once before `Worker(...).work()`.

    Without this, every push pays for loading the job modules, SQLAlchemy's first connection, mapper
    configuration and statement compilation; `gc.freeze()` keeps each horse's collector from copying the
    parent's pages.
    """
    from workers import media, push  # the jobs' modules, imported before the fork

    del media, push
    warm_up(svc)
    gc.collect()
    gc.freeze()


def warm_up(svc: Services) -> None:
    """Compile the push job's two statements into the engine's cache, then empty the pool so that no
    connection is shared with the children (each opens its own)."""
    configure_mappers()
    with svc.db.engine.connect() as conn:
        conn.execute(CLAIM, {"push_id": 0, "at": now()})
        conn.execute(FINISH, {"push_id": 0, "status": "pending", "errcode": None, "error": None,
                              "channel": None, "msgid": None, "at": None})
        conn.rollback()
    svc.db.engine.dispose()


def worker_process(env: dict[str, str], start: Any) -> None:
    """A `repairbot worker` of its own (spawned: nothing inherited) on the test's database and Redis, working
    the queues until they are empty once `start` is set."""
    from core.config import Config
    from core.jobs import all_queues
    from core.services import use_services
    from workers.queues import LeanSimpleWorker

    svc = Services(Config.from_env(env, dotenv=None))
    use_services(svc)
    worker = LeanSimpleWorker(all_queues(svc.redis), connection=svc.redis)
    start.wait(120)
    worker.work(burst=True, logging_level="WARNING")
    svc.close()


def run_worker_processes(env: dict[str, str], count: int, timeout_s: float = 180) -> None:
    """Start `count` worker processes together and wait until each has emptied the queues and exited."""
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=worker_process, args=(env, start)) for _ in range(count)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=timeout_s)
        assert p.exitcode == 0, f"a worker process exited {p.exitcode}"
