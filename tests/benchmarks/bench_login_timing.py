#!/usr/bin/env python
"""Does a console login with a wrong name take as long as one with a wrong password?

A login that skipped the password hash for an unknown name would tell a guesser, by its speed, which names
are staff accounts.  This measures both through the whole app (Flask's test client: CSRF, the login limits
in Redis, the database, the hash), alternating the two kinds so that a drift of the machine hits both alike.

Run from anywhere (the project root is found from this file):

    .venv/bin/python tests/benchmarks/bench_login_timing.py [--rounds 100]

Self-contained: an SQLite database and an embedded Redis in a temporary folder.  The limit counters are
cleared between attempts (not timed), so every attempt is checked rather than refused.  Prints the median,
mean and 90th percentile of each kind and the difference of the medians; exits 1 when the medians differ by
more than --tolerance (default 15 %).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot import create_app
from core.config import Config
from core.services import Services
from models.people import add_staff
from models.schema import upgrade

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NAME, PASSWORD = "王调度", "console-pass-1"


def setup(folder: Path) -> tuple[object, Services]:
    config = Config.from_env({"REPAIRBOT_INSTANCE_PATH": str(folder), "REPAIRBOT_SECRET_KEY": "bench",
                              "REPAIRBOT_PUBLIC_URL": "http://127.0.0.1"}, dotenv=None)
    upgrade(config.database_url)
    services = Services(config)
    with services.db.session() as s:
        add_staff(s, NAME, "dispatcher", PASSWORD)
    app = create_app(config, services)
    app.config["CONSOLE_LOGIN_RATE"] = "100000 per minute"
    return app, services


def attempt(app: object, services: Services, name: str, n: int) -> float:
    client = app.test_client()  # type: ignore[attr-defined]
    client.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    token = TOKEN_RE.search(client.get("/console/login").get_data(as_text=True))
    assert token
    for key in services.redis.scan_iter("console-login:*"):
        services.redis.delete(key)
    form = {"name": name, "password": "wrong-password", "csrf_token": token.group(1)}
    start = time.perf_counter()
    resp = client.post("/console/login", data=form)
    took = time.perf_counter() - start
    assert resp.status_code == 401, resp.status_code
    return took


def describe(label: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return (f"{label:15s} median {statistics.median(ms):7.2f} ms  mean {statistics.fmean(ms):7.2f} ms  "
            f"p90 {ms[int(len(ms) * 0.9)]:7.2f} ms  (n={len(ms)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100, help="attempts of each kind")
    parser.add_argument("--tolerance", type=float, default=0.15, help="largest relative difference of the medians")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="login-bench-") as tmp:
        app, services = setup(Path(tmp))
        for n in range(5):  # warm up both paths
            attempt(app, services, NAME, n)
            attempt(app, services, f"nobody-{n}", n)
        wrong_password, wrong_name = [], []
        for n in range(args.rounds):
            wrong_password.append(attempt(app, services, NAME, 1000 + 2 * n))
            wrong_name.append(attempt(app, services, f"没有这个人{n}", 1001 + 2 * n))
        services.redis.shutdown()  # type: ignore[attr-defined]
    a, b = statistics.median(wrong_password), statistics.median(wrong_name)
    diff = (b - a) / a
    print(describe("wrong password", wrong_password))
    print(describe("wrong name", wrong_name))
    print(f"difference of the medians: {(b - a) * 1000:+.2f} ms ({diff:+.1%})")
    return 0 if abs(diff) <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
