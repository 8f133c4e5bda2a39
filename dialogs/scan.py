"""扫码报修: a sticker's QR code scanned (by a follower, or by someone following through it) starts a repair
with the sticker's place filled in; only the fault, a photo and the confirmation are left to ask.
The scene strings are models/scenes.py; `repairbot qr make` prints the stickers."""

from __future__ import annotations

from typing import Any

from dialogs.context import Ctx
from dialogs.repair_form import RepairForm
from models.register import describe_place
from models.scenes import ScenePlace, place_of

TEXT = {
    "scanned": "您扫的是 {place} 的报修码。请说说哪里坏了，比如「水龙头一直滴水」，也可以直接拍照发给我。",
    "stale": "这个二维码已经不能用了（可能是旧的）。报修请直接发消息描述问题，比如「12栋502水龙头一直滴水」。",
    "busy": "您正在填写{title}。先把它完成，或回复「取消」后再扫一次码。",
}


def scanned_place(ctx: Ctx) -> ScenePlace | None:
    return place_of(ctx.register, ctx.msg.key)


def form_at(ctx: Ctx, place: ScenePlace) -> RepairForm:
    """A repair form with the sticker's place answered (a room is place enough: 具体位置 is not asked)."""
    values: dict[str, Any] = {"campus": place.campus, "building": place.building}
    if place.floor:
        values["floor"] = place.floor
    if place.room:
        values["room"], values["place_note"] = place.room, None
    form = RepairForm()
    form.fill(values, lambda: ctx.register)
    return form


def scanned_text(place: ScenePlace) -> str:
    return TEXT["scanned"].format(place=describe_place(place.campus, place.building, place.floor, place.room))
