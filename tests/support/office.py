"""A small, known history of the office's month, for the ledger's and the statistics' tests.

Tickets are filed through the model (tests/support/tickets.py) and then given their stage times, rating,
overdue records and return visits straight in the rows — as the SLA sweep, the return-visit page and the
rating would have left them — so that every figure of March 2026 can be worked out by hand:

- A, DORM, 学生公寓12栋 5楼 502, 给水: filed 03-02 09:00 (China time); accepted +1 h, assigned +2 h to 李师傅,
  completed +10 h; rated 5.
- B, DORM, 学生公寓12栋 5楼 503, 给水: filed 03-10 09:00; accepted +3 h, assigned +4 h to 李师傅, completed +54 h;
  rated 2 (太慢了); overdue at 受理 (held by 王调度) and 完成 (李师傅); return visit 不满意; reworked once.
- C, DORM, 学生公寓1栋 2楼 201, 照明: filed 03-15 10:00; accepted +0.5 h, assigned +1 h to 孙师傅, completed +5 h;
  rated 4.
- D, JIANPAN, 箭盘校区 第一教学楼 1楼 101, 门窗: filed 03-20 08:00, urgent; accepted +1 h, assigned +1.5 h to 钱师傅;
  in progress.
- E, DORM, 学生公寓12栋 5楼 502, 给水: filed 04-05 09:00 (outside March); completed, rated 5.

A and B are from 张三 (card 20260001, phone 13800000001).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from core.services import Services
from models.backoffice import Overdue, ReturnVisit
from models.people import bind, find_person, get_staff
from models.rollup import rebuild
from models.tickets import Ticket
from tests.support.constants import DORM, JIANPAN
from tests.support.people import CONSOLE_STAFF, seed_staff
from tests.support.tickets import add_ticket

CHINA = ZoneInfo("Asia/Shanghai")
MARCH = ("2026-03-01", "2026-03-31")
REPORTER_CARD, REPORTER_PHONE, REPORTER_ID_DIGITS = "20260001", "13800000001", "12345X"


def china(month: int, day: int, hour: float) -> datetime:
    whole = int(hour)
    return datetime(2026, month, day, whole, int((hour - whole) * 60), tzinfo=CHINA).astimezone(UTC)


@dataclass(frozen=True)
class Made:
    key: str
    category: str
    place: dict[str, Any]
    filed: datetime
    accept_h: float | None = None
    assign_h: float | None = None
    worker: str | None = None
    complete_h: float | None = None
    rating: int | None = None
    status: str = "closed"
    urgent: bool = False
    reworks: int = 0


DORM_502 = {"campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "room": "502", "group": "给水",
            "item": "水龙头"}
HISTORY = (
    Made("A", DORM, DORM_502, china(3, 2, 9), 1, 2, "李师傅", 10, 5),
    Made("B", DORM, {**DORM_502, "room": "503"}, china(3, 10, 9), 3, 4, "李师傅", 54, 2, reworks=1),
    Made("C", DORM, {"campus": "东环校区", "building": "学生公寓1栋", "floor": "2", "room": "201", "group": "照明",
                     "item": "灯管"}, china(3, 15, 10), 0.5, 1, "孙师傅", 5, 4),
    Made("D", JIANPAN, {"campus": "箭盘校区", "building": "第一教学楼", "floor": "1", "room": "101", "group": "门窗",
                        "item": "门锁"}, china(3, 20, 8), 1, 1.5, "钱师傅", status="in_progress", urgent=True),
    Made("E", DORM, DORM_502, china(4, 5, 9), 1, 2, "李师傅", 6, 5),
)


def office_history(services: Services) -> dict[str, str]:
    """The console's staff (CONSOLE_STAFF) and the month above; returns each ticket's number by key."""
    seed_staff(services, CONSOLE_STAFF)
    numbers: dict[str, str] = {}
    with services.db.session() as s:
        person = find_person(s, REPORTER_CARD)
        assert person is not None, "the test roster has 张三"
        bind(s, "o-zhangsan", person)
        for made in HISTORY:
            openid = "o-zhangsan" if made.key in "AB" else f"o-reporter-{made.key}"
            t = add_ticket(s, openid, category=made.category, phone=REPORTER_PHONE,
                           person_id=person.id if made.key in "AB" else None,
                           priority="urgent" if made.urgent else "normal", **made.place)
            s.execute(update(Ticket).where(Ticket.id == t.id).values(**_stages(s, made)))
            numbers[made.key] = t.no
            _records(s, t.id, made)
    rebuild(services.db.engine)  # the stage times went in around the ticket rules
    return numbers


def _at(made: Made, hours: float | None) -> datetime | None:
    return None if hours is None else made.filed + timedelta(hours=hours)


def _stages(s: Any, made: Made) -> dict[str, Any]:
    completed = _at(made, made.complete_h)
    return {"created_at": made.filed, "status": made.status, "accepted_at": _at(made, made.accept_h),
            "accepted_by": "staff:王调度" if made.category == DORM else "staff:赵调度",
            "assigned_at": _at(made, made.assign_h), "completed_at": completed,
            "worker_id": get_staff(s, made.worker).id if made.worker else None, "rating": made.rating,
            "rating_comment": "太慢了" if made.rating == 2 else None, "reworks": made.reworks,
            "closed_at": completed + timedelta(hours=1) if completed else None,
            "close_reason": "rated" if made.rating else None}


def _records(s: Any, ticket_id: int, made: Made) -> None:
    """B's overdue stages (the dispatcher at acceptance, the worker at completion) and its return visit."""
    if made.key != "B":
        return
    s.add(Overdue(ticket_id=ticket_id, stage="accept", round=0, due_at=made.filed + timedelta(hours=2),
                  at=made.filed + timedelta(hours=2, minutes=5), holder="王调度",
                  holder_id=get_staff(s, "王调度").id, category=DORM))
    s.add(Overdue(ticket_id=ticket_id, stage="complete", round=0, due_at=made.filed + timedelta(hours=52),
                  at=made.filed + timedelta(hours=52, minutes=5), holder="李师傅",
                  holder_id=get_staff(s, "李师傅").id, category=DORM))
    s.add(ReturnVisit(ticket_id=ticket_id, outcome="unsatisfied", note="等太久", by="staff:王调度",
                      at=made.filed + timedelta(days=3)))
    s.flush()
