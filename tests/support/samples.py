"""Real WeChat bodies (tests/data/wechat/, origins in its README), with a test's own sender, time and MsgId."""

from __future__ import annotations

import re
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "wechat"


def sample(name: str, openid: str, at: int | None = None, msg_id: str | None = None) -> str:
    """A sample body with this test's sender and time (WeChat's CreateTime has one-second resolution)."""
    xml = (SAMPLES / name).read_text(encoding="utf-8").strip()
    xml = re.sub(r"<FromUserName><!\[CDATA\[[^\]]*\]\]></FromUserName>",
                 f"<FromUserName><![CDATA[{openid}]]></FromUserName>", xml)
    xml = re.sub(r"<CreateTime>\d+</CreateTime>", f"<CreateTime>{at or int(time.time())}</CreateTime>", xml)
    if msg_id is not None:
        xml = re.sub(r"<MsgId>\d+</MsgId>", f"<MsgId>{msg_id}</MsgId>", xml)
    return xml
