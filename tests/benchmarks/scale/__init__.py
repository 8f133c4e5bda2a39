"""The figures of `make bench-scale`: each a function in a module of this package, registered by ``@figure``.

A module here measures one part (pushes.py: pushes at real latency; the data at scale its own) and registers
each figure with its unit and bar.  ``tests/benchmarks/bench_scale.py`` imports every module of the package,
runs the figures in the order they were registered (or those named with ``--only``) and ends with one line
per figure::

    scale: notice_30k_s 41.2 s bar <= 60 ok

(``SHORT`` in place of ``ok`` when the bar is missed, or when measuring failed), exiting 1 if any is SHORT.

A figure function takes the run's ``Scale`` (the size from ``SCALE_TICKETS``, and a place to keep what two
figures of one module measure together) and returns its value.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge, "<": operator.lt,
                                                  ">": operator.gt}


@dataclass
class Scale:
    """What every figure may read: the size of the data, and what the figures of one module share."""

    tickets: int = field(default_factory=lambda: int(os.environ.get("SCALE_TICKETS") or 1_000_000))
    shared: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, measure: Callable[[], Any]) -> Any:
        """Measure something once per run, for every figure that reads it."""
        if key not in self.shared:
            self.shared[key] = measure()
        return self.shared[key]


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    op: str
    limit: float
    measure: Callable[[Scale], float]
    digits: int = 1

    def line(self, value: float | None) -> str:
        """The report's line for a value (None: it could not be measured)."""
        shown = "failed" if value is None else f"{value:.{self.digits}f}"
        ok = value is not None and OPS[self.op](value, self.limit)
        return f"scale: {self.name} {shown} {self.unit} bar {self.op} {self.limit:g} {'ok' if ok else 'SHORT'}"


FIGURES: dict[str, Figure] = {}


def figure(name: str, unit: str, op: str, limit: float, digits: int = 1) -> Callable[[Callable[[Scale], float]],
                                                                                     Callable[[Scale], float]]:
    """Register a figure function under its name, with its unit and bar (`op` one of <=, >=, <, >)."""
    if op not in OPS:
        raise ValueError(f"unknown comparison {op!r}")

    def register(measure: Callable[[Scale], float]) -> Callable[[Scale], float]:
        FIGURES[name] = Figure(name, unit, op, limit, measure, digits)
        return measure

    return register
