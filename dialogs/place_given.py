"""A place given without words: a 扫码报修 sticker scanned (by a follower, or by someone following through
it), or a location shared (WeChat's 位置 message, or a location_select menu button). Either starts a repair
there, or answers the place of the repair being filled; only the fault, a photo and the confirmation are
left to ask. The scene strings are models/scenes.py; `repairbot qr make` prints the stickers; the map is
the register's optional lat/lng (models/register.py)."""

from __future__ import annotations

from typing import Any

from dialogs.context import Ctx
from dialogs.repair_form import RepairForm
from models.register import Building, Point, describe_place
from models.scenes import ScenePlace, place_of

TEXT = {
    "scanned": "您扫的是 {place} 的报修码。请说说哪里坏了，比如「水龙头一直滴水」，也可以直接拍照发给我。",
    "stale": "这个二维码已经不能用了（可能是旧的）。报修请直接发消息描述问题，比如「12栋502水龙头一直滴水」。",
    "busy": "您正在填写{title}。先把它完成，或回复「取消」后再扫一次码。",
    "near": "您在 {place} 附近。请说说哪里坏了，比如「水龙头一直滴水」，也可以直接拍照发给我。",
    "near_here": "您在 {place} 附近，已填上。",
    "unmapped": "暂时还不能用位置找楼栋。报修请直接用文字说楼名和问题，比如「12栋502水龙头一直滴水」。",
    "off_campus": "这个位置不在学校里。报修请直接用文字说楼名和问题，比如「12栋502水龙头一直滴水」。",
    "place_known": "这张单已经有位置了：{place}。要改位置，请在核对报修单时说「改成…」。",
    "busy_location": "您正在填写{title}，位置先不用。先把它完成，或回复「取消」后再发一次位置。",
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


def shared_building(ctx: Ctx) -> Building | str:
    """The building nearest a shared location, or what to say when there is none."""
    if not ctx.register.mapped:
        return TEXT["unmapped"]
    lat, _, lng = ctx.msg.key.partition(",")
    try:
        where = Point(float(lat), float(lng))
    except ValueError:
        return TEXT["off_campus"]
    return ctx.register.nearest(where) or TEXT["off_campus"]


def at_building(b: Building) -> ScenePlace:
    return ScenePlace(b.campus, b.name)


def near_text(b: Building, key: str = "near") -> str:
    return TEXT[key].format(place=describe_place(b.campus, b.name, None, None))


def place_wanted(ctx: Ctx) -> bool:
    """Whether a repair is being filled and its building is not yet known."""
    st = ctx.state
    return st.active and st.flow == "repair" and not ctx.form(RepairForm).building
