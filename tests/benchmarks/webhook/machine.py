"""Who used the machine's CPU: the bench, gunicorn, Redis, PostgreSQL, or other programs.

Figures from a small shared machine are worth keeping only if nothing else ran meanwhile.  This
module reads /proc (no extra dependency) to charge the CPU of a window to each party, waits for
the machine to go quiet before a phase, and can give the bench's session more CPU weight.
"""

from __future__ import annotations

import os
import time

from .settings import REDIS_PORT

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read(pid: int, name: str) -> bytes | None:
    """/proc/PID/NAME, or None if the process is gone (or not ours to read)."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return None


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None if it is gone."""
    raw = _read(pid, "stat")
    if raw is None:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def children_of(parent: int | None) -> list[int]:
    """The pids whose parent is `parent`."""
    return [pid for pid in _pids() if (st := proc_stat(pid)) and st[0] == parent]


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _comm(pid: int) -> str:
    return (_read(pid, "comm") or b"").decode(errors="replace").strip()


def _is_our_redis(pid: int) -> bool:
    """The Redis server the bench talks to (not the test suite's embedded ones)."""
    return f":{REDIS_PORT}".encode() in (_read(pid, "cmdline") or b"")


def _machine_ticks() -> tuple[int, int]:
    """(All CPU ticks of the machine, the idle and iowait ones among them) so far."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    return sum(vals), vals[3] + vals[4]


def cpu_snapshot(gunicorn_pid: int | None) -> dict[str, float]:
    """CPU seconds so far: this process, the gunicorn tree, redis-server, postgres, the machine."""
    snap = {"generator": time.process_time(), "gunicorn": 0.0, "redis": 0.0, "postgres": 0.0}
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for pid in _pids():
        st = proc_stat(pid)
        if st is None:
            continue
        parents[pid], cpu[pid] = st
        comm = _comm(pid)
        if comm.startswith("redis-server") and _is_our_redis(pid):
            snap["redis"] += st[1]
        elif comm == "postgres" or comm.startswith("postgres:"):
            snap["postgres"] += st[1]
    if gunicorn_pid is not None:
        snap["gunicorn"] = cpu.get(gunicorn_pid, 0.0) + sum(c for p, c in cpu.items()
                                                           if parents.get(p) == gunicorn_pid)
    total, idle = _machine_ticks()
    snap["machine_busy"] = (total - idle) / CLK_TCK
    snap["wall"] = time.perf_counter()
    return snap


def cpu_delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """CPU used between two snapshots, in cores (1.0 = one core busy all the time)."""
    wall = b["wall"] - a["wall"]
    d = {k: (b[k] - a[k]) / wall for k in a if k != "wall"}
    d["other"] = max(0.0, d["machine_busy"] - d["generator"] - d["gunicorn"] - d["redis"] - d["postgres"])
    return d


def machine_busy(seconds: float = 1.0) -> float:
    """Cores busy on the whole machine over a short sample."""
    t0, i0 = _machine_ticks()
    time.sleep(seconds)
    t1, i1 = _machine_ticks()
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(1, t1 - t0))


def wait_until_quiet(max_wait_s: float, threshold: float = 0.3) -> float:
    """Wait (up to max_wait_s) until other programs leave the CPU alone; return the last busy sample."""
    deadline = time.monotonic() + max_wait_s
    busy = machine_busy()
    if busy > threshold and max_wait_s > 0:
        print(f"  (machine busy with {busy:.1f} cores of other work: waiting up to {max_wait_s:.0f} s)",
              flush=True)
    while busy > threshold and time.monotonic() < deadline:
        busy = machine_busy()
    return busy


def set_priority(nice: int) -> None:
    """Weigh the bench and its gunicorns (same session) against other programs on a shared machine.

    With autogroup scheduling (the Linux default) a process's nice value counts only within its
    session; the session's own weight is set through /proc/self/autogroup.
    """
    os.setpriority(os.PRIO_PROCESS, 0, nice)  # inherited by the gunicorns started below
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:
        pass
