"""Data at scale (issue 16): the figures of tests/benchmarks/scale_data.py in `make bench-scale`'s report.

The database (``SCALE_DATA_URL``, default a ``repairbot_scale`` database on the local PostgreSQL) is seeded once
with ``SCALE_TICKETS`` tickets (tests/benchmarks/seed_scale.py) unless it already holds that many; each part
(in-process reads, the console under 10 staff, the dialog full vs empty) is measured once, for all its figures.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tests.benchmarks import scale_data
from tests.benchmarks.scale import Scale, figure

URL = os.environ.get("SCALE_DATA_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/repairbot_scale"
# Which part of scale_data measures each figure, with its unit and bar.
FIGURES = {
    "dialog_ratio_full_vs_empty": ("dialog", "x", ">=", 0.9),
    "my_tickets_p99_ms": ("inproc", "ms", "<=", 5.0),
    "duplicate_check_p99_ms": ("inproc", "ms", "<=", 5.0),
    "filing_p99_ms": ("inproc", "ms", "<=", 5.0),
    "console_queue_p95_ms": ("console", "ms", "<=", 200.0),
    "console_search_p95_ms": ("console", "ms", "<=", 200.0),
    "ticket_page_p95_ms": ("console", "ms", "<=", 200.0),
}


def _measure(name: str, part: str) -> Callable[[Scale], float]:
    def measure(run: Scale) -> float:
        found = run.once(f"data:{part}", lambda: scale_data.figures(URL, run.tickets, (part,)))
        return next(value for fig, value, *_ in found if fig == name)
    return measure


for _name, (_part, _unit, _op, _limit) in FIGURES.items():
    figure(_name, _unit, _op, _limit, digits=2)(_measure(_name, _part))
