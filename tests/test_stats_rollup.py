"""The statistics' roll-up kept by the ticket rules: after filing, moves, a rework, a rating and an SLA sweep
its rows are what adding up every ticket from scratch gives (``repairbot stats rebuild``), and the figures
read from it say what happened."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from click.testing import Result
from sqlalchemy import select

from core.actions import move_ticket, rate, rework
from core.services import Services
from models.clock import local, now
from models.rollup import ROLLUP
from tests.support.sla import short_limits
from tests.support.tickets import REPORTER, make_ticket
from workers.sla import run_sla_sweep

HOUR = "1h"


def rollup_rows(services: Services) -> dict[tuple[str, ...], tuple[int, int]]:
    r = ROLLUP.c
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(r.grain, r.period, r.category, r.dim, r.k1, r.k2, r.k3, r.k4, r.n, r.total))
        return {tuple(row[:8]): (row.n, row.total) for row in rows if row.n or row.total}


def test_the_rules_keep_the_roll_up_as_a_rebuild_makes_it(services: Services, cli: Callable[..., Result]) -> None:
    short_limits(services, {"accept": "1s", "assign": HOUR, "complete": HOUR})
    make_ticket(services, "o-late", building="学生公寓3栋")
    done = make_ticket(services, moved_to="completed")
    again = make_ticket(services, "o-again", moved_to="completed", room="508")  # same floor and group: a repeat
    make_ticket(services, "o-other", moved_to="assigned", floor="6", room="601")
    rate(services, done, REPORTER, 4)
    rework(services, again, "o-again", "还是漏水")
    move_ticket(services, again, "assigned", by="staff:王调度", worker="刘师傅")
    move_ticket(services, again, "completed", by="staff:王调度", note="换了阀芯")
    time.sleep(1.2)  # past the one-second limit to accept
    run_sla_sweep(services)
    kept = rollup_rows(services)
    assert cli("stats", "rebuild").exit_code == 0
    assert rollup_rows(services) == kept

    day = local(now()).date().isoformat()
    f = json.loads(cli("stats", "--from", day, "--to", day, "--json").output)
    assert f["tickets"] == 4 and f["by_status"] == {"closed": 1, "completed": 1, "assigned": 1, "submitted": 1}
    assert f["overdue_by_stage"]["accept"]["tickets"] == 1 and f["rating_avg"] == 4.0
    assert f["by_worker"][0]["worker"] == "刘师傅" and f["by_worker"][0]["reworks"] == 1
    assert [(s["floor"], s["tickets"], s["repeats"]) for s in f["hot_spots"]] == [("5", 2, 1)]
    assert f["complete_p50_h"] is not None
