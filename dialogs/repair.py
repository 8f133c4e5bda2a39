"""我要报修: the repair form as a dialog; any field already known is not asked again."""

from __future__ import annotations

import re

from core.jobs import DOWNLOAD_PHOTO
from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch, join_lines
from dialogs.engine import TEXT as ENGINE_TEXT
from dialogs.places import describe_place, place_steps
from dialogs.state import Incoming
from dialogs.understand import apply_correction, correction_text, echo, fill_missing, form_from_parse, route
from models.errors import NotFound
from models.notices import live_notice_for
from models.register import Building, Campus
from models.tickets import Duplicate, NewTicket, fault_of, file_ticket, find_duplicate, follow, get_ticket

TEXT = {
    "title": "报修单",
    "category": "请选择维修类型（回复数字）：",
    "group": "请选择故障类别（回复数字）：",
    "item": "请选择具体物品（回复数字）：",
    "item_other": "其他（在描述里说明）",
    "notice": "{notice}\n这可能就是原因。仍要报修吗？",
    "notice_go_on": "仍要报修",
    "notice_stop": "不用了",
    "notice_stopped": "好的。如果通知结束后还有问题，随时告诉我。",
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
    "desc_added": "已把这句话补充到描述里。",
    "desc_full": "描述已经接近 500 字，这句没有加进去；可以在核对报修单时修改描述。",
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
    "understood": "收到：{echo}",
    "start_from_text": "好的，我们来填一张报修单。",
    "corrected": "已修改{what}。",
    "not_understood": "没能从这句话里找到位置或故障。",
    "pick_building": "您说的是哪一栋？（回复数字）",
    "pick_group": "是哪一类故障？（回复数字）",
    "by_menu": "都不是，按菜单选择",
    "group_unknown": "这个问题我没能确定归哪一类，请选择最接近的故障类别；实在没有，可以选「其他」类在描述里说明：",
    "elsewhere_complaint": ("这听起来是意见或建议，不是报修。要提意见，请先回复「取消」，再回复「投诉建议」。"
                            "需要报修请继续填写："),
    "elsewhere_query": "查看报修进度请先回复「取消」，再回复「我的报修」。继续填写：",
    "elsewhere_notice": "查看通知请先回复「取消」，再回复「通知公告」。需要报修请继续填写：",
    "no_category": "这个位置暂时没有对应的维修类型，请回复「返回」重新选择，或联系后勤管理处。",
    "help": "按提示一步步回复即可；每一步都可以回复「返回」修改上一步。",
}
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


# -- choices -------------------------------------------------------------------------

def category_choices(ctx: Ctx) -> list[Choice]:
    # A fault already named ("水龙头坏了") narrows the list to the types that repair it.
    group = ctx.data.get("group")
    fitting = [c for c in ctx.register.categories if group in c.scope.groups]
    return [Choice(c.name, c.name) for c in (fitting or ctx.register.categories)]


def group_choices(ctx: Ctx) -> list[Choice]:
    reg, d = ctx.register, ctx.data
    cat = reg.category(d.get("category"))
    if cat is not None:
        groups = reg.groups_of(cat)
    elif d.get("building"):
        groups = [g for g in reg.groups if reg.category_for_place(d["campus"], d["building"], g.name)]
    else:
        groups = list(reg.groups)
    return [Choice(g.name, g.name, tuple(g.items)) for g in groups]


def group_prompt(ctx: Ctx) -> str:
    return TEXT["group_unknown"] if ctx.data.get("building") else TEXT["group"]


def on_group(ctx: Ctx, choice: Choice) -> Outcome:
    d = ctx.data
    if d.get("group") != choice.value:
        for k in ("item", "dup_choice", "dup_no", "_dup"):
            d.pop(k, None)
    d["group"] = choice.value
    route(d, ctx.register)
    return Go("item")


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


# -- free text --------------------------------------------------------------------------

def free_text(ctx: Ctx, msg: Incoming) -> Outcome:
    """Read free text typed where a number was expected: it may say the place or the fault."""
    p = ctx.understand(msg.text)
    if p is None:
        return Retry(ENGINE_TEXT["choose_number"])
    if p.intent in ("complaint", "query", "notice"):
        return Retry(TEXT[f"elsewhere_{p.intent}"])
    filled = fill_missing(ctx.data, form_from_parse(p, ctx.register))
    if not [k for k in filled if k != "fault"]:
        return Retry(join_lines(TEXT["not_understood"], ENGINE_TEXT["choose_number"]))
    route(ctx.data, ctx.register)
    return Go(str(ctx.state.step), TEXT["understood"].format(echo=echo(ctx.data)))


def building_candidates(ctx: Ctx) -> list[Choice]:
    options = [Choice(f"{c} {b}", [c, b]) for c, b in ctx.data.get("_bcands", [])]
    return [*options, Choice(TEXT["by_menu"], None)]


def on_building_candidate(ctx: Ctx, choice: Choice) -> Outcome:
    d = ctx.data
    d.pop("_bcands", None)
    rest = d.pop("_rest", {})
    if choice.value is not None:
        d["campus"], d["building"] = choice.value
        d.update(rest)
        route(d, ctx.register)
    return Go("pick_group")


def group_candidates(ctx: Ctx) -> list[Choice]:
    return [*(Choice(g, g) for g in ctx.data.get("_gcands", [])), Choice(TEXT["by_menu"], None)]


def on_group_candidate(ctx: Ctx, choice: Choice) -> Outcome:
    ctx.data.pop("_gcands", None)
    if choice.value is not None:
        ctx.data["group"] = choice.value
        route(ctx.data, ctx.register)
    return Go("category")


# -- steps -----------------------------------------------------------------------------

def on_start(ctx: Ctx) -> Outcome | None:
    who = ctx.who()
    if not who.bound:
        return Switch("bind", come_back=True)
    if "phone" not in ctx.data and who.phone:
        ctx.data["phone"] = who.phone
    return None


def on_image(ctx: Ctx, msg: Incoming) -> str:
    """Keep a photo sent before its step, so the photo step is not asked."""
    ctx.data["photo"] = {"media_id": msg.media_id, "pic_url": msg.pic_url}
    return TEXT["photo_early"]


# Words about the photo itself ("没有照片", "拍不了") are not more of the fault's description.
PHOTO_WORDS = ("照片", "图片", "相片", "拍")


def on_text(ctx: Ctx, msg: Incoming) -> str:
    """Add words sent instead of the photo to the description, so nothing the user said is lost."""
    words = msg.raw.strip()
    if len(words) < 5 or any(w in words for w in PHOTO_WORDS):
        return ENGINE_TEXT["need_image"]
    description = ctx.data.get("description")
    joined = f"{description}；{words}" if description else words
    if len(joined) > 500:
        return TEXT["desc_full"]
    ctx.data["description"] = joined
    return TEXT["desc_added"]


def notice_skip(ctx: Ctx) -> bool:
    """Ask nothing unless a notice in force concerns this building and kind of fault (停水 for 给水)."""
    d = ctx.data
    route(d, ctx.register)
    if not d.get("building") or not d.get("group"):
        return True
    notice = live_notice_for(ctx.unfinished_notices(), d["campus"], d["building"], d["group"])
    if notice is None:
        return True
    d["_notice"] = f"{notice.title}：{notice.body[:80]}"
    return False


def notice_prompt(ctx: Ctx) -> str:
    return TEXT["notice"].format(notice=ctx.data.get("_notice", ""))


def notice_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["notice_go_on"], True, ("仍要", "要", "是", "继续")),
            Choice(TEXT["notice_stop"], False, ("不用", "不要", "算了"))]


def on_notice(ctx: Ctx, choice: Choice) -> Outcome:
    if not choice.value:
        return End(TEXT["notice_stopped"])
    ctx.data["notice_seen"] = True
    return Go("duplicate")


def duplicate_skip(ctx: Ctx) -> bool:
    d = ctx.data
    route(d, ctx.register)
    if not d.get("building") or not d.get("group"):
        return True
    hours = ctx.config.duplicate_window_h
    dup = ctx.read(lambda c: find_duplicate(c, d["campus"], d["building"], d.get("floor"), d["group"], hours))
    if dup is None:
        return True
    d["dup_no"] = dup.no
    d["_dup"] = dup.to_dict()
    return False


def duplicate_prompt(ctx: Ctx) -> str:
    # A form saved before the duplicate's details were kept with it has only the number: read the rest.
    dup = ctx.data.get("_dup") or _duplicate_details(ctx, ctx.data.get("dup_no", ""))
    return TEXT["duplicate"].format(hours=ctx.config.duplicate_window_h, no=ctx.data.get("dup_no"),
                                    place=dup.get("place", ""), fault=dup.get("fault", ""),
                                    status=dup.get("status_zh", ""))


def _duplicate_details(ctx: Ctx, no: str) -> dict[str, str]:
    try:
        return Duplicate.of(get_ticket(ctx.session, no)).to_dict()
    except NotFound:
        return {}


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
    fault = fault_of(str(d.get("group")), d.get("item"))
    return TEXT["summary"].format(
        category=d.get("category"), fault=fault,
        place=describe_place(d.get("campus"), d.get("building"), d.get("floor"), d.get("room"),
                             d.get("place_note")),
        description=d.get("description"), photos=1 if d.get("photo") else 0, phone=d.get("phone"))


def confirm_prompt(ctx: Ctx) -> str:
    route(ctx.data, ctx.register)
    return TEXT["confirm"].format(summary=summary(ctx))


CONFIRM_WORDS = ("确认", "确定", "提交", "好的", "好", "是", "对", "没问题", "ok", "OK")


def confirm_choices(ctx: Ctx) -> list[Choice]:
    keys = ("confirm_submit", "confirm_place", "confirm_type", "confirm_desc", "confirm_photo", "confirm_phone")
    return [Choice(TEXT[k], k, CONFIRM_WORDS if k == "confirm_submit" else ()) for k in keys]


def correct(ctx: Ctx, msg: Incoming) -> Outcome:
    """Take a correction in words at the summary: "不是五教，是四教", "是三楼", "改成水龙头"."""
    p = ctx.understand(correction_text(msg.text))
    changed = apply_correction(ctx.data, p, ctx.register) if p is not None else []
    if not changed:
        return Retry(ENGINE_TEXT["choose_number"])
    return Go("confirm", TEXT["corrected"].format(what="、".join(changed)))


PLACE_KEYS = ("campus", "building", "floor", "room", "place_note", "dup_choice", "dup_no", "_dup",
              "notice_seen")
EDITS = {
    "confirm_place": ("campus", PLACE_KEYS),
    "confirm_type": ("category", ("category", "dup_choice", "dup_no", "_dup")),
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
    photo_info = d.get("photo") or {}
    filed = file_ticket(ctx.session, NewTicket(
        openid=ctx.openid, person_id=ctx.who().person_id, category=category.name, group=d["group"],
        item=d.get("item"), campus=d["campus"], building=d["building"], floor=d.get("floor"),
        room=d.get("room"), place_note=d.get("place_note"), description=d["description"], phone=d["phone"],
        media_ids=((photo_info["media_id"], photo_info.get("pic_url")),) if photo_info else (),
        source_key=ctx.msg.msg_key or None,
    ))
    for photo_id in filed.photo_ids:
        ctx.enqueue("media", DOWNLOAD_PHOTO, photo_id, job_id=f"media-{photo_id}", fresh=True)
    return End(TEXT["filed"].format(no=filed.no, category=filed.category))


def category_saved(ctx: Ctx, choice: Choice) -> Outcome:
    d = ctx.data
    if d.get("category") != choice.value:
        # The category decides which groups and places are valid: ask again those it does not cover.
        cat = ctx.register.category(choice.value)
        fault_fits = cat is not None and d.get("group") in cat.scope.groups
        for k in (*(() if fault_fits else ("group", "item")), *PLACE_KEYS):
            d.pop(k, None)
    d["category"] = choice.value
    return Go("group")


DIALOG = Dialog(
    name="repair",
    title=TEXT["title"],
    start="pick_building",
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("pick_building", "确认楼栋", TEXT["pick_building"], next="pick_group", choices=building_candidates,
             on_choice=on_building_candidate, skip=lambda ctx: not ctx.data.get("_bcands")),
        Step("pick_group", "确认故障类别", TEXT["pick_group"], next="category", choices=group_candidates,
             on_choice=on_group_candidate, skip=lambda ctx: not ctx.data.get("_gcands")),
        Step("category", "维修类型", TEXT["category"], next="group", choices=category_choices,
             on_choice=category_saved, save="category", handle=free_text,
             # With the place known, the category follows from place and group: never ask it.
             skip=lambda ctx: bool(ctx.data.get("building"))),
        Step("group", "故障类别", group_prompt, next="item", choices=group_choices, on_choice=on_group,
             save="group", handle=free_text, auto_single=True),
        Step("item", "具体物品", TEXT["item"], next="campus", choices=item_choices, save="item",
             handle=free_text),
        *place_steps("", "notice", campuses, buildings, with_note=True, free_text=free_text),
        Step("notice", "停水停电通知", notice_prompt, next="duplicate", choices=notice_choices, on_choice=on_notice,
             save="notice_seen", skip=notice_skip),
        Step("duplicate", "重复报修", duplicate_prompt, next="description", choices=duplicate_choices,
             on_choice=on_duplicate, save="dup_choice", skip=duplicate_skip),
        Step("description", "问题描述", TEXT["description"], next="photo", handle=description,
             save="description"),
        Step("photo", "照片", TEXT["photo"], next="phone", handle=photo, save="photo", expects="image"),
        Step("phone", "联系电话", TEXT["phone"], next="confirm", handle=phone, save="phone"),
        Step("confirm", "确认提交", confirm_prompt, next=END, choices=confirm_choices, on_choice=on_confirm,
             handle=correct, goes_to=("campus", "category", "description", "photo", "phone")),
    ),
    on_image=on_image,
    on_text=on_text,
)
