"""The profiled app, which gunicorn imports in ``--profile`` runs, and the profilers inside it.

``gunicorn ... tests.benchmarks.webhook.profiling:profiled_app`` serves the real app wrapped so that
a request to ``PROFILE_START_PATH`` (sent after the warm-up) starts cProfile or a SIGPROF sampler in
the worker, and one to ``PROFILE_DUMP_PATH`` stops it and hands back what it saw.  This module runs
inside the worker; ``profile_report`` reads the results in the bench.  It imports nothing of the
bench's load side, so that the worker carries only what it needs.
"""

from __future__ import annotations

import collections
import cProfile
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from .settings import PROFILE_DUMP_PATH, PROFILE_START_PATH, ROOT

PROJECT_PACKAGES = ("bot/", "dialogs/", "models/", "workers/")


def package_of(filename: str) -> str:
    """The package a code file belongs to: a library, a project folder, a stdlib module or builtins."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    root = str(ROOT) + "/"
    if filename.startswith(root):
        rel = filename[len(root):]
        return rel.split("/", 1)[0] + "/" if "/" in rel else rel
    if "/lib/python3" in filename:
        mod = filename.split("/lib/python3", 1)[1].split("/", 1)[-1]  # e.g. json/encoder.py, socket.py
        return "stdlib:" + mod.split("/", 1)[0].removesuffix(".py")
    return filename


class _Sampler:
    """A statistical profiler driven by the process's CPU clock (SIGPROF), for the worker's main thread.

    cProfile's per-call cost inflates code that makes many small calls; sampling does not.  Every
    `interval` seconds of CPU (user + system) the kernel sends SIGPROF; Python runs the handler in
    the main thread at the next bytecode boundary (after a system call or C function returns), with
    the frame that was running, so each sample stands for the same amount of CPU.  Waiting for
    Redis or PostgreSQL uses no CPU and draws no samples.  (The kernel checks CPU timers on its
    clock tick, so there are fewer samples than 1 per interval; the shares are what count, and
    the report scales them by the CPU the worker really used.)
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.own: dict[tuple[str, int, str], int] = collections.defaultdict(int)
        self.inclusive: dict[tuple[str, int, str], int] = collections.defaultdict(int)
        self.layers: dict[str, int] = collections.defaultdict(int)
        self._packages: dict[str, str] = {}
        self.samples = 0

    def start(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_IGN)

    def _package(self, filename: str) -> str:
        pkg = self._packages.get(filename)
        if pkg is None:
            pkg = self._packages[filename] = package_of(filename)
        return pkg

    def _sample(self, signum: int, frame: Any) -> None:
        self.samples += 1
        seen = set()
        files: list[str] = []
        while frame is not None:
            code = frame.f_code
            key = (code.co_filename, code.co_firstlineno, code.co_name)
            if not files:
                self.own[key] += 1
            if key not in seen:
                seen.add(key)
                self.inclusive[key] += 1
            files.append(code.co_filename)
            frame = frame.f_back
        self.layers[self._layer(files)] += 1

    def _layer(self, files: list[str]) -> str:
        """Charge a sample to the project's own code, or to the library the project code called."""
        for i, filename in enumerate(files):
            if self._package(filename) in PROJECT_PACKAGES:
                return "project code" if i == 0 else "called by project: " + self._package(files[i - 1])
        for filename in files:
            if "site-packages/" in filename:
                return "outside project code: " + self._package(filename)
        return "outside project code: other"

    def dump(self) -> dict[str, Any]:
        return {"samples": self.samples, "layers": dict(self.layers),
                "own": [[*k, v] for k, v in sorted(self.own.items(), key=lambda kv: -kv[1])[:400]],
                "inclusive": [[*k, v] for k, v in sorted(self.inclusive.items(), key=lambda kv: -kv[1])[:600]]}


class _ProfiledApp:
    """Wrap the real WSGI app; once told to start, profile the whole worker (gunicorn's part too)."""

    def __init__(self, app: Any, out: str, mode: str, timer: str) -> None:
        self.app = app
        self.out = out
        self.mode = mode
        self.timer = time.process_time if timer == "cpu" else time.perf_counter
        self.prof: cProfile.Profile | None = None
        self.sampler: _Sampler | None = None
        self.on = False
        self.messages = 0
        self.db_turns = 0
        self.wall = 0.0
        self.cpu = 0.0
        self._count_db_turns(app.extensions["repairbot.conversations"].services.db)

    def _count_db_turns(self, db: Any) -> None:
        make = db.sessionmaker

        def counting() -> Any:
            # Conversations.answer reads services.db.sessionmaker per message; a call is a database turn.
            if self.on:
                self.db_turns += 1
            return make()

        db.sessionmaker = counting

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == PROFILE_START_PATH:
            return _reply(start_response, self.start())
        if path == PROFILE_DUMP_PATH:
            return _reply(start_response, self.dump())
        if path == "/wechat" and self.on:
            self.messages += 1
        return self.app(environ, start_response)

    def start(self) -> dict[str, Any]:
        self.messages = self.db_turns = 0
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.on = True
        if self.mode == "sample":
            self.sampler = _Sampler()
            self.sampler.start()
        else:
            self.prof = cProfile.Profile(self.timer)
            self.prof.enable()  # stays on: gunicorn's parsing, logging and socket work are profiled too
        return {"started": True}

    def dump(self) -> dict[str, Any]:
        """Stop profiling; the counts, the samples, and (for cProfile) the stats written to `out`."""
        if not self.on:
            return {"messages": 0}
        self.on = False
        doc: dict[str, Any] = {"messages": self.messages, "db_turns": self.db_turns,
                               "wall_s": time.perf_counter() - self.wall, "cpu_s": time.process_time() - self.cpu,
                               "mode": self.mode, "timer": "cpu" if self.timer is time.process_time else "wall"}
        if self.prof is not None:
            self.prof.disable()
            self.prof.dump_stats(self.out)
            self.prof = None
        if self.sampler is not None:
            self.sampler.stop()
            doc["sampled"] = self.sampler.dump()
            self.sampler = None
        return doc


def _reply(start_response: Callable[..., Any], doc: dict[str, Any]) -> list[bytes]:
    body = json.dumps(doc).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def __getattr__(name: str) -> Any:
    # `gunicorn ... tests.benchmarks.webhook.profiling:profiled_app` builds the real app only when asked.
    if name == "profiled_app":
        from bot.wsgi import app

        wrapped = _ProfiledApp(app, os.environ["BENCH_PROFILE_OUT"], os.environ.get("BENCH_PROFILE_MODE", "cprofile"),
                               os.environ.get("BENCH_PROFILE_TIMER", "cpu"))
        globals()["profiled_app"] = wrapped
        return wrapped
    raise AttributeError(name)
