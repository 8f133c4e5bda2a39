"""What the bench prints about each phase and configuration, and the bar the best one must meet.

The summary line per configuration is the figure people compare between runs; it lives here with
the longer per-phase lines, so that the wording of all of them stays in one place.
"""

from __future__ import annotations

import os

from .phases import PhaseResult
from .settings import REDIS_URL

BAR_RATE = 800.0
BAR_P99_MS = 50.0

Config = tuple[PhaseResult, dict[str, PhaseResult]]  # the dialog phase and its yardsticks, by name


def fmt_ms(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def describe(r: PhaseResult) -> str:
    return (f"{r.rate:.0f} msg/s p50 {fmt_ms(r.p(0.50))} ms p95 {fmt_ms(r.p(0.95))} ms p99 {fmt_ms(r.p(0.99))} ms "
            f"errors {r.window.errors}")


def cpu_text(r: PhaseResult) -> str:
    c = r.window.cpu
    return (f"gunicorn {c.get('gunicorn', 0):.2f} cores ({r.server_ms_per_msg:.2f} ms/msg), "
            f"redis {c.get('redis', 0):.2f}, postgres {c.get('postgres', 0):.2f}, "
            f"generator {c.get('generator', 0):.2f}, other programs {c.get('other', 0):.2f}, "
            f"machine busy {c.get('machine_busy', 0):.2f} of {os.cpu_count()}")


def meets_bar(r: PhaseResult) -> bool:
    return r.rate >= BAR_RATE and r.p(0.99) < BAR_P99_MS and r.window.errors == 0


def summary_line(dialog: PhaseResult, sticks: dict[str, PhaseResult]) -> str:
    echo = sticks["echo"]
    ratio = dialog.rate / echo.rate if echo.rate else float("nan")
    others = "".join(f" | {name}: {r.rate:.0f} msg/s" for name, r in sticks.items() if name != "echo")
    gen = max(dialog.window.cpu.get("generator", 0), echo.window.cpu.get("generator", 0))
    other = max(r.window.cpu.get("other", 0) for r in (dialog, *sticks.values()))
    return (f"workers {dialog.workers}: dialog: {dialog.rate:.0f} msg/s p50 {fmt_ms(dialog.p(0.5))} ms "
            f"p99 {fmt_ms(dialog.p(0.99))} ms errors {dialog.window.errors} db_turns {dialog.db_share:.1%} | "
            f"echo: {echo.rate:.0f} msg/s{others} | ratio {ratio:.2f} | generator cpu "
            f"{dialog.window.cpu.get('generator', 0):.0%} (dialog) / {gen:.0%} (max) of one core"
            + (f" | DISTURBED: other programs used {other:.1f} cores" if other > 0.2 else ""))


def print_verdict(configs: list[Config]) -> bool:
    """All the summary lines again, and whether the best configuration meets the bar."""
    best, _ = max(configs, key=lambda c: (meets_bar(c[0]), c[0].rate))
    print("\n" + "=" * 100)
    for dialog, sticks in configs:
        print(summary_line(dialog, sticks))
    ok = meets_bar(best)
    print(f"best: {best.workers} workers -> {'PASS' if ok else 'FAIL'} "
          f"(bar: >= {BAR_RATE:.0f} msg/s, p99 < {BAR_P99_MS:.0f} ms, 0 errors)")
    return ok


def print_dialog(dialog: PhaseResult) -> None:
    w = dialog.window
    x = dialog.extra
    print(f"\n--- gunicorn workers {dialog.workers} ---")
    print(f"dialog: {describe(dialog)}; warm-up {w.warmup_s:.1f} s; {w.total_messages} messages in the phase, "
          f"{w.filed} tickets filed (database: {x.get('tickets_db')})")
    print(f"  database turns {dialog.db_share:.1%} of messages (p50 {fmt_ms(dialog.p(0.5, True))} ms, "
          f"p99 {fmt_ms(dialog.p(0.99, True))} ms); PostgreSQL transactions per message "
          f"{x.get('pg_xacts_per_msg', 0):.3f}")
    _print_redis_commands(dialog)
    print(f"  cpu: {cpu_text(dialog)}")
    print_errors(dialog)


def _print_redis_commands(dialog: PhaseResult) -> None:
    """Per message: what MONITOR saw on the bench's db after the window, and the server-wide counts."""
    x = dialog.extra
    if x.get("monitor_msgs"):
        print(f"  Redis commands per message on db {REDIS_URL.rsplit('/', 1)[-1]} (MONITOR over "
              f"{x['monitor_msgs']} messages after the window): {x['monitor_cmds_per_msg']:.2f}: "
              + ", ".join(f"{k} {v:.2f}" for k, v in list(x["monitor_cmds"].items())[:14])
              + (f"; other dbs meanwhile: {x['monitor_other_dbs']} commands" if x["monitor_other_dbs"] else ""))
    total = max(1, dialog.window.total_messages)
    print(f"  Redis commands per message, server-wide INFO commandstats (other clients count too): "
          f"{x.get('redis_cmds_per_msg', 0):.2f}: "
          + ", ".join(f"{k} {v / total:.2f}" for k, v in list(x.get("redis_cmds", {}).items())[:12]))


def print_yardstick(r: PhaseResult) -> None:
    print(f"{r.name}: {describe(r)}; cpu: {cpu_text(r)}")
    print_errors(r)


def print_errors(r: PhaseResult) -> None:
    for why, count in r.window.error_samples.most_common(5):
        print(f"  [{r.name}] {count} x {why}")
