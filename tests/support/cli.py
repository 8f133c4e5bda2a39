"""Running `repairbot …` as an operator would, against the test database and Redis.

The command is configured only through the environment (as on a server), from the directory of the
test's instance folder so that no stray .env of the working copy is read.  Worker processes started by
the push tests get the same environment from `environment`.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from core.services import Services, process_services, use_services
from tests.support import database


def redis_url(services: Services) -> str:
    """Point a separate process at the Redis the tests use (CI's server, or the embedded one's socket)."""
    url = os.environ.get("REPAIRBOT_TEST_REDIS_URL")
    if url:
        return url
    socket_file = getattr(services.redis, "socket_file", None)
    if socket_file:
        return f"unix://{socket_file}"
    kw = services.redis.connection_pool.connection_kwargs
    if kw.get("path"):
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


def environment(services: Services, **changes: str) -> dict[str, str]:
    """The environment of a process that should work on the test's services (names as Config reads them)."""
    cfg = services.config
    env = {
        "REPAIRBOT_DATABASE_URL": cfg.database_url,
        "REPAIRBOT_INSTANCE_PATH": str(cfg.instance_path),
        "REPAIRBOT_REDIS_URL": redis_url(services),
        "REPAIRBOT_SECRET_KEY": cfg.secret_key,
        "REPAIRBOT_ID_PEPPER": cfg.id_pepper,
        "REPAIRBOT_MEDIA_DIR": str(cfg.media_dir),
        "REPAIRBOT_PUBLIC_URL": cfg.public_url,
        "WECHAT_TOKEN": cfg.wechat_token,
        "WECHAT_APPID": cfg.wechat_appid,
        "WECHAT_SECRET": cfg.wechat_secret,
        "WECHAT_AES_KEY": cfg.wechat_aes_key,
        "WECHAT_API_BASE_URL": cfg.wechat_api_base_url,
        "WECHAT_TEMPLATE_TICKET": cfg.template_ticket,
        "WECHAT_TEMPLATE_REPLY": cfg.template_reply,
        "REPAIRBOT_TEMPLATES_FILE": str(cfg.templates_file),
    }
    env.update(changes)
    return env


def run_cli(monkeypatch: pytest.MonkeyPatch, services: Services, *args: str, stdin: str | None = None) -> Result:
    """Run `repairbot ARGS` on the test database and Redis, configured only through the environment."""
    for key, value in environment(services).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(services.config.instance_path.parent)  # no stray .env of the working copy
    try:
        return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    finally:
        made = process_services()  # the CLI built and installed its own; give the tests theirs back
        if made is not services:
            made.close()
            made.redis.connection_pool.disconnect()
            database.release(made.db)
        use_services(services)
