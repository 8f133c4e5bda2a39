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
from dialogs.engine import END, Dialog, End, Go, Outcome, Retry, Step, join_lines
from dialogs.engine import TEXT as ENGINE_TEXT
from dialogs.forms import Form
from dialogs.repair_form import MAX_PHOTOS, Photo, RepairForm, more_photos
from dialogs.state import Incoming, Resume
from dialogs.understand import echo, fill_missing, form_from_parse, tells_fault
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
    "card_read": "好的，绑定校园卡 {card}。",
    "moved": "这张校园卡之前绑定在另一个微信上，那边已解除绑定，我们也通知了对方。",
    "help": "绑定后才能报修。校园卡号见卡片正面；初始密码是身份证号后六位。",
    "report_kept": "先绑定校园卡，绑好后接着报修这个问题。",
    "photo_kept": "照片已收到，绑好校园卡后会和报修一起提交。",
    "photo_full": "照片已经收到 {max} 张，这张没有加上。",
    "resuming": "接着报修您刚才说的：{what}",
    "resuming_photos": "照片 {n} 张",
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


def read_card(raw: str) -> BindForm | None:
    """A card number typed with no dialog open (after 「绑定后就能看到」): binding with it filled in."""
    number = raw.strip().replace(" ", "")
    return BindForm(card=number) if CARD_RE.match(number) else None


def on_start(ctx: Ctx) -> Outcome | None:
    user = ctx.user()
    if user.bound and user.person is not None:
        return End(TEXT["already"].format(name=user.person.name, card=mask_card(user.person.card_no)))
    if locked(ctx):
        return lock_out(ctx)
    number = ctx.form(BindForm).card
    if number is not None and (locked(ctx, number) or find_person(ctx.session, number) is None):
        ctx.forget("card")  # a number typed at the idle screen is checked as the card question would
        return lock_out(ctx) if locked(ctx, number) else Go("card", TEXT["card_unknown"])
    if number is not None:
        return Go("password", TEXT["card_read"].format(card=mask_card(number)))
    return None


def card(ctx: Ctx, msg: Incoming) -> Outcome:
    number = msg.text.replace(" ", "")
    if not CARD_RE.match(number):
        return Retry(keep_report(ctx, msg) or TEXT["card_bad"])
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
    kept = keep_report(ctx, msg)
    if kept:
        return Retry(kept)  # a fault told, not a password tried: no attempt is counted
    if not person.check_password(msg.text, pepper=ctx.config.id_pepper):
        left = count_failure(ctx, number)
        return lock_out(ctx) if left == 0 else Retry(TEXT["password_bad"].format(left=left))
    clear_failures(ctx, number)
    moved = take_over(ctx, person)
    bind(ctx.session, ctx.openid, person)
    said = TEXT["bound"].format(name=person.name)
    if moved:
        said = f"{said}\n{TEXT['moved']}"
    return End(join_lines(said, resuming(ctx)))


def resuming(ctx: Ctx) -> str:
    """Say back the report told (and the photos sent) while binding, which the repair now goes on with."""
    resume = ctx.state.resume
    form = resume.data if resume is not None and resume.flow == "repair" else None
    if not isinstance(form, RepairForm) or not (form.group or form.photos or form.description):
        return ""
    said = echo(form) if form.group else (form.description or "")
    photos = TEXT["resuming_photos"].format(n=len(form.photos)) if form.photos else ""
    return TEXT["resuming"].format(what="，".join(p for p in (said, photos) if p))


# -- what is said while binding is kept for the repair that resumes after it --------------------------------

def repair_waiting(ctx: Ctx) -> RepairForm | None:
    """The repair form binding will go back to: the one that asked for binding, or a new one for a report
    told while binding from the menu; None when binding goes back to something else."""
    st = ctx.state
    if st.resume is None:
        st.resume = Resume("repair", None, RepairForm(), [])
    data = st.resume.data
    return data if st.resume.flow == "repair" and isinstance(data, RepairForm) else None


def keep_report(ctx: Ctx, msg: Incoming) -> str | None:
    """Words that clearly report a fault (in Chinese, and read as a fault: a card number or a password is neither)
    join the waiting repair; return what to say, or None when the words are not a report."""
    text = msg.text
    if not re.search(r"[\u4e00-\u9fff]", text):
        return None
    p = ctx.understand(text)
    if p is None or p.intent in ("complaint", "query", "notice") or not tells_fault(p):
        return None
    form = repair_waiting(ctx)
    if form is None:
        return None
    reg = lambda: ctx.register  # noqa: E731
    fill_missing(form, form_from_parse(p, ctx.register), ctx.register)
    words = msg.raw.strip()
    if 5 <= len(words) <= 500:
        form.set("description", f"{form.description}；{words}" if form.description else words, reg)
    if p.emergency and not form.emergency:
        form.set("emergency", p.emergency, reg)
    return TEXT["report_kept"]


def keep_photo(ctx: Ctx, msg: Incoming) -> str:
    """A photo sent while binding is kept for the repair that goes on after it."""
    form = repair_waiting(ctx)
    if form is None:
        return ENGINE_TEXT["need_text"]
    photos = more_photos(form.photos, Photo(msg.media_id, msg.pic_url))
    if photos is None:
        return TEXT["photo_full"].format(max=MAX_PHOTOS)
    form.set("photos", photos, lambda: ctx.register)
    return TEXT["photo_kept"]


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
        Step("card", "校园卡号", TEXT["card"], next="password", handle=card, save="card"),
        Step("password", "密码", TEXT["password"], next=END, handle=password, goes_to=("card",)),
    ),
    on_image=keep_photo,
)
