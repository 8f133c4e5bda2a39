"""The embedded Redis (no REPAIRBOT_REDIS_URL): `repairbot serve` and `repairbot worker` started together
share ONE server for their instance folder, and nothing is left running once they stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import redis
import requests

from core.embedded import embedded_redis, leave, socket_path, stop
from tests.support.http import eventually

# The soak is 20 trials (what CI runs); a developer's `make test` runs fewer, each one is two
# Python processes starting from scratch.
TRIALS = int(os.environ.get("REPAIRBOT_EMBEDDED_TRIALS") or 6)
AT_ONCE = 4


def servers_for(instance: Path) -> list[psutil.Process]:
    sock = str(socket_path(instance.resolve()))
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if "redis-server" in (proc.info["name"] or "") and sock in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _env(instance: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPAIRBOT_", "WECHAT_"))}
    env.update(REPAIRBOT_INSTANCE_PATH=str(instance), REPAIRBOT_SECRET_KEY="test-secret", WECHAT_TOKEN="t",
               REPAIRBOT_PUBLIC_URL=f"http://127.0.0.1:{port}")
    return env


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json().get("redis") == "ok"
    except (requests.RequestException, ValueError):
        return False


def trial(root: Path, n: int) -> tuple[int, int, int]:
    """Start serve and worker at the same instant; return (servers while up, workers registered, servers after)."""
    instance = root / f"t{n}" / "instance"
    port = 18_300 + n
    env = _env(instance, port)
    procs = [subprocess.Popen([sys.executable, "-m", "bot", *args], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for args in (["serve", "--port", str(port)], ["worker"])]
    try:
        assert eventually(lambda: _healthy(port), 60), "serve did not come up"
        conn = redis.Redis(unix_socket_path=str(socket_path(instance.resolve())))
        assert eventually(lambda: conn.scard("rq:workers") >= 1, 30), "the worker did not register"
        up = len(servers_for(instance))
        workers = int(conn.scard("rq:workers"))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
    eventually(lambda: not servers_for(instance), 10)
    return up, workers, len(servers_for(instance))


def test_serve_and_worker_started_together_share_one_server_and_leave_none(tmp_path: Path) -> None:
    with ThreadPoolExecutor(AT_ONCE) as pool:
        results = list(pool.map(lambda n: trial(tmp_path, n), range(TRIALS)))
    assert results == [(1, 1, 0)] * TRIALS


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "instance"
    yield folder
    stop(folder)


def test_a_stale_socket_is_replaced(instance: Path) -> None:
    """A server killed outright leaves its socket behind: the next user starts a new one."""
    conn = embedded_redis(instance)
    conn.set("kept", "1")
    conn.save()
    (server,) = servers_for(instance)
    server.kill()
    server.wait(5)
    leave(instance)
    again = embedded_redis(instance)
    assert again.ping() and again.get("kept") == b"1"  # the data file of the folder is read back
    assert len(servers_for(instance)) == 1
    leave(instance)
    assert not servers_for(instance)


def test_repairbot_stop_stops_it_while_in_use(instance: Path) -> None:
    embedded_redis(instance).set("x", "1")
    assert stop(instance)
    assert eventually(lambda: not servers_for(instance), 5)
    assert not stop(instance)
    leave(instance)


def test_serve_and_worker_on_the_embedded_redis_deliver_a_push_and_a_photo(tmp_path: Path) -> None:
    """End to end on the embedded default: a report with a photo through `repairbot serve`, the photo
    downloaded and the acceptance pushed by `repairbot worker`, both found through the one server."""
    from sqlalchemy import select

    from core.actions import move_ticket
    from core.config import Config
    from core.services import Services
    from devtools.chat import WeChatUser
    from devtools.fakewechat import FakeWeChat, serve_in_thread
    from models.people import bind, find_person, load_roster
    from models.register import store_register
    from models.schema import upgrade
    from models.tickets import Ticket, TicketPhoto
    from tests.support.constants import REGISTER_FILE, ROSTER

    fake = FakeWeChat()
    api = serve_in_thread(fake)
    instance, port = tmp_path / "instance", 18_290
    env = {**_env(instance, port), "WECHAT_APPID": "wxe2e", "WECHAT_SECRET": "s", "REPAIRBOT_ID_PEPPER": "p",
           "WECHAT_API_BASE_URL": f"http://127.0.0.1:{api.port}/cgi-bin/", "WECHAT_TEMPLATE_TICKET": "TPL"}
    cfg = Config.from_env(env, dotenv=None)
    upgrade(cfg.database_url)
    svc = Services(cfg)  # joins (starts) the folder's embedded Redis, as the two processes will
    with svc.db.session() as s:
        store_register(s, REGISTER_FILE.read_text(encoding="utf-8"), str(REGISTER_FILE))
        load_roster(s, ROSTER, pepper=cfg.id_pepper)
        person = find_person(s, "20260001")
        assert person is not None
        bind(s, "o-e2e", person)
    procs = [subprocess.Popen([sys.executable, "-m", "bot", *args], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for args in (["serve", "--port", str(port)], ["worker"])]
    try:
        assert eventually(lambda: _healthy(port), 60)
        user = WeChatUser(f"http://127.0.0.1:{port}/wechat", "t", "o-e2e")
        user.text("12栋502水龙头一直滴水")
        user.image(media_id="MEDIA-E2E")
        assert "报修成功" in user.text("1").text
        with svc.db.session() as s:
            no = s.scalars(select(Ticket.no)).one()
        move_ticket(svc, no, "accepted", by="staff:王调度")

        def photo_saved() -> bool:
            with svc.db.session() as s:
                return s.scalars(select(TicketPhoto.status)).one() == "saved"

        assert eventually(photo_saved, 30), "the photo was not downloaded"
        assert eventually(lambda: any(m["kind"] == "template" for m in fake.sent), 30), "no push was sent"
        assert len(servers_for(instance)) == 1
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
        svc.close()
        leave(instance)
        api.shutdown()
    assert eventually(lambda: not servers_for(instance), 10)
