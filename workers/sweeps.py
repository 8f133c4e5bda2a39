"""Sweeps: find work that was recorded but never queued (e.g. after Redis was lost) and queue it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bot.services import Services
from models.people import now
from models.pushes import Push
from models.tickets import TicketPhoto
from workers.media import download_photo
from workers.push import send_push
from workers.queues import enqueue


@dataclass(frozen=True)
class SweepReport:
    pushes: int
    photos: int


def requeue_pending(svc: Services, older_than_s: int = 60) -> SweepReport:
    """Queue again every push and photo download still pending after a while; jobs dedupe by id."""
    cutoff = now() - timedelta(seconds=older_than_s)
    with svc.db.session() as s:
        push_ids = list(s.scalars(select(Push.id).where(Push.status == "pending", Push.created_at <= cutoff)))
        photo_ids = list(s.scalars(select(TicketPhoto.id).where(TicketPhoto.status == "pending")))
    for push_id in push_ids:
        enqueue(svc, "pushes", send_push, push_id, job_id=f"push-{push_id}")
    for photo_id in photo_ids:
        enqueue(svc, "media", download_photo, photo_id, job_id=f"media-{photo_id}")
    return SweepReport(len(push_ids), len(photo_ids))
