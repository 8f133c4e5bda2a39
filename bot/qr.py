"""扫码报修 stickers: a permanent QR code per place from WeChat's `qrcode/create`, printed one per page with
the place written under it. Scanning one reaches the webhook as a scan (or a follow) with the place's scene
(models/scenes.py), and a repair starts there."""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno

from models.errors import RepairbotError
from models.register import Building, Register, describe_place
from models.scenes import ScenePlace, scene_of

TEXT = {
    "title": "扫码报修",
    "hint": "微信扫一扫，直接报修这里的问题",
}


@dataclass(frozen=True)
class Sticker:
    place: ScenePlace
    scene: str
    url: str  # what the QR code holds (WeChat's short link for the code)
    file: str


def places(register: Register, building: str, campus: str | None, floor: int | None, room: str | None,
           all_rooms: bool) -> list[ScenePlace]:
    """The places to print: the building, a floor of it, a room, or every room."""
    b = _building(register, building, campus)
    if room is not None:
        at = b.floor_of_room(room)
        if at is None:
            raise RepairbotError(f"{b.campus} {b.name} has no room {room}")
        return [ScenePlace(b.campus, b.name, str(at), room)]
    if floor is not None:
        if not 1 <= floor <= b.floors:
            raise RepairbotError(f"{b.campus} {b.name} has floors 1 to {b.floors}, not {floor}")
        return [ScenePlace(b.campus, b.name, str(floor))]
    if all_rooms:
        if not b.has_rooms:
            raise RepairbotError(f"{b.campus} {b.name} has no numbered rooms in the register")
        return [ScenePlace(b.campus, b.name, str(f), r) for f in range(1, b.floors + 1) for r in b.rooms_on(f)]
    return [ScenePlace(b.campus, b.name)]


def _building(register: Register, name: str, campus: str | None) -> Building:
    found = [b for b in register.all_buildings() if name in (b.name, *b.aliases)
             and campus in (None, b.campus)]
    if not found:
        raise RepairbotError(f"no building {name!r}" + (f" in {campus}" if campus else "") + " in the register")
    if len(found) > 1:
        campuses = "、".join(b.campus for b in found)
        raise RepairbotError(f"{name!r} is in more than one campus ({campuses}): add --campus")
    return found[0]


def make(targets: list[ScenePlace], create: Callable[[str], dict[str, Any]], out: Path) -> list[Sticker]:
    """Create a permanent code for each place (create: scene → WeChat's answer) and write its page."""
    out.mkdir(parents=True, exist_ok=True)
    stickers = []
    for place in targets:
        scene = scene_of(place)
        url = str(create(scene).get("url") or "")
        if not url:
            raise RepairbotError(f"WeChat gave no link for {scene}")
        name = _file_name(place)
        (out / name).write_text(page(place, url), encoding="utf-8")
        stickers.append(Sticker(place, scene, url, name))
    _index(stickers, out)
    return stickers


def page(place: ScenePlace, url: str) -> str:
    """One printable page (A6-ish, SVG): the title, the code, and the place written under it."""
    code = segno.make(url, error="m")
    modules = code.symbol_size(scale=1, border=0)[0]
    scale = 300 / modules
    qr = code.svg_inline(scale=scale, border=0, omitsize=False)
    where = html.escape(describe_place(place.campus, place.building, place.floor, place.room))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="105mm" height="148mm" viewBox="0 0 420 592">'
            f'<rect width="420" height="592" fill="#fff"/>'
            f'<text x="210" y="70" font-size="40" text-anchor="middle" font-family="sans-serif">'
            f'{TEXT["title"]}</text>'
            f'<g transform="translate(60 110)">{qr}</g>'
            f'<text x="210" y="470" font-size="26" text-anchor="middle" font-family="sans-serif">{where}</text>'
            f'<text x="210" y="520" font-size="18" text-anchor="middle" font-family="sans-serif" fill="#555">'
            f'{TEXT["hint"]}</text></svg>\n')


def _file_name(place: ScenePlace) -> str:
    parts = [place.campus, place.building, place.floor and f"{place.floor}楼", place.room]
    return re.sub(r"[\\/:*?\"<>|\s]+", "_", "-".join(p for p in parts if p)) + ".svg"


def _index(stickers: list[Sticker], out: Path) -> None:
    """codes.csv: which file is which place and scene, to find a sticker again."""
    with open(out / "codes.csv", "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "campus", "building", "floor", "room", "scene", "url"])
        for s in stickers:
            p = s.place
            writer.writerow([s.file, p.campus, p.building, p.floor or "", p.room or "", s.scene, s.url])
