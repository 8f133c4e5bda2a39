"""The custom menu: read from YAML, checked against WeChat's limits before any call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from models.errors import RepairbotError

MAX_BUTTONS, MAX_SUB = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES, URL_BYTES = 16, 60, 128, 1024


class MenuError(RepairbotError):
    """The configured menu breaks one of WeChat's limits."""


# The button types that send the webhook an event with the button's key (WeChat's 自定义菜单 types), besides
# `view` (a link, given as url). pic_photo_or_album is 拍照报修: its event, then the photos as images.
KEY_TYPES = ("click", "pic_photo_or_album", "pic_sysphoto", "pic_weixin", "location_select", "scancode_push",
             "scancode_waitmsg")


@dataclass(frozen=True)
class Button:
    name: str
    key: str = ""
    url: str = ""
    subs: tuple[Button, ...] = ()
    type: str = "click"

    def to_wechat(self) -> dict[str, Any]:
        if self.subs:
            return {"name": self.name, "sub_button": [s.to_wechat() for s in self.subs]}
        if self.url:
            return {"type": "view", "name": self.name, "url": self.url}
        return {"type": self.type, "name": self.name, "key": self.key}


def load_menu(path: Path) -> list[Button]:
    """Read and check a menu file; raise MenuError naming every problem."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MenuError(f"cannot read the menu {path}: {exc}") from exc
    return parse_menu(doc)


def parse_menu(doc: Any) -> list[Button]:
    problems: list[str] = []
    raw = doc.get("buttons") if isinstance(doc, dict) else None
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_BUTTONS:
        raise MenuError(f"the menu needs 1 to {MAX_BUTTONS} buttons")
    buttons = [_button(b, f"button {i}", top=True, problems=problems) for i, b in enumerate(raw, 1)]
    if problems:
        raise MenuError("the menu breaks WeChat's limits:\n  " + "\n  ".join(problems))
    return buttons


def _button(node: Any, where: str, top: bool, problems: list[str]) -> Button:
    if not isinstance(node, dict) or not str(node.get("name") or "").strip():
        problems.append(f"{where}: needs a name")
        return Button("?")
    name = str(node["name"]).strip()
    limit = TOP_NAME_BYTES if top else SUB_NAME_BYTES
    if len(name.encode("utf-8")) > limit:
        problems.append(f"{where} {name!r}: name is {len(name.encode())} bytes, WeChat allows {limit}")
    subs_raw = node.get("sub_buttons") or []
    if top and subs_raw:
        if not 1 <= len(subs_raw) <= MAX_SUB:
            problems.append(f"{where} {name!r}: {len(subs_raw)} sub-buttons, WeChat allows 1 to {MAX_SUB}")
        subs = tuple(_button(s, f"{where}.{j}", top=False, problems=problems) for j, s in enumerate(subs_raw, 1))
        return Button(name, subs=subs)
    if not top and subs_raw:
        problems.append(f"{where} {name!r}: sub-buttons cannot have sub-buttons")
    key, url = str(node.get("key") or ""), str(node.get("url") or "")
    if bool(key) == bool(url):
        problems.append(f"{where} {name!r}: give exactly one of key (a click) or url (a link)")
    if len(key.encode("utf-8")) > KEY_BYTES:
        problems.append(f"{where} {name!r}: key is {len(key.encode())} bytes, WeChat allows {KEY_BYTES}")
    if url and (len(url.encode()) > URL_BYTES or not url.startswith(("http://", "https://"))):
        problems.append(f"{where} {name!r}: url must be http(s) and at most {URL_BYTES} bytes")
    kind = str(node.get("type") or ("view" if url else "click"))
    if kind not in (*KEY_TYPES, "view") or (kind == "view") != bool(url):
        problems.append(f"{where} {name!r}: type {kind!r} is not one of view (with url) or "
                        f"{', '.join(KEY_TYPES)} (with key)")
    return Button(name, key=key, url=url, type=kind if kind in KEY_TYPES else "click")


def menu_payload(buttons: list[Button]) -> dict[str, Any]:
    return {"button": [b.to_wechat() for b in buttons]}


def menu_keys(buttons: list[Button]) -> list[str]:
    return [s.key for b in buttons for s in (b.subs or (b,)) if s.key]


def render_menu(buttons: list[Button]) -> str:
    """Show the menu as people see it, with each click's key."""
    lines = []
    for b in buttons:
        lines.append(b.name + (f"  [{b.key}]" if b.key else f"  → {b.url}" if b.url else ""))
        for s in b.subs:
            kind = f" ({s.type})" if s.key and s.type != "click" else ""
            lines.append(f"  · {s.name}" + (f"  [{s.key}]{kind}" if s.key else f"  → {s.url}"))
    return "\n".join(lines)
