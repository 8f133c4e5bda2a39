"""/metrics: Prometheus's text, read only from the allowed addresses, and counters that move with what users do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import responses
from flask import Flask

from core.config import Config
from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import file_repair, say
from tests.support.constants import DORM
from tests.support.metrics import scrape, value
from tests.support.tickets import make_ticket
from tests.support.wechat_api import SEND, answers


def test_metrics_from_loopback_only(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert refused.status_code == 403 and b"repairbot" not in refused.data
    # Through a proxy the app was not told about (nginx on this machine): every client would look local.
    forwarded = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                           headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 403


def test_allowed_networks_behind_a_trusted_proxy(services: Services) -> None:
    from bot import create_app

    cfg = Config.from_env({**_env(services.config), "REPAIRBOT_METRICS_ALLOW": "10.9.0.0/16, 192.0.2.7",
                           "REPAIRBOT_TRUSTED_PROXIES": "1"}, dotenv=None)
    client = create_app(cfg, Services(cfg, redis_conn=services.redis)).test_client()

    def status(forwarded_for: str) -> int:
        return client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                          headers={"X-Forwarded-For": forwarded_for}).status_code

    assert status("10.9.3.4") == 200 and status("192.0.2.7") == 200
    assert status("203.0.113.9") == 403
    assert status("10.9.3.4, 203.0.113.9") == 403  # the proxy's own entry is the last one


def _env(cfg: Config) -> dict[str, str]:
    return {"REPAIRBOT_INSTANCE_PATH": str(cfg.instance_path), "REPAIRBOT_DATABASE_URL": cfg.database_url,
            "REPAIRBOT_SECRET_KEY": cfg.secret_key, "REPAIRBOT_ID_PEPPER": cfg.id_pepper,
            "WECHAT_TOKEN": cfg.wechat_token, "WECHAT_AES_KEY": cfg.wechat_aes_key, "WECHAT_APPID": cfg.wechat_appid}


def test_messages_and_replies_are_counted(app: Flask, wechat: Callable[..., WeChatUser],
                                          bound: Callable[[str], None]) -> None:
    client = app.test_client()
    bound("o-metrics-1")
    before = scrape(client)
    user = wechat("o-metrics-1")
    say(user, "帮助")
    say(user, "报修")
    say(user, "1")
    after = scrape(client)
    assert value(after, "repairbot_messages_total", kind="text") == value(before, "repairbot_messages_total",
                                                                             kind="text") + 3
    replies = sum(v for (name, _), v in after.items() if name == "repairbot_reply_seconds_count")
    assert replies == sum(v for (name, _), v in before.items() if name == "repairbot_reply_seconds_count") + 3
    # 报修 opened the repair form, and "1" was answered in it; 帮助 is in no dialog.
    assert value(after, "repairbot_reply_seconds_count", dialog="repair") == value(
        before, "repairbot_reply_seconds_count", dialog="repair") + 2


def test_a_forged_message_is_counted_as_refused(app: Flask, server: str) -> None:
    import requests

    client = app.test_client()
    before = value(scrape(client), "repairbot_webhook_refused_total", reason="bad_signature")
    resp = requests.post(f"{server}/wechat?signature=0&timestamp=1&nonce=2", data=b"<xml></xml>", timeout=5)
    assert resp.status_code == 403
    assert value(scrape(client), "repairbot_webhook_refused_total", reason="bad_signature") == before + 1


def test_filed_tickets_and_pushes_are_counted(app: Flask, wechat: Callable[..., WeChatUser], services: Services,
                                              bound: Callable[[str], None], run_jobs: Callable[[], int],
                                              wechat_api: responses.RequestsMock) -> None:
    client = app.test_client()
    before = scrape(client)
    bound("o-metrics-2")
    file_repair(wechat("o-metrics-2"))
    make_ticket(services, moved_to="accepted")  # staff accept a ticket: its reporter is told
    answers(wechat_api, SEND, {"errcode": 0, "errmsg": "ok", "msgid": 7})
    run_jobs()
    after = scrape(client)
    assert value(after, "repairbot_tickets_filed_total", category=DORM) == value(
        before, "repairbot_tickets_filed_total", category=DORM) + 1
    assert value(after, "repairbot_pushes_total", outcome="sent") >= value(before, "repairbot_pushes_total",
                                                                            outcome="sent") + 1
    assert value(after, "repairbot_queue_depth", queue="pushes") == 0
    assert value(after, "repairbot_access_token_age_seconds") >= 0  # fetched for the push, just now
    assert ("repairbot_access_token_age_seconds", ()) in after
    assert value(after, "repairbot_overdue_tickets", stage="accept") == 0


def test_overdue_tickets_by_the_stage_they_are_in(app: Flask, services: Services) -> None:
    from models.backoffice import Overdue
    from models.clock import now
    from models.tickets import get_ticket

    late_accept = make_ticket(services)  # still submitted: late to be accepted
    was_late = make_ticket(services, moved_to="accepted")  # late to be accepted, but accepted since
    with services.db.session() as s:
        for no in (late_accept, was_late):
            t = get_ticket(s, no)
            s.add(Overdue(ticket_id=t.id, stage="accept", round=0, due_at=now(), holder="王调度",
                          category=t.category))
    samples = scrape(app.test_client())
    assert value(samples, "repairbot_overdue_tickets", stage="accept") == 1
    assert value(samples, "repairbot_overdue_tickets", stage="assign") == 0


def test_files_of_processes_that_are_gone_are_forgotten(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from core.metrics import forget_dead_processes

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead, alive = int(gone.stdout), os.getpid()
    for name in (f"counter_{dead}.db", f"histogram_{dead}.db", f"counter_{alive}.db", "gauge_livesum_1.db"):
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_processes(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{alive}.db", "gauge_livesum_1.db"]
