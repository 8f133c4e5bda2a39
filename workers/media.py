"""Fetch a reporter's photo from WeChat before its 3-day expiry."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from rq import get_current_job

from core.services import process_services
from core.wechat_api import WeChatAPI
from models.errors import ConfigError, WeChatError
from models.tickets import TicketPhoto

log = logging.getLogger(__name__)

# WeChat does not know the media id (it keeps media 3 days, or the id was never valid): no retry helps.
GONE = frozenset({40007})


def download_photo(photo_id: int) -> str:
    """Download one photo into REPAIRBOT_MEDIA_DIR; running it twice does the work once."""
    svc = process_services()
    with svc.db.session() as s:
        photo = s.get(TicketPhoto, photo_id)
        if photo is None:
            return "missing"
        if photo.status == "saved" and photo.path and Path(photo.path).exists():
            return "saved"
        media_id, ticket_no = photo.media_id, photo.ticket.no
    api = WeChatAPI(svc.config, svc.redis)
    try:
        content = api.download_media(media_id)
    except (WeChatError, ConfigError) as exc:
        job = get_current_job()
        if job is not None and isinstance(exc, WeChatError) and exc.errcode in GONE:
            job.retries_left = 0  # the worker reads it from this very object when the job raises
        _record_failure(photo_id, str(exc))
        raise
    folder = svc.config.media_dir / ticket_no
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{photo_id}{_suffix(content)}"
    tmp = path.with_suffix(".part")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    with svc.db.session() as s:
        photo = s.get(TicketPhoto, photo_id)
        assert photo is not None
        photo.status, photo.path, photo.error = "saved", str(path), None
        photo.attempts += 1
    log.info("saved photo %s of ticket %s (%d bytes)", photo_id, ticket_no, len(content))
    return "saved"


def _record_failure(photo_id: int, error: str) -> None:
    job = get_current_job()
    last = job is None or not job.retries_left
    svc = process_services()
    with svc.db.session() as s:
        photo = s.get(TicketPhoto, photo_id)
        if photo is not None:
            photo.attempts += 1
            photo.error = error[:255]
            if last:
                photo.status = "failed"
    log.warning("photo %s download failed (%s)%s", photo_id, error, "; giving up" if last else "; will retry")


def _suffix(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return ".png"
    if content[:4] == b"GIF8":
        return ".gif"
    return ".jpg"
