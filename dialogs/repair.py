"""我要报修: the repair form as a dialog; any field already known is not asked again.

The form and what depends on what are dialogs/repair_form.py; every change here goes through it (ctx.set,
ctx.forget), so that an answer given again, a correction in words or the summary's edit menu drop exactly
what the declaration says, and the walk from the top asks only what is then missing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.actions import alerting
from core.jobs import DOWNLOAD_PHOTO
from core.metrics import TICKETS_FILED
from dialogs import emergency
from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch, join_lines, yes_no
from dialogs.engine import TEXT as ENGINE_TEXT
from dialogs.nlu.parse import get_parser
from dialogs.places import NOT_A_SPOT, Correction, Unasked, describe_place, fits_floor, place_steps, small_int
from dialogs.repair_form import MAX_PHOTOS, Photo, PlaceGuess, RepairForm, more_photos
from dialogs.state import Incoming, fold
from dialogs.understand import (
    another_report,
    apply_correction,
    correction_text,
    describes,
    echo,
    field_edit,
    fill_missing,
    form_from_parse,
    looks_like_correction,
    place_mentions_fixed,
    place_said,
    route,
)
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

if TYPE_CHECKING:
    from dialogs.nlu.parse import Parse

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
    "photo": ("请拍一张故障处的照片发给我（最多 3 张；点输入框旁的「+」，选「拍摄」或「相册」）。"
              "实在拍不了，回复「跳过」。"),
    "no_photo": "好的，这张单先不带照片；之后想补，可以在「我的报修」里打开这张单再发。",
    "photo_early": "照片已收到，会一起提交。",
    "photo_more": "第 {n} 张照片已收到，会一起提交。",
    "photo_full": ("最多可以提交 {max} 张照片，已经收到 {max} 张，这张没有加上。"
                   "要换照片，请在核对报修单时选「重新发照片」。"),
    "desc_added": "已把这句话补充到描述里。",
    "desc_full": "描述已经接近 500 字，这句没有加进去；可以在核对报修单时修改描述。",
    "phone": "请输入联系电话（手机号），方便师傅联系您：",
    "phone_kept": "已记下联系电话 {phone}。",
    "phone_bad": "这个号码好像不对，请输入 11 位手机号，或带区号的座机号。",
    "confirm": "请核对报修单：\n{summary}\n",
    "confirm_back": "要改哪一项？回复下面的数字，如「2」修改位置；也可以直接说，如「房间改成503」。",
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
    "no_such_room": "不过{building}没有「{room}」这个房间（本楼的房间号像「{example}」），我再跟您确认一下楼层和房间。",
    "room_edit_bad": ("{building}没有「{room}」这个房间（本楼的房间号像「{example}」）。"
                      "请再说一次，如「房间改成{example}」；公共区域可以说「位置改成走廊」。"),
    "no_rooms": "{building}不按房间号登记，可以说具体位置，如「位置改成3楼走廊」。",
    "no_place_yet": "还没有选好楼栋，请先选择位置。",
    "floor_edit_bad": "{building}只有 {floors} 层，请说 1 到 {floors} 之间的楼层，如「楼层改成3楼」。",
    "edit_unclear": "没能从「{value}」里看出新的{what}，请换个说法，或回复列表前的数字。",
    "type_follows": ("维修类型跟着位置和故障走，现在是「{category}」。要换类型，请改位置或故障，"
                     "如「故障改成水龙头」「位置改成12栋502」。"),
    "desc_place_fixed": "描述里写的位置也一起改好了。",
    "desc_place_differs": ("提醒：描述里写的位置和「位置」一栏不一样，提交时会注明以「位置」为准；"
                           "也可以回复「描述改成……」重写描述。"),
    "desc_place_note": "{description}（位置以报修单为准：{place}）",
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
    "where": ("在哪儿坏的？一句话说楼栋和房间号，如「12栋502」；公共区域说楼名和位置，如「二教3楼男厕」"
              "「图书馆门口」。\n也可以回复数字，按维修类型选："),
    "guessed": "（「{typed}」我按「{meant}」理解了；不对请回复「不是」）",
    "list_help": ("回复列表前的数字选一项就行。不知道选哪个，也可以直接说哪里、什么坏了，"
                  "如「12栋502水龙头一直滴水」，我来帮您填。"),
    "where_unclear": "没能从这句话里认出楼栋，我们按列表来选。",
    "emergency_place": "在哪栋楼？直接说楼名就行，如「学生公寓9栋」「二教」「图书馆」：",
    "emergency_place_bad": "没能从这句话里认出楼名，请再说一次，如「学生公寓9栋」「二教」「图书馆」。",
    "emergency_place_list": "没能从这句话里认出楼名，请从下面选最近的一栋（也可以直接打楼名）：",
    "emergency_floor": "在几楼？大概说就行，如「3楼」「3楼楼梯口」：",
    "emergency_floor_lift": "电梯停在几楼附近？大概说就行，如「3楼」「卡在3楼和4楼中间」，不知道就说「不清楚」：",
    "emergency_floor_bad": "请说说大概在几楼或哪个位置，如「3楼」「3楼和4楼之间」。",
    "lift": "电梯",
    "another": "「{text}」\n这是另一处新的问题吗？",
    "another_first": "先提交这张，再报新的",
    "another_replace": "改成这个",
    "another_back": "都不是，回到报修单",
    "another_next": "接着报新的问题：",
    "another_replaced": "好的，这张单改成新的问题。",
    "another_photos": "之前的照片拍的是另一处，已经去掉，请重新拍。",
}
# A question about the list itself, asked at it.
ASKED = re.compile(r"[?？]|什么|啥|怎么|哪个|哪一|不知道|不懂|不清楚")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
# A phone said in words: 「我电话13912345678」「电话是 139 1234 5678」 (one number, and only its digits).
PHONE_IN_WORDS = re.compile(r"(?<![\d-])(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?![\d-])")


def phone_in(text: str) -> str | None:
    """The phone number a reply gives: the whole reply, or the one number in its words; None if none."""
    number = fold(text).replace(" ", "")
    if PHONE_RE.match(number):
        return number
    found = PHONE_IN_WORDS.findall(number)
    return found[0] if len(found) == 1 else None


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
    number = fold(msg.text).replace(" ", "")
    if PHONE_RE.match(number):  # a phone number offered before it is asked: kept, and the list asked again
        ctx.set("phone", number)
        return Retry(TEXT["phone_kept"].format(phone=number))
    p = ctx.understand(msg.text)
    if p is None:
        return Retry(ENGINE_TEXT["choose_number"])
    urgent = emergency_now(ctx, msg, p)
    if urgent is not None:
        return urgent
    if p.intent in ("complaint", "query", "notice"):
        return Retry(TEXT[f"elsewhere_{p.intent}"])
    f = form(ctx)
    if f.located and p.campus and p.building and (p.campus, p.building) != (f.campus, f.building) \
            and ctx.register.building(p.campus, p.building) is not None:
        # A shared location only guessed the building: the one the words name wins.
        f.fill({"campus": p.campus, "building": p.building,
                **place_said(p.floor, p.room, p.spot, generic=p.spot_generic)}, lambda: ctx.register)
    filled = fill_missing(f, form_from_parse(p, ctx.register), ctx.register)
    if not [k for k in filled if k != "fault"]:
        if p.intent == "other" and ASKED.search(msg.text):  # 「什么意思？」「不知道选哪个」: how to answer, not a retry
            return Retry(TEXT["list_help"])
        return Retry(join_lines(TEXT["not_understood"], ENGINE_TEXT["choose_number"]))
    words = msg.raw.strip()
    if not f.has("description") and (p.group or p.fault or f.group == OTHER) and 5 <= len(words) <= 500:
        # The sentence that told the fault describes it (a photo sent first); 其他 says nothing of what.
        ctx.set("description", words)
    route(f, ctx.register)
    if ctx.state.step == "category" and not where_skip(ctx):
        # What is wrong, said at the type list (a photo sent first): the place in words, as for a sentence.
        return Go("where", understood(ctx, p, f))
    # The same step again: it is skipped if the text answered it.
    return Go(str(ctx.state.step), understood(ctx, p, f))


def emergency_now(ctx: Ctx, msg: Incoming, p: Parse) -> Outcome | None:
    """An emergency said at a list or the place question (「电梯卡住了，里面有人」 after 重新开始): the duty phone at
    once, and the form starts again as an emergency's (only the building asked), keeping the photos and phone."""
    if not p.emergency or form(ctx).emergency:
        return None
    alarm, urgent = emergency.start(ctx, msg.raw, p)
    f = form(ctx)
    for name in ("photos", "phone"):
        if f.has(name):
            urgent.set(name, f.get(name), lambda: ctx.register)
    return Switch("repair", say=alarm, data=urgent)


def understood(ctx: Ctx, p: Parse, f: RepairForm) -> str:
    """Say back what a sentence filled in, and a room number it gave that its building does not have."""
    said = echo(f)
    text = TEXT["understood"].format(echo=said) if said else TEXT["start_from_text"]
    b = ctx.register.building(f.campus, f.building)
    if p.room_said and b is not None and b.has_rooms and not f.room:
        text = join_lines(text, TEXT["no_such_room"].format(building=b.name, room=p.room_said,
                                                            example=room_example(b, p.room_said)))
    return text


def room_example(b: Building, said: str) -> str:
    """A room of the building that looks like what was said ("2302" for 二教's "302"), else its first room."""
    rooms = list(b.room_floors)
    return next((r for r in rooms if r.endswith(said)), rooms[0] if rooms else "")


def choice_text(ctx: Ctx, msg: Incoming) -> Outcome:
    """Words at a choice screen (which building, which group, the notice, the duplicate): a correction ("不是五教，
    是四教") or a field named ("电话改成…") changes the form, and the walk goes again from the top, so the notice
    and the duplicate are looked up for the new place; anything else is read as free text."""
    outcome = take_correction(ctx, msg)
    return outcome if outcome is not None else free_text(ctx, msg)


def place_correction(ctx: Ctx, msg: Incoming) -> Outcome | None:
    """A correction typed at the floor, room or note question ("改成二教"): taken as one, not as the answer."""
    settled = guess_settled(ctx, msg)
    if settled is not None:
        return settled
    return take_correction(ctx, msg) if looks_like_correction(msg.raw) else None


# The questions a correction of the words may be told beside (they take words, not a list number or a photo).
GUESS_STEPS = ("where", "floor", "room", "place_note")


def guess_settled(ctx: Ctx, msg: Incoming) -> Outcome | None:
    """The first answer after a correction of the words was told beside the question settles it: 「不是」 reads
    the words again as typed, a plain yes asks the question again, anything else answers it (the correction
    stands)."""
    text = form(ctx).guess
    if not text:
        return None
    ctx.forget("guess")
    agreed = yes_no(msg.text) if msg.kind == "text" else None
    if agreed is None:
        return None
    if agreed:
        return Retry("")
    said, new = report_from(ctx, text, fuzzy=False)
    if form(ctx).phone:
        new.set("phone", form(ctx).phone, lambda: ctx.register)
    return Switch("repair", say=said, data=new)


def whole_place(ctx: Ctx, msg: Incoming) -> Outcome | None:
    """Words that do not answer the floor or room question but say the place whole, a building with a floor
    or room in it ("12栋502" where the floor was asked): taken as the place."""
    p = read_correction(ctx, msg.text)
    if p is None or not p.building or not (p.floor or p.room):
        return None
    return take_correction(ctx, msg)


# -- a report that said what but not where: the place in one answer ------------------------------------------

def where_skip(ctx: Ctx) -> bool:
    """Asked only of a report whose words said what is wrong but no place (nor buildings to pick from); the
    menu's way (the type first), an emergency and a place already known do not ask it. The question offers
    the repair types too: a number takes the way of the lists."""
    f = form(ctx)
    return (f.has("building") or f.has("category") or not f.has("group") or bool(f.emergency)
            or bool(f.building_candidates) or bool(f.by_menu))


def where(ctx: Ctx, msg: Incoming) -> Outcome:
    """The place in words, whole or in part (「12栋502」「二教3楼男厕」「图书馆门口」): what it names is taken and only
    the rest is asked; buildings it may mean are offered; naming none goes the way of the lists."""
    settled = guess_settled(ctx, msg)
    if settled is not None:
        return settled
    p = read_correction(ctx, msg.text)
    urgent = emergency_now(ctx, msg, p) if p is not None else None
    if urgent is not None:
        return urgent
    f = form(ctx)
    if p is not None:
        fill_missing(f, form_from_parse(p, ctx.register), ctx.register)
        route(f, ctx.register)
    if f.has("building"):
        return Go()
    if f.building_candidates:
        return Go("pick_building")
    ctx.set("by_menu", True)
    return Go(say=TEXT["where_unclear"])


def floorless(ctx: Ctx) -> bool:
    """A fault with no floor to ask: a lift, a street lamp, a tree (the lexicon's floorless things)."""
    f = form(ctx)
    return bool(f.group) and get_parser(ctx.register).lexicon.has_no_floor(f.group, f.item)


def note_unasked(ctx: Ctx) -> bool:
    """Where on the floor is not asked of a floorless fault, nor of an outdoor place whose report's own words
    (the description) already say where on it ("图书馆旁边那段校道")."""
    f = form(ctx)
    b = ctx.register.building(f.campus, f.building)
    return floorless(ctx) or (b is not None and b.outdoor and bool(f.description))


def read_correction(ctx: Ctx, text: str) -> Parse | None:
    """Parse a correction of this form: a place it does not name is not the default room (that fills a new report
    naming no place: here 「是三楼」 is the form's building), and its campus comes first."""
    parser = ctx.parser
    if parser is None:
        return None
    campus = form(ctx).campus or (ctx.who().place or {}).get("campus")
    return parser(text, user_campus=campus)


def take_correction(ctx: Ctx, msg: Incoming) -> Outcome | None:
    """Change the form by a correction in words (a line named, or what the words name); None if it changes nothing."""
    edit = field_edit(msg.raw)
    if edit is not None:
        return EDITORS[edit[0]](ctx, edit[1])
    p = read_correction(ctx, correction_text(msg.text))
    changed = apply_correction(form(ctx), p, ctx.register) if p is not None else []
    return corrected(*changed) if changed else None


# -- an emergency: only the building, and the floor loosely -----------------------------------------------

FLOOR_IN_WORDS = re.compile(r"(\d{1,2}|[一二两三四五六七八九十]{1,3})\s*[楼层]")


def is_lift(f: RepairForm) -> bool:
    return f.group == "电梯"


def emergency_place_skip(ctx: Ctx) -> bool:
    f = form(ctx)
    return not f.emergency or f.has("building")


def emergency_place(ctx: Ctx, msg: Incoming) -> Outcome:
    """The building of an emergency, in words (a list of every type and building is too slow for someone in danger)."""
    p = read_correction(ctx, msg.text)
    if p is None:
        return Retry(TEXT["emergency_place_bad"])
    f = form(ctx)
    if p.campus and p.building and ctx.register.building(p.campus, p.building) is not None:
        f.fill({"campus": p.campus, "building": p.building,
                **place_said(p.floor, p.room, p.spot, generic=p.spot_generic)}, lambda: ctx.register)
        route(f, ctx.register)
        return Go()
    if len(p.building_candidates) >= 2:
        ctx.set("building_candidates", tuple((c, b) for c, b in p.building_candidates))
        ctx.set("place_guess", PlaceGuess(p.floor, p.room, p.spot))
        return Go("pick_building")
    return every_building(ctx, p.campus)


def every_building(ctx: Ctx, campus: str | None) -> Outcome:
    """A building the register does not know (「北门小卖部旁边那栋」): every building of the campus said (else the
    user's, else the school's) to pick from, with 「都不是」 to the menus — never the same question again."""
    reg = ctx.register
    c = reg.campus(campus) or reg.campus((ctx.who().place or {}).get("campus")) or reg.campus(reg.default_campus)
    if c is None or not c.buildings:
        return Retry(TEXT["emergency_place_bad"])
    ctx.set("building_candidates", tuple((c.name, b.name) for b in c.buildings))
    return Go("pick_building", TEXT["emergency_place_list"])


def emergency_floor_skip(ctx: Ctx) -> bool:
    f = form(ctx)
    b = ctx.register.building(f.campus, f.building)
    return not f.emergency or b is None or b.outdoor


def emergency_floor_prompt(ctx: Ctx) -> str:
    return TEXT["emergency_floor_lift"] if is_lift(form(ctx)) else TEXT["emergency_floor"]


def emergency_floor(ctx: Ctx, msg: Incoming) -> Outcome:
    """The floor of an emergency, loosely: 「3」 or 「3楼」 is the floor; 「卡在3楼和4楼中间」 is where, with the
    first floor it names; a lift is never asked a room."""
    fixed = place_correction(ctx, msg)
    if isinstance(fixed, Go):
        # 「不是12栋，是9栋」: the floor of the new building is asked again, as loosely.
        return Go("emergency_place", fixed.say)
    if fixed is not None:
        return fixed
    f = form(ctx)
    b = ctx.register.building(f.campus, f.building)
    text = msg.raw.strip()
    if b is None:
        return Go("emergency_place")
    if not text or text.rstrip("。.!！").lower() in NOT_A_SPOT or len(text) > 100:
        return Retry(TEXT["emergency_floor_bad"])
    values: dict[str, Any] = {"room": None}  # someone in danger is not asked a room number after the floor
    n = small_int(fold(text))
    room = fold(text).replace(" ", "")
    if not is_lift(f) and b.has_rooms and b.floor_of_room(room) is not None:  # 「302」: the room, and its floor
        values.update(floor=str(b.floor_of_room(room)), room=room, place_note=None)
    elif n is not None and fits_floor(b, str(n)):
        values["floor"] = str(n)
        values["place_note"] = f.place_note or (TEXT["lift"] if is_lift(f) else None)
    else:
        m = FLOOR_IN_WORDS.search(fold(text))
        floor = str(small_int(m.group(1))) if m and small_int(m.group(1)) is not None else None
        values.update(floor=floor if fits_floor(b, floor) and floor is not None else None, room=None,
                      place_note=text)
    f.fill(values, lambda: ctx.register)
    return Go()


def building_candidates(ctx: Ctx) -> list[Choice]:
    options = [Choice(f"{c} {b}", (c, b)) for c, b in form(ctx).building_candidates]
    return [*options, Choice(TEXT["by_menu"], None)]


def no_building_to_pick(ctx: Ctx) -> bool:
    """Nothing to pick: no candidates, or words said since named the building."""
    return not form(ctx).building_candidates or form(ctx).has("building")


def no_group_to_pick(ctx: Ctx) -> bool:
    return not form(ctx).group_candidates or form(ctx).has("group")


def on_building_candidate(ctx: Ctx, choice: Choice) -> Outcome:
    f = form(ctx)
    guess = f.place_guess or PlaceGuess()
    ctx.forget("building_candidates")
    ctx.forget("place_guess")
    if choice.value is None:
        ctx.set("by_menu", True)
    else:
        campus, building = choice.value
        f.fill({"campus": campus, "building": building, **place_said(guess.floor, guess.room, guess.place_note)},
               lambda: ctx.register)
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
    route(form(ctx), ctx.register)  # a form filled elsewhere (while binding) has its type from place and fault
    return None


def use_default_room(ctx: Ctx, home: dict[str, Any] | None) -> None:
    """The room set in 个人信息 is the place of a report that names none (or only 宿舍, which the parser
    reads as the home building): the summary shows it, and it is never asked. A place the words name wins."""
    f = form(ctx)
    if not home or not home.get("building") or (f.place_note and not f.building):
        return  # a spot named somewhere else (操场, 校道) is not the room
    if f.building not in (None, home.get("building")) or (f.floor or f.room):
        return
    if f.emergency and not f.building:
        return  # someone in danger may be anywhere: the building is asked, not assumed
    keys = ("campus", "building") if is_lift(f) else ("campus", "building", "floor", "room")  # a lift has no room
    values: dict[str, Any] = {k: home.get(k) for k in keys if home.get(k)}
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
    return [Choice(TEXT["notice_go_on"], True, ("仍要", "继续"), yes=True),
            Choice(TEXT["notice_stop"], False, no=True)]


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
    return [Choice(TEXT["dup_follow"], "follow", yes=True), Choice(TEXT["dup_new"], "new", no=True)]


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
    """The first photo (an album's others arrive at the next steps); someone who cannot take one (「跳过」
    「拍不了」) goes on without, and other words join the description."""
    if msg.kind == "image":
        add_photo(ctx, msg)
        return Go()
    if msg.kind == "text" and msg.text and emergency.photo_answer(msg.text) == "skip":
        ctx.set("photos", ())
        return Go(say=TEXT["no_photo"])
    if msg.kind == "text" and msg.text:
        said = words_instead(ctx, msg)
        if said is not None:
            return said
        alarm = emergency_in(ctx, msg.raw.strip())
        if alarm:  # 「冒火花了」 said at the photo: an emergency now, and its photo is not required
            return Go(say=join_lines(add_to_description(ctx, msg.raw.strip()), alarm))
        return Retry(on_text(ctx, msg))
    return Retry(ENGINE_TEXT["need_image"] if msg.kind != "text" else ENGINE_TEXT["empty"])


def words_instead(ctx: Ctx, msg: Incoming) -> Outcome | None:
    """Words that are not more of this fault, said where the photo (or the summary) waits: another fault at
    another place is asked about as a new report, and a complaint or a question is pointed to its own menu;
    neither is merged into this description. None for anything else."""
    whole = read_correction(ctx, msg.text)
    if whole is not None and another_report(msg.text, whole, form(ctx)):
        ctx.set("another", msg.raw.strip()[:500])
        return Go("another")
    if any(w in msg.text for w in PHOTO_WORDS):
        return None  # 「没相机怎么拍」 is about the photo
    p = ctx.understand(msg.text)
    if p is not None and not p.emergency and p.intent in ("complaint", "query", "notice"):
        return Retry(TEXT[f"elsewhere_{p.intent}"])
    return None


def phone(ctx: Ctx, msg: Incoming) -> Outcome:
    number = phone_in(msg.text)
    if number is None:
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
    return join_lines(description_check(ctx), mark + TEXT["confirm"].format(summary=summary(ctx)))


def description_check(ctx: Ctx) -> str:
    """Keep the description from naming another place than the ticket's (said above the summary)."""
    changed, agrees = reconcile_description(ctx)
    if not agrees:
        return TEXT["desc_place_differs"]
    return TEXT["desc_place_fixed"] if changed else ""


def reconcile_description(ctx: Ctx) -> tuple[bool, bool]:
    """Replace in the description a building, floor or room it names that a correction changed, in its own
    words (「三教」 → 「四教」); return whether it changed, and whether it now agrees with the place."""
    f, parser = form(ctx), ctx.parser
    if not f.description or not f.building or parser is None:
        return False, True
    campus = f.campus

    def read(text: str) -> Parse:
        return parser(text, user_campus=campus, fuzzy=False)

    text, agrees = place_mentions_fixed(f.description, f, ctx.register, read)
    if text != f.description:
        ctx.set("description", text)
        return True, agrees
    return False, agrees


def stored_description(ctx: Ctx, f: RepairForm) -> str:
    """The description a ticket keeps: one naming another place (the user was told) says which place holds."""
    if reconcile_description(ctx)[1]:
        return f.description or ""
    place = describe_place(f.campus, f.building, f.floor, f.room, f.place_note)
    return TEXT["desc_place_note"].format(description=f.description, place=place)


CONFIRM_WORDS = ("提交", "直接提交")  # besides a plain yes (dialogs/engine.py)
# What each entry of the summary's edit menu asks again.  The field is forgotten, with what the form's
# declaration says depends on it, and the walk from the first step asks whatever is then missing.
EDITS = {"confirm_place": "campus", "confirm_type": "category", "confirm_fault": "group",
         "confirm_desc": "description", "confirm_photo": "photos", "confirm_phone": "phone"}
FIRST = "category"  # where the walk over the form starts: every step after it is skipped if answered


def confirm_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["confirm_submit"], "confirm_submit", CONFIRM_WORDS, yes=True),
            *(Choice(TEXT[k], k) for k in EDITS)]


def correct(ctx: Ctx, msg: Incoming) -> Outcome:
    """Take a correction in words at the summary: "不是五教，是四教", "是三楼", "改成水龙头", or one that names
    its line: "描述改成…", "电话改成…", "房间改成203", "楼层改成3楼", "位置改成…", "故障改成…"."""
    edit = field_edit(msg.raw)
    if edit is not None:
        return EDITORS[edit[0]](ctx, edit[1])
    whole = read_correction(ctx, msg.text)
    if whole is not None and another_report(msg.text, whole, form(ctx)):
        # Another fault somewhere else is a new report: ask, never merge it into this one.
        ctx.set("another", msg.raw.strip()[:500])
        return Go("another")
    p = read_correction(ctx, correction_text(msg.text))
    changed = apply_correction(form(ctx), p, ctx.register) if p is not None else []
    if not changed:
        elsewhere = words_instead(ctx, msg)
        if elsewhere is not None:
            return elsewhere
        words = msg.raw.strip()
        if len(words) >= 5 and not any(w in words for w in PHOTO_WORDS):
            # More about the fault (a photo and its words sent together reach the summary photo first).
            return Retry(add_to_description(ctx, words))
        return Retry(ENGINE_TEXT["choose_number"])
    return Go(FIRST, TEXT["corrected"].format(what="、".join(changed)))


def another_prompt(ctx: Ctx) -> str:
    return TEXT["another"].format(text=form(ctx).another or "")


def another_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["another_first"], "first", ("先提交", "提交这张", "是", "是的", "新的", "对")),
            Choice(TEXT["another_replace"], "replace", ("改", "改成新的", "不是", "换成这个")),
            Choice(TEXT["another_back"], "back", ("都不是", "回到报修单", "返回报修单"))]


def on_another(ctx: Ctx, choice: Choice) -> Outcome:
    """File this one and start the new report, or put the new report in this one's place, or neither."""
    f = form(ctx)
    text = f.another or ""
    ctx.forget("another")
    if choice.value == "back" or not text:
        return Go(FIRST)  # the summary, or the photo if the new report was said where the photo was asked
    said, new = report_from(ctx, text)
    if f.phone:
        new.set("phone", f.phone, lambda: ctx.register)
    if choice.value == "replace":
        said = join_lines(TEXT["another_replaced"], TEXT["another_photos"] if f.photos else "", said)
        return Switch("repair", say=said, data=new)
    outcome = submit(ctx)
    if not isinstance(outcome, End):
        return outcome
    return Switch("repair", say=join_lines(outcome.say, TEXT["another_next"], said), data=new)


def report_from(ctx: Ctx, text: str, *, fuzzy: bool = True) -> tuple[str, RepairForm]:
    """A new repair form read from a sentence, and what is said of it: the sentence describes the fault it tells
    (fuzzy=False: the words exactly as typed, no sound-alike corrections)."""
    p = ctx.understand(text, fuzzy=fuzzy)
    if p is None:
        return TEXT["start_from_text"], RepairForm()
    new = form_from_parse(p, ctx.register)
    if describes(p, text):
        new.set("description", text, lambda: ctx.register)
    return understood(ctx, p, new), new


def corrected(*what: str) -> Outcome:
    return Go(FIRST, TEXT["corrected"].format(what="、".join(what)))


def edit_description(ctx: Ctx, value: str) -> Outcome:
    if len(value) < 5:
        return Retry(TEXT["desc_short"])
    if len(value) > 500:
        return Retry(TEXT["desc_long"].format(n=len(value)))
    ctx.set("description", value)
    return corrected("描述")


def edit_phone(ctx: Ctx, value: str) -> Outcome:
    number = phone_in(value)
    if number is None:
        return Retry(TEXT["phone_bad"])
    ctx.set("phone", number)
    return corrected("电话")


def edit_room(ctx: Ctx, value: str) -> Outcome:
    f = form(ctx)
    b = ctx.register.building(f.campus, f.building)
    if b is None:
        return Retry(TEXT["no_place_yet"])
    if not b.has_rooms:
        return Retry(TEXT["no_rooms"].format(building=b.name))
    said = re.sub(r"(室|房间|号房?)$", "", fold(value).replace(" ", ""))
    room = next((r for r in (said, said.upper()) if b.floor_of_room(r) is not None), None)
    if room is None:
        return Retry(TEXT["room_edit_bad"].format(building=b.name, room=said[:10], example=room_example(b, said)))
    # The note stays: a room and where in it ("阳台") are still one place.
    f.fill({"floor": str(b.floor_of_room(room)), "room": room, "place_note": f.place_note}, lambda: ctx.register)
    return corrected("房间")


def edit_floor(ctx: Ctx, value: str) -> Outcome:
    f = form(ctx)
    b = ctx.register.building(f.campus, f.building)
    if b is None:
        return Retry(TEXT["no_place_yet"])
    n = small_int(fold(value))
    if n is None or not fits_floor(b, str(n)):
        return Retry(TEXT["floor_edit_bad"].format(building=b.name, floors=b.floors))
    ctx.set("floor", str(n))  # a room not on that floor is dropped, and asked
    return corrected("楼层")


def edit_in_words(ctx: Ctx, value: str, part: str, what: str) -> Outcome:
    p = read_correction(ctx, correction_text(fold(value)))
    changed = apply_correction(form(ctx), p, ctx.register, (part,)) if p is not None else []
    if not changed:
        return Retry(TEXT["edit_unclear"].format(value=value[:20], what=what))
    return corrected(*changed)


def edit_category(ctx: Ctx, value: str) -> Outcome:
    """The repair type follows from the place and the fault; a fault named instead ("类型改成水电") changes it."""
    outcome = edit_in_words(ctx, value, "fault", "故障")
    if isinstance(outcome, Go):
        return outcome
    return Retry(TEXT["type_follows"].format(category=form(ctx).category or TEXT["missing"]))


EDITORS = {
    "description": edit_description,
    "phone": edit_phone,
    "room": edit_room,
    "floor": edit_floor,
    "place": lambda ctx, value: edit_in_words(ctx, value, "place", "位置"),
    "fault": lambda ctx, value: edit_in_words(ctx, value, "fault", "故障"),
    "category": edit_category,
}


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
        place_note=f.place_note, description=stored_description(ctx, f), phone=f.phone,
        media_ids=tuple((p.media_id, p.pic_url or None) for p in f.photos),
        source_key=ctx.msg.msg_key or None, priority=URGENT if urgent else NORMAL,
        note=f"紧急：{f.emergency}" if urgent else None,
    ))
    for photo_id in filed.photo_ids:
        ctx.enqueue("media", DOWNLOAD_PHOTO, photo_id, job_id=f"media-{photo_id}", fresh=True)
    if not filed.repeated:
        TICKETS_FILED.labels(filed.category).inc()
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
             on_choice=on_building_candidate, skip=no_building_to_pick,
             handle=choice_text, goes_to=(FIRST,)),
        Step("pick_group", "确认故障类别", TEXT["pick_group"], next="emergency_place", choices=group_candidates,
             on_choice=on_group_candidate, skip=no_group_to_pick,
             handle=choice_text, goes_to=(FIRST,)),
        Step("emergency_place", "楼栋", TEXT["emergency_place"], next="emergency_floor", handle=emergency_place,
             skip=emergency_place_skip, goes_to=("pick_building",)),
        Step("emergency_floor", "楼层", emergency_floor_prompt, next="where", handle=emergency_floor,
             save="floor", skip=emergency_floor_skip, goes_to=("emergency_place",)),
        Step("where", "位置", TEXT["where"], next="category", choices=category_choices, save="category",
             handle=where, skip=where_skip, goes_to=("pick_building",)),
        Step("category", "维修类型", TEXT["category"], next="group", choices=category_choices,
             save="category", handle=free_text, skip=category_skip, goes_to=("where",)),
        Step("group", "故障类别", group_prompt, next="item", choices=group_choices, on_choice=on_group,
             save="group", handle=free_text, auto_single=True),
        Step("item", "具体物品", TEXT["item"], next="campus", choices=item_choices, save="item",
             handle=free_text, auto_single=True),
        *place_steps("", "notice", campuses, buildings, with_note=True, free_text=free_text,
                     correction=Correction(place_correction, (FIRST,), whole_place),
                     unasked=Unasked(floorless, note_unasked)),
        Step("notice", "停水停电通知", notice_prompt, next="duplicate", choices=notice_choices, on_choice=on_notice,
             save="notice_seen", skip=notice_skip, handle=choice_text, goes_to=(FIRST,)),
        Step("duplicate", "重复报修", duplicate_prompt, next="description", choices=duplicate_choices,
             on_choice=on_duplicate, save="dup_choice", handle=choice_text, goes_to=(FIRST,),
             skip=lambda ctx: bool(form(ctx).emergency) or duplicate_skip(ctx)),
        Step("description", "问题描述", TEXT["description"], next="photo", handle=description,
             save="description"),
        Step("photo", "照片", TEXT["photo"], next="photo_optional", handle=photo, save="photos", expects="any",
             skip=lambda ctx: bool(form(ctx).emergency), goes_to=("another",)),
        Step("photo_optional", "照片（可不拍）", emergency.TEXT["photo"], next="phone", handle=optional_photo,
             save="photos", expects="any", goes_to=(FIRST,), skip=lambda ctx: not form(ctx).emergency),
        Step("phone", "联系电话", TEXT["phone"], next="confirm", handle=phone, save="phone"),
        Step("confirm", "确认提交", confirm_prompt, next=END, choices=confirm_choices, on_choice=on_confirm,
             handle=correct, goes_to=(FIRST, "another"), back=TEXT["confirm_back"]),
        Step("another", "另一处问题", another_prompt, next=END, choices=another_choices, on_choice=on_another,
             skip=lambda ctx: not form(ctx).another, goes_to=(FIRST, "confirm")),
    ),
    on_image=on_image,
    on_text=on_text,
)
