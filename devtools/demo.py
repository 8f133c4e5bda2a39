"""`repairbot demo`: the whole product on embedded defaults, and a chat to try it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import requests
import yaml

from core.config import Config
from core.embedded import socket_path
from core.services import Services, connect_redis
from devtools.chat import WeChatUser, run_chat
from devtools.fakewechat import FakeWeChat, serve_in_thread
from devtools.history import has_tickets, seed
from models.people import add_staff, load_roster
from models.register import Register, current_register, store_register
from models.replies import seed_canned
from models.scenes import ScenePlace, scene_of
from models.schema import upgrade

DEMO_ENV = {
    "WECHAT_TOKEN": "demo-token",
    "WECHAT_APPID": "wxdemo0000000000",
    "WECHAT_SECRET": "demo-secret",
    "WECHAT_TEMPLATE_TICKET": "demo-ticket-template",
    "WECHAT_TEMPLATE_REPLY": "demo-reply-template",
}
# The demo's template mapping: the templates of the fake account (devtools/fakewechat.py DEMO_ACCOUNT).
DEMO_TEMPLATES = Path(__file__).with_name("data") / "demo-templates.yaml"
# A few canned replies (常用回复) for the console, per status and category.
DEMO_REPLIES = Path(__file__).with_name("data") / "demo-canned-replies.yaml"
DEMO_STAFF = (("demo-dispatcher", "dispatcher", "13700000001"), ("demo-worker", "worker", "13700000002"))
DEMO_PASSWORD = "demo-password"


def run_demo(port: int, chat: bool = True) -> None:
    """Prepare the embedded database and Redis, start the webhook and a worker, then chat."""
    port_taken(port)
    base = Config.from_env()
    fake = FakeWeChat()
    api = serve_in_thread(fake)
    redis = connect_redis(base.override(redis_url=""))
    socket = socket_path(base.instance_path)
    env = {**os.environ, **{k: os.environ.get(k) or v for k, v in DEMO_ENV.items()},
           "WECHAT_API_BASE_URL": f"http://127.0.0.1:{api.port}/cgi-bin/",
           "REPAIRBOT_REDIS_URL": f"unix://{socket}",
           "REPAIRBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "REPAIRBOT_TEMPLATES_FILE": os.environ.get("REPAIRBOT_TEMPLATES_FILE") or str(DEMO_TEMPLATES)}
    cfg = Config.from_env(env)
    _prepare(cfg, redis)
    env_file = cfg.instance_path / "demo.env"
    env_file.write_text("".join(f"export {k}={env[k]}\n" for k in (*DEMO_ENV, "WECHAT_API_BASE_URL",
                                                                    "REPAIRBOT_REDIS_URL", "REPAIRBOT_PUBLIC_URL",
                                                                    "REPAIRBOT_TEMPLATES_FILE")))
    exe = [sys.executable, "-m", "bot"]
    log = open(cfg.instance_path / "demo.log", "a")  # noqa: SIM115  (kept open for the children's lifetime)
    children = [
        subprocess.Popen([*exe, "serve", "--port", str(port)], env=env, stdout=log, stderr=log),
        subprocess.Popen([*exe, "worker"], env=env, stdout=log, stderr=log),
    ]
    # A `kill` of the demo stops its server and worker too (the default would leave them running).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _wait_healthy(port, children, cfg.instance_path / "demo.log")
        print(_banner(port, env_file))
        if chat:
            user = WeChatUser(f"http://127.0.0.1:{port}/wechat", cfg.wechat_token, "demo-student",
                              aes_key=cfg.wechat_aes_key, appid=cfg.wechat_appid)
            run_chat(user, f"http://127.0.0.1:{api.port}/_inbox")
        else:
            while all(c.poll() is None for c in children):
                time.sleep(1)
    finally:
        for c in children:
            c.terminate()
        for c in children:
            c.wait(timeout=10)
        api.shutdown()


def _prepare(cfg: Config, redis: object) -> None:
    upgrade(cfg.database_url)
    svc = Services(cfg, redis_conn=redis)  # type: ignore[arg-type]
    data = files("bot") / "data"
    with svc.db.session() as s:
        if current_register(s) is None:
            store_register(s, (data / "register.yaml").read_text(encoding="utf-8"), "demo register")
        load_roster(s, (data / "roster.csv").read_text(encoding="utf-8"), pepper=cfg.id_pepper)
        reg = current_register(s)
        assert reg is not None
        for name, role, phone in DEMO_STAFF:
            add_staff(s, name, role, DEMO_PASSWORD, [c.name for c in reg.categories], phone)
        seed_canned(s, demo_replies(reg))
    if not has_tickets(svc.db):
        # A year of made-up history for the ledger and the statistics page; it ends days ago, so that none
        # of it is a "same fault nearby?" for a repair tried in the demo.
        seed(cfg.database_url, tickets=600, users=80, complaints=60, years=1, workers=2, ending_days_ago=3)


def demo_replies(reg: Register) -> list[dict[str, object]]:
    """The demo's canned replies, without those for a category this register does not have."""
    rows = yaml.safe_load(DEMO_REPLIES.read_text(encoding="utf-8"))
    names = {c.name for c in reg.categories}
    return [r for r in rows if not r.get("category") or r["category"] in names]


def port_taken(port: int) -> None:
    """Stop at once, saying what to do, when something else already listens on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"port {port} is already in use (another demo or server?); "
                             f"try: repairbot demo --port {port + 1}") from None


def _wait_healthy(port: int, children: list[subprocess.Popen[bytes]], log: Path, timeout_s: float = 30) -> None:
    """Wait for the webhook to answer; a child that died is reported at once, with the end of its log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [c for c in children if c.poll() is not None]
        if dead:
            raise SystemExit(f"the demo could not start (a process exited with code {dead[0].returncode}); "
                             f"the end of {log}:\n{_tail(log)}\nif the port is busy, try --port {port + 1}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the webhook did not start on port {port}; see {log}")


def _tail(log: Path, lines: int = 8) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _banner(port: int, env_file: Path) -> str:
    return f"""
repairbot demo — webhook http://127.0.0.1:{port}/wechat, an RQ worker, and a fake WeChat API.
You are a student on WeChat. Try: 报修   (campus card 20260001, password 12345X)
Staff side, in another terminal:
  source {env_file}
  .venv/bin/repairbot tickets list
  .venv/bin/repairbot tickets move R… accepted --by demo-dispatcher
  .venv/bin/repairbot tickets move R… assigned --worker demo-worker
  .venv/bin/repairbot templates check      (the demo's mapping against the fake account's templates)
Staff console: http://127.0.0.1:{port}/console/login
  dispatcher: {DEMO_STAFF[0][0]} / {DEMO_PASSWORD}    worker: {DEMO_STAFF[1][0]} / {DEMO_PASSWORD}
  台账 and 统计 (ledger, statistics) show a year of made-up history: /console/ledger, /console/stats
Pushes to you appear here as [推送]. Log: instance/demo.log
扫码报修: /scan {_example_scene()}   (a sticker on room 502 of the first dormitory with rooms)
"""


def _example_scene() -> str:
    """The scene of a sticker on a room of the demo register, for /scan."""
    reg = Register.from_yaml((files("bot") / "data" / "register.yaml").read_text(encoding="utf-8"))
    for b in reg.all_buildings():
        if b.has_rooms and b.kind == "dormitory" and "502" in b.room_floors:
            return scene_of(ScenePlace(b.campus, b.name, str(b.floor_of_room("502")), "502"))
    return "rp1:…"
