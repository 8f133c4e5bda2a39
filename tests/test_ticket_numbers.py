"""Ticket numbers when the day's first two tickets are filed at the same moment: both get one, in turn.

Found by the soak (`make soak`): each filing found no counter for the day and created it; the one that came
second was told the counter existed, and its whole transaction was lost — the student was told 系统有点忙.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from core.services import Services
from models.tickets import _START, next_number


def test_the_days_first_two_numbers_at_once(services: Services) -> None:
    if not services.db.url.startswith("postgresql"):
        pytest.skip("two transactions at once need a database server (REPAIRBOT_TEST_DATABASE_URL)")
    with services.db.session() as s:
        conn = s.connection()
        other_first: dict[str, Any] = {}

        @event.listens_for(conn, "after_cursor_execute")
        def another_filing_creates_the_counter(conn_: Any, cursor: Any, statement: str, params: Any,
                                               *args: Any) -> None:
            """Right after this filing found no counter, another filing creates it and commits."""
            if statement.startswith("UPDATE counters") and not other_first:
                other_first["counter"] = params["counter"]
                with services.db.engine.begin() as other:
                    other.execute(_START, {"counter": params["counter"]})

        number = next_number(s)
        s.commit()
    assert other_first and number.endswith("002")
