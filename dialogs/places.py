"""Place steps shared by dialogs: campus → building → floor → room (→ place in words), and what in a place
depends on what (``place_fields``), which the forms that keep a place join into their declaration."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dialogs.context import Ctx
from dialogs.engine import Choice, Go, Outcome, Retry, Step, yes_no
from dialogs.forms import Fields, Form
from dialogs.nlu.numbers import cn_to_int
from dialogs.state import Incoming, fold
from models.register import Building, Campus, Register, describe_place

__all__ = ["Correction", "Unasked", "describe_place", "fits_floor", "place_fields", "place_steps"]

TEXT = {
    "campus": "请选择校区（回复数字）：",
    "building": "请选择楼栋（回复数字，也可以直接输入楼名，如「{example}」）：",
    "no_building": "这个校区没有属于该维修类型的楼栋，请回复「返回」换一个校区。",
    "floor": ("{building} 在几楼？请回复 1 到 {floors} 的数字（知道房间号就回房间号）；"
              "不在楼内，直接说在哪（如「门口」）。"),
    "floor_bad": "{building} 只有 {floors} 层，请回复 1 到 {floors}，楼外回复 0。",
    "floor_nan": "请回复楼层数字（1 到 {floors}），如「3」；知道房间号也可以直接回复房间号；楼外回复 0。",
    "room": ("请输入房间号，如「{example}」。\n走廊、卫生间、楼梯间等公共区域，直接回复位置（如「走廊」）；"
             "找不到准确的房间，可以先填最近的房间号，再在描述里写明实际位置。"),
    "room_bad": ("{building} {floor}楼没有「{room}」这个房间（本层是 {first}–{last}）。"
                 "请再输入一次，公共区域回复 0。"),
    "note": "请用几个字说明具体位置，例如「南面卫生间」「楼梯口」「312门口走廊」：",
    "note_long": "位置说明请控制在 100 字以内，详细情况可以写在问题描述里。",
    "note_what": "请用几个字说在哪里，如「楼梯口」「312门口走廊」；不需要说明请回复「无」。",
}
# Words that agree or confirm are never where something is (「确认」 is not a spot).
NOT_A_SPOT = frozenset({"确认", "确定", "提交", "好的", "好", "是", "是的", "对", "对的", "嗯", "行", "可以", "ok",
                        "没问题", "确认提交"})

def is_spot(words: str) -> bool:
    """Words that can only be where on a floor: short, no number, not a yes."""
    return (1 <= len(words) <= 20 and not any(c.isdigit() for c in fold(words))
            and words.rstrip("。.!！").lower() not in NOT_A_SPOT and yes_no(words) is None)


# A floor and where on it, in one answer: "3楼楼道", "二层卫生间".
FLOOR_AND_NOTE = re.compile(r"^(第?[0-9零一二两三四五六七八九十]+)\s*[楼层]\s*(\S.*)$")


@dataclass(frozen=True)
class Unasked:
    """Which place questions a dialog does not ask for what is being filled: the floor (and so the room), and
    where on the floor."""

    floor: Callable[[Ctx], bool]
    note: Callable[[Ctx], bool]


@dataclass(frozen=True)
class Correction:
    """A dialog's reading of a correction typed at a place question, and the steps it may go to."""

    read: Callable[[Ctx, Incoming], Outcome | None]
    goes_to: tuple[str, ...] = ()
    # Words that answer neither the floor nor the room question, read again as the whole place ("12栋502").
    whole: Callable[[Ctx, Incoming], Outcome | None] | None = None


def small_int(text: str) -> int | None:
    """Read a floor written as digits or Chinese numerals (三, 十二), with 第/楼/层 allowed around it."""
    return cn_to_int(re.sub(r"^第|[楼层号]$", "", text.strip()))


ROOM_WORDS = re.compile(r"(室|房间|宿舍|寝室|号房?|房)$")


def room_in(building: Building, text: str, floor: int | None = None) -> str | None:
    """The room of the building a reply names ("612", "612宿舍", "612室"), on `floor` if one was said; None
    when it names none."""
    room = ROOM_WORDS.sub("", text.replace(" ", "")).removeprefix("第")
    at = building.floor_of_room(room) if room else None
    return room if at is not None and (floor is None or floor == at) else None


def place_fields(prefix: str) -> Fields:
    """What depends on what in a place stored under `prefix`-named fields, and when it still holds.

    A building holds while its campus has it; a floor and a room while the (new) building has them; a
    place note while there is a building, and an empty note only beside a room (else it is asked).
    """
    c, b, f, r, n = (f"{prefix}{name}" for name in ("campus", "building", "floor", "room", "place_note"))

    def building_of(form: Form, reg: Register) -> Building | None:
        return reg.building(form.get(c), form.get(b))

    def floor_fits(form: Form, reg: Register) -> bool:
        return fits_floor(building_of(form, reg), form.get(f))

    def room_fits(form: Form, reg: Register) -> bool:
        bld = building_of(form, reg)
        if bld is None or not form.has(f):
            return False
        room = form.get(r)
        return room is None or bld.floor_of_room(room) == int(form.get(f) or 0)

    def note_fits(form: Form, reg: Register) -> bool:
        return building_of(form, reg) is not None and (form.get(n) is not None or form.get(r) is not None)

    return Fields(
        depends={b: (c,), f: (b,), r: (b, f), n: (b, r)},
        valid={b: lambda form, reg: building_of(form, reg) is not None, f: floor_fits, r: room_fits,
               n: note_fits},
    )


def fits_floor(building: Building | None, floor: str | None) -> bool:
    """Whether a floor (None: outdoors or outside the building) is one the building has."""
    if building is None:
        return False
    if floor is None:
        return building.outdoor
    return floor.isdigit() and 1 <= int(floor) <= building.floors


def place_steps(prefix: str, after: str,
                campuses: Callable[[Ctx], Sequence[Campus]],
                buildings: Callable[[Ctx, str], Sequence[Building]],
                with_note: bool, free_text: Callable[[Ctx, Incoming], Outcome] | None = None,
                correction: Correction | None = None, unasked: Unasked | None = None) -> tuple[Step, ...]:
    """Build the steps that ask for a place, storing it in `prefix`-named fields (declared by place_fields).

    correction: the dialog's reading of a correction typed at the floor, room or note question ("不是三教，是四教"),
    which would otherwise be a wrong floor or a place note; it returns None for words that are not one, and may
    go to the steps it names.
    unasked: the dialog's say on which of these questions mean nothing for what it is filling (no floor for a
    lift; no note where its words already say where)."""
    k_campus, k_building, k_floor, k_room, k_note = (f"{prefix}{n}" for n in
                                                     ("campus", "building", "floor", "room", "place_note"))
    first_after_room = f"{prefix}place_note" if with_note else after

    def value(ctx: Ctx, key: str) -> Any:
        return ctx.state.data.get(key)

    def building_of(ctx: Ctx) -> Building | None:
        return ctx.register.building(value(ctx, k_campus), value(ctx, k_building))

    def campus_choices(ctx: Ctx) -> list[Choice]:
        return [Choice(c.name, c.name, c.aliases) for c in campuses(ctx)]

    def building_choices(ctx: Ctx) -> list[Choice]:
        return [Choice(b.name, b.name, b.aliases) for b in buildings(ctx, value(ctx, k_campus) or "")]

    def building_prompt(ctx: Ctx) -> str:
        options = buildings(ctx, value(ctx, k_campus) or "")
        if not options:
            return TEXT["no_building"]
        example = next((b.aliases[0] for b in options if b.aliases), options[0].name)
        return TEXT["building"].format(example=example)

    def floor_prompt(ctx: Ctx) -> str:
        b = building_of(ctx)
        return TEXT["floor"].format(building=b.name if b else "", floors=b.floors if b else 1)

    def corrected(handle: Callable[[Ctx, Incoming], Outcome]) -> Callable[[Ctx, Incoming], Outcome]:
        if correction is None:
            return handle
        fix, whole = correction.read, correction.whole

        def read(ctx: Ctx, msg: Incoming) -> Outcome:
            outcome = fix(ctx, msg)
            if outcome is not None:
                return outcome
            answer = handle(ctx, msg)
            if isinstance(answer, Retry) and whole is not None:
                return whole(ctx, msg) or answer
            return answer

        return read

    def floor(ctx: Ctx, msg: Incoming) -> Outcome:
        b = building_of(ctx)
        if b is None:
            return Go(f"{prefix}building")
        n = small_int(msg.text)
        # A room number answers the floor too: "612", "612宿舍", "6楼612".
        said_room = room_in(b, msg.text) if n is None or not 0 <= n <= b.floors else None
        with_spot = FLOOR_AND_NOTE.match(msg.text) if n is None else None
        if said_room is None and with_spot is not None:
            said_room = room_in(b, with_spot.group(2), floor=small_int(with_spot.group(1)))
        if said_room is not None:
            ctx.set(k_floor, str(b.floor_of_room(said_room)))
            ctx.set(k_room, said_room)
            if with_note:
                ctx.set(k_note, None)  # a room says where: no note is asked
            return Go()
        if not with_note or (with_spot is not None and len(with_spot.group(2)) > 100):
            with_spot = None
        if with_spot is not None:
            n = small_int(with_spot.group(1))
        if n is None and with_note and is_spot(msg.raw.strip()):
            # "门口", "楼下": not inside the building — where it is, in one answer.
            ctx.set(k_floor, None)
            ctx.set(k_room, None)
            ctx.set(k_note, msg.raw.strip())
            return Go()
        if n is None:
            return Retry(TEXT["floor_nan"].format(floors=b.floors))
        if not 0 <= n <= b.floors:
            return Retry(TEXT["floor_bad"].format(building=b.name, floors=b.floors))
        ctx.set(k_floor, str(n) if n else None)
        if with_spot is not None:
            # "3楼楼道": where on the floor says it is no room.
            ctx.set(k_room, None)
            ctx.set(k_note, with_spot.group(2))
        return Go()

    def room_prompt(ctx: Ctx) -> str:
        b = building_of(ctx)
        rooms = b.rooms_on(int(value(ctx, k_floor) or 1)) if b else []
        return TEXT["room"].format(example=rooms[1] if len(rooms) > 1 else (rooms or ["502"])[0])

    def room(ctx: Ctx, msg: Incoming) -> Outcome:
        b = building_of(ctx)
        text = msg.text.replace(" ", "").removesuffix("室").removesuffix("房间")
        if b is None:
            return Go(f"{prefix}building")
        if text == "0":
            ctx.set(k_room, None)
            return Go()
        floor_no = int(value(ctx, k_floor) or 0)
        rooms = b.rooms_on(floor_no)
        if text in rooms:
            ctx.set(k_room, text)
            if with_note:
                ctx.set(k_note, None)  # a room says where: no note is asked
            return Go()
        if with_note and is_spot(msg.raw.strip()):
            # "走廊", "男厕": a public area of the floor, said in words (one answer instead of 0 and then the spot).
            ctx.set(k_room, None)
            ctx.set(k_note, msg.raw.strip())
            return Go()
        return Retry(TEXT["room_bad"].format(building=b.name, floor=floor_no, room=msg.text[:10],
                                             first=rooms[0], last=rooms[-1]))

    def room_skip(ctx: Ctx) -> bool:
        b = building_of(ctx)
        if b is None or not b.has_rooms or not value(ctx, k_floor):
            if not ctx.state.data.has(k_room):
                ctx.set(k_room, None)
            return True
        return False

    def note(ctx: Ctx, msg: Incoming) -> Outcome:
        text = msg.raw.strip()
        if len(text) > 100:
            return Retry(TEXT["note_long"])
        if text.rstrip("。.!！").lower() in NOT_A_SPOT:
            return Retry(TEXT["note_what"])
        ctx.set(k_note, None if text in ("无", "没有", "不用", "0") else text)
        return Go()

    def floor_skip(ctx: Ctx) -> bool:
        b = building_of(ctx)
        if b is not None and (b.outdoor or (unasked is not None and unasked.floor(ctx))):
            ctx.set(k_floor, None)  # outdoors, or a thing with no floor: the room is then not asked either
            return True
        return False

    def note_skip(ctx: Ctx) -> bool:
        return unasked is not None and unasked.note(ctx)

    back = (f"{prefix}building", *(correction.goes_to if correction else ()))
    steps = [
        Step(f"{prefix}campus", "校区", TEXT["campus"], next=f"{prefix}building", choices=campus_choices,
             save=k_campus, auto_single=True),
        Step(f"{prefix}building", "楼栋", building_prompt, next=f"{prefix}floor", choices=building_choices,
             save=k_building, handle=free_text),
        Step(f"{prefix}floor", "楼层", floor_prompt, next=f"{prefix}room", handle=corrected(floor), save=k_floor,
             skip=floor_skip, goes_to=back),
        Step(f"{prefix}room", "房间", room_prompt, next=first_after_room, handle=corrected(room), save=k_room,
             skip=room_skip, goes_to=back),
    ]
    if with_note:
        steps.append(Step(k_note, "具体位置", TEXT["note"], next=after, handle=corrected(note), save=k_note,
                          skip=note_skip, goes_to=back[1:]))
    return tuple(steps)
