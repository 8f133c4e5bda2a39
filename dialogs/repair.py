"""我要报修: the repair form as a dialog; any field already known is not asked again."""

from __future__ import annotations

import re

from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Incoming, Outcome, Retry, Step, Switch
from dialogs.places import describe_place, place_steps
from models.register import Building, Campus
from models.tickets import NewTicket, create_ticket, find_duplicate, follow, get_ticket
from workers.media import download_photo

TEXT = {
    "title": "报修单",
    "category": "请选择维修类型（回复数字）：",
    "group": "请选择故障类别（回复数字）：",
    "item": "请选择具体物品（回复数字）：",
    "item_other": "其他（在描述里说明）",
    "duplicate": ("{hours}小时内已有人报修过同一位置的同类问题：\n{no} {place} · {fault}（{status}）\n"
                  "关注这张单，有进展会同时通知您，不必重复报修。"),
    "dup_follow": "关注这张单，不重复报修",
    "dup_new": "我的问题不一样，继续报修",
    "followed": "已为您关注 {no}，有进展会通知您。回复「我的报修」可以随时查看。",
    "own_duplicate": "好的，{no} 是您之前报的单，我们会继续跟进。回复「我的报修」可以查看进度。",
    "description": "请描述一下问题（5–500 字），例如「水龙头关不紧，一直滴水」：",
    "desc_short": "描述太短了，请至少写 5 个字，说清楚哪里、怎么坏了。",
    "desc_long": "描述请控制在 500 字以内（您发了 {n} 字），可以分两句说重点。",
    "photo": "请拍一张故障处的照片发给我（点输入框旁的「+」，选「拍摄」或「相册」）。",
    "photo_early": "照片已收到，会一起提交。",
    "phone": "请输入联系电话（手机号），方便师傅联系您：",
    "phone_bad": "这个号码好像不对，请输入 11 位手机号，或带区号的座机号。",
    "confirm": "请核对报修单：\n{summary}\n",
    "confirm_submit": "确认提交",
    "confirm_place": "修改位置",
    "confirm_type": "修改维修类型",
    "confirm_desc": "修改描述",
    "confirm_photo": "重新发照片",
    "confirm_phone": "修改电话",
    "summary": ("维修类型：{category}\n故障：{fault}\n位置：{place}\n描述：{description}\n照片：{photos} 张\n"
                "电话：{phone}"),
    "filed": ("报修成功！单号 {no}。\n{category}会尽快受理，每一步进展都会通知您。\n"
              "回复「我的报修」可以随时查看进度。"),
    "no_category": "这个位置暂时没有对应的维修类型，请回复「返回」重新选择，或联系后勤管理处。",
    "help": "按提示一步步回复即可；每一步都可以回复「返回」修改上一步。",
}
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


# -- choices -------------------------------------------------------------------------

def category_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(c.name, c.name) for c in ctx.register.categories]


def group_choices(ctx: Ctx) -> list[Choice]:
    cat = ctx.register.category(ctx.data.get("category"))
    groups = ctx.register.groups_of(cat) if cat else ctx.register.groups
    return [Choice(g.name, g.name) for g in groups]


def item_choices(ctx: Ctx) -> list[Choice]:
    group = ctx.register.group(ctx.data.get("group"))
    items = [Choice(i, i) for i in (group.items if group else ())]
    return [*items, Choice(TEXT["item_other"], None)]


def campuses(ctx: Ctx) -> list[Campus]:
    cat = ctx.register.category(ctx.data.get("category"))
    return ctx.register.campuses_of(cat) if cat else list(ctx.register.campuses)


def buildings(ctx: Ctx, campus: str) -> list[Building]:
    cat = ctx.register.category(ctx.data.get("category"))
    c = ctx.register.campus(campus)
    if c is None:
        return []
    if cat is None:
        return list(c.buildings)
    return ctx.register.buildings_for(cat, campus, ctx.data.get("group"))


# -- steps -----------------------------------------------------------------------------

def on_start(ctx: Ctx) -> Outcome | None:
    user = ctx.user()
    if not user.bound:
        return Switch("bind", come_back=True)
    if "phone" not in ctx.data and user.contact_phone:
        ctx.data["phone"] = user.contact_phone
    return None


def on_image(ctx: Ctx, msg: Incoming) -> str:
    """Keep a photo sent before its step, so the photo step is not asked."""
    ctx.data["photo"] = {"media_id": msg.media_id, "pic_url": msg.pic_url}
    return TEXT["photo_early"]


def duplicate_skip(ctx: Ctx) -> bool:
    d = ctx.data
    if not d.get("building") or not d.get("group"):
        return True
    dup = find_duplicate(ctx.session, d["campus"], d["building"], d.get("floor"), d["group"],
                         int(ctx.settings.get("duplicate_window_h", 48)))
    if dup is None:
        return True
    d["dup_no"] = dup.no
    return False


def duplicate_prompt(ctx: Ctx) -> str:
    t = get_ticket(ctx.session, ctx.data["dup_no"])
    return TEXT["duplicate"].format(hours=ctx.settings.get("duplicate_window_h", 48), no=t.no, place=t.place,
                                    fault=t.fault, status=t.status_zh)


def duplicate_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["dup_follow"], "follow"), Choice(TEXT["dup_new"], "new")]


def on_duplicate(ctx: Ctx, choice: Choice) -> Outcome:
    if choice.value == "follow":
        ticket = get_ticket(ctx.session, ctx.data["dup_no"])
        if ticket.openid == ctx.openid:
            return End(TEXT["own_duplicate"].format(no=ticket.no))
        follow(ctx.session, ticket, ctx.openid)
        return End(TEXT["followed"].format(no=ticket.no))
    ctx.data["dup_choice"] = "new"
    return Go("description")


def description(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if len(text) < 5:
        return Retry(TEXT["desc_short"])
    if len(text) > 500:
        return Retry(TEXT["desc_long"].format(n=len(text)))
    ctx.data["description"] = text
    return Go("photo")


def photo(ctx: Ctx, msg: Incoming) -> Outcome:
    ctx.data["photo"] = {"media_id": msg.media_id, "pic_url": msg.pic_url}
    return Go("phone")


def phone(ctx: Ctx, msg: Incoming) -> Outcome:
    number = msg.text.replace(" ", "")
    if not PHONE_RE.match(number):
        return Retry(TEXT["phone_bad"])
    ctx.data["phone"] = number
    return Go("confirm")


def summary(ctx: Ctx) -> str:
    d = ctx.data
    fault = f"{d.get('group')}/{d['item']}" if d.get("item") else str(d.get("group"))
    return TEXT["summary"].format(
        category=d.get("category"), fault=fault,
        place=describe_place(d.get("campus"), d.get("building"), d.get("floor"), d.get("room"),
                             d.get("place_note")),
        description=d.get("description"), photos=1 if d.get("photo") else 0, phone=d.get("phone"))


def confirm_prompt(ctx: Ctx) -> str:
    return TEXT["confirm"].format(summary=summary(ctx))


def confirm_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT[k], k) for k in ("confirm_submit", "confirm_place", "confirm_type", "confirm_desc",
                                         "confirm_photo", "confirm_phone")]


PLACE_KEYS = ("campus", "building", "floor", "room", "place_note", "dup_choice", "dup_no")
EDITS = {
    "confirm_place": ("campus", PLACE_KEYS),
    "confirm_type": ("category", ("category", "dup_choice", "dup_no")),
    "confirm_desc": ("description", ("description",)),
    "confirm_photo": ("photo", ("photo",)),
    "confirm_phone": ("phone", ("phone",)),
}


def on_confirm(ctx: Ctx, choice: Choice) -> Outcome:
    if choice.value != "confirm_submit":
        step, keys = EDITS[choice.value]
        for k in keys:
            ctx.data.pop(k, None)
        return Go(step)
    return submit(ctx)


def submit(ctx: Ctx) -> Outcome:
    d = ctx.data
    reg = ctx.register
    category = reg.category_for_place(d["campus"], d["building"], d["group"])
    if category is None:
        return Retry(TEXT["no_category"])
    user = ctx.user()
    photo_info = d.get("photo") or {}
    ticket, photos = create_ticket(ctx.session, NewTicket(
        openid=ctx.openid, person_id=user.person_id, category=category.name, group=d["group"],
        item=d.get("item"), campus=d["campus"], building=d["building"], floor=d.get("floor"),
        room=d.get("room"), place_note=d.get("place_note"), description=d["description"], phone=d["phone"],
        media_ids=((photo_info["media_id"], photo_info.get("pic_url")),) if photo_info else (),
        source_key=ctx.msg.msg_key or None,
    ))
    for p in photos:
        ctx.enqueue("media", download_photo, p.id, job_id=f"media-{p.id}")
    return End(TEXT["filed"].format(no=ticket.no, category=ticket.category))


def category_saved(ctx: Ctx, choice: Choice) -> Outcome:
    if ctx.data.get("category") != choice.value:
        # The category decides which groups and places are valid: ask them again.
        for k in ("group", "item", *PLACE_KEYS):
            ctx.data.pop(k, None)
    ctx.data["category"] = choice.value
    return Go("group")


DIALOG = Dialog(
    name="repair",
    title=TEXT["title"],
    start="category",
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("category", "维修类型", TEXT["category"], next="group", choices=category_choices,
             on_choice=category_saved, save="category"),
        Step("group", "故障类别", TEXT["group"], next="item", choices=group_choices, save="group",
             clears=("item", "dup_choice", "dup_no"), auto_single=True),
        Step("item", "具体物品", TEXT["item"], next="campus", choices=item_choices, save="item"),
        *place_steps("", "duplicate", campuses, buildings, with_note=True),
        Step("duplicate", "重复报修", duplicate_prompt, next="description", choices=duplicate_choices,
             on_choice=on_duplicate, save="dup_choice", skip=duplicate_skip),
        Step("description", "问题描述", TEXT["description"], next="photo", handle=description,
             save="description"),
        Step("photo", "照片", TEXT["photo"], next="phone", handle=photo, save="photo", expects="image"),
        Step("phone", "联系电话", TEXT["phone"], next="confirm", handle=phone, save="phone"),
        Step("confirm", "确认提交", confirm_prompt, next=END, choices=confirm_choices, on_choice=on_confirm,
             goes_to=("campus", "category", "description", "photo", "phone")),
    ),
    on_image=on_image,
)
