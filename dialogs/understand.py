"""From what the parser understood to what the repair form knows: pure functions, no I/O."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dialogs.places import describe_place
from models.register import Register

if TYPE_CHECKING:
    from dialogs.nlu.parse import Parse

PLACE_FIELDS = ("campus", "building", "floor", "room", "place_note")
# "不是五教，是四教" / "不是3楼是4楼": only what comes after the 是 is the correction.
NOT_BUT = re.compile(r"不是.+?[，,、。\s]*(?:而|应该|应该是)?是(?P<right>.+)$")
CORRECTION_PREFIX = re.compile(r"^(?:改成|改为|换成|应该是|其实是|是在|是)")


def form_from_parse(p: Parse, register: Register) -> dict[str, Any]:
    """Fill the repair form's fields from a parse; keys are set only for what was understood."""
    data: dict[str, Any] = {}
    if p.building is None and len(p.building_candidates) >= 2:
        # Unsure where: offer the best few instead of guessing.
        data["_bcands"] = [list(c) for c in p.building_candidates[:3]]
        data["_rest"] = {"floor": p.floor, "room": p.room, "place_note": p.spot}
    if p.group is None and len(p.group_candidates) >= 2:
        data["_gcands"] = list(p.group_candidates[:3])
    if p.group and register.group(p.group) is not None:
        data["group"] = p.group
        data["item"] = p.item if p.item and register.group_of_item(p.item) == p.group else None
    if p.campus and p.building and register.building(p.campus, p.building) is not None:
        data.update(campus=p.campus, building=p.building, floor=p.floor, room=p.room, place_note=p.spot)
    if p.fault:
        data["fault"] = p.fault
    route(data, register)
    return data


def route(data: dict[str, Any], register: Register) -> None:
    """Name the category once place and group are known: the register's scope rules decide."""
    if data.get("building") and data.get("group"):
        category = register.category_for_place(data["campus"], data["building"], data["group"])
        if category is not None:
            data["category"] = category.name
        else:
            data.pop("category", None)


def fill_missing(data: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Copy into the form what it does not know yet; return the keys filled."""
    filled = [k for k, v in found.items() if k not in data and (v is not None or k in PLACE_FIELDS)]
    if "building" in filled or "building" in data:
        # A place comes as a whole: never mix one text's floor with another's building.
        filled = [k for k in filled if k not in PLACE_FIELDS or "building" in filled]
    for k in filled:
        data[k] = found[k]
    return filled


def correction_text(text: str) -> str:
    """Keep the part of a correction that says what is right ("不是五教，是四教" → "四教")."""
    m = NOT_BUT.search(text)
    text = m.group("right") if m else text
    return CORRECTION_PREFIX.sub("", text.strip())


def apply_correction(data: dict[str, Any], p: Parse, register: Register) -> list[str]:
    """Overwrite the form with what a correction names; return the names of the fields changed."""
    changed: list[str] = []
    if p.campus and not p.building and data.get("building") and p.campus != data.get("campus"):
        # "是箭盘的": the same building name on another campus.
        same = register.building(p.campus, data["building"])
        if same is not None:
            data["campus"] = p.campus
            changed.append("校区")
    known = p.building and p.campus and register.building(p.campus, p.building) is not None
    if known and (p.campus, p.building) != (data.get("campus"), data.get("building")):
        data.update(campus=p.campus, building=p.building, floor=p.floor, room=p.room)
        changed.append("位置")
    if p.floor and p.floor != data.get("floor"):
        b = register.building(data.get("campus"), data.get("building"))
        if b is not None and 1 <= int(p.floor) <= b.floors:
            data["floor"] = p.floor
            if p.room is None:
                data["room"] = None
            if "楼层" not in changed and "位置" not in changed:
                changed.append("楼层")
    if p.room and p.room != data.get("room"):
        b = register.building(data.get("campus"), data.get("building"))
        if b is not None and b.floor_of_room(p.room) is not None:
            data["room"] = p.room
            data["floor"] = str(b.floor_of_room(p.room))
            changed.append("房间")
    if p.spot and p.spot != data.get("place_note"):
        data["place_note"] = p.spot
        changed.append("具体位置")
    if p.group and (p.group, p.item) != (data.get("group"), data.get("item")):
        data["group"] = p.group
        data["item"] = p.item if p.item and register.group_of_item(p.item) == p.group else None
        changed.append("故障")
    if changed:
        route(data, register)
    return changed


def echo(data: dict[str, Any]) -> str:
    """Say back what was understood: place · group/item · fault, and who handles it."""
    place = describe_place(data.get("campus"), data.get("building"), data.get("floor"), data.get("room"))
    if data.get("place_note"):
        place = f"{place} {data['place_note']}" if place else str(data["place_note"])
    parts = [p for p in (place, _fault(data)) if p]
    text = " · ".join(parts)
    if data.get("category"):
        text += f"，由 {data['category']} 处理"
    return text


def _fault(data: dict[str, Any]) -> str:
    group, item, fault = data.get("group"), data.get("item"), data.get("fault")
    text = f"{group}/{item}" if group and item else (group or "")
    return f"{text} · {fault}" if text and fault else text
