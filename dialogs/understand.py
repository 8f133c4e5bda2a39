"""From what the parser understood to what the repair form knows: pure functions, no I/O; every change goes
through the form (dialogs/repair_form.py), whose declaration drops what depended on it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dialogs.places import describe_place, fits_floor
from dialogs.repair_form import PlaceGuess, RepairForm
from models.register import OTHER, Register

if TYPE_CHECKING:
    from dialogs.nlu.parse import Parse

PLACE_FIELDS = ("campus", "building", "floor", "room", "place_note")
# "不是五教，是四教" / "不是3楼是4楼": only what comes after the 是 is the correction.
NOT_BUT = re.compile(r"不是.+?[，,、。\s]*(?:而|应该|应该是)?是(?P<right>.+)$")
CORRECTION_PREFIX = re.compile(r"^(?:改成|改为|换成|应该是|其实是|是在|是)")


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
        values.update(campus=p.campus, building=p.building, floor=p.floor, room=p.room, place_note=p.spot)
    if p.fault:
        values["fault"] = p.fault
    form = RepairForm()
    form.fill(values, lambda: register)
    route(form, register)
    return form


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


def apply_correction(form: RepairForm, p: Parse, register: Register) -> list[str]:
    """Set what a correction names, through the form (what depends on a change is dropped unless it still
    holds: a floor the new building also has stays); return the names of what was changed."""
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
            form.fill({"floor": str(floor), "room": p.room}, reg)
            changed.append("房间")
    if p.spot and p.spot != form.place_note:
        form.set("place_note", p.spot, reg)
        changed.append("具体位置")
    # Naming the same kind of fault without a thing ("还在滴水") corrects nothing: the item stays.
    if p.group and (p.group != form.group or (p.item and p.item != form.item)):
        item = p.item if p.item and register.group_of_item(p.item) == p.group else None
        form.fill({"group": p.group, "item": item}, reg)
        changed.append("故障")
    if changed:
        route(form, register)
    return changed


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
