"""What the property-based conversation test (tests/test_conversation_properties.py) draws from and looks at.

The vocabulary a person might type at any moment, the menu keys and events WeChat may send, and the
readings of the application's own records the invariants compare: the user's dialog state as Redis keeps
it (dialogs/store.py), the step it names, and how many tickets and complaints the user has.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from sqlalchemy import func, select

from core.services import Services
from devtools.chat import Answer, WeChatUser
from dialogs.engine import Step
from dialogs.registry import DIALOGS, ENTRIES
from dialogs.store import DialogStore
from models.consult import Consult
from models.tickets import Ticket

# -- what a person types ---------------------------------------------------------------------------------

GLOBAL = ("取消", "返回", "上一步", "重新开始", "帮助", "？", "退出")
NUMBERS = ("0", "1", "2", "3", "4", "5", "9", "10", "99", "１", "２", "-1", "1.5", "007",
           "99999999999999999999999999999999")
REPORTS = ("12栋502水龙头一直滴水", "图书馆的灯坏了", "五教一楼卫生间便盆堵", "宿舍水龙头坏了", "我宿舍的灯不亮了",
           "二教302的灯管一闪一闪", "东环3栋楼道灯坏了好几天了", "宿舍空调不制冷", "食堂门口那盏路灯坏了", "跳匝了",
           "12栋503洗手池漏水")
COMPLAINTS = ("食堂饭菜太咸了", "二饭的阿姨打菜手抖，分量太少", "请问暑假宿舍能不能留宿", "宿管阿姨态度很好，表扬一下")
GREETINGS = ("你好", "您好", "在吗", "hello", "谢谢")
BINDING = ("20260001", "20260002", "20260003", "12345678", "2026000", "12345X", "12345x", "234567", "34567x",
           "000000", "绑定")
# Answers a form asks for: floors, rooms, places, descriptions, phones, dates, yes and no.
FORM_WORDS = ("502", "12栋502", "5楼", "水龙头关不紧，一直在滴水", "13800000001", "13600002222", "123", "是的", "不是",
              "确认", "提交", "匿名", "不匿名", "最近7天", "最近30天", "本学期", "2026-09-01 至 2026-11-27", "无")
CORRECTIONS = ("不是五教，是四教", "改成二教", "是三楼", "改成水龙头", "描述改成走廊尽头那盏灯不亮",
               "电话改成13600002222")
COMMANDS = ("评价 5", "评价 4 修得很快", "评价 1", "评价", "评价 6", "没修好 还在滴水", "没修好", "留言", "撤销",
            "留言 师傅什么时候来", "撤销 R261127001", "我的报修", "个人信息", "投诉建议", "查看历史", "通知公告",
            "报修", "修改密码", "解除绑定", "我的任务", "完成 R261127001")
ODD = ("😀", "👍🔧💧", "", "   ", "水" * 600, ("12栋502水龙头一直滴水，" * 50)[:600], "<xml>]]></xml>", "%s{0}",
       "ＡＢＣ", "\n\n")
VOCABULARY: tuple[str, ...] = (*GLOBAL, *NUMBERS, *REPORTS, *COMPLAINTS, *GREETINGS, *BINDING, *FORM_WORDS,
                               *CORRECTIONS, *COMMANDS, *ODD)

# Every key a menu click may carry: the registry's (the menu names a subset) and one of an older menu.
MENU_KEYS: tuple[str, ...] = (*(e.key for e in ENTRIES), "NO_SUCH_KEY")

CANCELLED = "好的，已取消"
LEAVE_QUESTION = "要离开吗"
FILED_TICKET = "报修成功"
FILED_CONSULT = "已提交，编号"
# A user's dialog state in Redis stays under this many bytes: the walks' states measure under 1 KB, and a
# 600-character description (UTF-8, as stored) would add about 1.8 KB.
STATE_LIMIT_BYTES = 8192

_msg_ids = itertools.count(7_000_000_000)


def location(user: WeChatUser) -> Answer:
    """A location message (a pin sent from the chat), which the bot does not read."""
    return user.send("location", "<Location_X>24.3264</Location_X><Location_Y>109.4281</Location_Y>"
                     "<Scale>20</Scale><Label><![CDATA[柳州市东环路]]></Label>", msg_id=next(_msg_ids))


def location_event(user: WeChatUser) -> Answer:
    """The position report WeChat sends by itself when a user opens the chat (not something they said)."""
    return user.send("event", "<Event><![CDATA[LOCATION]]></Event><Latitude>24.3264</Latitude>"
                     "<Longitude>109.4281</Longitude><Precision>65.0</Precision>")


def offered(reply: str) -> list[str]:
    """The numbers a reply offers: its list lines ("3 给水") and its 「回复 1 …」 lines, in order."""
    found = re.findall(r"^(?:回复\s*)?(\d{1,2})[ 、.]", reply, flags=re.MULTILINE)
    return list(dict.fromkeys(found))


def replied(answer: Answer) -> bool:
    """The user sees something: text, or a news reply's articles."""
    return bool(answer.text.strip() or answer.articles)


# -- what the application keeps -------------------------------------------------------------------------

def raw_state(services: Services, openid: str) -> bytes | None:
    value = services.redis.get(DialogStore.state_key(openid))
    return bytes(value) if value is not None else None


def state(services: Services, openid: str) -> dict[str, Any] | None:
    raw = raw_state(services, openid)
    return json.loads(raw) if raw else None


_DIALOGS = {d.name: d for d in DIALOGS}


def current_step(stored: dict[str, Any] | None) -> Step | None:
    """The step a stored state is at (None when idle, or when the dialog or step is unknown)."""
    if not stored or not stored.get("flow") or not stored.get("step"):
        return None
    dialog = _DIALOGS.get(stored["flow"])
    if dialog is None:
        return None
    return dialog.by_name.get(stored["step"])


def counts(services: Services, openid: str) -> tuple[int, int]:
    """How many tickets and how many complaints/suggestions the user has filed."""
    with services.db.session() as s:
        tickets = s.scalar(select(func.count(Ticket.id)).where(Ticket.openid == openid)) or 0
        consults = s.scalar(select(func.count(Consult.id)).where(Consult.openid == openid)) or 0
    return int(tickets), int(consults)


def open_tickets(services: Services, openid: str) -> list[tuple[str, str, str]]:
    """The user's tickets staff can still move to 维修完成: (number, status, category), newest first."""
    with services.db.session() as s:
        rows = s.execute(select(Ticket.no, Ticket.status, Ticket.category).where(
            Ticket.openid == openid, Ticket.status.in_(("submitted", "accepted", "assigned", "in_progress",
                                                        "on_hold"))).order_by(Ticket.id.desc()))
        return [(r[0], r[1], r[2]) for r in rows]
