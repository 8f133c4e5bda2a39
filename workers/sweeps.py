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

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update

from core.jobs import enqueue
from core.services import Services
from models.clock import now
from models.pushes import Push
from models.tickets import TicketPhoto
from workers.media import download_photo
from workers.push import send_push

# A push claimed this long ago and still `sending` belongs to a dead worker.
STUCK_AFTER_S = 15 * 60


@dataclass(frozen=True)
class SweepReport:
    pushes: int
    photos: int
    stuck: int = 0  # of `pushes`: rows taken back from a dead worker's `sending`


def release_stuck_pushes(svc: Services, stuck_after_s: int = STUCK_AFTER_S) -> list[int]:
    """Move pushes left in `sending` by a dead worker back to `pending`; return their ids."""
    cutoff = now() - timedelta(seconds=stuck_after_s)
    claimed_at = func.coalesce(Push.sent_at, Push.created_at)
    with svc.db.session() as s:
        ids = list(s.scalars(
            update(Push).where(Push.status == "sending", claimed_at <= cutoff)
            .values(status="pending", sent_at=None)
            .returning(Push.id).execution_options(synchronize_session=False)))
    return sorted(ids)


def requeue_pending(svc: Services, older_than_s: int = 60, stuck_after_s: int | None = STUCK_AFTER_S) -> SweepReport:
    """Queue again every push and photo download still pending after a while; jobs dedupe by id."""
    stuck = release_stuck_pushes(svc, stuck_after_s) if stuck_after_s is not None else []
    cutoff = now() - timedelta(seconds=older_than_s)
    with svc.db.session() as s:
        waiting = s.scalars(select(Push.id).where(Push.status == "pending", Push.created_at <= cutoff))
        push_ids = sorted(set(waiting) | set(stuck))
        photo_ids = list(s.scalars(select(TicketPhoto.id).where(TicketPhoto.status == "pending")))
    for push_id in push_ids:
        enqueue(svc.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}")
    for photo_id in photo_ids:
        enqueue(svc.redis, "media", download_photo, photo_id, job_id=f"media-{photo_id}")
    return SweepReport(len(push_ids), len(photo_ids), len(stuck))
