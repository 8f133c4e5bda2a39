"""WeChat's events that are not conversation: following, unfollowing, delivery reports, and every event
nobody handles. They change the user's record or a push's, never a dialog (but unfollowing ends one)."""

from __future__ import annotations

from core.jobs import LATE_DELIVERY_AFTER_S, RECORD_LATE_DELIVERY
from dialogs.context import Ctx
from dialogs.place_given import scanned_place
from dialogs.reply import Reply
from dialogs.router import TEXT
from models.people import get_user, set_subscribed
from models.pushes import record_delivery

# The kinds this module answers; everything else goes to the dialog router.
KINDS = frozenset({"subscribe", "unsubscribe", "delivery", "event"})


def answer(ctx: Ctx) -> str:
    """Answer an event ("" means WeChat gets `success` and the user sees nothing)."""
    kind = ctx.msg.kind
    if kind == "subscribe":
        return _subscribe(ctx)
    if kind == "unsubscribe":
        _unsubscribed(ctx)
    elif kind == "delivery":
        _delivered(ctx)
    return ""


def _unsubscribed(ctx: Ctx) -> None:
    """Unfollowing ends any dialog and stops pushes; someone we never knew leaves no row behind."""
    ctx.state.flow = None
    if get_user(ctx.session, ctx.openid) is not None:
        set_subscribed(ctx.session, ctx.openid, False)


def _subscribe(ctx: Ctx) -> str:
    user = set_subscribed(ctx.session, ctx.openid, True)
    if user.person is not None:
        return TEXT["welcome_back"].format(name=user.person.name)
    return TEXT["welcome"]


def followed_through(ctx: Ctx, answer: str | Reply) -> str | Reply:
    """A follow made by scanning a 扫码报修 sticker: recorded as a follow, and the repair it started answered
    after the welcome (a stale sticker: the welcome alone)."""
    welcome = _subscribe(ctx)
    if scanned_place(ctx) is None:
        return welcome
    if not isinstance(answer, str):
        return answer
    return f"{welcome}\n\n{answer}"


def _delivered(ctx: Ctx) -> None:
    """Record a template's delivery report; one that overtook its push's msgid is tried again later."""
    msg = ctx.msg
    if not (msg.key.isascii() and msg.key.isdigit()):
        return  # a report without a MsgID names no message
    if not record_delivery(ctx.session, msg.key, msg.raw, ctx.openid):
        ctx.enqueue("default", RECORD_LATE_DELIVERY, msg.key, msg.raw, ctx.openid, job_id=f"delivery-{msg.key}",
                    delay_s=LATE_DELIVERY_AFTER_S)
