"""拍照报修: the menu button opens the camera or the album; its photos reach the webhook as images, and the
first one starts a repair (dialogs/router.py), later ones join it (up to 3). Typed, the words only explain."""

from __future__ import annotations

from dialogs.context import Ctx

TEXT = {
    "hint": ("点菜单「报修 → 拍照报修」，拍照或从相册选（最多 3 张）发给我，再用一句话说说哪里坏了，"
             "比如「12栋502水龙头一直滴水」。"),
}


def hint(ctx: Ctx) -> str:
    return TEXT["hint"]
