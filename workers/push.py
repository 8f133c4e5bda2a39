"""Send one push per row, exactly once as the user sees it.

The steps below are every push's, whoever sends it: the bulk senders (workers/bulk.py), which send the pushes
of actions and notices by the batch, or a job of one push (``send_push``: the sweep, the console's resend, a
retry after a transient error, the pushes a chat message owes).

A push row goes ``pending → sending → sent | failed | skipped``:

- **Claim.** ``send_push`` moves the row from ``pending`` to ``sending`` in one UPDATE (which also
  counts the attempt and returns what is to be sent).  Of two jobs for the same row (a job retried
  by RQ, the same id queued twice, two workers racing) only one wins; the other returns
  ``"not pending"`` without calling WeChat.
- **Template first.**  The template message links to the page it is about (``push_link``): the
  reporter's ``/t/<signed-token>`` page for the reporter, a view-only one for followers and workers,
  ``/c/<token>`` for a complaint's sender, ``/notices/<id>`` for a notice.
- **The account's keywords.**  The row keeps the product's fields; the mapping (``REPAIRBOT_TEMPLATES_FILE``,
  core/templates.py) puts them into the template's keyword ids, each formatted for its kind.  A template WeChat
  refuses (40037, 47003) is recorded with the field that filled the keyword it names (``[thing3 ← note]``).
- **Customer-service fallback.**  When the template fails for good (40037 bad template, 47003 bad
  argument, no template configured ...) and the user's customer-service window is open with a message
  left in it (core/window.py: 5 within 48 hours of a message, 3 within a minute of a click or a follow),
  the same news goes out as a text message through
  ``message/custom/send``.  ``channel`` on the row says which way it went.  Errors that say the user
  cannot be reached at all (43004 unsubscribed, 40003 bad openid) or that the credentials are bad get
  no fallback.
- **Transient errors** (network, 5xx, -1 busy, 45009/45011 limits) put the row back to ``pending`` and
  raise, so RQ retries the job with the backoff of ``core.jobs.RETRIES``; on the last attempt
  the row is ``failed``.
- **Permanent errors** are recorded on the row (``failed``, errcode, error) and the job fails with the
  error, without a retry.
- **Crashes.**  Anything unexpected (Redis lock timeout, database error, job timeout) gives the row back
  to ``pending`` before the exception propagates, unless WeChat had already accepted the message.  A
  worker killed outright leaves the row in ``sending``; ``workers.sweeps.requeue_pending`` takes such
  rows back after ``STUCK_AFTER_S``.  Right after WeChat accepts a message its msgid is kept in Redis
  (``push:sent:{id}``), and a later attempt at the same row records that instead of sending again, so
  a second copy can only reach the user when a worker died *during* the HTTP call to WeChat (or in
  the microseconds before that note was written) — the price of not losing the push instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from rq import get_current_job
from sqlalchemy import String, Table, bindparam, func, select, update
from sqlalchemy.engine import Connection

from core.jobs import queue_bulk
from core.links import consult_link, notice_link, ticket_link
from core.metrics import PUSHES
from core.pacing import reserve, slow_down
from core.services import Services, process_services
from core.templates import TEMPLATE_REFUSED, explain_refusal, render_payload
from core.wechat_api import NO_ANSWER, TOKEN_ERRORS, TOKEN_KEY, WeChatAPI
from core.window import spend
from models.clock import now
from models.errors import WeChatError
from models.people import set_subscribed
from models.pushes import Push, custom_text, payload_number
from models.tickets import Ticket

log = logging.getLogger(__name__)

# Errors worth another try later: system busy, network and 5xx.
TRANSIENT = frozenset({-1, -2, -3, -4})
# WeChat's "too many" answers (daily quota, per-minute quota, the customer-service message limit): the push
# is late, not failed — every sender pauses (core/pacing.py) and the push goes again without spending an attempt.
TOO_MANY = frozenset({45009, 45011, 45047})
# The longest a send waits in a job for its place in the pace; longer, and it is handed to the bulk senders.
LONGEST_WAIT_S = 2.0
# The user cannot receive anything from the account: 43004 not subscribed, 40003 bad openid,
# 43019 the user is in the account's blacklist.
USER_GONE = frozenset({43004, 40003, 43019})
# Permanent errors after which a customer-service message would fail just the same: the user is gone,
# or the credentials are bad (40013 appid, 40125 secret, 40164 IP not whitelisted, 41001 no token).
NO_FALLBACK = USER_GONE | TOKEN_ERRORS | {40013, 40125, 40164, 41001}
# One budget of attempts per push row, whoever queues it (RQ's retries, the sweep, the console's resend):
# a row that used them all is failed, not tried again.
MAX_ATTEMPTS = 6
# How long WeChat's acceptance of a message is remembered in Redis, for a retry after a crash.
SENT_MARK_TTL_S = 7 * 24 * 3600


def push_link(svc: Services, push: Claimed) -> str:
    """The page a push opens: a ticket's (the reporter's link only for the reporter, a view-only one for
    followers and workers), a complaint's for its sender, a notice's public page; "" when there is none."""
    if push.ticket_id is not None and push.number:
        return ticket_link(svc.config, push.number, view_only=push.openid != push.reporter)
    if push.consult_id is not None and push.number:
        return consult_link(svc.config, push.number)
    if push.notice_id is not None:
        return notice_link(svc.config, push.notice_id)
    return ""


def sent_mark_key(push_id: int) -> str:
    return f"push:sent:{push_id}"


@dataclass(frozen=True)
class Claimed:
    """What a worker took over when it claimed a pending push."""

    id: int
    openid: str
    kind: str
    template_id: str | None
    payload: dict[str, Any]
    channel: str | None
    attempts: int
    ticket_id: int | None
    event_id: int | None
    consult_id: int | None
    notice_id: int | None
    reporter: str | None  # the openid that filed the push's ticket
    last_errcode: int | None = None  # how the previous attempt ended

    @property
    def number(self) -> str:
        """The ticket's, consult's or notice's number."""
        return payload_number(self.payload)


@dataclass
class Attempt:
    """Where one attempt stands: whether WeChat has accepted the message yet, and whether its send already
    has its place in the account's pace (a bulk sender reserves a whole batch's)."""

    delivered: bool = False
    paced: bool = False
    token: str | None = None  # the access_token, when it was read along with the place in the pace


def send_push(push_id: int) -> str:
    """Send a pending push; a push already sent, skipped, failed or being sent is left alone."""
    svc = process_services()
    # One pooled connection for the job, in autocommit: the claim and the result are one statement
    # each (a round trip apiece, no BEGIN/COMMIT), and no transaction stays open during the call to WeChat.
    with svc.db.engine.connect() as conn:
        db = conn.execution_options(isolation_level="AUTOCOMMIT")
        claimed = _claim(db, push_id)
        if claimed is None:
            return "not pending"
        attempt = Attempt()
        try:
            return deliver(svc, db, claimed, attempt)
        except WeChatError:
            raise  # recorded on the row by _deliver
        except BaseException:
            if not attempt.delivered:
                give_back(svc, push_id)
            raise


# The statements of every push, built once on the table (not the ORM entity: no mapper work per
# job, which a forked work-horse would otherwise redo for every push); a job only binds its values.
_t = cast(Table, Push.__table__)
_tickets = cast(Table, Ticket.__table__)
_CLAIMABLE = (_t.c.status == "pending", _t.c.attempts < MAX_ATTEMPTS)
_CLAIMING = {"status": "sending", "attempts": _t.c.attempts + 1, "sent_at": bindparam("at")}
_CLAIMED = (_t.c.openid, _t.c.kind, _t.c.template_id, _t.c.payload, _t.c.channel, _t.c.attempts,
            _t.c.ticket_id, _t.c.event_id, _t.c.consult_id, _t.c.notice_id,
            select(_tickets.c.openid).where(_tickets.c.id == _t.c.ticket_id).scalar_subquery().label("reporter"),
            _t.c.errcode)
CLAIM = update(_t).where(_t.c.id == bindparam("push_id"), *_CLAIMABLE).values(_CLAIMING).returning(*_CLAIMED)
# The same for many rows at once (a bulk sender's batch): only the rows still pending are taken.
CLAIM_MANY = (update(_t).where(_t.c.id.in_(bindparam("ids", expanding=True)), *_CLAIMABLE).values(_CLAIMING)
              .returning(_t.c.id, *_CLAIMED))
FINISH = (update(_t).where(_t.c.id == bindparam("push_id"))
          .values(status=bindparam("status"), errcode=bindparam("errcode"), error=bindparam("error"),
                  channel=func.coalesce(bindparam("channel", type_=String), _t.c.channel),
                  msgid=func.coalesce(bindparam("msgid", type_=String), _t.c.msgid), sent_at=bindparam("at")))
# A "too many" answer: the row is pending again and the attempt does not count (the push is late, not failing).
GIVE_BACK = FINISH.values(attempts=_t.c.attempts - 1)


class Batch:
    """A bulk sender's batch (workers/bulk.py): its threads note how each push ended, and the sender writes
    them all in a few statements and then queues what is to be tried again (never before its row says so)."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, dict[str, Any]]] = []
        self.retry: list[int] = []  # transient errors: a job of their own, after RQ's backoff
        self.again: list[int] = []  # "too many": back to the head of the outbox, after the pause

    def execute(self, statement: Any, params: dict[str, Any]) -> None:
        self.rows.append((statement, params))  # one append: safe from many threads


# Where an attempt's end is written: a connection (a job of one push), or a bulk sender's batch.
Writer = Connection | Batch


def _claim(db: Connection, push_id: int) -> Claimed | None:
    """Move the row from pending to sending; None when another job has it or it is done."""
    row = db.execute(CLAIM, {"push_id": push_id, "at": now()}).first()
    return None if row is None else claimed_from(push_id, row)


def claimed_from(push_id: int, row: Any) -> Claimed:
    return Claimed(push_id, row.openid, row.kind, row.template_id, dict(row.payload or {}), row.channel,
                   int(row.attempts), row.ticket_id, row.event_id, row.consult_id, row.notice_id, row.reporter,
                   row.errcode)


def deliver(svc: Services, db: Writer, push: Claimed, attempt: Attempt) -> str:
    if push.attempts > 1:
        # An earlier attempt may have got through and died before recording it.
        mark = svc.redis.get(sent_mark_key(push.id))
        if mark is not None:
            channel, _, msgid = (mark.decode() if isinstance(mark, bytes) else str(mark)).partition(":")
            attempt.delivered = True
            log.warning("push %s was accepted by WeChat before a crash; recording it, not sending again", push.id)
            return _finish(db, push.id, "sent", channel=channel or None, msgid=msgid or None)
    if not svc.config.wechat_ready:
        return _finish(db, push.id, "skipped", error="WECHAT_APPID and WECHAT_SECRET are not set")
    if not attempt.paced and not _pace(svc, attempt):
        return put_off(svc, db, push)
    api = WeChatAPI(svc.config, svc.redis, token=attempt.token)
    failure: WeChatError | None = None
    if push.channel != "custom":  # "custom": an earlier attempt already fell back
        if push.template_id:
            link = push_link(svc, push)
            data = render_payload(svc.config.templates, push.payload)
            try:
                msgid = api.send_template(push.openid, push.template_id, data, link)
            except WeChatError as exc:
                if exc.errcode == NO_ANSWER:
                    return _no_answer(db, push, "template")
                if exc.errcode in TOO_MANY:
                    return _throttled(svc, db, push, exc, "template")
                if exc.errcode in TRANSIENT:
                    return _transient(svc, db, push, exc, "template")
                failure = exc
                if exc.errcode in TEMPLATE_REFUSED:
                    # Kept on the row with the field that filled the keyword WeChat named (the console shows it).
                    failure = WeChatError(exc.errcode, explain_refusal(svc.config.templates, push.payload,
                                                                       exc.errmsg))
                    log.warning("push %s: WeChat refused template %s: %s", push.id, push.template_id,
                                failure.errmsg)
            else:
                _mark_sent(svc, push.id, "template", msgid, attempt)
                return _finish(db, push.id, "sent", channel="template", msgid=msgid)
        if failure is not None and failure.errcode in NO_FALLBACK:
            return _permanent(svc, db, push, failure, "template")
        if not _user_wrote_lately(svc, push.openid):
            if failure is not None:
                return _permanent(svc, db, push, failure, "template")
            return _finish(db, push.id, "skipped", error=f"no template id for {push.kind} pushes "
                           "(REPAIRBOT_TEMPLATES_FILE; WECHAT_TEMPLATE_TICKET / WECHAT_TEMPLATE_REPLY) and no "
                           "customer-service window open "
                           "(a message from the user in 48 hours, or a click in the last minute)")
    return _fallback(svc, db, api, push, failure, attempt)


def _fallback(svc: Services, db: Writer, api: WeChatAPI, push: Claimed, failure: WeChatError | None,
              attempt: Attempt) -> str:
    """Send the news as a customer-service text message instead of the template."""
    if failure is not None:
        why = f"template failed ({failure.errcode} {failure.errmsg})"
    elif push.channel == "custom":
        why = "template failed on an earlier attempt"
    else:
        why = "no template configured"
    link = push_link(svc, push)
    with svc.db.session() as s:
        text = custom_text(s, push.kind, push.ticket_id, push.event_id, push.payload, link, push.openid)
    try:
        api.send_text(push.openid, text)
    except WeChatError as exc:
        if exc.errcode == NO_ANSWER:
            return _no_answer(db, push, "custom")
        if exc.errcode in TOO_MANY:
            return _throttled(svc, db, push, exc, "custom")
        if exc.errcode in TRANSIENT:
            return _transient(svc, db, push, exc, "custom")
        return _permanent(svc, db, push, WeChatError(exc.errcode, f"{exc.errmsg} (customer-service fallback; {why})"),
                          "custom")
    _mark_sent(svc, push.id, "custom", "", attempt)
    return _finish(db, push.id, "sent", channel="custom", errcode=failure.errcode if failure else None,
                   error=f"{why}; sent as a customer-service message")


def _user_wrote_lately(svc: Services, openid: str) -> bool:
    """Whether WeChat lets us write to the user now (and count the message we are about to send)."""
    return spend(svc.redis, openid, time.time())


def _no_answer(db: Writer, push: Claimed, channel: str) -> str:
    """The message went out and no answer came: WeChat may have accepted it. Sending again at once could
    make the user read it twice, so the row is `unknown`: a delivery report for the user settles it as
    sent (models.pushes.record_delivery); else the sweep tries once more after a while. A second attempt
    without an answer fails the row (it may still have arrived; the console shows it)."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0  # the sweep decides, not RQ's backoff
    if push.last_errcode == NO_ANSWER:
        return _finish(db, push.id, "failed", channel=channel, errcode=NO_ANSWER,
                       error="no answer from WeChat, twice: it may have arrived")
    return _finish(db, push.id, "unknown", channel=channel, errcode=NO_ANSWER,
                   error="sent, but WeChat did not answer")


def _transient(svc: Services, db: Writer, push: Claimed, exc: WeChatError, channel: str) -> str:
    """Put the row back for RQ's next try (and raise), or fail it when no try is left — of the job's, or of
    the row's own budget (MAX_ATTEMPTS, across every job and sweep).  In a bulk batch the row waits for a
    job of its own, queued after RQ's first backoff."""
    if isinstance(db, Batch) and push.attempts < MAX_ATTEMPTS:
        db.retry.append(push.id)
        return _finish(db, push.id, "pending", channel=channel, errcode=exc.errcode, error=exc.errmsg)
    job = get_current_job()
    if job is not None and job.retries_left and push.attempts < MAX_ATTEMPTS:
        _finish(db, push.id, "pending", channel=channel, errcode=exc.errcode, error=exc.errmsg)
        raise exc
    return _permanent(svc, db, push, exc, channel)


def _permanent(svc: Services, db: Writer, push: Claimed, exc: WeChatError, channel: str) -> NoReturn:
    """Record the failure and fail the job with it, without a retry."""
    _finish(db, push.id, "failed", channel=channel, errcode=exc.errcode, error=exc.errmsg or str(exc))
    if exc.errcode == 43004:
        with svc.db.session() as s:
            set_subscribed(s, push.openid, False)  # later pushes to them are recorded as skipped
    job = get_current_job()
    if job is not None:
        job.retries_left = 0  # the worker reads it from this very object when the job raises
    raise exc


def _mark_sent(svc: Services, push_id: int, channel: str, msgid: str, attempt: Attempt) -> None:
    attempt.delivered = True
    try:
        svc.redis.set(sent_mark_key(push_id), f"{channel}:{msgid}", ex=SENT_MARK_TTL_S)
    except Exception:  # the row is what counts; the mark only guards a crash in the next lines
        log.exception("push %s: could not note in Redis that WeChat accepted it", push_id)


def give_back(svc: Services, push_id: int) -> None:
    """Return a claimed row to pending after an unexpected error (best effort: the error goes on)."""
    try:
        with svc.db.session() as s:
            s.execute(update(Push).where(Push.id == push_id, Push.status == "sending")
                      .values(status="pending", sent_at=None).execution_options(synchronize_session=False))
    except Exception:
        log.exception("push %s: could not give the row back to pending; the sweep will", push_id)


def _pace(svc: Services, attempt: Attempt) -> bool:
    """Wait for this send's place in the account's pace (reading the access_token along); False when the
    senders are paused for longer than a job should wait (after a "too many" answer)."""
    places = reserve(svc.redis, 1, svc.config.push_rate, also_read=TOKEN_KEY)
    if places.wait_s > LONGEST_WAIT_S:
        return False
    attempt.token = places.also
    if places.wait_s > 0:
        time.sleep(places.wait_s)
    return True


def _throttled(svc: Services, db: Writer, push: Claimed, exc: WeChatError, channel: str | None) -> str:
    """WeChat said "too many": every sender pauses (longer at each new strike), and the push waits."""
    slow_down(svc.redis)
    log.warning("push %s: WeChat said too many (%s); trying again after a pause", push.id, exc.errcode)
    return _wait_again(svc, db, push, channel, exc.errcode, exc.errmsg)


PAUSED = "paused: WeChat said too many a moment ago"


def put_off(svc: Services, db: Writer, push: Claimed) -> str:
    """The senders are paused after a "too many" answer: the push waits, unsent."""
    return _wait_again(svc, db, push, None, None, PAUSED)


def _wait_again(svc: Services, db: Writer, push: Claimed, channel: str | None, errcode: int | None,
                error: str) -> str:
    """The push is pending again without spending an attempt, at the head of the bulk outbox (the bulk
    senders send it when the pause is over)."""
    _finish(db, push.id, "pending", channel=channel, errcode=errcode, error=error, again=True)
    if isinstance(db, Batch):
        db.again.append(push.id)  # queued by the sender once its row says pending
    else:
        queue_bulk(svc.redis, [push.id], svc.config.push_senders, first=True)
    return "throttled"


def _finish(db: Writer, push_id: int, status: str, *, channel: str | None = None, errcode: int | None = None,
            error: str | None = None, msgid: str | None = None, again: bool = False) -> str:
    """Record how an attempt ended (a channel or msgid of None keeps what the row has; `again`: the attempt
    does not count)."""
    db.execute(GIVE_BACK if again else FINISH, {"push_id": push_id, "status": status, "errcode": errcode,
                        "error": (error or None) and error[:255], "channel": channel,
                        "msgid": (msgid or None) and msgid[:32],
                        # When it went out: kept while `unknown`, for the report that may settle it.
                        "at": now() if status in ("sent", "unknown") else None})
    log.info("push %s: %s%s%s", push_id, status, f" via {channel}" if channel else "",
             f" ({errcode} {error})" if errcode else "")
    PUSHES.labels(status).inc()
    return status
