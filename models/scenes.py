"""The places printed on 扫码报修 stickers, as the scene strings of WeChat's permanent QR codes.

A scene is at most 64 characters (WeChat's limit) whatever the names, and names no position in the register:
the building is a short digest of its campus and name, so reordering the register keeps every sticker
working, and a building renamed or removed makes its stickers stale (read as nothing, never as another
place). ``rp1:<digest>`` is a building, ``…:<floor>`` a floor of it, ``…:<floor>:<room>`` a room.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from models.register import Building, Register

PREFIX = "rp1"
MAX_SCENE = 64


@dataclass(frozen=True)
class ScenePlace:
    """Where a sticker was put."""

    campus: str
    building: str
    floor: str | None = None
    room: str | None = None


def building_code(campus: str, building: str) -> str:
    return hashlib.sha256(f"{campus}\x1f{building}".encode()).hexdigest()[:10]


def scene_of(place: ScenePlace) -> str:
    parts = [PREFIX, building_code(place.campus, place.building)]
    if place.floor:
        parts.append(place.floor)
        if place.room:
            parts.append(place.room)
    scene = ":".join(parts)
    if len(scene) > MAX_SCENE:
        raise ValueError(f"scene {scene!r} is longer than WeChat's {MAX_SCENE} characters")
    return scene


def is_place_scene(scene: str) -> bool:
    """Whether a scanned scene is one of ours (it may still be stale: see place_of)."""
    return scene.startswith(PREFIX + ":")


def place_of(register: Register, scene: str) -> ScenePlace | None:
    """The place a scanned scene names, or None for a scene that is not ours, stale or forged."""
    parts = scene.split(":")
    if len(parts) not in (2, 3, 4) or parts[0] != PREFIX:
        return None
    building = _by_code(register, parts[1])
    if building is None:
        return None
    floor = parts[2] if len(parts) > 2 else None
    room = parts[3] if len(parts) > 3 else None
    if floor is not None and not (floor.isdigit() and 1 <= int(floor) <= building.floors):
        return None
    if room is not None and building.floor_of_room(room) != int(floor or 0):
        return None
    return ScenePlace(building.campus, building.name, floor, room)


def _by_code(register: Register, code: str) -> Building | None:
    for b in register.all_buildings():
        if building_code(b.campus, b.name) == code:
            return b
    return None
