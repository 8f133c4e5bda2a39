"""Send one push (a template message) per row, exactly once as the user sees it."""

from __future__ import annotations

import logging

from itsdangerous import URLSafeTimedSerializer
from rq import get_current_job
from sqlalchemy import update

from bot.services import Services, process_services
from models.errors import ConfigError, WeChatError
from models.people import now
from models.pushes import Push

log = logging.getLogger(__name__)

# Errors worth another try later: system busy, frequency limits, network and 5xx.
TRANSIENT = frozenset({-1, -2, -3, -4, 45009, 45011, 45047})


def ticket_link(svc: Services, ticket_no: str) -> str:
    """Build the signed link to a ticket's page for its reporter."""
    token = URLSafeTimedSerializer(svc.config.secret_key, salt="ticket-page").dumps(ticket_no)
    return f"{svc.config.public_url}/t/{token}"


def send_push(push_id: int) -> str:
    """Send a pending push; a push already sent, skipped or being sent is left alone."""
    svc = process_services()
    with svc.db.session() as s:
        # Claim the row: of two workers racing for it, only one moves it to "sending".
        claimed = s.execute(update(Push).where(Push.id == push_id, Push.status == "pending")
                            .values(status="sending", attempts=Push.attempts + 1))
        if not getattr(claimed, "rowcount", 0):
            return "not pending"
    with svc.db.session() as s:
        push = s.get(Push, push_id)
        assert push is not None
        openid, template, payload = push.openid, push.template_id, dict(push.payload)
        ticket_no = push.payload.get("character_string1", {}).get("value", "")
    try:
        if not template:
            raise ConfigError("WECHAT_TEMPLATE_TICKET is not set")
        from workers.wechat_api import WeChatAPI

        msgid = WeChatAPI(svc.config, svc.redis).send_template(openid, template, payload,
                                                               ticket_link(svc, ticket_no) if ticket_no else "")
    except ConfigError as exc:
        return _finish(svc, push_id, "skipped", None, str(exc))
    except WeChatError as exc:
        job = get_current_job()
        if exc.errcode in TRANSIENT and job is not None and job.retries_left:
            _finish(svc, push_id, "pending", exc.errcode, exc.errmsg)
            raise
        return _finish(svc, push_id, "failed", exc.errcode, exc.errmsg)
    return _finish(svc, push_id, "sent", None, None, msgid)


def _finish(svc: Services, push_id: int, status: str, errcode: int | None, error: str | None,
            msgid: str | None = None) -> str:
    with svc.db.session() as s:
        push = s.get(Push, push_id)
        assert push is not None
        push.status, push.errcode, push.error = status, errcode, (error or None) and error[:255]
        if msgid is not None:
            push.msgid, push.sent_at = msgid, now()
    log.info("push %s to %s: %s%s", push_id, push.openid, status, f" ({errcode} {error})" if errcode else "")
    return status
