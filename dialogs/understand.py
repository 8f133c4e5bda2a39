"""From what the parser understood to what the repair form knows: pure functions, no I/O; every change goes
through the form (dialogs/repair_form.py), whose declaration drops what depended on it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dialogs.nlu.numbers import cn_to_int, int_to_cn
from dialogs.places import describe_place, fits_floor
from dialogs.repair_form import PlaceGuess, RepairForm
from models.register import OTHER, Building, Register

if TYPE_CHECKING:
    from dialogs.nlu.parse import Parse

PLACE_FIELDS = ("campus", "building", "floor", "room", "place_note")
# "不是五教，是四教" / "不是3楼是4楼": only what comes after the 是 is the correction.
NOT_BUT = re.compile(r"不是.+?[，,、。\s]*(?:而|应该|应该是)?是(?P<right>.+)$")
CORRECTION_PREFIX = re.compile(r"^(?:改成|改为|换成|应该是|其实是|是在|是)")
# "描述改成…", "把电话改为…", "房间是203": a correction that names the summary's line it is for.
FIELD_WORDS = {
    "description": ("问题描述", "描述", "说明"),
    "phone": ("联系电话", "电话号码", "手机号码", "手机号", "电话", "手机", "号码"),
    "room": ("房间号", "宿舍号", "寝室号", "门牌号", "房号", "房间"),
    "floor": ("楼层", "层数"),
    "place": ("具体位置", "位置", "地点", "地址", "楼栋"),
    "fault": ("故障类别", "故障", "物品"),
    "category": ("维修类型", "报修类型", "类型"),
}
_FIELD_OF = {w: name for name, words in FIELD_WORDS.items() for w in words}
FIELD_EDIT = re.compile(
    r"^(?:把|将)?(?P<field>" + "|".join(sorted(_FIELD_OF, key=len, reverse=True)) + r")"
    r"\s*(?:(?:不是.*?[，,、\s]*)?(?:改成|改为|换成|换为|应该是|应是|写成|是)|[：:=])\s*(?P<value>.+)$", re.S)
# "电话13600002222", "房间 503": a number right after the line's name needs no 改成.
NUMBER_EDIT = re.compile(r"^(?P<field>" + "|".join(w for name in ("phone", "room", "floor") for w in FIELD_WORDS[name])
                         + r")\s*(?P<value>[0-9０-９][0-9０-９\s-]*)$")
# A room number alone in a correction: "是503", "不是502 是503", "改成503", "503才对", "应该是503室".
_ROOM = r"[A-Za-z]?\d{3,5}"
BARE_ROOM = re.compile(
    r"^(?:(?:不是\s*" + _ROOM + r"(?:室|号|房间)?\s*[，,、。\s]*(?:而|应该|应该是)?是)"
    r"|改成|改为|换成|应该是|其实是|是)\s*"
    r"(?P<room>" + _ROOM + r")\s*(?:室|号|房间)?\s*(?:才对|才是|对)?[。.!！]*$"
    r"|^(?P<room2>" + _ROOM + r")\s*(?:室|号|房间)?\s*(?:才对|才是对的|才是)[。.!！]*$")
# A floor said in a description ("二楼", "3层"); not "楼梯"/"楼道", not part of a longer number.
FLOOR_MENTION = re.compile(
    r"(?<![0-9一二两三四五六七八九十负下])(第?)(\d{1,2}|[一二两三四五六七八九十]{1,3})(楼|层)(?![梯道])")


def form_from_parse(p: Parse, register: Register) -> RepairForm:
    """Fill a repair form from a parse; fields are set only for what was understood."""
    values: dict[str, Any] = {}
    if p.building is None and len(p.building_candidates) >= 2:
        # Unsure where: offer every building it may be (the parser ranks the user's campus first).
        values["building_candidates"] = tuple((c, b) for c, b in p.building_candidates)
        values["place_guess"] = PlaceGuess(p.floor, p.room, p.spot)
    if p.group is None and len(p.group_candidates) >= 2:
        values["group_candidates"] = tuple(p.group_candidates[:3])
    if p.group and register.group(p.group) is not None:
        values["group"] = p.group
        values["item"] = p.item if p.item and register.group_of_item(p.item) == p.group else None
    elif p.unknown_thing and not p.group_candidates and register.group(OTHER) is not None:
        # A thing the register has no group for ("空调坏了"): 其他, the words saying what in the description.
        values.update(group=OTHER, item=None)
    if p.campus and p.building and register.building(p.campus, p.building) is not None:
        values.update(campus=p.campus, building=p.building)
        values.update(place_said(p.floor, p.room, p.spot, generic=p.spot_generic))
        if p.outside:
            values.update(floor=None, room=None)  # by the building, not in it: nothing to ask
        b = register.building(p.campus, p.building)
        if p.room_said and b is not None and not b.has_rooms and not p.spot:
            values["place_note"] = p.room_said  # a building without room numbers: the number still says where
    if p.fault:
        values["fault"] = p.fault
    form = RepairForm()
    form.fill(values, lambda: register)
    route(form, register)
    return form


def tells_fault(p: Parse) -> bool:
    """Whether a sentence says what is wrong (a group, a fault, a thing the register has no group for), not
    only where."""
    return bool(p.group or p.fault or p.group_candidates or p.unknown_thing or p.emergency)


def describes(p: Parse, text: str) -> bool:
    """Whether a report's own words serve as its description: they say what is wrong, in 5–500 characters, or
    in fewer when they name both the thing and what is wrong with it ("马桶堵了", "灯坏了")."""
    if not tells_fault(p) or len(text) > 500:
        return False
    return len(text) >= 5 or bool(p.group and p.fault)


def place_said(floor: str | None, room: str | None, spot: str | None, *, generic: bool = False) -> dict[str, Any]:
    """The floor, room and note a sentence gave for its building, as form values.

    A floor not said is left unknown, so that it is asked (None would mean "outside the building"); a room
    not said is asked too, unless a public spot ("楼道", "卫生间") says where instead.
    """
    values: dict[str, Any] = {"place_note": spot}
    if floor is not None:
        values["floor"] = floor
    if room is not None or (spot and not generic):
        values["room"] = room
    return values


def route(form: RepairForm, register: Register) -> None:
    """Name the category once place and group are known: the register's scope rules decide."""
    if form.campus and form.building and form.group:
        category = register.category_for_place(form.campus, form.building, form.group)
        if category is not None:
            form.set("category", category.name, lambda: register)
        else:
            form.forget("category", lambda: register)


def fill_missing(form: RepairForm, found: RepairForm, register: Register) -> list[str]:
    """Copy into the form what it does not know yet; return the fields filled."""
    filled = [k for k in found.names() if found.has(k) and not form.has(k)
              and (found.get(k) is not None or k in PLACE_FIELDS)]
    if "building" in filled or form.has("building"):
        # A place comes as a whole: never mix one text's floor with another's building.
        filled = [k for k in filled if k not in PLACE_FIELDS or "building" in filled]
    form.fill({k: found.get(k) for k in filled}, lambda: register)
    return filled


def correction_text(text: str) -> str:
    """Keep the part of a correction that says what is right ("不是五教，是四教" → "四教")."""
    m = NOT_BUT.search(text)
    text = m.group("right") if m else text
    return CORRECTION_PREFIX.sub("", text.strip())


def apply_correction(form: RepairForm, p: Parse, register: Register,
                     parts: tuple[str, ...] = ("place", "fault")) -> list[str]:
    """Set what a correction names, through the form (what depends on a change is dropped unless it still
    holds: a floor the new building also has stays); return the names of what was changed.

    parts: which lines of the summary the correction may change ("place", "fault").
    """
    changed: list[str] = []
    if "place" in parts:
        changed += _correct_place(form, p, register)
    if "fault" in parts:
        changed += _correct_fault(form, p, register)
    if changed:
        route(form, register)
    return changed


def _correct_place(form: RepairForm, p: Parse, register: Register) -> list[str]:
    reg = lambda: register  # noqa: E731
    changed: list[str] = []
    # "是箭盘的": the same building name on another campus.
    same_elsewhere = p.campus and not p.building and form.building and p.campus != form.campus
    if same_elsewhere and register.building(p.campus, form.building) is not None:
        form.set("campus", p.campus, reg)
        changed.append("校区")
    known = p.building and p.campus and register.building(p.campus, p.building) is not None
    if known and (p.campus, p.building) != (form.campus, form.building):
        form.fill({"campus": p.campus, "building": p.building}, reg)
        changed.append("位置")
    if p.floor and p.floor != form.floor and fits_floor(register.building(form.campus, form.building), p.floor):
        form.set("floor", p.floor, reg)
        if "位置" not in changed:
            changed.append("楼层")
    if p.room and p.room != form.room:
        b = register.building(form.campus, form.building)
        floor = b.floor_of_room(p.room) if b is not None else None
        if floor is not None:
            form.fill({"floor": str(floor), "room": p.room, "place_note": form.place_note}, reg)
            changed.append("房间")
    if p.spot and p.spot != form.place_note:
        form.set("place_note", p.spot, reg)
        changed.append("具体位置")
    return changed


def _correct_fault(form: RepairForm, p: Parse, register: Register) -> list[str]:
    # Naming the same kind of fault without a thing ("还在滴水") corrects nothing: the item stays.
    if p.group and (p.group != form.group or (p.item and p.item != form.item)):
        item = p.item if p.item and register.group_of_item(p.item) == p.group else None
        form.fill({"group": p.group, "item": item}, lambda: register)
        return ["故障"]
    return []


def looks_like_correction(text: str) -> bool:
    """Whether words typed where an answer was expected say they correct something ("改成二教", "不是三教，是四教",
    "电话改成…"), rather than answer ("3", "走廊")."""
    t = text.strip()
    return bool(bare_room(t) or NOT_BUT.search(t) or re.match(r"(?:改成|改为|换成|应该是|其实是)", t) or field_edit(t))


# Words that say a sentence changes the form rather than reports something else.
CORRECTION_CUE = re.compile(r"改|不是|^(?:是|应该|其实|换成)|才对|错了|写错")
# Words that say a sentence adds something: 「…也坏了」, 「还有…」, 「另外…」.
ANOTHER_CUE = re.compile(r"也|还有|另外|另一")


def another_report(text: str, p: Parse, form: RepairForm) -> bool:
    """Whether a sentence sent at the summary reports another fault at another place (「二教三楼走廊的灯也坏了」
    after a dripping tap in 6栋307), or says it is another (也, 还有), or tells another fault going wrong at
    the same place (「12栋502水龙头坏了一直滴水」 after a blocked toilet there): a new report, not a correction,
    unless it says it corrects (改, 不是, 是…). Asked, it may still replace this one."""
    if CORRECTION_CUE.search(text.strip()) or not form.group or not form.building:
        return False
    other_fault = bool(p.group) and p.group != form.group
    other_place = bool(p.building) and (p.campus, p.building) != (form.campus, form.building)
    if not other_place:
        return other_fault and bool(p.fault)
    return bool(p.group) and (other_fault or bool(ANOTHER_CUE.search(text)))


def bare_room(text: str) -> str | None:
    """The room a correction names with no building ("不是502 是503", "503才对"), else None."""
    m = BARE_ROOM.match(text.strip())
    return (m.group("room") or m.group("room2")) if m else None


def field_edit(text: str) -> tuple[str, str] | None:
    """Read "描述改成…" / "电话改为…" / "房间是203" as (the field it names, the new value), else None."""
    room = bare_room(text)
    if room is not None:
        return "room", room
    m = FIELD_EDIT.match(text.strip()) or NUMBER_EDIT.match(text.strip())
    if m is None or not m.group("value").strip():
        return None
    return _FIELD_OF[m.group("field")], m.group("value").strip()


# -- a description that names another place than the form's ---------------------------------------------

def place_mentions_fixed(description: str, form: RepairForm, register: Register,
                         read: Callable[[str], Parse]) -> tuple[str, bool]:
    """Replace in a description the building, room and floor it names where the form now says another
    (「三教二楼走廊灯不亮」 after 「不是三教，是四教」 → 「四教二楼走廊灯不亮」), in the words it used.

    Returns the text and whether it now agrees with the form (False: a mention it could not find to replace).
    """
    text = description
    for swap in (_swap_building, _swap_room, _swap_floor):
        said = read(text)
        if agrees(said, form):
            break
        text = swap(text, said, form, register)
    final = read(text)
    if text != description and final.room_said and final.room_said != form.room:
        # 「6栋307」 → 「二教307」 would name a room the new building does not have: keep the user's words.
        return description, False
    return text, agrees(final, form)


def agrees(said: Parse, form: RepairForm) -> bool:
    """Whether what a text says of the place (if anything) is the form's place."""
    return ((said.building is None or said.building == form.building)
            and (said.room is None or said.room == form.room)
            and (said.floor is None or form.floor is None or said.floor == form.floor))


def _swap_building(text: str, said: Parse, form: RepairForm, register: Register) -> str:
    old, new = register.building(said.campus, said.building), register.building(form.campus, form.building)
    if old is None or new is None or old.name == new.name:
        return text
    for word in sorted((old.name, *old.aliases), key=len, reverse=True):
        pattern = _standalone(word)
        if pattern.search(text):
            return pattern.sub(_counterpart(word, old, new).replace("\\", "\\\\"), text)
    return text


def _counterpart(word: str, old: Building, new: Building) -> str:
    """The new building's name of the same kind as the old one's word (四教 for 三教, the name for the name)."""
    if word in old.aliases:
        k = old.aliases.index(word)
        if k < len(new.aliases):
            return new.aliases[k]
    return new.name


def _swap_room(text: str, said: Parse, form: RepairForm, register: Register) -> str:
    if said.room is None or form.room is None or said.room == form.room:
        return text
    return _standalone(said.room).sub(form.room, text)


def _swap_floor(text: str, said: Parse, form: RepairForm, register: Register) -> str:
    if said.floor is None or form.floor is None or said.floor == form.floor:
        return text

    def swap(m: re.Match[str]) -> str:
        if cn_to_int(m.group(2)) != int(said.floor or 0):
            return m.group(0)
        number = form.floor or ""
        if not m.group(2).isdigit() and number.isdigit():
            number = int_to_cn(int(number))
        return f"{m.group(1)}{number}{m.group(3)}"

    return FLOOR_MENTION.sub(swap, text)


def _standalone(word: str) -> re.Pattern[str]:
    """A word not glued to the digits (or letters) around it: "3栋" is not in "13栋", "503" not in "5031"."""
    before = r"(?<![0-9A-Za-z])" if word[:1].isalnum() and word[:1].isascii() else ""
    after = r"(?![0-9])" if word[-1:].isdigit() else ""
    return re.compile(before + re.escape(word) + after, re.IGNORECASE)


def echo(form: RepairForm) -> str:
    """Say back what was understood: place · group/item · fault, and who handles it."""
    place = describe_place(form.campus, form.building, form.floor, form.room)
    if form.place_note:
        place = f"{place} {form.place_note}" if place else form.place_note
    parts = [p for p in (place, _fault(form)) if p]
    text = " · ".join(parts)
    if form.category:
        text += f"，由 {form.category} 处理"
    return text


def _fault(form: RepairForm) -> str:
    group, item, fault = form.group, form.item, form.fault
    text = f"{group}/{item}" if group and item else (group or "")
    return f"{text} · {fault}" if text and fault else text
