"""Spread out: two webhook nodes and two worker nodes, each from an instance folder of its own, sharing one
database and one Redis. Users' messages go round-robin, so each step of a dialog is answered by the other
webhook process than the step before; the dialogs still reach 报修成功, every photo is downloaded, and every
push reaches WeChat exactly once, whichever worker took it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.actions import move_ticket
from core.services import Services
from devtools.fakewechat import FakeServer, FakeWeChat, serve_in_thread
from models.people import add_staff
from models.pushes import Push
from models.tickets import TicketPhoto
from tests.support.chat import DORM_TAP, report_on_floor
from tests.support.cli import environment
from tests.support.http import eventually
from tests.support.nodes import HoppingUser, running, wait_healthy, web_node, worker_node

USERS = {"o-hop-1": "20260001", "o-hop-2": "20260002", "o-hop-3": "20260003"}


@pytest.fixture
def fake_wechat() -> Iterator[tuple[FakeWeChat, str]]:
    """WeChat's API on a loopback port, shared by every node; yield it and its base URL."""
    fake = FakeWeChat()
    server: FakeServer = serve_in_thread(fake)
    yield fake, f"http://127.0.0.1:{server.port}/cgi-bin/"
    server.shutdown()
    server.server_close()


def settled(services: Services) -> bool:
    with services.db.session() as s:
        pushes = set(s.scalars(select(Push.status)))
        photos = set(s.scalars(select(TicketPhoto.status)))
    return pushes <= {"sent", "skipped"} and photos == {"saved"}


def test_dialogs_hop_between_webhook_nodes_and_every_push_goes_once(
        services: Services, bound: Callable[..., None], fake_wechat: tuple[FakeWeChat, str], tmp_path: Path) -> None:
    fake, api = fake_wechat
    for openid, card in USERS.items():
        bound(openid, card)
    with services.db.session() as s:
        add_staff(s, "刘师傅", "worker", "worker-pass-1", [DORM_TAP[0]], "13900000009")
    # One database, one Redis, one media folder (a shared mount), the same secrets on every node.
    env = environment(services, WECHAT_API_BASE_URL=api, REPAIRBOT_MEDIA_DIR=str(tmp_path / "media"))
    webs = [web_node(tmp_path / f"web{n}", env) for n in (1, 2)]
    workers = [worker_node(tmp_path / f"worker{n}", env) for n in (1, 2)]
    procs = [p for p, _ in webs] + workers
    urls = [url for _, url in webs]
    with running(*procs):
        wait_healthy(urls, procs, tmp_path)
        users = [HoppingUser(urls, openid) for openid in USERS]
        numbers = [report_on_floor(user, floor) for user, floor in zip(users, (3, 4, 6), strict=True)]
        for no in numbers:
            move_ticket(services, no, "accepted", by="staff:王调度")
            move_ticket(services, no, "assigned", by="staff:王调度", worker="刘师傅")
        assert eventually(lambda: settled(services), 60), "pushes or photos left unfinished"
        assert eventually(lambda: services.redis.scard("rq:workers") == 2, 10)

    assert all(min(u.served.values()) >= 4 for u in users)  # every dialog was answered by both nodes
    with services.db.session() as s:
        sent = list(s.scalars(select(Push).where(Push.status == "sent")))
    templates = [m for m in fake.sent if m["kind"] == "template"]
    assert len(sent) >= 2 * len(numbers)
    assert len(templates) == len([p for p in sent if p.channel == "template"])
    assert Counter(str(p.msgid) for p in sent if p.channel == "template") == Counter(
        str(m["seq"]) for m in templates)  # each row's message, once
