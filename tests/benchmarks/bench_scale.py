#!/usr/bin/env python
"""`make bench-scale`: every figure of issue 16, each line `scale: NAME VALUE UNIT bar OP LIMIT ok|SHORT`.

    python -m tests.benchmarks.bench_scale [--only notice_30k_s,push_cpu_ms] [--list]

The figures are the functions registered in the modules of tests/benchmarks/scale/ (see its __init__); the
size of the data comes from SCALE_TICKETS (default 1000000).  What each figure measures and the setup it
needs (databases, the loopback WeChat, worker processes) is in its own module.  Progress goes to stderr as
it comes; the report lines come last, one per figure.  Exits 1 when any figure is SHORT.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks import scale  # noqa: E402  (after the path is set, for a run as a script)


def load_figures() -> dict[str, scale.Figure]:
    """Import every module of the package, which registers its figures."""
    for module in pkgutil.iter_modules(scale.__path__):
        importlib.import_module(f"{scale.__name__}.{module.name}")
    return scale.FIGURES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the figures at scale (issue 16)")
    parser.add_argument("--only", default="", help="comma-separated figure names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the figures and their bars")
    args = parser.parse_args(argv)
    figures = load_figures()
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(figures)
    unknown = [n for n in chosen if n not in figures]
    if unknown:
        parser.error(f"unknown figures: {', '.join(unknown)} (known: {', '.join(figures)})")
    if args.list:
        for name in chosen:
            f = figures[name]
            print(f"{name}: {f.unit}, bar {f.op} {f.limit:g}")
        return 0
    run = scale.Scale()
    lines = [_measure(figures[name], run) for name in chosen]
    print("\n".join(lines), flush=True)
    return 1 if any(line.endswith("SHORT") for line in lines) else 0


def _measure(fig: scale.Figure, run: scale.Scale) -> str:
    start = time.perf_counter()
    try:
        value: float | None = fig.measure(run)
    except Exception:
        traceback.print_exc()
        value = None
    line = fig.line(value)
    print(f"[{time.perf_counter() - start:.0f}s] {line}", file=sys.stderr, flush=True)
    return line


if __name__ == "__main__":
    sys.exit(main())
