"""gunicorn as production runs it (``-c deploy/gunicorn.conf.py``), on a loopback port.

The bench measures the served app, so it starts gunicorn with the project's own settings and sets
only the bind address and the worker count, through the environment that the config reads.  Every
server started here is stopped on the way out, whatever happens.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

from .machine import children_of
from .settings import GUNICORN_CONF, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """`gunicorn -c deploy/gunicorn.conf.py APP` on a loopback port; stopped on exit, whatever happens."""

    running: ClassVar[list[Gunicorn]] = []

    def __init__(self, app: str, workers: int | None, env: dict[str, str], log_path: Path) -> None:
        self.app = app
        self.port = free_port()
        self.env = {**os.environ, **env, "REPAIRBOT_BIND": f"127.0.0.1:{self.port}"}
        if workers is not None:
            self.env["REPAIRBOT_WORKERS"] = str(workers)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_s: float = 60.0) -> None:
        with open(self.log_path, "ab") as log:
            # A process group of its own: Ctrl-C in the terminal reaches us, and we stop it properly.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), self.app],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                process_group=0)
        Gunicorn.running.append(self)
        self._wait_healthy(self.proc, wait_s)

    def _wait_healthy(self, proc: subprocess.Popen[bytes], wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        last = ""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn {self.app} exited with {proc.returncode}:\n{self.log_tail()}")
            try:
                status, body = self.request("/healthz", timeout=5)
                if status == 200:
                    return
                last = f"{status} {body[:200]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.app} not healthy after {wait_s:.0f} s ({last}):\n{self.log_tail()}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def workers(self) -> list[int]:
        return children_of(self.pid)

    def request(self, path: str, timeout: float) -> tuple[int, bytes]:
        """GET `path`: (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def get(self, path: str) -> bytes:
        return self.request(path, timeout=30)[1]

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # graceful: workers finish their request and exit
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        # Anything left in its process group (the group id is the pid we started).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if self in Gunicorn.running:
            Gunicorn.running.remove(self)
        self.proc = None

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    @classmethod
    def stop_all(cls) -> None:
        for g in list(cls.running):
            g.stop()
