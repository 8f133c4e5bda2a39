"""我要报修: the repair form as a dialog; any field already known is not asked again.

The form and what depends on what are dialogs/repair_form.py; every change here goes through it (ctx.set,
ctx.forget), so that an answer given again, a correction in words or the summary's edit menu drop exactly
what the declaration says, and the walk from the top asks only what is then missing."""

from __future__ import annotations

import re
from typing import Any

from core.actions import alerting
from core.jobs import DOWNLOAD_PHOTO
from dialogs import emergency
from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch, join_lines
from dialogs.engine import TEXT as ENGINE_TEXT
from dialogs.nlu.parse import get_parser
from dialogs.places import describe_place, place_steps
from dialogs.repair_form import MAX_PHOTOS, Photo, PlaceGuess, RepairForm, more_photos
from dialogs.state import Incoming
from dialogs.understand import apply_correction, correction_text, echo, fill_missing, form_from_parse, route
from models.errors import NotFound
from models.notices import live_notice_for
from models.register import OTHER, Building, Campus
from models.tickets import (
    NORMAL,
    URGENT,
    Duplicate,
    NewTicket,
    fault_of,
    file_ticket,
    find_duplicate,
    follow,
    get_ticket,
)

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
    "photo": "请拍一张故障处的照片发给我（最多 3 张；点输入框旁的「+」，选「拍摄」或「相册」）。",
    "photo_early": "照片已收到，会一起提交。",
    "photo_more": "第 {n} 张照片已收到，会一起提交。",
    "photo_full": ("最多可以提交 {max} 张照片，已经收到 {max} 张，这张没有加上。"
                   "要换照片，请在核对报修单时选「重新发照片」。"),
    "desc_added": "已把这句话补充到描述里。",
    "desc_full": "描述已经接近 500 字，这句没有加进去；可以在核对报修单时修改描述。",
    "phone": "请输入联系电话（手机号），方便师傅联系您：",
    "phone_bad": "这个号码好像不对，请输入 11 位手机号，或带区号的座机号。",
    "confirm": "请核对报修单：\n{summary}\n",
    "confirm_submit": "确认提交",
    "confirm_place": "修改位置",
    "confirm_type": "修改维修类型",
    "confirm_fault": "修改故障",
    "confirm_desc": "修改描述",
    "confirm_photo": "重新发照片",
    "confirm_phone": "修改电话",
    "summary": ("维修类型：{category}\n故障：{fault}\n位置：{place}\n描述：{description}\n照片：{photos} 张\n"
                "电话：{phone}"),
    "missing": "（待填写）",
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

def form(ctx: Ctx) -> RepairForm:
    return ctx.form(RepairForm)


def category_choices(ctx: Ctx) -> list[Choice]:
    # A fault already named ("水龙头坏了") narrows the list to the types that repair it.
    group = form(ctx).group
    fitting = [c for c in ctx.register.categories if group in c.scope.groups]
    return [Choice(c.name, c.name) for c in (fitting or ctx.register.categories)]


def category_skip(ctx: Ctx) -> bool:
    """With the place known and the fault not yet, the type follows from both: ask the fault instead."""
    f = form(ctx)
    return f.has("building") and not f.has("group")


def group_choices(ctx: Ctx) -> list[Choice]:
    reg, f = ctx.register, form(ctx)
    cat = reg.category(f.category)
    if f.campus and f.building:
        # The place is known: every group some type repairs there (the type follows from the group).
        groups = [g for g in reg.groups if reg.category_for_place(f.campus, f.building, g.name)]
    elif cat is not None:
        groups = reg.groups_of(cat)
    else:
        groups = list(reg.groups)
    return [Choice(g.name, g.name, tuple(g.items)) for g in groups]


def group_prompt(ctx: Ctx) -> str:
    return TEXT["group_unknown"] if form(ctx).building else TEXT["group"]


def on_group(ctx: Ctx, choice: Choice) -> Outcome:
    ctx.set("group", choice.value)
    route(form(ctx), ctx.register)
    return Go()


def item_choices(ctx: Ctx) -> list[Choice]:
    group = ctx.register.group(form(ctx).group)
    items = [Choice(i, i) for i in (group.items if group else ())]
    return [*items, Choice(TEXT["item_other"], None)]


def campuses(ctx: Ctx) -> list[Campus]:
    cat = ctx.register.category(form(ctx).category)
    return ctx.register.campuses_of(cat) if cat else list(ctx.register.campuses)


def buildings(ctx: Ctx, campus: str) -> list[Building]:
    cat = ctx.register.category(form(ctx).category)
    c = ctx.register.campus(campus)
    if c is None:
        return []
    if cat is None:
        return list(c.buildings)
    return ctx.register.buildings_for(cat, campus, form(ctx).group)


# -- free text --------------------------------------------------------------------------

def free_text(ctx: Ctx, msg: Incoming) -> Outcome:
    """Read free text typed where a number was expected: it may say the place or the fault."""
    p = ctx.understand(msg.text)
    if p is None:
        return Retry(ENGINE_TEXT["choose_number"])
    if p.intent in ("complaint", "query", "notice"):
        return Retry(TEXT[f"elsewhere_{p.intent}"])
    f = form(ctx)
    filled = fill_missing(f, form_from_parse(p, ctx.register), ctx.register)
    if not [k for k in filled if k != "fault"]:
        return Retry(join_lines(TEXT["not_understood"], ENGINE_TEXT["choose_number"]))
    if f.group == OTHER and not f.description and 5 <= len(msg.raw.strip()) <= 500:
        ctx.set("description", msg.raw.strip())  # 其他 says nothing of what: the words do
    route(f, ctx.register)
    # The same step again: it is skipped if the text answered it.
    return Go(str(ctx.state.step), TEXT["understood"].format(echo=echo(f)))


def building_candidates(ctx: Ctx) -> list[Choice]:
    options = [Choice(f"{c} {b}", (c, b)) for c, b in form(ctx).building_candidates]
    return [*options, Choice(TEXT["by_menu"], None)]


def on_building_candidate(ctx: Ctx, choice: Choice) -> Outcome:
    f = form(ctx)
    guess = f.place_guess or PlaceGuess()
    ctx.forget("building_candidates")
    ctx.forget("place_guess")
    if choice.value is not None:
        campus, building = choice.value
        f.fill({"campus": campus, "building": building, "floor": guess.floor, "room": guess.room,
                "place_note": guess.place_note}, lambda: ctx.register)
        route(f, ctx.register)
    return Go()


def group_candidates(ctx: Ctx) -> list[Choice]:
    return [*(Choice(g, g) for g in form(ctx).group_candidates), Choice(TEXT["by_menu"], None)]


def on_group_candidate(ctx: Ctx, choice: Choice) -> Outcome:
    ctx.forget("group_candidates")
    if choice.value is not None:
        ctx.set("group", choice.value)
        route(form(ctx), ctx.register)
    return Go()


# -- steps -----------------------------------------------------------------------------

def on_start(ctx: Ctx) -> Outcome | None:
    who = ctx.who()
    if not who.bound:
        return Switch("bind", come_back=True)
    if not form(ctx).has("phone") and who.phone:
        ctx.set("phone", who.phone)
    use_default_room(ctx, who.place)
    return None


def use_default_room(ctx: Ctx, home: dict[str, Any] | None) -> None:
    """The room set in 个人信息 is the place of a report that names none (or only 宿舍, which the parser
    reads as the home building): the summary shows it, and it is never asked. A place the words name wins."""
    f = form(ctx)
    if not home or not home.get("building") or (f.place_note and not f.building):
        return  # a spot named somewhere else (操场, 校道) is not the room
    if f.building not in (None, home.get("building")) or (f.floor or f.room):
        return
    values: dict[str, Any] = {k: home.get(k) for k in ("campus", "building", "floor", "room") if home.get(k)}
    if values.get("room") and not f.has("place_note"):
        values["place_note"] = None  # a room is place enough: 「具体位置」 is not asked
    ctx.form(RepairForm).fill(values, lambda: ctx.register)


def on_image(ctx: Ctx, msg: Incoming) -> str:
    """Keep a photo sent at a step that wants words: before the photo step (which is then not asked), after it
    (an album arrives as one message per picture, and the first answered the photo step), or at the summary."""
    photos = add_photo(ctx, msg)
    if photos is None:
        return TEXT["photo_full"].format(max=MAX_PHOTOS)
    return TEXT["photo_early"] if len(photos) == 1 else TEXT["photo_more"].format(n=len(photos))


def add_photo(ctx: Ctx, msg: Incoming) -> tuple[Photo, ...] | None:
    """Add the message's photo to the form's; None (and nothing changed) when it has MAX_PHOTOS already."""
    photos = more_photos(form(ctx).photos, Photo(msg.media_id, msg.pic_url))
    if photos is not None:
        ctx.set("photos", photos)
    return photos


# Words about the photo itself ("没有照片", "拍不了") are not more of the fault's description.
PHOTO_WORDS = ("照片", "图片", "相片", "拍")


def on_text(ctx: Ctx, msg: Incoming) -> str:
    """Add words sent instead of the photo to the description, so nothing the user said is lost."""
    words = msg.raw.strip()
    if len(words) < 5 or any(w in words for w in PHOTO_WORDS):
        return ENGINE_TEXT["need_image"]
    return add_to_description(ctx, words)


def add_to_description(ctx: Ctx, words: str) -> str:
    """Append more words about the fault to the description; say so (or that it is full)."""
    description = form(ctx).description
    if description and words in description:
        return TEXT["desc_added"]
    joined = f"{description}；{words}" if description else words
    if len(joined) > 500:
        return TEXT["desc_full"]
    ctx.set("description", joined)
    return TEXT["desc_added"]


def notice_skip(ctx: Ctx) -> bool:
    """Ask nothing unless a notice in force concerns this building and kind of fault (停水 for 给水), and the
    fault is what a cut of the supply looks like (没水, not 漏水) or was not put in words."""
    f = form(ctx)
    route(f, ctx.register)
    if not f.campus or not f.building or not f.group:
        return True
    if f.fault and f.fault not in get_parser(ctx.register).lexicon.outage_labels:
        return True
    notice = live_notice_for(ctx.unfinished_notices(), f.campus, f.building, f.group)
    if notice is None:
        return True
    ctx.set("notice", f"{notice.title}：{notice.body[:80]}")
    return False


def notice_prompt(ctx: Ctx) -> str:
    return TEXT["notice"].format(notice=form(ctx).notice or "")


def notice_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["notice_go_on"], True, ("仍要", "要", "是", "继续")),
            Choice(TEXT["notice_stop"], False, ("不用", "不要", "算了"))]


def on_notice(ctx: Ctx, choice: Choice) -> Outcome:
    if not choice.value:
        return End(TEXT["notice_stopped"])
    ctx.set("notice_seen", True)
    return Go()


def duplicate_skip(ctx: Ctx) -> bool:
    f = form(ctx)
    route(f, ctx.register)
    if not f.campus or not f.building or not f.group:
        return True
    campus, building, group = f.campus, f.building, f.group
    hours = ctx.config.duplicate_window_h
    dup = ctx.read(lambda c: find_duplicate(c, campus, building, f.floor, group, hours))
    if dup is None:
        return True
    ctx.set("dup_no", dup.no)
    ctx.set("dup", dup)
    return False


def duplicate_prompt(ctx: Ctx) -> str:
    # A form saved before the duplicate's details were kept with it has only the number: read the rest.
    f = form(ctx)
    dup = f.dup or _duplicate_details(ctx, f.dup_no or "")
    return TEXT["duplicate"].format(hours=ctx.config.duplicate_window_h, no=f.dup_no,
                                    place=dup.place if dup else "", fault=dup.fault if dup else "",
                                    status=dup.status_zh if dup else "")


def _duplicate_details(ctx: Ctx, no: str) -> Duplicate | None:
    try:
        return Duplicate.of(get_ticket(ctx.session, no))
    except NotFound:
        return None


def duplicate_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["dup_follow"], "follow"), Choice(TEXT["dup_new"], "new")]


def on_duplicate(ctx: Ctx, choice: Choice) -> Outcome:
    if choice.value == "follow":
        ticket = get_ticket(ctx.session, form(ctx).dup_no or "")
        if ticket.openid == ctx.openid:
            return End(TEXT["own_duplicate"].format(no=ticket.no))
        follow(ctx.session, ticket, ctx.openid)
        return End(TEXT["followed"].format(no=ticket.no))
    ctx.set("dup_choice", "new")
    return Go()


def description(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if len(text) < 5:
        return Retry(TEXT["desc_short"])
    if len(text) > 500:
        return Retry(TEXT["desc_long"].format(n=len(text)))
    ctx.set("description", text)
    return Go(say=emergency_in(ctx, text))


def emergency_in(ctx: Ctx, text: str) -> str:
    """A description that says an emergency ("电梯里困了人") marks the form: say the duty phone and what to do."""
    if form(ctx).emergency:
        return ""
    p = ctx.understand(text)
    if p is None or not p.emergency:
        return ""
    ctx.set("emergency", p.emergency)
    return emergency.alert(ctx, form(ctx))


def photo(ctx: Ctx, msg: Incoming) -> Outcome:
    add_photo(ctx, msg)  # the first: the step has no photo yet (an album's others arrive at the next steps)
    return Go()


def phone(ctx: Ctx, msg: Incoming) -> Outcome:
    number = msg.text.replace(" ", "")
    if not PHONE_RE.match(number):
        return Retry(TEXT["phone_bad"])
    ctx.set("phone", number)
    return Go()


def summary(ctx: Ctx) -> str:
    """The form as the user reads it; what an edit left unanswered (then 返回) says so, and 确认 asks it."""
    f = form(ctx)
    missing = TEXT["missing"]
    return TEXT["summary"].format(
        category=f.category or missing, fault=fault_of(f.group, f.item) if f.group else missing,
        place=describe_place(f.campus, f.building, f.floor, f.room, f.place_note) or missing,
        description=f.description or missing, photos=len(f.photos), phone=f.phone or missing)


def confirm_prompt(ctx: Ctx) -> str:
    route(form(ctx), ctx.register)
    mark = emergency.TEXT["summary_mark"] if form(ctx).emergency else ""
    return mark + TEXT["confirm"].format(summary=summary(ctx))


CONFIRM_WORDS = ("确认", "确定", "提交", "好的", "好", "是", "对", "没问题", "ok", "OK")
# What each entry of the summary's edit menu asks again.  The field is forgotten, with what the form's
# declaration says depends on it, and the walk from the first step asks whatever is then missing.
EDITS = {"confirm_place": "campus", "confirm_type": "category", "confirm_fault": "group",
         "confirm_desc": "description", "confirm_photo": "photos", "confirm_phone": "phone"}
FIRST = "category"  # where the walk over the form starts: every step after it is skipped if answered


def confirm_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["confirm_submit"], "confirm_submit", CONFIRM_WORDS),
            *(Choice(TEXT[k], k) for k in EDITS)]


def correct(ctx: Ctx, msg: Incoming) -> Outcome:
    """Take a correction in words at the summary: "不是五教，是四教", "是三楼", "改成水龙头"."""
    p = ctx.understand(correction_text(msg.text))
    changed = apply_correction(form(ctx), p, ctx.register) if p is not None else []
    if not changed:
        words = msg.raw.strip()
        if len(words) >= 5 and not any(w in words for w in PHOTO_WORDS):
            # More about the fault (a photo and its words sent together reach the summary photo first).
            return Retry(add_to_description(ctx, words))
        return Retry(ENGINE_TEXT["choose_number"])
    return Go(FIRST, TEXT["corrected"].format(what="、".join(changed)))


def on_confirm(ctx: Ctx, choice: Choice) -> Outcome:
    if choice.value != "confirm_submit":
        ctx.forget(EDITS[str(choice.value)])
        return Go(FIRST)
    return submit(ctx)


def submit(ctx: Ctx) -> Outcome:
    f = form(ctx)
    if not (f.campus and f.building and f.group and f.description and f.phone):
        return Go(FIRST)  # something was dropped on the way: ask it
    category = ctx.register.category_for_place(f.campus, f.building, f.group)
    if category is None:
        return Retry(TEXT["no_category"])
    urgent = bool(f.emergency)
    filed = file_ticket(ctx.session, NewTicket(
        openid=ctx.openid, person_id=ctx.who().person_id, category=category.name, group=f.group,
        item=f.item, campus=f.campus, building=f.building, floor=f.floor, room=f.room,
        place_note=f.place_note, description=f.description, phone=f.phone,
        media_ids=tuple((p.media_id, p.pic_url or None) for p in f.photos),
        source_key=ctx.msg.msg_key or None, priority=URGENT if urgent else NORMAL,
        note=f"紧急：{f.emergency}" if urgent else None,
    ))
    for photo_id in filed.photo_ids:
        ctx.enqueue("media", DOWNLOAD_PHOTO, photo_id, job_id=f"media-{photo_id}", fresh=True)
    if urgent:
        if not filed.repeated:
            ctx.act(alerting, filed.id)  # the category's dispatchers and the workers on duty, at once
        return End(emergency.filed_text(ctx, f, filed.no))
    return End(TEXT["filed"].format(no=filed.no, category=filed.category))


def optional_photo(ctx: Ctx, msg: Incoming) -> Outcome:
    """An emergency's photo: welcome, never required — 跳过/没有 goes on, 确认 files at once."""
    if msg.kind == "image":
        add_photo(ctx, msg)
        return Go()
    answer = emergency.photo_answer(msg.text) if msg.kind == "text" else None
    if answer is None:
        words = msg.raw.strip() if msg.kind == "text" else ""
        if len(words) >= 5 and not any(w in words for w in PHOTO_WORDS):
            return Retry(join_lines(add_to_description(ctx, words), emergency.TEXT["photo"]))
        return Retry(emergency.TEXT["photo"])
    ctx.set("photos", ())
    if answer == "confirm" and form(ctx).phone:
        return submit(ctx)
    return Go()


DIALOG = Dialog(
    name="repair",
    title=TEXT["title"],
    start="pick_building",
    form=RepairForm,
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("pick_building", "确认楼栋", TEXT["pick_building"], next="pick_group", choices=building_candidates,
             on_choice=on_building_candidate, skip=lambda ctx: not form(ctx).building_candidates),
        Step("pick_group", "确认故障类别", TEXT["pick_group"], next="category", choices=group_candidates,
             on_choice=on_group_candidate, skip=lambda ctx: not form(ctx).group_candidates),
        Step("category", "维修类型", TEXT["category"], next="group", choices=category_choices,
             save="category", handle=free_text, skip=category_skip),
        Step("group", "故障类别", group_prompt, next="item", choices=group_choices, on_choice=on_group,
             save="group", handle=free_text, auto_single=True),
        Step("item", "具体物品", TEXT["item"], next="campus", choices=item_choices, save="item",
             handle=free_text, auto_single=True),
        *place_steps("", "notice", campuses, buildings, with_note=True, free_text=free_text),
        Step("notice", "停水停电通知", notice_prompt, next="duplicate", choices=notice_choices, on_choice=on_notice,
             save="notice_seen", skip=notice_skip),
        Step("duplicate", "重复报修", duplicate_prompt, next="description", choices=duplicate_choices,
             on_choice=on_duplicate, save="dup_choice",
             skip=lambda ctx: bool(form(ctx).emergency) or duplicate_skip(ctx)),
        Step("description", "问题描述", TEXT["description"], next="photo", handle=description,
             save="description"),
        Step("photo", "照片", TEXT["photo"], next="photo_optional", handle=photo, save="photos", expects="image",
             skip=lambda ctx: bool(form(ctx).emergency)),
        Step("photo_optional", "照片（可不拍）", emergency.TEXT["photo"], next="phone", handle=optional_photo,
             save="photos", expects="any", goes_to=(FIRST,), skip=lambda ctx: not form(ctx).emergency),
        Step("phone", "联系电话", TEXT["phone"], next="confirm", handle=phone, save="phone"),
        Step("confirm", "确认提交", confirm_prompt, next=END, choices=confirm_choices, on_choice=on_confirm,
             handle=correct, goes_to=(FIRST,)),
    ),
    on_image=on_image,
    on_text=on_text,
)
