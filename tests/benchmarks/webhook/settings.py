"""Where the bench's servers and data live, and the names they go by.

Every module of the bench reads these; they exist once so that the database, the Redis db, the
WeChat token and the apps gunicorn serves cannot drift apart between the load generator, the
servers it starts and the profiled worker.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
REGISTER_FILE = ROOT / "bot" / "data" / "register.yaml"
DB_NAME = "repairbot_bench"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
REDIS_PORT = int(REDIS_URL.rsplit(":", 1)[1].split("/", 1)[0])
TOKEN = "bench-token"
APPID = "wxbench00000000001"
ACCOUNT = "gh_repairbot"
APP_DIALOG = "bot.wsgi:app"
APP_ECHO = "tests.benchmarks.echo_app:app"
APP_PROFILED = "tests.benchmarks.webhook.profiling:profiled_app"
PROFILE_DUMP_PATH = "/__bench__/profile/dump"
PROFILE_START_PATH = "/__bench__/profile/start"
