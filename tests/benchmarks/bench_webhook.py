#!/usr/bin/env python
"""Load test of the webhook: many signed WeChat users walking whole repair dialogs.

Run from anywhere (the project root is found from this file):

    .venv/bin/python tests/benchmarks/bench_webhook.py [--seconds N] [--users N] [--workers 3,4,5]

What it does, every run:

1. Setup (not measured): drops and recreates the PostgreSQL database
   ``repairbot_bench``, runs the migrations, loads ``bot/data/register.yaml``,
   a generated roster of ``--users`` people and binds one openid to each
   (directly, with the model functions); flushes Redis db 14.  It never touches
   the ``test`` database or Redis db 15 that the test suite uses.
2. For each ``--workers`` count: starts ``gunicorn -c deploy/gunicorn.conf.py
   bot.wsgi:app`` on a free loopback port (WeChat's API base points at a dead
   loopback port, so nothing leaves the machine), waits for /healthz, and plays
   the users through whole dialogs (报修 → category → group → item → [campus] →
   building → floor → room → [duplicate?] → description → photo → confirm; some
   users go 返回, send a wrong number or 帮助, give up with 取消, or look at
   我的报修).  Every message is signed as WeChat signs it, has a unique MsgId,
   and a user sends its next message only after the reply to the last one,
   which must be a 200 carrying the expected next prompt (anything else is an
   error).  ``--concurrency`` requests are in flight at any time, each for a
   different user of the population.
3. In the same run, with the same gunicorn settings and the same load
   generator and concurrency, the bare wechatpy echo server
   (``tests/benchmarks/echo_app.py``) as the yardstick.
4. Prints one summary line per configuration and exits 1 if the best one
   misses the bar (>= 800 dialog msg/s, p99 < 50 ms, no errors).

The load generator is one process, one epoll loop over plain blocking sockets
(the sync gunicorn worker closes every connection, so each message is one
connect + send + recv), with signatures computed once per user.  It reports
the CPU it used itself, and the CPU of gunicorn, Redis, PostgreSQL and of other
programs over the measured window, so the figures can be judged on a 2-core
machine (a configuration disturbed by other programs is marked DISTURBED; each
phase first waits up to ``--quiet-wait`` seconds for the machine to be idle).
After the dialog window, Redis MONITOR counts the commands per message on db 14.

``--profile`` adds runs of one gunicorn worker under the same dialog load, with
cProfile and then with a SIGPROF stack sampler inside the worker, and prints
where the CPU goes and the Redis and PostgreSQL round trips per message.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import http.client
import itertools
import json
import math
import os
import pstats
import random
import selectors
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

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
APP_PROFILED = "tests.benchmarks.bench_webhook:profiled_app"
PROFILE_DUMP_PATH = "/__bench__/profile/dump"
PROFILE_START_PATH = "/__bench__/profile/start"

BAR_RATE = 800.0
BAR_P99_MS = 50.0

# How users behave (per dialog / per step).
P_MY_TICKETS = 0.08  # a session that looks at 我的报修
P_ABANDON = 0.15  # a repair given up with 取消 part-way
P_WRONG_NUMBER = 0.04  # at a list: reply with a number not on it
P_HELP = 0.02  # at a step: 帮助
P_BACK = 0.05  # after a step: 返回, then answer it again
P_FOLLOW = 0.25  # at the duplicate question: follow the existing ticket instead of filing
P_FLOOR_ZERO = 0.05  # "not inside the building"

DESCRIPTIONS = (
    "水龙头关不紧，一直在滴水", "卫生间灯管不亮了，闪了两天", "空调不制冷，开机有异响", "门锁坏了，钥匙插进去转不动",
    "下水道堵了，洗手池的水下不去", "插座没电，手机充不了", "窗户关不上，风很大", "暖气片漏水，地上有一滩水",
    "马桶一直在流水，按钮卡住了", "走廊的感应灯晚上不亮", "热水器没有热水，指示灯不亮", "天花板在渗水，墙皮掉了",
)
NOTES = ("南面卫生间", "楼梯口", "门口走廊", "一楼大厅", "东侧洗手池", "无")


# ======================================================================================
# What the bot says: markers taken from the product's own texts
# ======================================================================================

def literal(template: str) -> str:
    """The longest literal piece of a str.format template (what every rendering contains)."""
    parts = [lit for lit, *_ in string.Formatter().parse(template)]
    return max(parts, key=len)


@dataclass(frozen=True)
class Vocabulary:
    """Prompt kind → the bytes that identify it in a reply."""

    markers: dict[str, bytes]
    wrong_number: bytes
    globals_hint: bytes
    labels: dict[str, str]

    @classmethod
    def load(cls) -> Vocabulary:
        import bot  # noqa: F401  (importing dialogs.repair first trips over a circular import)
        from dialogs import engine, my_tickets, places, repair, router

        r, p, e, m = repair.TEXT, places.TEXT, engine.TEXT, my_tickets.TEXT
        texts = {
            "category": r["category"], "group": r["group"], "item": r["item"], "campus": p["campus"],
            "building": literal(p["building"]), "floor": literal(p["floor"]), "room": literal(p["room"]),
            "note": p["note"], "duplicate": literal(r["duplicate"]), "description": r["description"],
            "photo": r["photo"], "phone": r["phone"], "confirm": literal(r["confirm"]), "filed": literal(r["filed"]),
            "followed": literal(r["followed"]), "own_duplicate": literal(r["own_duplicate"]),
            "cancelled": e["cancelled"], "idle": router.TEXT["idle_word"], "my_list": m["list"], "my_none": m["none"],
            "my_detail": literal(m["detail"]),
        }
        bad = e["bad_number"]
        return cls(
            markers={k: v.encode() for k, v in texts.items()},
            wrong_number=bad[:bad.index("{max}")].format(n=99).encode(),
            globals_hint=e["globals"].encode(),
            labels={"item_other": r["item_other"], "dup_follow": r["dup_follow"], "dup_new": r["dup_new"],
                    "confirm_submit": r["confirm_submit"]},
        )


# ======================================================================================
# Users: a script per dialog, written as generators that receive the prompt kind seen
# ======================================================================================

@dataclass(frozen=True)
class Turn:
    """One message a user sends, and what the reply to it must be."""

    text: str  # "" for a photo
    expect: tuple[tuple[str, bytes], ...]  # acceptable prompt kinds, nominal one first
    db: bool = False  # this message makes the bot read or write PostgreSQL
    image: bool = False
    label: bytes = b""  # the numbered line this choice picks, checked in the previous reply
    also: bytes = b""  # must also be in the reply (wrong number, help)


@dataclass(frozen=True)
class Plan:
    """A valid (category, group, campus) of the register, numbered as the bot numbers its lists."""

    cat_no: int
    category: str
    n_groups: int
    group_no: int
    group: str
    items: tuple[str, ...]
    n_campuses: int
    campus_no: int
    campus: str
    buildings: tuple[Any, ...]  # models.register.Building, in the bot's order


def make_plans(register: Any) -> list[Plan]:
    plans = []
    for ci, cat in enumerate(register.categories, start=1):
        groups = register.groups_of(cat)
        campuses = register.campuses_of(cat)
        for gi, group in enumerate(groups, start=1):
            for pi, campus in enumerate(campuses, start=1):
                buildings = register.buildings_for(cat, campus.name, group.name)
                if buildings and group.items:
                    plans.append(Plan(ci, cat.name, len(groups), gi, group.name, tuple(group.items), len(campuses),
                                      pi, campus.name, tuple(buildings)))
    if not plans:
        raise SystemExit("the register offers no category/group/campus with buildings")
    return plans


Script = Generator[Turn, str, None]


class Behaviour:
    """The dialogs users walk; shared by all users (each brings its own random generator)."""

    def __init__(self, vocab: Vocabulary, plans: list[Plan]) -> None:
        self.v = vocab
        self.plans = plans
        self.m = vocab.markers
        # Users (by their random generator) whose profile the bot remembers in Redis after their first 报修.
        self.known: set[int] = set()

    def expect(self, *kinds: str) -> tuple[tuple[str, bytes], ...]:
        return tuple((k, self.m[k]) for k in kinds)

    def session(self, rng: random.Random) -> Script:
        while True:
            r = rng.random()
            if r < P_MY_TICKETS:
                yield from self.my_tickets()
            elif r < P_MY_TICKETS + P_ABANDON:
                yield from self.repair(rng, abandon_after=rng.randint(1, 7))
            else:
                yield from self.repair(rng, abandon_after=0)

    def resync(self, rng: random.Random) -> Script:
        """After an error the bot's state is unknown: cancel whatever is going on, then carry on."""
        yield Turn("取消", self.expect("cancelled", "idle"))
        yield from self.session(rng)

    def my_tickets(self) -> Script:
        got = yield Turn("我的报修", self.expect("my_list", "my_none"), db=True)
        if got == "my_none":
            return
        yield Turn("1", self.expect("my_detail"), db=True, label=b"\n1 ")
        yield Turn("取消", self.expect("cancelled"))

    def step(self, rng: random.Random, at: str, turn: Turn, *, is_list: bool = False,
             can_back: bool = True, can_help: bool = True) -> Generator[Turn, str, str]:
        """Answer the prompt `at`, sometimes after a wrong number or 帮助, sometimes going back once."""
        same = self.expect(at)
        r = rng.random()
        if is_list and r < P_WRONG_NUMBER:
            yield Turn("99", same, also=self.v.wrong_number)
        elif can_help and r > 1 - P_HELP:
            yield Turn("帮助", same, also=self.v.globals_hint)
        got = yield turn
        if can_back and rng.random() < P_BACK:
            yield Turn("返回", same)
            got = yield turn
        return got

    def choice(self, no: int, label: str, expect: tuple[tuple[str, bytes], ...], db: bool = False) -> Turn:
        return Turn(str(no), expect, db=db, label=f"\n{no} {label}\n".encode())

    def repair(self, rng: random.Random, abandon_after: int) -> Script:
        """File one repair (or give up after `abandon_after` answered steps, when that is not 0)."""
        p = rng.choice(self.plans)
        left = abandon_after or 1_000

        def cancel() -> Script:
            yield Turn("取消", self.expect("cancelled"))

        # The start hook asks who the user is: the database the first time, Redis afterwards.
        first = id(rng) not in self.known
        self.known.add(id(rng))
        got = yield Turn("报修", self.expect("category"), db=first)
        got = yield from self.step(rng, "category", self.choice(
            p.cat_no, p.category, self.expect("item" if p.n_groups == 1 else "group")), is_list=True)
        if (left := left - 1) == 0:
            return (yield from cancel())
        if got == "group":
            got = yield from self.step(rng, "group", self.choice(p.group_no, p.group, self.expect("item")),
                                       is_list=True)
            if (left := left - 1) == 0:
                return (yield from cancel())
        if rng.random() < 0.05:
            item_no, item = len(p.items) + 1, self.v.labels["item_other"]
        else:
            item_no = rng.randint(1, len(p.items))
            item = p.items[item_no - 1]
        got = yield from self.step(rng, "item", self.choice(
            item_no, item, self.expect("campus" if p.n_campuses > 1 else "building")), is_list=True)
        if (left := left - 1) == 0:
            return (yield from cancel())
        if got == "campus":
            got = yield from self.step(rng, "campus", self.choice(p.campus_no, p.campus, self.expect("building")),
                                       is_list=True)
            if (left := left - 1) == 0:
                return (yield from cancel())
        b_no = rng.randint(1, len(p.buildings))
        b = p.buildings[b_no - 1]
        got = yield from self.step(rng, "building", self.choice(
            b_no, b.name, self.expect("note" if b.outdoor else "floor")), is_list=True)
        if (left := left - 1) == 0:
            return (yield from cancel())
        floor = 0
        if got == "floor":
            floor = 0 if rng.random() < P_FLOOR_ZERO else rng.randint(1, b.floors)
            after_floor = "room" if floor and b.has_rooms else "note"
            got = yield from self.step(rng, "floor", Turn(str(floor), self.expect(after_floor)))
            if (left := left - 1) == 0:
                return (yield from cancel())
        # The place is complete: the bot looks for an open ticket at the same place (a database read).
        place_done = self.expect("description", "duplicate")
        if got == "room":
            got = yield from self.step(rng, "room", Turn(rng.choice(b.rooms_on(floor)), place_done, db=True))
        else:
            got = yield from self.step(rng, "note", Turn(rng.choice(NOTES), place_done, db=True))
        if (left := left - 1) == 0:
            return (yield from cancel())
        if got == "duplicate":
            if rng.random() < P_FOLLOW:
                yield self.choice(1, self.v.labels["dup_follow"], self.expect("followed", "own_duplicate"), db=True)
                return
            # Going back to (or asking help at) the duplicate question would read the database again: not done.
            got = yield from self.step(rng, "duplicate", self.choice(2, self.v.labels["dup_new"],
                                                                     self.expect("description")),
                                       can_back=False, can_help=False)
        got = yield from self.step(rng, "description", Turn(rng.choice(DESCRIPTIONS), self.expect("photo")))
        if (left := left - 1) == 0:
            return (yield from cancel())
        # The phone number comes from the roster, so the form goes straight to the confirmation.
        got = yield from self.step(rng, "photo", Turn("", self.expect("confirm"), image=True))
        if (left := left - 1) == 0:
            return (yield from cancel())
        yield from self.step(rng, "confirm", self.choice(1, self.v.labels["confirm_submit"], self.expect("filed"),
                                                         db=True), is_list=True, can_back=False)


_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


class User:
    """One WeChat user: a signed request line, a script, and the last reply."""

    __slots__ = ("behaviour", "echo", "gen", "head", "last", "openid", "prefix", "rng", "turn")

    def __init__(self, openid: str, port: int, behaviour: Behaviour, rng: random.Random, echo: bool) -> None:
        from bot.wechat import new_nonce, signature

        self.openid = openid
        self.behaviour = behaviour
        self.rng = rng
        self.echo = echo
        # The signature covers only token, timestamp and nonce: one per user is enough.
        ts, nonce = str(int(time.time())), new_nonce()
        query = f"signature={signature(TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid={openid}"
        self.head = (f"POST /wechat?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Content-Type: text/xml\r\nContent-Length: ").encode()
        self.prefix = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                       f"<FromUserName><![CDATA[{openid}]]></FromUserName>")
        self.last = b""
        self.gen = behaviour.session(rng)
        self.turn = next(self.gen)

    def request(self) -> bytes:
        t = self.turn
        msg_id = next(_msg_ids)
        if t.image:
            media = f"bench-{msg_id}"
            fields = (f"<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/{media}]]></PicUrl>"
                      f"<MediaId><![CDATA[{media}]]></MediaId>")
        else:
            fields = f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{t.text}]]></Content>"
        body = f"{self.prefix}<CreateTime>{int(time.time())}</CreateTime>{fields}<MsgId>{msg_id}</MsgId></xml>"
        data = body.encode()
        return self.head + str(len(data)).encode() + b"\r\n\r\n" + data

    def on_reply(self, status: int, content: bytes) -> str | None:
        """Check the reply to the current turn and move on; return what was wrong, if anything."""
        t = self.turn
        problem = None
        kind = t.expect[0][0]
        if status != 200:
            problem = f"HTTP {status}"
        elif self.echo:
            if content != (b"[image]" if t.image else t.text.encode()):
                problem = "echo mismatch"
        else:
            for k, marker in t.expect:
                if marker in content:
                    kind = k
                    break
            else:
                problem = f"expected {'/'.join(k for k, _ in t.expect)}"
            if problem is None and t.also and t.also not in content:
                problem = f"expected {kind} with {t.also.decode()!r}"
        if problem is None:
            self.last = content
            self.turn = self.gen.send(kind)
            nxt = self.turn
            if not self.echo and nxt.label and nxt.label not in content + b"\n":
                problem = f"the list does not offer {nxt.label.decode().strip()!r} (bench and bot disagree)"
        if problem is not None:
            self.gen = self.behaviour.resync(self.rng)
            self.turn = next(self.gen)
            return f"{problem} after {t.text or '[image]'!r}: got {content.decode(errors='replace')[:160]!r}"
        return None

    def on_failure(self) -> None:
        """The request failed at the transport: start over with a cancel."""
        self.gen = self.behaviour.resync(self.rng)
        self.turn = next(self.gen)


def make_users(n: int, port: int, behaviour: Behaviour, seed: int, echo: bool) -> list[User]:
    return [User(openid_of(i), port, behaviour, random.Random(seed * 1_000_003 + i), echo) for i in range(n)]


def openid_of(i: int) -> str:
    return f"o-bench-{i:06d}"


def card_of(i: int) -> str:
    return f"{30_000_000 + i:08d}"


# ======================================================================================
# The load generator: one epoll loop, blocking sockets, one connection per message
# ======================================================================================

@dataclass
class Window:
    """What happened in the measured window (and the whole phase, for errors)."""

    seconds: float = 0.0
    messages: int = 0
    db_messages: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    db_latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0  # whole phase, warm-up and drain included
    error_samples: collections.Counter[str] = field(default_factory=collections.Counter)
    total_messages: int = 0  # whole phase
    warmup_s: float = 0.0
    tail_messages: int = 0
    filed: int = 0  # whole phase: replies saying a ticket was filed
    cpu: dict[str, float] = field(default_factory=dict)


class _Conn:
    __slots__ = ("buf", "sock", "t0", "user")

    def __init__(self, sock: socket.socket, user: User, t0: float) -> None:
        self.sock, self.user, self.t0, self.buf = sock, user, t0, b""


CONTENT_OPEN = b"<Content><![CDATA["
CONTENT_CLOSE = b"]]></Content>"


def run_load(port: int, users: list[User], concurrency: int, warmup: float, seconds: float,
             on_window: Callable[[str], None], filed_marker: bytes, warm_turns: int = 12,
             max_warmup: float = 30.0, timeout_s: float = 10.0, seed: int = 1, tail_seconds: float = 0.0) -> Window:
    """Keep `concurrency` messages in flight, each from a different user; measure after the warm-up.

    The warm-up lasts `warmup` seconds and until the users have sent `warm_turns` messages each on
    average (about one dialog), so that the window sees users spread over every step of their
    dialogs rather than all starting with 报修 together.  The next user to speak is drawn at random
    from those not waiting for a reply (random think times), which keeps them spread.

    After the window, the load goes on for `tail_seconds` (not measured) between
    on_window("end") and on_window("tail_end"), for samples that would disturb the window.
    """
    addr = ("127.0.0.1", port)
    sel = selectors.EpollSelector()
    idle = list(users)
    pick_rng = random.Random(seed)
    concurrency = min(concurrency, len(users))
    w = Window()
    clock = time.perf_counter
    start = clock()
    warm_target = warm_turns * len(users)
    t_measure = t_end = start + max_warmup + seconds
    measuring = tailing = False
    t_tail_end = math.inf
    in_flight = 0
    next_timeout_scan = start + 1.0

    def fail(user: User, why: str) -> None:
        w.errors += 1
        w.error_samples[why] += 1
        user.on_failure()
        idle.append(user)

    def launch() -> None:
        nonlocal in_flight
        i = pick_rng.randrange(len(idle))
        idle[i], idle[-1] = idle[-1], idle[i]
        user = idle.pop()
        req = user.request()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(addr)  # loopback: returns once the kernel has the connection queued
            sock.sendall(req)
        except OSError as exc:
            sock.close()
            fail(user, f"connect/send: {exc}")
            time.sleep(0.01)
            return
        sel.register(sock, selectors.EVENT_READ, _Conn(sock, user, clock()))
        in_flight += 1

    def finish(c: _Conn, now: float) -> None:
        nonlocal in_flight
        sel.unregister(c.sock)
        c.sock.close()
        in_flight -= 1
        buf = c.buf
        head_end = buf.find(b"\r\n\r\n")
        status = int(buf[9:12]) if buf.startswith(b"HTTP/1.") else 0
        i = buf.find(CONTENT_OPEN, head_end)
        j = buf.rfind(CONTENT_CLOSE)
        content = buf[i + len(CONTENT_OPEN):j] if i >= 0 and j > i else b""
        user = c.user
        db = user.turn.db
        problem = user.on_reply(status, content)
        w.total_messages += 1
        if problem is not None:
            w.errors += 1
            w.error_samples[problem] += 1
        elif filed_marker in content:
            w.filed += 1
        if tailing and c.t0 >= t_end:
            w.tail_messages += 1
        if measuring and c.t0 >= t_measure and now <= t_end:
            ms = (now - c.t0) * 1000.0
            w.messages += 1
            w.latencies_ms.append(ms)
            if db:
                w.db_messages += 1
                w.db_latencies_ms.append(ms)
        idle.append(user)

    def body_complete(buf: bytes) -> bool:
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = buf[:head_end].lower()
        k = head.find(b"\r\ncontent-length:")
        if k < 0:
            return False  # read until the server closes
        end = head.find(b"\r\n", k + 2)
        length = int(head[k + 17:end if end > 0 else None])
        return len(buf) >= head_end + 4 + length

    while True:
        now = clock()
        if not measuring and now - start >= warmup and (w.total_messages >= warm_target
                                                         or now - start >= max_warmup):
            measuring = True
            on_window("start")
            now = clock()
            t_measure, t_end = now, now + seconds
            t_tail_end = t_end + tail_seconds
            w.warmup_s = now - start
        if now >= t_end and not tailing:
            tailing = True
            on_window("end")
        if now >= t_tail_end:
            break
        while in_flight < concurrency and idle:
            launch()
        for key, _ in sel.select(timeout=0.05):
            c: _Conn = key.data
            try:
                chunk = c.sock.recv(65536)
            except OSError as exc:
                sel.unregister(c.sock)
                c.sock.close()
                in_flight -= 1
                fail(c.user, f"recv: {exc}")
                continue
            if chunk:
                c.buf += chunk
                if body_complete(c.buf):
                    finish(c, clock())
            elif c.buf:
                finish(c, clock())
            else:
                sel.unregister(c.sock)
                c.sock.close()
                in_flight -= 1
                fail(c.user, "connection closed without a reply")
        if now >= next_timeout_scan:
            next_timeout_scan = now + 0.5
            for key in list(sel.get_map().values()):
                c = key.data
                if now - c.t0 > timeout_s:
                    sel.unregister(c.sock)
                    c.sock.close()
                    in_flight -= 1
                    fail(c.user, f"no reply within {timeout_s:.0f} s")
    if tail_seconds:
        on_window("tail_end")
    w.seconds = seconds
    # Drain what is still in flight (not measured), then stop.
    drain_until = clock() + timeout_s
    while in_flight and clock() < drain_until:
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            try:
                chunk = c.sock.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                c.buf += chunk
                if body_complete(c.buf):
                    finish(c, clock())
            elif c.buf:
                finish(c, clock())
            else:
                sel.unregister(c.sock)
                c.sock.close()
                in_flight -= 1
                fail(c.user, "connection closed without a reply")
    for key in list(sel.get_map().values()):
        key.data.sock.close()
        w.errors += 1
        w.error_samples["still in flight at the end of the drain"] += 1
    sel.close()
    return w


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# ======================================================================================
# CPU accounting from /proc (no extra dependency)
# ======================================================================================

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _is_our_redis(pid: int) -> bool:
    """The Redis server the bench talks to (not the test suite's embedded ones)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    return f":{REDIS_PORT}".encode() in cmdline


def cpu_snapshot(gunicorn_pid: int | None) -> dict[str, float]:
    """CPU seconds so far: this process, the gunicorn tree, redis-server, postgres, the machine."""
    snap = {"generator": time.process_time(), "gunicorn": 0.0, "redis": 0.0, "postgres": 0.0}
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        st = _stat(pid)
        if st is None:
            continue
        parents[pid], cpu[pid] = st
        comm = _comm(pid)
        if comm.startswith("redis-server") and _is_our_redis(pid):
            snap["redis"] += st[1]
        elif comm == "postgres" or comm.startswith("postgres:"):
            snap["postgres"] += st[1]
    if gunicorn_pid is not None:
        snap["gunicorn"] = cpu.get(gunicorn_pid, 0.0) + sum(c for p, c in cpu.items()
                                                           if parents.get(p) == gunicorn_pid)
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    snap["machine_busy"] = (sum(vals) - vals[3] - vals[4]) / CLK_TCK  # minus idle and iowait
    snap["wall"] = time.perf_counter()
    return snap


def cpu_delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """CPU used between two snapshots, in cores (1.0 = one core busy all the time)."""
    wall = b["wall"] - a["wall"]
    d = {k: (b[k] - a[k]) / wall for k in a if k != "wall"}
    d["other"] = max(0.0, d["machine_busy"] - d["generator"] - d["gunicorn"] - d["redis"] - d["postgres"])
    return d


def machine_busy(seconds: float = 1.0) -> float:
    """Cores busy on the whole machine over a short sample."""
    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        return sum(vals), vals[3] + vals[4]

    t0, i0 = read()
    time.sleep(seconds)
    t1, i1 = read()
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(1, t1 - t0))


def wait_until_quiet(max_wait_s: float, threshold: float = 0.3) -> float:
    """Wait (up to max_wait_s) until other programs leave the CPU alone; return the last busy sample."""
    deadline = time.monotonic() + max_wait_s
    busy = machine_busy()
    if busy > threshold and max_wait_s > 0:
        print(f"  (machine busy with {busy:.1f} cores of other work: waiting up to {max_wait_s:.0f} s)",
              flush=True)
    while busy > threshold and time.monotonic() < deadline:
        busy = machine_busy()
    return busy


# ======================================================================================
# Servers: gunicorn with the project's settings
# ======================================================================================

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """`gunicorn -c deploy/gunicorn.conf.py APP` on a loopback port; stopped on exit, whatever happens."""

    running: ClassVar[list[Gunicorn]] = []

    def __init__(self, app: str, workers: int | None, env: dict[str, str], log_path: Path) -> None:
        self.app = app
        self.port = free_port()
        self.env = {**os.environ, **env, "REPAIRBOT_BIND": f"127.0.0.1:{self.port}"}
        if workers is not None:
            self.env["REPAIRBOT_WORKERS"] = str(workers)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_s: float = 60.0) -> None:
        with open(self.log_path, "ab") as log:
            # A process group of its own: Ctrl-C in the terminal reaches us, and we stop it properly.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), self.app],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                process_group=0)
        Gunicorn.running.append(self)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {self.app} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    return
                last = f"{resp.status} {body[:200]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.app} not healthy after {wait_s:.0f} s ({last}):\n{self.log_tail()}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def workers(self) -> list[int]:
        pids = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = _stat(int(name))
                if st and st[0] == self.pid:
                    pids.append(int(name))
        return pids

    def get(self, path: str) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", path)
        body = conn.getresponse().read()
        conn.close()
        return body

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # graceful: workers finish their request and exit
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        # Anything left in its process group (the group id is the pid we started).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if self in Gunicorn.running:
            Gunicorn.running.remove(self)
        self.proc = None

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    @classmethod
    def stop_all(cls) -> None:
        for g in list(cls.running):
            g.stop()


# ======================================================================================
# Setup: database, register, roster, bound users, Redis
# ======================================================================================

def sqlalchemy_url() -> str:
    return "postgresql+psycopg://" + PG_SERVER.split("://", 1)[1] + "/" + DB_NAME


def prepare(users: int) -> Any:
    """Recreate the bench database and fill it; return the register in force."""
    import psycopg
    from sqlalchemy import select

    import models.all  # noqa: F401  (every table on the metadata)
    import models.people as people
    from models.db import Database
    from models.register import store_register
    from models.schema import upgrade

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    url = sqlalchemy_url()
    upgrade(url)
    rows = ["card_no,name,id_last6,role,phone"]
    rows += [f"{card_of(i)},用户{i},{100000 + i % 900000:06d},student,139{i:08d}" for i in range(users)]
    # Nobody binds with a password here (openids are bound directly below), so the roster's
    # salted hash can be cheap: the product's 100,000 PBKDF2 rounds would take minutes for 1,000 users.
    people.HASH_METHOD = "pbkdf2:sha256:1"
    db = Database(url)
    try:
        with db.session() as s:
            register = store_register(s, REGISTER_FILE.read_text(encoding="utf-8"), str(REGISTER_FILE))
            report = people.load_roster(s, "\n".join(rows) + "\n")
            if report.rejected or report.added != users:
                raise SystemExit(f"roster not loaded as expected: {report}")
        with db.session() as s:
            persons = {p.card_no: p for p in s.scalars(select(people.Person))}
            for i in range(users):
                people.bind(s, openid_of(i), persons[card_of(i)])
    finally:
        db.dispose()
    return register


class RedisMonitor:
    """Count the commands Redis runs on the bench's database, with MONITOR, from a thread."""

    def __init__(self, url: str) -> None:
        import redis

        kw = redis.connection.parse_url(url)
        self.addr = (kw.get("host", "127.0.0.1"), int(kw.get("port", 6379)))
        self.db = str(kw.get("db", 0))
        self.commands: collections.Counter[str] = collections.Counter()
        self.other_dbs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        with socket.create_connection(self.addr, timeout=0.2) as sock:
            sock.sendall(b"MONITOR\r\n")
            buf = b""
            while not self._stop.is_set():
                try:
                    chunk = sock.recv(1 << 16)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buf += chunk
                *lines, buf = buf.split(b"\r\n")
                for line in lines:
                    # +1795818476.123456 [14 127.0.0.1:54321] "SET" "msg:m:1" ...
                    if not line.startswith(b"+") or b" [" not in line:
                        continue
                    db = line.split(b" [", 1)[1].split(b" ", 1)[0].decode()
                    if db != self.db:
                        self.other_dbs += 1
                        continue
                    parts = line.split(b'] "', 1)
                    if len(parts) == 2:
                        self.commands[parts[1].split(b'"', 1)[0].decode().lower()] += 1


def flush_redis() -> None:
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    conn.close()


def redis_commandstats() -> dict[str, int]:
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    try:
        info = conn.info("commandstats")
    finally:
        conn.close()
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def pg_counts() -> dict[str, int]:
    """Transactions on the bench database (server-side) and tickets in it."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (DB_NAME,)).fetchone()
    with psycopg.connect(f"{PG_SERVER}/{DB_NAME}", autocommit=True) as conn:
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()
    return {"xacts": int(row[0]) if row else 0, "tickets": int(tickets[0]) if tickets else 0}


# ======================================================================================
# Phases
# ======================================================================================

@dataclass
class PhaseResult:
    name: str
    workers: int
    window: Window
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.window.messages / self.window.seconds if self.window.seconds else 0.0

    def p(self, q: float, db: bool = False) -> float:
        return percentile(self.window.db_latencies_ms if db else self.window.latencies_ms, q)

    @property
    def db_share(self) -> float:
        return self.window.db_messages / self.window.messages if self.window.messages else 0.0

    @property
    def server_ms_per_msg(self) -> float:
        cores = self.window.cpu.get("gunicorn", 0.0)
        return cores * 1000.0 / self.rate if self.rate else float("nan")


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path
    behaviour: Behaviour
    base_env: dict[str, str]

    def phase(self, name: str, app: str, workers: int | None, echo: bool, env: dict[str, str] | None = None,
              seconds: float | None = None, users: int | None = None, tail_seconds: float = 0.0,
              hooks: dict[str, Callable[[Gunicorn], None]] | None = None) -> tuple[PhaseResult, Gunicorn]:
        """Start gunicorn, play the users, stop gunicorn; return the figures (and the stopped server)."""
        a = self.args
        wait_until_quiet(a.quiet_wait)
        server = Gunicorn(app, workers, {**self.base_env, **(env or {})}, self.tmp / f"{name}-w{workers}.log")
        server.start()
        try:
            expected = workers or 2 * (os.cpu_count() or 1)  # deploy/gunicorn.conf.py's default
            deadline = time.monotonic() + 10
            while len(server.workers()) < expected and time.monotonic() < deadline:
                time.sleep(0.1)
            n_workers = len(server.workers())
            players = make_users(users or a.users, server.port, self.behaviour, a.seed, echo)
            snaps: dict[str, dict[str, float]] = {}

            def on_window(edge: str) -> None:
                if edge in ("start", "end"):
                    snaps[edge] = cpu_snapshot(server.pid)
                if hooks and edge in hooks:
                    hooks[edge](server)

            window = run_load(server.port, players, a.concurrency, a.warmup, a.seconds if seconds is None else seconds,
                              on_window, self.behaviour.m["filed"], warm_turns=a.warm_turns, seed=a.seed,
                              tail_seconds=tail_seconds)
            window.cpu = cpu_delta(snaps["start"], snaps["end"])
        except BaseException:
            server.stop()
            raise
        return PhaseResult(name, n_workers, window), server

    def dialog(self, workers: int | None) -> PhaseResult:
        flush_redis()  # every user starts with no dialog under way
        redis_before, pg_before = redis_commandstats(), pg_counts()
        monitor = RedisMonitor(REDIS_URL)
        hooks = {"end": lambda _: monitor.start(), "tail_end": lambda _: monitor.stop()}
        result, server = self.phase("dialog", APP_DIALOG, workers, echo=False, tail_seconds=self.args.monitor_seconds,
                                    hooks=hooks if self.args.monitor_seconds else None)
        server.stop()  # PostgreSQL backends publish their statistics when they exit
        monitor.stop()
        time.sleep(0.5)
        redis_after, pg_after = redis_commandstats(), pg_counts()
        total = result.window.total_messages or 1
        cmds = {k: redis_after.get(k, 0) - redis_before.get(k, 0) for k in redis_after}
        cmds = {k: v for k, v in cmds.items() if v > 0 and k not in ("info", "flushdb", "ping", "client|setinfo")}
        tail = max(1, result.window.tail_messages)
        result.extra = {
            "redis_cmds_per_msg": sum(cmds.values()) / total,
            "redis_cmds": dict(sorted(cmds.items(), key=lambda kv: -kv[1])),
            "monitor_msgs": result.window.tail_messages,
            "monitor_cmds_per_msg": sum(monitor.commands.values()) / tail,
            "monitor_cmds": {k: v / tail for k, v in monitor.commands.most_common()},
            "monitor_other_dbs": monitor.other_dbs,
            "pg_xacts_per_msg": (pg_after["xacts"] - pg_before["xacts"]) / total,
            "tickets_db": pg_after["tickets"] - pg_before["tickets"],
        }
        return result

    def yardstick(self, name: str, workers: int | None, redis_mode: str = "") -> PhaseResult:
        env = {"BENCH_ECHO_REDIS": redis_mode, "BENCH_ECHO_REDIS_URL": REDIS_URL} if redis_mode else {}
        if redis_mode:
            flush_redis()
        result, server = self.phase(name, APP_ECHO, workers, echo=True, env=env)
        server.stop()
        return result

    def profile(self, mode: str) -> None:
        a = self.args
        out = self.tmp / f"profile-{mode}.pstats"
        flush_redis()
        users = min(a.users, 150)
        env = {"BENCH_PROFILE_OUT": str(out), "BENCH_PROFILE_TIMER": a.profile_timer, "BENCH_PROFILE_MODE": mode}
        result, server = self.phase(f"profile-{mode}", APP_PROFILED, 1, echo=False, env=env,
                                    seconds=a.profile_seconds, users=users, hooks={"start": start_profiler})
        try:
            meta = json.loads(server.get(PROFILE_DUMP_PATH))
        finally:
            server.stop()
        n = max(1, meta["messages"])
        what = (f"cProfile ({meta['timer']} timer)" if mode == "cprofile"
                else f"SIGPROF stack sampling every 1 ms of CPU ({meta['sampled']['samples']} samples)")
        print(f"\nprofile: 1 worker, {users} users, {a.concurrency} in flight, {what} on after the warm-up: "
              f"{result.rate:.0f} msg/s, errors {result.window.errors}; {meta['messages']} messages profiled, "
              f"{meta['db_turns'] / n:.1%} opened a database session; worker cpu {meta['cpu_s'] / n * 1000:.2f} "
              f"ms/msg over {meta['wall_s']:.1f} s wall (profiler included)"
              + (f"; stats in {out}" if mode == "cprofile" else ""))
        if mode == "cprofile":
            report_profile(out, meta)
        else:
            report_samples(meta)


# ======================================================================================
# The profiled app (imported by gunicorn in --profile runs)
# ======================================================================================

def start_profiler(server: Gunicorn) -> None:
    """Ask the profiled worker to start, without blocking the load generator.

    gunicorn's sync worker lingers after each response until the client closes the connection
    (gunicorn.util.close_graceful, up to 2 s): a load generator that stops reading stalls the workers.
    """
    threading.Thread(target=server.get, args=(PROFILE_START_PATH,), daemon=True).start()


class _Sampler:
    """A statistical profiler driven by the process's CPU clock (SIGPROF), for the worker's main thread.

    cProfile's per-call cost inflates code that makes many small calls; sampling does not.  Every
    `interval` seconds of CPU (user + system) the kernel sends SIGPROF; Python runs the handler in
    the main thread at the next bytecode boundary (after a system call or C function returns), with
    the frame that was running, so each sample stands for the same amount of CPU.  Waiting for
    Redis or PostgreSQL uses no CPU and draws no samples.  (The kernel checks CPU timers on its
    clock tick, so there are fewer samples than 1 per interval; the shares are what count, and
    the report scales them by the CPU the worker really used.)
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.own: dict[tuple[str, int, str], int] = collections.defaultdict(int)
        self.inclusive: dict[tuple[str, int, str], int] = collections.defaultdict(int)
        self.layers: dict[str, int] = collections.defaultdict(int)
        self._packages: dict[str, str] = {}
        self.samples = 0

    def start(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_IGN)

    def _package(self, filename: str) -> str:
        pkg = self._packages.get(filename)
        if pkg is None:
            pkg = self._packages[filename] = _package(filename)
        return pkg

    def _sample(self, signum: int, frame: Any) -> None:
        self.samples += 1
        seen = set()
        files: list[str] = []
        while frame is not None:
            code = frame.f_code
            key = (code.co_filename, code.co_firstlineno, code.co_name)
            if not files:
                self.own[key] += 1
            if key not in seen:
                seen.add(key)
                self.inclusive[key] += 1
            files.append(code.co_filename)
            frame = frame.f_back
        self.layers[self._layer(files)] += 1

    def _layer(self, files: list[str]) -> str:
        """Charge a sample to the project's own code, or to the library the project code called."""
        for i, filename in enumerate(files):
            if self._package(filename) in PROJECT_PACKAGES:
                return "project code" if i == 0 else "called by project: " + self._package(files[i - 1])
        for filename in files:
            if "site-packages/" in filename:
                return "outside project code: " + self._package(filename)
        return "outside project code: other"

    def dump(self) -> dict[str, Any]:
        return {"samples": self.samples, "layers": dict(self.layers),
                "own": [[*k, v] for k, v in sorted(self.own.items(), key=lambda kv: -kv[1])[:400]],
                "inclusive": [[*k, v] for k, v in sorted(self.inclusive.items(), key=lambda kv: -kv[1])[:600]]}


class _ProfiledApp:
    """Wrap the real WSGI app; once told to start, profile the whole worker (gunicorn's part too)."""

    def __init__(self, app: Any, out: str, mode: str, timer: str) -> None:
        self.app = app
        self.out = out
        self.mode = mode
        self.timer = time.process_time if timer == "cpu" else time.perf_counter
        self.prof: cProfile.Profile | None = None
        self.sampler: _Sampler | None = None
        self.on = False
        self.messages = 0
        self.db_turns = 0
        self.wall = 0.0
        self.cpu = 0.0
        convos = app.extensions["repairbot.conversations"]
        db = convos.services.db
        make = db.sessionmaker

        def counting() -> Any:
            # Conversations.answer reads services.db.sessionmaker per message; a call is a database turn.
            if self.on:
                self.db_turns += 1
            return make()

        db.sessionmaker = counting

    def _reply(self, start_response: Callable[..., Any], doc: dict[str, Any]) -> list[bytes]:
        body = json.dumps(doc).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == PROFILE_START_PATH:
            self.messages = self.db_turns = 0
            self.wall, self.cpu = time.perf_counter(), time.process_time()
            self.on = True
            if self.mode == "sample":
                self.sampler = _Sampler()
                self.sampler.start()
            else:
                self.prof = cProfile.Profile(self.timer)
                self.prof.enable()  # stays on: gunicorn's parsing, logging and socket work are profiled too
            return self._reply(start_response, {"started": True})
        if path == PROFILE_DUMP_PATH:
            if not self.on:
                return self._reply(start_response, {"messages": 0})
            self.on = False
            doc: dict[str, Any] = {"messages": self.messages, "db_turns": self.db_turns,
                                   "wall_s": time.perf_counter() - self.wall, "cpu_s": time.process_time() - self.cpu,
                                   "mode": self.mode, "timer": "cpu" if self.timer is time.process_time else "wall"}
            if self.prof is not None:
                self.prof.disable()
                self.prof.dump_stats(self.out)
                self.prof = None
            if self.sampler is not None:
                self.sampler.stop()
                doc["sampled"] = self.sampler.dump()
                self.sampler = None
            return self._reply(start_response, doc)
        if path == "/wechat" and self.on:
            self.messages += 1
        return self.app(environ, start_response)


def __getattr__(name: str) -> Any:
    # `gunicorn ... tests.benchmarks.bench_webhook:profiled_app` builds the real app only when asked.
    if name == "profiled_app":
        from bot.wsgi import app

        wrapped = _ProfiledApp(app, os.environ["BENCH_PROFILE_OUT"], os.environ.get("BENCH_PROFILE_MODE", "cprofile"),
                               os.environ.get("BENCH_PROFILE_TIMER", "cpu"))
        globals()["profiled_app"] = wrapped
        return wrapped
    raise AttributeError(name)


IDLE_FUNCTIONS = ("select.select", "<method 'accept' of '_socket.socket' objects>", "<built-in method time.sleep>",
                  "<method 'poll' of 'select.poll' objects>", "<method 'select' of 'select.epoll' objects>",
                  "<built-in method select.select>")


def _package(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    root = str(ROOT) + "/"
    if filename.startswith(root):
        rel = filename[len(root):]
        return rel.split("/", 1)[0] + "/" if "/" in rel else rel
    if "/lib/python3" in filename:
        mod = filename.split("/lib/python3", 1)[1].split("/", 1)[-1]  # e.g. json/encoder.py, socket.py
        return "stdlib:" + mod.split("/", 1)[0].removesuffix(".py")
    return filename


def _fname(key: tuple[str, int, str]) -> str:
    filename, line, func = key
    if filename.startswith("~"):
        return func
    short = filename.split("site-packages/", 1)[-1].replace(str(ROOT) + "/", "")
    return f"{short}:{line}({func})"


def report_samples(meta: dict[str, Any]) -> None:
    sampled = meta["sampled"]
    n = max(1, int(meta["messages"]))
    # Each sample stands for an equal share of the CPU the worker used while sampling.
    per_sample = meta["cpu_s"] / max(1, sampled["samples"])
    total = per_sample * sampled["samples"] or 1e-9
    own = [(tuple(row[:3]), row[3] * per_sample) for row in sampled["own"]]
    incl = [(tuple(row[:3]), row[3] * per_sample) for row in sampled["inclusive"]]
    print(f"  worker CPU {total:.2f} s = {total / n * 1000:.2f} ms/msg, shared out by {sampled['samples']} samples")
    by_pkg: dict[str, float] = collections.defaultdict(float)
    for key, v in own:
        by_pkg[_package(key[0])] += v
    top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:14]
    print("  own CPU by package (C calls charged to their Python caller): "
          + ", ".join(f"{pkg} {v / total:.0%}" for pkg, v in top))
    layers = sorted(sampled["layers"].items(), key=lambda kv: -kv[1])
    print("  CPU by layer (a library's share includes what it calls, e.g. psycopg under sqlalchemy):")
    for name, count in layers[:16]:
        print(f"    {count * per_sample / n * 1000:6.3f} ms {count / max(1, sampled['samples']):5.1%}  {name}")
    print("  top functions by own CPU (ms per message, share):")
    for key, v in own[:22]:
        print(f"    {v / n * 1000:6.3f} ms {v / total:5.1%}  {_fname(key)}")
    print("  project and library entry points by inclusive CPU (ms per message, share):")
    shown = [(k, v) for k, v in incl if any(w in k[0] for w in ENTRY_POINTS) and v / n * 1000 >= 0.02]
    for key, v in shown[:45]:
        print(f"    {v / n * 1000:6.3f} ms {v / total:5.1%}  {_fname(key)}")


PROJECT_PACKAGES = ("bot/", "dialogs/", "models/", "workers/")
ENTRY_POINTS = ("bot/webhook.py", "bot/conversations.py", "bot/wechat.py", "bot/services.py", "dialogs/", "models/",
                "workers/queues.py", "gunicorn/workers/sync.py", "gunicorn/glogging.py", "gunicorn/http/",
                "flask/app.py", "werkzeug/", "wechatpy/", "redis/client.py", "redis/connection.py",
                "sqlalchemy/orm/session.py", "sqlalchemy/engine/base.py", "sqlalchemy/pool/", "psycopg/", "rq/",
                "json/", "logging/", "xmltodict.py")


def report_profile(path: Path, meta: dict[str, Any]) -> None:
    stats = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    n = max(1, int(meta["messages"]))
    idle = sum(tt for key, (_, _, tt, _, _) in raw.items() if any(f in _fname(key) for f in IDLE_FUNCTIONS))
    busy = sum(tt for _, _, tt, _, _ in raw.values()) - idle
    print(f"  profiled time {busy:.2f} s for {n} messages = {busy / n * 1000:.2f} ms/msg, profiler overhead "
          f"included (idle in select/accept {idle:.2f} s, left out)")

    by_pkg: dict[str, float] = collections.defaultdict(float)
    for key, (_, _, tt, _, _) in raw.items():
        if not any(f in _fname(key) for f in IDLE_FUNCTIONS):
            by_pkg[_package(key[0])] += tt
    top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:14]
    print("  own time by package: " + ", ".join(f"{pkg} {tt / busy:.0%}" for pkg, tt in top))

    def calls(pred: Callable[[tuple[str, int, str]], bool]) -> int:
        return sum(nc for key, (_, nc, _, _, _) in raw.items() if pred(key))

    redis_trips = calls(lambda k: k[0].endswith("redis/connection.py") and k[2] == "send_packed_command")
    pg_exec = calls(lambda k: k[0].endswith("psycopg/cursor.py") and k[2] == "execute")
    pg_commit = calls(lambda k: k[0].endswith("psycopg/connection.py") and k[2] == "commit")
    pg_rollback = calls(lambda k: k[0].endswith("psycopg/connection.py") and k[2] == "rollback")
    print(f"  round trips per message: Redis {redis_trips / n:.2f} (send_packed_command), PostgreSQL "
          f"{(pg_exec + pg_commit) / n:.2f} (execute {pg_exec / n:.2f} + commit {pg_commit / n:.2f}; "
          f"rollback calls {pg_rollback / n:.2f})")

    rows = [(key, v) for key, v in raw.items() if not any(f in _fname(key) for f in IDLE_FUNCTIONS)]
    print("  top functions by own time (ms per message, share of busy time, calls per message):")
    for key, (_, nc, tt, _, _) in sorted(rows, key=lambda kv: -kv[1][2])[:25]:
        print(f"    {tt / n * 1000:6.3f} ms {tt / busy:5.1%} {nc / n:7.2f}  {_fname(key)}")
    print("  project and library entry points by cumulative time (ms per message, calls per message):")
    wanted = ("bot/webhook.py", "bot/conversations.py", "bot/wechat.py", "dialogs/", "models/", "workers/queues.py",
              "gunicorn/workers/sync.py", "gunicorn/glogging.py", "flask/app.py", "wechatpy/", "redis/client.py",
              "sqlalchemy/orm/session.py", "json/")
    cum = [(key, v) for key, v in rows
           if any(w in key[0] for w in wanted) and not key[2].startswith("<")]
    for key, (_, nc, _, ct, _) in sorted(cum, key=lambda kv: -kv[1][3])[:40]:
        if ct / n * 1000 < 0.02:
            break
        print(f"    {ct / n * 1000:6.3f} ms {nc / n:7.2f}  {_fname(key)}")


# ======================================================================================
# Reporting and main
# ======================================================================================

def fmt_ms(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def describe(r: PhaseResult) -> str:
    w = r.window
    text = (f"{r.rate:.0f} msg/s p50 {fmt_ms(r.p(0.50))} ms p95 {fmt_ms(r.p(0.95))} ms p99 {fmt_ms(r.p(0.99))} ms "
            f"errors {w.errors}")
    return text


def cpu_text(r: PhaseResult) -> str:
    c = r.window.cpu
    return (f"gunicorn {c.get('gunicorn', 0):.2f} cores ({r.server_ms_per_msg:.2f} ms/msg), "
            f"redis {c.get('redis', 0):.2f}, postgres {c.get('postgres', 0):.2f}, "
            f"generator {c.get('generator', 0):.2f}, other programs {c.get('other', 0):.2f}, "
            f"machine busy {c.get('machine_busy', 0):.2f} of {os.cpu_count()}")


def meets_bar(r: PhaseResult) -> bool:
    return r.rate >= BAR_RATE and r.p(0.99) < BAR_P99_MS and r.window.errors == 0


def set_priority(nice: int) -> None:
    """Weigh the bench and its gunicorns (same session) against other programs on a shared machine.

    With autogroup scheduling (the Linux default) a process's nice value counts only within its
    session; the session's own weight is set through /proc/self/autogroup.
    """
    os.setpriority(os.PRIO_PROCESS, 0, nice)  # inherited by the gunicorns started below
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:
        pass


def parse_workers(text: str) -> list[int | None]:
    if text in ("", "conf"):
        return [None]
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError("--workers takes numbers separated by commas, e.g. 3,4,5") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("--workers takes numbers >= 1")
    return list(values)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15.0, help="measured window per phase (default 15)")
    ap.add_argument("--warmup", type=float, default=5.0, help="warm-up before the window (default 5)")
    ap.add_argument("--users", type=int, default=500,
                    help="distinct bound users (openids) walking dialogs (default 500)")
    ap.add_argument("--concurrency", type=int, default=12,
                    help="messages in flight at once, each from a different user (default 12)")
    ap.add_argument("--workers", type=parse_workers, default=[None],
                    help="gunicorn worker counts to try, e.g. 3,4,5 (default: what deploy/gunicorn.conf.py says)")
    ap.add_argument("--yardsticks", default="echo",
                    help="comma list of: echo (bare echo), redis3 (echo + 3 Redis calls), "
                         "pipe2 (echo + 2 pipelined round trips, as many as dialogs/store.py makes); default echo")
    ap.add_argument("--profile", action="store_true",
                    help="also run one worker under cProfile with the dialog load and show where the time goes")
    ap.add_argument("--profile-only", action="store_true", help="skip the measured phases, only --profile")
    ap.add_argument("--profile-seconds", type=float, default=20.0)
    ap.add_argument("--profile-mode", choices=("cprofile", "sample", "both"), default="both",
                    help="cProfile, stack sampling on the CPU clock (no per-call distortion), or both (default)")
    ap.add_argument("--profile-timer", choices=("cpu", "wall"), default="cpu",
                    help="cProfile's clock: cpu (process time; default) or wall (includes waits for Redis/PostgreSQL)")
    ap.add_argument("--warm-turns", type=int, default=10,
                    help="the warm-up also lasts (up to 30 s) until users sent this many messages each on average "
                         "(default 10)")
    ap.add_argument("--gunicorn-args", default="",
                    help="extra gunicorn options for every phase, through GUNICORN_CMD_ARGS (to try settings: "
                         "e.g. '--worker-class gthread --threads 4')")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--monitor-seconds", type=float, default=2.0,
                    help="after the dialog window, keep the load on this long with Redis MONITOR counting the "
                         "commands on the bench's db (0: skip)")
    ap.add_argument("--nice", type=int, default=0,
                    help="scheduling priority for the bench and the gunicorns it starts (e.g. -10 on a machine "
                         "shared with other work; Redis and PostgreSQL keep theirs); default 0")
    ap.add_argument("--quiet-wait", type=float, default=60.0,
                    help="before each phase, wait up to this long for other programs to leave the CPU (default 60)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (gunicorn logs, profile)")
    args = ap.parse_args(argv)
    sticks = [s for s in args.yardsticks.split(",") if s]
    if "echo" not in sticks or any(s not in ("echo", "redis3", "pipe2") for s in sticks):
        ap.error("--yardsticks must include echo, and may add redis3 and pipe2")
    args.yardsticks = sticks
    if args.users < 1 or args.concurrency < 1:
        ap.error("--users and --concurrency must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows even when redirected

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # even when started in the background (SIGINT ignored there)
    if args.nice:
        set_priority(args.nice)
    tmp = Path(tempfile.mkdtemp(prefix="repairbot-bench-"))
    dead = socket.socket()  # bound, never listening: WeChat's API "is" here and refuses every connection
    dead.bind(("127.0.0.1", 0))
    base_env = {
        "REPAIRBOT_DATABASE_URL": sqlalchemy_url(),
        "REPAIRBOT_REDIS_URL": REDIS_URL,
        "REPAIRBOT_INSTANCE_PATH": str(tmp / "instance"),
        "REPAIRBOT_MEDIA_DIR": str(tmp / "instance" / "media"),
        "REPAIRBOT_SECRET_KEY": "bench-secret",
        "REPAIRBOT_PUBLIC_URL": "http://127.0.0.1:9",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "bench-app-secret",
        "WECHAT_AES_KEY": "",  # plain mode, whatever a .env says
        "WECHAT_API_BASE_URL": f"http://127.0.0.1:{dead.getsockname()[1]}/cgi-bin/",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if args.gunicorn_args:
        base_env["GUNICORN_CMD_ARGS"] = args.gunicorn_args
    exit_code = 1
    try:
        t = time.perf_counter()
        register = prepare(args.users)
        flush_redis()
        behaviour = Behaviour(Vocabulary.load(), make_plans(register))
        print(f"setup: database {DB_NAME} with {args.users} bound users, register "
              f"{len(behaviour.plans)} category/group/campus plans, Redis {REDIS_URL} flushed "
              f"({time.perf_counter() - t:.1f} s)")
        print(f"load: {args.users} users, {args.concurrency} messages in flight, warm-up {args.warmup:.0f} s, "
              f"window {args.seconds:.0f} s per phase; gunicorn -c deploy/gunicorn.conf.py"
              + (f" + GUNICORN_CMD_ARGS={args.gunicorn_args!r}" if args.gunicorn_args else "")
              + (f"; nice {args.nice}" if args.nice else "") + f"; temp folder {tmp}")
        bench = Bench(args, tmp, behaviour, base_env)
        configs: list[tuple[PhaseResult, dict[str, PhaseResult]]] = []
        for workers in [] if args.profile_only else args.workers:
            dialog = bench.dialog(workers)
            print_dialog(dialog)
            sticks = {"echo": bench.yardstick("echo", workers)}
            print_yardstick(sticks["echo"])
            for extra in args.yardsticks:
                if extra != "echo":
                    sticks[extra] = bench.yardstick(extra, workers, redis_mode="calls3" if extra == "redis3"
                                                    else "pipe2")
                    print_yardstick(sticks[extra])
            configs.append((dialog, sticks))
            print(summary_line(dialog, sticks), flush=True)
        if args.profile or args.profile_only:
            for mode in ("cprofile", "sample") if args.profile_mode == "both" else (args.profile_mode,):
                bench.profile(mode)
        if not configs:
            return 0
        best_dialog, _ = max(configs, key=lambda c: (meets_bar(c[0]), c[0].rate))
        print("\n" + "=" * 100)
        for dialog, sticks in configs:
            print(summary_line(dialog, sticks))
        ok = meets_bar(best_dialog)
        print(f"best: {best_dialog.workers} workers -> {'PASS' if ok else 'FAIL'} "
              f"(bar: >= {BAR_RATE:.0f} msg/s, p99 < {BAR_P99_MS:.0f} ms, 0 errors)")
        exit_code = 0 if ok else 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        exit_code = 130
    except RuntimeError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        exit_code = 2
    finally:
        Gunicorn.stop_all()
        dead.close()
        if args.keep or exit_code == 2:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return exit_code


def summary_line(dialog: PhaseResult, sticks: dict[str, PhaseResult]) -> str:
    echo = sticks["echo"]
    ratio = dialog.rate / echo.rate if echo.rate else float("nan")
    others = "".join(f" | {name}: {r.rate:.0f} msg/s" for name, r in sticks.items() if name != "echo")
    gen = max(dialog.window.cpu.get("generator", 0), echo.window.cpu.get("generator", 0))
    other = max(r.window.cpu.get("other", 0) for r in (dialog, *sticks.values()))
    return (f"workers {dialog.workers}: dialog: {dialog.rate:.0f} msg/s p50 {fmt_ms(dialog.p(0.5))} ms "
            f"p99 {fmt_ms(dialog.p(0.99))} ms errors {dialog.window.errors} db_turns {dialog.db_share:.1%} | "
            f"echo: {echo.rate:.0f} msg/s{others} | ratio {ratio:.2f} | generator cpu "
            f"{dialog.window.cpu.get('generator', 0):.0%} (dialog) / {gen:.0%} (max) of one core"
            + (f" | DISTURBED: other programs used {other:.1f} cores" if other > 0.2 else ""))


def print_dialog(dialog: PhaseResult) -> None:
    w = dialog.window
    x = dialog.extra
    print(f"\n--- gunicorn workers {dialog.workers} ---")
    print(f"dialog: {describe(dialog)}; warm-up {w.warmup_s:.1f} s; {w.total_messages} messages in the phase, "
          f"{w.filed} tickets filed (database: {x.get('tickets_db')})")
    print(f"  database turns {dialog.db_share:.1%} of messages (p50 {fmt_ms(dialog.p(0.5, True))} ms, "
          f"p99 {fmt_ms(dialog.p(0.99, True))} ms); PostgreSQL transactions per message "
          f"{x.get('pg_xacts_per_msg', 0):.3f}")
    cmds = x.get("redis_cmds", {})
    total = max(1, w.total_messages)
    if x.get("monitor_msgs"):
        print(f"  Redis commands per message on db {REDIS_URL.rsplit('/', 1)[-1]} (MONITOR over "
              f"{x['monitor_msgs']} messages after the window): {x['monitor_cmds_per_msg']:.2f}: "
              + ", ".join(f"{k} {v:.2f}" for k, v in list(x["monitor_cmds"].items())[:14])
              + (f"; other dbs meanwhile: {x['monitor_other_dbs']} commands" if x["monitor_other_dbs"] else ""))
    print(f"  Redis commands per message, server-wide INFO commandstats (other clients count too): "
          f"{x.get('redis_cmds_per_msg', 0):.2f}: "
          + ", ".join(f"{k} {v / total:.2f}" for k, v in list(cmds.items())[:12]))
    print(f"  cpu: {cpu_text(dialog)}")
    print_errors(dialog)


def print_yardstick(r: PhaseResult) -> None:
    print(f"{r.name}: {describe(r)}; cpu: {cpu_text(r)}")
    print_errors(r)


def print_errors(r: PhaseResult) -> None:
    for why, count in r.window.error_samples.most_common(5):
        print(f"  [{r.name}] {count} x {why}")


if __name__ == "__main__":
    sys.exit(main())
