"""An installation spread over several machines, started by the tests on this one: webhook nodes (gunicorn with
deploy/gunicorn.conf.py) and worker nodes (`repairbot worker`), each from an instance folder of its own, and
Redis servers with a Sentinel on free loopback ports; plus a WeChat user whose messages go round-robin.

Every process gets its settings through the environment only, as on a server (tests/support/cli.py's
`environment`), and runs in its own folder so that no stray .env is read.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import redis
import requests

from devtools.chat import Answer, Request, WeChatUser
from tests.support.constants import AES_KEY, APPID, ROOT, TOKEN
from tests.support.http import eventually

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
SENTINEL_SERVICE = "repairbot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def has_redis_server() -> bool:
    return shutil.which("redis-server") is not None


def _start(args: list[str], folder: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A process of the installation, logging into its folder (read it when a test fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REPAIRBOT_", "WECHAT_"))}
    full = {**clean, **env, "PYTHONPATH": str(ROOT)}
    log = (folder / "process.log").open("ab")
    return subprocess.Popen(args, cwd=folder, env=full, stdout=log, stderr=subprocess.STDOUT)


def _stop(procs: list[subprocess.Popen[bytes]], within_s: float) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=within_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


@contextlib.contextmanager
def running(*procs: subprocess.Popen[bytes], stop_within_s: float = 20) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The processes for the block; then SIGTERM, and SIGKILL for any still there after stop_within_s."""
    try:
        yield list(procs)
    finally:
        _stop(list(procs), stop_within_s)


def healthy(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def web_node(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """A webhook node: gunicorn as deployed (one worker process here); return it and its base URL."""
    port = free_port()
    node_env = {**env, "REPAIRBOT_INSTANCE_PATH": str(folder / "instance"), "REPAIRBOT_BIND": f"127.0.0.1:{port}",
                "REPAIRBOT_WORKERS": "1"}
    # No control socket: its default path (~/.gunicorn/gunicorn.ctl) is one for every gunicorn of the user.
    proc = _start([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--no-control-socket", "bot.wsgi:app"],
                  folder, node_env)
    return proc, f"http://127.0.0.1:{port}"


def worker_node(folder: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A worker node: `repairbot worker`, as the systemd unit runs it."""
    return _start([sys.executable, "-m", "bot", "worker"], folder,
                  {**env, "REPAIRBOT_INSTANCE_PATH": str(folder / "instance")})


def wait_healthy(urls: list[str], procs: list[subprocess.Popen[bytes]], folder: Path) -> None:
    for url in urls:
        if not eventually(lambda u=url: healthy(u), 90):
            logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in folder.rglob("process.log"))
            raise AssertionError(f"{url} did not come up; exit codes {[p.poll() for p in procs]}\n{logs}")


# -- Redis with a Sentinel ----------------------------------------------------------------------------------

def redis_node(folder: Path, *, replica_of: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server on a free loopback port, keeping nothing on disk; optionally a replica of another."""
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", "",
            "--appendonly", "no"]
    if replica_of is not None:
        args += ["--replicaof", "127.0.0.1", str(replica_of)]
    proc = _start(args, folder, {})
    assert eventually(lambda: _pings(port), 10), f"redis-server on {port} did not start"
    return proc, port


def sentinel_node(folder: Path, primary_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """A Sentinel watching the primary as service `repairbot` (quorum 1: it is the only one here)."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "sentinel.conf"  # Sentinel rewrites its configuration file: it must be its own
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                    f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {primary_port} 1\n"
                    f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 1000\n"
                    f"sentinel failover-timeout {SENTINEL_SERVICE} 10000\n")
    proc = _start(["redis-server", str(conf), "--sentinel"], folder, {})
    assert eventually(lambda: _pings(port), 10), f"sentinel on {port} did not start"
    return proc, port


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def primary_port(sentinel_port: int) -> int:
    """The port of the primary the Sentinel names now."""
    host_port = redis.Redis(port=sentinel_port, decode_responses=True).sentinel_get_master_addr_by_name(
        SENTINEL_SERVICE)
    return int(host_port[1])


# -- a user behind a round-robin --------------------------------------------------------------------------------

class HoppingUser(WeChatUser):
    """A WeChat user whose every message goes to the next webhook node in turn, as a round-robin balancer
    sends them: a dialog's consecutive steps are answered by different processes. `served` counts each node's."""

    def __init__(self, base_urls: list[str], openid: str) -> None:
        super().__init__(f"{base_urls[0]}/wechat", TOKEN, openid, aes_key=AES_KEY, appid=APPID)
        self._next = itertools.cycle(base_urls)
        self.served: dict[str, int] = dict.fromkeys(base_urls, 0)

    def deliver(self, req: Request) -> Answer:
        base = next(self._next)
        self.url = f"{base}/wechat"
        self.served[base] += 1
        return super().deliver(req)
