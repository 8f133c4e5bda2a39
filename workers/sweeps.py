"""Sweeps: find work that was recorded but never queued (e.g. after Redis was lost) and queue it.

Pushes stuck in ``sending``
    A worker claims a push by moving it to ``sending``; it leaves that state within a job's run
    (sent, failed, or back to pending for a retry — also on a timeout or any other error).  Only a
    worker killed outright (SIGKILL, OOM, a lost machine) leaves a row in ``sending``, and RQ's retry of
    that job finds the row claimed and does nothing.  So a row in ``sending`` for longer than
    ``STUCK_AFTER_S`` (far beyond RQ's 180 s job timeout, after which a live worker has given up) is
    taken back to ``pending`` and queued again.

    The trade-off: such a worker may have died after WeChat accepted the message.  When it lived
    long enough to note WeChat's answer in Redis (``push:sent:{id}``, written right after the answer)
    the next attempt records the push as sent without sending it again; only a death *during* the
    HTTP call to WeChat, or in the instant between its answer and that note, makes the user see the
    message twice.  Never taking such rows back would instead lose the push for good: a rare
    duplicate is the better failure for a repair notice.  Pass ``stuck_after_s=None`` to leave
    ``sending`` rows alone (and look at them by hand).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from sqlalchemy import func, select, update

from core.jobs import DOWNLOAD_PHOTO, SEND_PUSH, enqueue
from core.services import Services, process_services
from core.wechat_api import NO_ANSWER
from models.clock import now
from models.people import forget_unfollowed
from models.pushes import RECONCILE_WITHIN_S, Push
from models.tickets import TicketPhoto
from workers.push import MAX_ATTEMPTS

# A push claimed this long ago and still `sending` belongs to a dead worker.
STUCK_AFTER_S = 15 * 60
# A push that got no answer is tried once more after this long, unless a delivery report settled it.
UNKNOWN_RETRY_AFTER_S = RECONCILE_WITHIN_S
# How often the workers make sure a sweep runs.
SWEEP_EVERY_S = 60
SWEEP = "workers.sweeps.sweep"


@dataclass(frozen=True)
class SweepReport:
    pushes: int
    photos: int
    stuck: int = 0  # of `pushes`: rows taken back from a dead worker's `sending`


def release_stuck_pushes(svc: Services, stuck_after_s: int = STUCK_AFTER_S) -> list[int]:
    """Move pushes left in `sending` by a dead worker back to `pending`, marked as unanswered: the worker
    may have died during the call, so this is their one more try (a second no-answer fails them)."""
    cutoff = now() - timedelta(seconds=stuck_after_s)
    claimed_at = func.coalesce(Push.sent_at, Push.created_at)
    with svc.db.session() as s:
        ids = list(s.scalars(
            update(Push).where(Push.status == "sending", claimed_at <= cutoff)
            .values(status="pending", sent_at=None, errcode=NO_ANSWER)
            .returning(Push.id).execution_options(synchronize_session=False)))
    return sorted(ids)


def retry_unknown(svc: Services, after_s: int = UNKNOWN_RETRY_AFTER_S) -> list[int]:
    """Pushes whose sending got no answer and no delivery report came for a while: one more try."""
    cutoff = now() - timedelta(seconds=after_s)
    with svc.db.session() as s:
        return sorted(s.scalars(
            update(Push).where(Push.status == "unknown", Push.sent_at <= cutoff)
            .values(status="pending", sent_at=None)
            .returning(Push.id).execution_options(synchronize_session=False)))


def give_up_exhausted(svc: Services) -> int:
    """Fail the pending pushes that used their whole budget of attempts."""
    with svc.db.session() as s:
        ids = list(s.scalars(
            update(Push).where(Push.status == "pending", Push.attempts >= MAX_ATTEMPTS)
            .values(status="failed", error=f"gave up after {MAX_ATTEMPTS} attempts")
            .returning(Push.id).execution_options(synchronize_session=False)))
    return len(ids)


def requeue_pending(svc: Services, older_than_s: int = 60, stuck_after_s: int | None = STUCK_AFTER_S) -> SweepReport:
    """Queue again every push and photo download still pending after a while; jobs dedupe by id."""
    stuck = release_stuck_pushes(svc, stuck_after_s) if stuck_after_s is not None else []
    unknown = retry_unknown(svc)
    give_up_exhausted(svc)
    cutoff = now() - timedelta(seconds=older_than_s)
    # An invitation to rate waits its delay (REPAIRBOT_RATE_INVITE_DELAY) before it counts as left behind.
    invite_cutoff = cutoff - svc.config.rate_invite_delay
    with svc.db.session() as s:
        waiting = s.scalars(select(Push.id).where(
            Push.status == "pending", Push.created_at <= cutoff,
            (Push.kind != "rate_hint") | (Push.created_at <= invite_cutoff)))
        push_ids = sorted(set(waiting) | set(stuck) | set(unknown))
        photo_ids = list(s.scalars(select(TicketPhoto.id).where(TicketPhoto.status == "pending")))
    for push_id in push_ids:
        enqueue(svc.redis, "pushes", SEND_PUSH, push_id, job_id=f"push-{push_id}")
    for photo_id in photo_ids:
        enqueue(svc.redis, "media", DOWNLOAD_PHOTO, photo_id, job_id=f"media-{photo_id}")
    return SweepReport(len(push_ids), len(photo_ids), len(stuck))


# -- the sweep on a schedule ---------------------------------------------------------------------------------

def sweep() -> str:
    """The scheduled sweep (an RQ job): what a crash, a lost Redis or an unanswered push left behind, and
    the people who unfollowed long enough ago to be forgotten."""
    svc = process_services()
    report = requeue_pending(svc)
    forgotten = forget_unfollowed_users(svc)
    return (f"queued again: {report.pushes} pushes ({report.stuck} stuck), {report.photos} photos; "
            f"forgotten: {len(forgotten)} unfollowed users")


def forget_unfollowed_users(svc: Services) -> list[str]:
    with svc.db.session() as s:
        forgotten = forget_unfollowed(s)
        s.commit()
    return forgotten


def schedule_sweep(conn: redis.Redis, every_s: int = SWEEP_EVERY_S) -> bool:
    """Queue this period's sweep unless a worker already did (every worker calls this as it beats)."""
    slot = int(time.time() // every_s)
    if not conn.set(f"sweep:slot:{slot}", 1, nx=True, ex=2 * every_s):
        return False
    enqueue(conn, "default", SWEEP, job_id=f"sweep-{slot}", fresh=True)
    return True
