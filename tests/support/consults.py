"""One way to make a 网上咨询 (a complaint or a suggestion) in a test.

Filed through the model (`create_consult`) as the consult dialog would file it; by default from a bound
user (李四's card), as a 投诉 to the 饮食服务中心 about salty food.  `card_no=None` files it from an
unbound user.  Filing one through the chat is tested in tests/test_consult_dialog.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from core.services import Services
from models.consult import Consult, NewConsult, create_consult, reply_consult
from models.people import bind, ensure_user, find_person
from tests.support.constants import FOOD


def make_consult(services: Services, *, department: str = FOOD, kind: str = "投诉", title: str = "二食堂饭菜偏咸",
                 description: str = "最近一周二食堂的青菜和汤都特别咸", suggestion: str | None = "希望少放点盐",
                 anonymous: bool = False, openid: str = "o-sender", card_no: str | None = "20260002",
                 status: str | None = None, age: timedelta | None = None, reply: str | None = None,
                 replied_by: str = "staff:admin") -> str:
    """File a consult and return its number.

    card_no: the roster card the sender is bound to (None: an unbound sender).
    reply: a staff reply recorded on it (it is then `replied`).  status: written straight into the row.
    age: how long ago it was filed.
    """
    with services.db.session() as s:
        person_id = None
        if card_no:
            person = find_person(s, card_no)
            assert person is not None, f"no card {card_no} in the roster"
            bind(s, openid, person)
            person_id = person.id
        else:
            ensure_user(s, openid)
        c = create_consult(s, NewConsult(openid, person_id, title, kind, department, description, suggestion,
                                         anonymous))
        if reply:
            reply_consult(s, c, reply, by=replied_by)
        values: dict[str, Any] = {}
        if status:
            values["status"] = status
        if age is not None:
            values["created_at"] = datetime.now(UTC) - age
        if values:
            s.execute(update(Consult).where(Consult.id == c.id).values(**values))
        return c.no
