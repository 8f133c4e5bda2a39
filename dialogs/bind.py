"""用户认证: bind a WeChat user to a campus card (card number, then password).

A card is bound to one WeChat account at a time: binding it on a second one unbinds the first, which is
told so by a push (it may not be its owner who did it), and the second is told the card was bound before."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from core.actions import pending_ids
from core.jobs import SEND_PUSH
from dialogs.context import Ctx
from dialogs.engine import END, Dialog, End, Go, Outcome, Retry, Step
from dialogs.forms import Form
from dialogs.state import Incoming
from models.people import Person, bind, bound_elsewhere, find_person, mask_card
from models.pushes import card_moved_push

TEXT = {
    "title": "校园卡绑定",
    "card": "请先绑定校园卡。请输入您的 8 位校园卡号：",
    "card_bad": "校园卡号是 8 位数字，请再输入一次。",
    "card_unknown": ("没有查到这个校园卡号。可能是人员目录还没有更新，请过几天再试，或联系后勤管理处；"
                     "校外访客暂时无法绑定。"),
    "password": "请输入密码（初始密码为身份证号后六位，末位 X 大小写均可）：",
    "password_bad": "密码不对，还可以再试 {left} 次。",
    "locked": "密码错误次数过多，为保护您的账号，已锁定 {minutes} 分钟，请稍后再试。",
    "bound": "绑定成功！{name}，欢迎您。\n初始密码是身份证号后六位，建议回复「个人信息」改成只有您知道的密码。",
    "already": "{name}，欢迎您回来。您已绑定校园卡 {card}。",
    "moved": "这张校园卡之前绑定在另一个微信上，那边已解除绑定，我们也通知了对方。",
    "help": "绑定后才能报修。校园卡号见卡片正面；初始密码是身份证号后六位。",
}
CARD_RE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class BindForm(Form):
    """The card number given, waiting for its password (the password itself is never kept)."""

    VERSION = 1

    card: str | None = None


def locked(ctx: Ctx, card: str | None = None) -> bool:
    """Too many wrong passwords lately for this WeChat user (or this card)."""
    limit = ctx.config.bind_max_failures
    keys = [f"bindfail:oid:{ctx.openid}"] + ([f"bindfail:card:{card}"] if card else [])
    # redis-py types its sync and async clients as one: the list is cast, not checked.
    counts = cast(list[Any], ctx.redis.mget(keys))
    return any(int(v or 0) >= limit for v in counts)


def count_failure(ctx: Ctx, card: str) -> int:
    """Count a wrong password against the card and the openid; return attempts left."""
    ttl = ctx.config.bind_lock_s
    pipe = ctx.redis.pipeline()
    for key in (f"bindfail:oid:{ctx.openid}", f"bindfail:card:{card}"):
        pipe.incr(key)
        pipe.expire(key, ttl)
    counts = pipe.execute()[0::2]
    return max(0, ctx.config.bind_max_failures - max(int(c) for c in counts))


def clear_failures(ctx: Ctx, card: str) -> None:
    ctx.redis.delete(f"bindfail:oid:{ctx.openid}", f"bindfail:card:{card}")


def lock_out(ctx: Ctx) -> Outcome:
    """End binding with the lock message, not going back to the dialog that needed binding.

    That dialog (a repair) would only ask for binding again, which ends here again: the engine
    would loop until RecursionError and the user would see an error instead of the lock.
    """
    ctx.state.resume = None
    return End(TEXT["locked"].format(minutes=-(-ctx.config.bind_lock_s // 60)))  # rounded up


def on_start(ctx: Ctx) -> Outcome | None:
    user = ctx.user()
    if user.bound and user.person is not None:
        return End(TEXT["already"].format(name=user.person.name, card=mask_card(user.person.card_no)))
    if locked(ctx):
        return lock_out(ctx)
    return None


def card(ctx: Ctx, msg: Incoming) -> Outcome:
    number = msg.text.replace(" ", "")
    if not CARD_RE.match(number):
        return Retry(TEXT["card_bad"])
    if locked(ctx, number):
        return lock_out(ctx)
    if find_person(ctx.session, number) is None:
        return Retry(TEXT["card_unknown"])
    ctx.set("card", number)
    return Go()


def password(ctx: Ctx, msg: Incoming) -> Outcome:
    number = ctx.form(BindForm).card or ""
    if locked(ctx, number):
        return lock_out(ctx)
    person = find_person(ctx.session, number)
    if person is None:
        return Go("card")
    if not person.check_password(msg.text, pepper=ctx.config.id_pepper):
        left = count_failure(ctx, number)
        return lock_out(ctx) if left == 0 else Retry(TEXT["password_bad"].format(left=left))
    clear_failures(ctx, number)
    moved = take_over(ctx, person)
    bind(ctx.session, ctx.openid, person)
    said = TEXT["bound"].format(name=person.name)
    return End(f"{said}\n{TEXT['moved']}" if moved else said)


def take_over(ctx: Ctx, person: Person) -> bool:
    """Tell every other WeChat account this card is bound to that it no longer is (after the commit)."""
    others = bound_elsewhere(ctx.session, person, ctx.openid)
    pushes = [card_moved_push(ctx.session, openid, mask_card(person.card_no)) for openid in others]
    for push_id in pending_ids(pushes):
        ctx.enqueue("pushes", SEND_PUSH, push_id, job_id=f"push-{push_id}", fresh=True)
    return bool(others)


DIALOG = Dialog(
    name="bind",
    title=TEXT["title"],
    start="card",
    form=BindForm,
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("card", "校园卡号", TEXT["card"], next="password", handle=card),
        Step("password", "密码", TEXT["password"], next=END, handle=password, goes_to=("card",)),
    ),
)
