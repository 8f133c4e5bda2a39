"""Redis watched by Sentinel: REPAIRBOT_REDIS_URL=redis+sentinel://host:port[,host:port]/service/db (or
REPAIRBOT_REDIS_SENTINELS) makes every Redis client of repairbot — the webhook's dialogs, the queues, the RQ
worker and its scheduler — ask Sentinel for the primary. After a failover they reach the new primary: a dialog
begun before it is finished after it, and pushes queued on either side of it are each sent once.

A real redis-server, its replica and a Sentinel are started on free loopback ports (skipped without
redis-server on PATH)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.sentinel import SentinelConnectionPool
from sqlalchemy import select

from core.actions import move_ticket
from core.config import Config
from core.services import Services, connect_redis
from devtools.fakewechat import FakeWeChat, serve_in_thread
from models.pushes import Push
from tests.support import database
from tests.support.chat import DORM_TAP, choose, report_on_floor, say
from tests.support.cli import environment
from tests.support.http import eventually
from tests.support.nodes import (
    SENTINEL_SERVICE,
    HoppingUser,
    has_redis_server,
    primary_port,
    redis_node,
    running,
    sentinel_node,
    wait_healthy,
    web_node,
    worker_node,
)

pytestmark = pytest.mark.skipif(not has_redis_server(), reason="needs redis-server on PATH")


class Watched:
    """A primary, its replica and a Sentinel watching them."""

    def __init__(self, sentinel_port: int, primary: int, replica: int) -> None:
        self.sentinel_port, self.primary, self.replica = sentinel_port, primary, replica
        self.url = f"redis+sentinel://127.0.0.1:{sentinel_port}/{SENTINEL_SERVICE}/0"

    def fail_over(self) -> None:
        """Make the replica the primary, as Sentinel does when the primary's machine is lost."""
        link = redis.Redis(port=self.replica, decode_responses=True)
        assert eventually(lambda: link.info("replication").get("master_link_status") == "up", 20), "no replica"
        assert eventually(lambda: redis.Redis(port=self.sentinel_port).sentinel_slaves(SENTINEL_SERVICE), 20)
        redis.Redis(port=self.sentinel_port).execute_command("SENTINEL", "FAILOVER", SENTINEL_SERVICE)
        assert eventually(lambda: primary_port(self.sentinel_port) == self.replica, 30), "no failover"
        assert eventually(lambda: _role(self.replica) == "master" and _role(self.primary) == "slave", 30)


def _role(port: int) -> str:
    try:
        return str(redis.Redis(port=port, decode_responses=True).info("replication")["role"])
    except redis.RedisError:
        return ""


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Watched]:
    primary, pport = redis_node(tmp_path / "redis-a")
    replica, rport = redis_node(tmp_path / "redis-b", replica_of=pport)
    sentinel, sport = sentinel_node(tmp_path / "sentinel", pport)
    with running(sentinel, replica, primary):
        yield Watched(sport, pport, rport)


def test_the_sentinel_url_reaches_the_primary(watched: Watched, config: Config) -> None:
    conn = connect_redis(config.override(redis_url=watched.url))
    assert isinstance(conn.connection_pool, SentinelConnectionPool)
    conn.set("where", "primary")
    assert redis.Redis(port=watched.primary).get("where") == b"primary"


def test_the_sentinels_setting_says_the_same(watched: Watched) -> None:
    cfg = Config.from_env({"REPAIRBOT_REDIS_SENTINELS": f"127.0.0.1:{watched.sentinel_port}",
                           "REPAIRBOT_REDIS_SENTINEL_SERVICE": SENTINEL_SERVICE, "REPAIRBOT_SECRET_KEY": "k",
                           "REPAIRBOT_ID_PEPPER": "p"}, dotenv=None)
    assert cfg.redis_url == watched.url
    assert connect_redis(cfg).ping()


def pushes_sent_once(svc: Services, fake: FakeWeChat) -> bool:
    with svc.db.session() as s:
        statuses = list(s.scalars(select(Push.status)))
    templates = [m for m in fake.sent if m["kind"] == "template"]
    return bool(statuses) and set(statuses) <= {"sent", "skipped"} and len(templates) == statuses.count("sent")


def test_a_failover_mid_dialog_and_between_pushes_goes_unnoticed(
        watched: Watched, services: Services, bound: Callable[..., None], tmp_path: Path) -> None:
    fake = FakeWeChat()
    api = serve_in_thread(fake)
    bound("o-sentinel")
    env = environment(services, REPAIRBOT_REDIS_URL=watched.url,
                      WECHAT_API_BASE_URL=f"http://127.0.0.1:{api.port}/cgi-bin/")
    web, url = web_node(tmp_path / "web", env)
    worker = worker_node(tmp_path / "worker", env)
    office = Services(services.config.override(redis_url=watched.url))  # the console's side, through Sentinel
    try:
        # After a failover RQ's last write on shutdown can wait on a connection of the old primary: don't wait long.
        with running(web, worker, stop_within_s=5):
            wait_healthy([url], [web, worker], tmp_path)
            user = HoppingUser([url], "o-sentinel")
            first = report_on_floor(user, 3)
            move_ticket(office, first, "accepted", by="staff:王调度")
            assert eventually(lambda: pushes_sent_once(office, fake), 30), "no push before the failover"

            assert "维修类型" in say(user, "报修")
            choose(user, DORM_TAP[0])
            watched.fail_over()
            for label in DORM_TAP[1:]:
                choose(user, label)  # the dialog's state was replicated, and the webhook follows the primary
            say(user, "4")
            assert "描述" in say(user, "401")
            say(user, "取消")

            move_ticket(office, first, "rejected", by="staff:王调度", note="重复报修")
            assert eventually(lambda: pushes_sent_once(office, fake), 30), "no push after the failover"
            assert redis.Redis(port=watched.replica).exists("rq:workers")
    finally:
        office.close()
        database.release(office.db)
        api.shutdown()
        api.server_close()
