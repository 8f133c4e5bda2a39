"""The figures of data at scale: the webhook, 我的报修, the duplicate check, filing and the console, at 1M tickets.

    python -m tests.benchmarks.scale_data --url postgresql+psycopg://postgres@127.0.0.1:5432/NAME --tickets N
        [--only inproc,console,dialog] [--explain]

``figures(url, tickets)`` is what ``make bench-scale`` calls: it makes sure the database at ``url`` holds a
seeded university of about ``tickets`` tickets (``seed_scale``; a database holding another size is dropped and
seeded again, which takes minutes at a million), then measures, each against its bar:

- inside the process (``inproc``): 我的报修 of a bound user with 200 tickets (``user_tickets``), the duplicate
  check (``find_duplicate``) and filing (``file_ticket`` and its commit), p99 of a few hundred calls each;
- the console (``console``): gunicorn as deployed serves the app; 10 seeded staff (an admin, dispatchers,
  workers) log in with ``requests`` sessions and browse the queue, search (a ticket number, a phone, words of a
  description) and open tickets, with a short think time; p95 of each as the server timed it (gunicorn's
  access log, ``%(D)s``);
- the webhook (``dialog``): the webhook bench's dialog phase on an empty database and on the full one in the
  same run, alternating, twice each; the ratio of the best full rate to the best empty rate.

``--explain`` prints the plans of the queries the figures rest on (the README quotes them).
Only loopback servers are started, every loop is bounded in time, and every server is stopped on the way out.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Figure = tuple[str, float, str, str, float]  # name, value, unit, op, limit

HEAVY_OPENID = "oScaleHeavyUser"  # the bound user with 200 tickets
HEAVY_TICKETS = 200
STAFF_AT_ONCE = 10
BENCH_SOURCE = "scale-bench-"  # source_key prefix of the tickets the filing figure files (removed after)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def pg_url(url: str) -> str:
    """The psycopg URL of a SQLAlchemy one."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def server_url(url: str) -> str:
    """The psycopg URL of the server's maintenance database."""
    return pg_url(url).rsplit("/", 1)[0] + "/postgres"


# -- the seeded database ---------------------------------------------------------------------------

def ticket_count(url: str) -> int | None:
    """How many tickets the database holds, or None when it does not exist or has no schema."""
    import psycopg

    try:
        with psycopg.connect(pg_url(url), autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM tickets").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else 0


def recreate(url: str) -> None:
    import psycopg

    name = db_name(url)
    with psycopg.connect(server_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def ensure_seeded(url: str, tickets: int) -> None:
    """A database of about `tickets` seeded tickets (up to 2% or 2,000 more: the benchmarks file some of their own)."""
    from tests.benchmarks.seed_scale import seed

    found = ticket_count(url)
    if found is not None and tickets <= found <= tickets + max(2_000, tickets // 50):
        print(f"setup: {db_name(url)} holds {found:,} tickets; kept")
        return
    print(f"setup: seeding {db_name(url)} with {tickets:,} tickets (minutes at a million)...", flush=True)
    began = time.monotonic()
    recreate(url)
    counts = seed(url, tickets=tickets, users=50_000, complaints=max(1, tickets // 10))
    print(f"setup: seeded in {time.monotonic() - began:.0f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)


# -- inside the process ---------------------------------------------------------------------------------

@contextmanager
def database(url: str) -> Iterator[Any]:
    import models.all  # noqa: F401  (every table on the metadata)
    from models.db import Database

    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


def heavy_user(db: Any, rng: random.Random) -> tuple[str, int]:
    """A bound user with HEAVY_TICKETS tickets over the three years (made once), following a few more."""
    from sqlalchemy import func, select

    from models.people import WechatUser
    from models.tickets import Ticket, TicketFollower

    with db.session() as s:
        wu = s.scalars(select(WechatUser).where(WechatUser.person_id.is_not(None)).order_by(WechatUser.id)).first()
        person_id = int(wu.person_id)
        have = s.scalar(select(func.count(Ticket.id)).where(Ticket.openid == HEAVY_OPENID)) or 0
        if have < HEAVY_TICKETS:
            _copy_tickets(s, HEAVY_TICKETS - have, person_id, rng)
            s.add_all(TicketFollower(ticket_id=tid, openid=HEAVY_OPENID)
                      for tid in s.scalars(select(Ticket.id).where(Ticket.openid != HEAVY_OPENID).limit(5)))
    return HEAVY_OPENID, person_id


def _copy_tickets(s: Any, n: int, person_id: int, rng: random.Random) -> None:
    """Give the heavy user n tickets: copies of seeded ones spread over the years, numbered apart (S…)."""
    from sqlalchemy import func, insert, select

    from models.tickets import TICKETS

    top = s.scalar(select(func.max(TICKETS.c.id))) or 0
    picks = sorted(rng.sample(range(1, top + 1), min(n * 3, top)))
    rows = s.execute(select(TICKETS).where(TICKETS.c.id.in_(picks)).limit(n)).mappings().all()
    start = s.scalar(select(func.count()).select_from(TICKETS).where(TICKETS.c.no.like("S%"))) or 0
    fresh = [{**{k: v for k, v in r.items() if k not in ("id", "source_key")}, "openid": HEAVY_OPENID,
              "person_id": person_id, "no": f"S{start + i:09d}"} for i, r in enumerate(rows)]
    if fresh:
        s.execute(insert(TICKETS), fresh)


def timed(calls: int, run: Callable[[int], object]) -> list[float]:
    """Milliseconds of each of `calls` calls (after 20 untimed ones, to warm caches and pools)."""
    for i in range(20):
        run(i)
    out = []
    for i in range(calls):
        t = time.perf_counter()
        run(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def inproc_figures(url: str, calls: int = 400) -> list[Figure]:
    from models.tickets import user_tickets

    rng = random.Random(7)
    with database(url) as db:
        openid, person_id = heavy_user(db, rng)
        places = duplicate_places(db)

        def my_tickets(_: int) -> None:
            with db.session() as s:
                assert len(user_tickets(s, openid, person_id)) == 9

        mine = timed(calls, my_tickets)
        dup = timed(calls, lambda i: duplicate_check(db, places[i % len(places)]))
        filing = timed(calls, lambda i: file_one(db, places[i % len(places)], i))
        remove_filed(db)
    print(f"inside the process, {calls} calls each (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores): "
          + ", ".join(
        f"{name} p50 {percentile(v, 0.5):.2f} ms p99 {percentile(v, 0.99):.2f} ms"
                      for name, v in (("我的报修", mine), ("duplicate check", dup), ("filing", filing))))
    return [("my_tickets_p99_ms", percentile(mine, 0.99), "ms", "<=", 5.0),
            ("duplicate_check_p99_ms", percentile(dup, 0.99), "ms", "<=", 5.0),
            ("filing_p99_ms", percentile(filing, 0.99), "ms", "<=", 5.0)]


@dataclass(frozen=True)
class Place:
    category: str
    group: str
    item: str | None
    campus: str
    building: str
    floor: str | None


def duplicate_places(db: Any) -> list[Place]:
    """Places and faults as the register offers them, shuffled (every building, floor and group)."""
    from models.register import current_register

    with db.session() as s:
        reg = current_register(s)
    assert reg is not None
    out: list[Place] = []
    for cat in reg.categories:
        for g in reg.groups_of(cat):
            for campus in reg.campuses_of(cat):
                for b in reg.buildings_for(cat, campus.name, g.name):
                    floor = str(1 + len(out) % b.floors) if b.floors else None
                    out.append(Place(cat.name, g.name, g.items[0] if g.items else None, campus.name, b.name, floor))
    random.Random(3).shuffle(out)
    return out


def duplicate_check(db: Any, p: Place) -> None:
    from models.tickets import find_duplicate

    with db.reading() as conn:
        find_duplicate(conn, p.campus, p.building, p.floor, p.group)


def file_one(db: Any, p: Place, i: int) -> None:
    from models.tickets import NewTicket, file_ticket

    with db.session() as s:
        file_ticket(s, NewTicket(openid=HEAVY_OPENID + "-filing", person_id=None, category=p.category, group=p.group,
                                 item=p.item, campus=p.campus, building=p.building, floor=p.floor, room=None,
                                 place_note=None, description="水龙头一直滴水，麻烦尽快来修", phone="13900000000",
                                 source_key=f"{BENCH_SOURCE}{time.time_ns()}-{i}"))


def remove_filed(db: Any) -> None:
    """The tickets the filing figure filed would stand in the queue and the duplicate check: gone again."""
    from sqlalchemy import delete, select

    from models.tickets import EVENTS, TICKETS

    with db.session() as s:
        ids = select(TICKETS.c.id).where(TICKETS.c.source_key.like(f"{BENCH_SOURCE}%")).scalar_subquery()
        s.execute(delete(EVENTS).where(EVENTS.c.ticket_id.in_(ids)))
        s.execute(delete(TICKETS).where(TICKETS.c.source_key.like(f"{BENCH_SOURCE}%")))


# -- the console under 10 staff ----------------------------------------------------------------------------

@dataclass
class Browsing:
    """What the staff browse: ticket numbers each may open, phones and words to search."""

    numbers: dict[str, list[str]]
    phones: list[str]
    words: list[str]
    categories: dict[str, list[str]]


def staff_to_log_in(db: Any) -> list[tuple[str, str, list[str]]]:
    """The seeded staff (seed_scale): the admin, dispatchers and workers, STAFF_AT_ONCE in all."""
    from sqlalchemy import select

    from models.people import Staff

    with db.session() as s:
        staff = [(x.name, x.role, list(x.categories or [])) for x in s.scalars(select(Staff).order_by(Staff.id))]
    admins = [x for x in staff if x[1] == "admin"][:1]
    dispatchers = [x for x in staff if x[1] == "dispatcher"][:6]
    workers = [x for x in staff if x[1] == "worker"][:STAFF_AT_ONCE - len(admins) - len(dispatchers)]
    return admins + dispatchers + workers


def browsing(db: Any, staff: list[tuple[str, str, list[str]]]) -> Browsing:
    from sqlalchemy import func, select

    from models.people import Staff
    from models.tickets import Ticket

    numbers: dict[str, list[str]] = {}
    with db.session() as s:
        top = s.scalar(select(func.max(Ticket.id))) or 1
        sample = s.execute(select(Ticket.no, Ticket.category, Ticket.phone, Ticket.item, Ticket.worker_id).where(
            Ticket.id.in_(random.Random(5).sample(range(1, top + 1), min(20_000, top))))).all()
        ids = {x.name: x.id for x in s.scalars(select(Staff))}
    for name, role, cats in staff:
        numbers[name] = [r.no for r in sample if role == "admin" or (role == "dispatcher" and r.category in cats)
                         or (role == "worker" and r.worker_id == ids[name])][:300] or [sample[0].no]
    words = sorted({r.item for r in sample if r.item and len(r.item) >= 2})
    return Browsing(numbers, [r.phone for r in sample[:300]], [*words, "漏水", "不亮", "堵了", "坏了"],
                    {name: cats for name, _, cats in staff})


QUEUE_VIEWS: tuple[dict[str, str], ...] = (
    {}, {"page": "2"}, {"status": "submitted"}, {"overdue": "1"}, {"worker": "none"}, {"status": "closed"},
    {"status": "all"})


def next_request(rng: random.Random, name: str, b: Browsing) -> tuple[str, str, dict[str, str]]:
    """(kind, path, query) of a staff member's next page: the queue, a search or a ticket."""
    roll = rng.random()
    if roll < 0.4:
        args = dict(rng.choice(QUEUE_VIEWS))
        if b.categories[name] and rng.random() < 0.3:
            args["category"] = rng.choice(b.categories[name])
        return "queue", "/console/", args
    if roll < 0.7:
        what = rng.random()
        q = (rng.choice(b.numbers[name]) if what < 0.35 else rng.choice(b.phones) if what < 0.6
             else rng.choice(b.words))
        return "search", "/console/", {"q": q, "status": "all"}
    return "ticket", f"/console/tickets/{rng.choice(b.numbers[name])}", {}


def log_in(session: Any, base: str, name: str, password: str) -> None:
    for _ in range(20):
        page = session.get(f"{base}/console/login", timeout=30).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        if token is None:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        r = session.post(f"{base}/console/login", data={"name": name, "password": password,
                                                      "csrf_token": token.group(1)}, timeout=30)
        if r.status_code == 200 and "/console/login" not in r.url:
            return
        time.sleep(1.5)  # the login limits (too fast from one address): wait and try again
    raise RuntimeError(f"{name} could not log in")


@dataclass
class Browser:
    """One staff member's loop: a requests session, pages until the deadline, a think time between."""

    name: str
    base: str
    b: Browsing
    seed: int
    think_s: float
    client_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def run(self, password: str, start: threading.Barrier, seconds: float) -> None:
        import requests

        rng = random.Random(self.seed)
        with requests.Session() as session:
            log_in(session, self.base, self.name, password)
            start.wait()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                kind, path, args = next_request(rng, self.name, self.b)
                t = time.perf_counter()
                r = session.get(self.base + path, params=args, timeout=30)
                self.client_ms.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
                if r.status_code != 200 or "/console/login" in r.url:
                    self.errors.append(f"{r.status_code} {path} {args}")
                time.sleep(rng.uniform(0, 2 * self.think_s))


ACCESS_FORMAT = "%(U)s %(q)s %(s)s %(D)s"


def server_times(log: Path) -> dict[str, list[float]]:
    """Milliseconds per kind of page, as gunicorn timed them (its access log, microseconds)."""
    out: dict[str, list[float]] = {"queue": [], "search": [], "ticket": []}
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split(" ")
        if len(parts) != 4 or not parts[3].isdigit() or parts[2] != "200":
            continue
        path, query = parts[0], parts[1]
        kind = ("ticket" if path.startswith("/console/tickets/") else
                "search" if path == "/console/" and "q=" in query else "queue" if path == "/console/" else "")
        if kind:
            out[kind].append(int(parts[3]) / 1000)
    return out


def console_figures(url: str, seconds: float = 40.0, think_s: float = 1.0) -> list[Figure]:
    from tests.benchmarks.seed_scale import SEED_PASSWORD
    from tests.benchmarks.webhook.servers import Gunicorn
    from tests.benchmarks.webhook.settings import REDIS_URL
    from tests.benchmarks.webhook.stores import flush_redis

    with database(url) as db:
        staff = staff_to_log_in(db)
        b = browsing(db, staff)
    tmp = Path(tempfile.mkdtemp(prefix="repairbot-scale-"))
    log = tmp / "access.log"
    env = {"REPAIRBOT_DATABASE_URL": url, "REPAIRBOT_REDIS_URL": REDIS_URL,
           "REPAIRBOT_INSTANCE_PATH": str(tmp / "instance"), "REPAIRBOT_SECRET_KEY": "scale-secret",
           "REPAIRBOT_ID_PEPPER": "scale-pepper", "WECHAT_TOKEN": "scale-token", "WECHAT_APPID": "wxscale",
           "WECHAT_SECRET": "scale-secret", "WECHAT_API_BASE_URL": "http://127.0.0.1:9/cgi-bin/",
           "REPAIRBOT_ACCESS_LOG": str(log),
           "GUNICORN_CMD_ARGS": "--access-logformat " + shlex.quote(ACCESS_FORMAT)}
    flush_redis()  # the login limits of an earlier run
    server = Gunicorn("bot.wsgi:app", None, env, tmp / "gunicorn.log")
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        browsers = [Browser(name, base, b, i, think_s) for i, (name, _, _) in enumerate(staff)]
        start = threading.Barrier(len(browsers) + 1)
        threads = [threading.Thread(target=x.run, args=(SEED_PASSWORD, start, seconds), daemon=True)
                   for x in browsers]
        for t in threads:
            t.start()
        start.wait(timeout=300)
        log.write_text("")  # the window starts: the logins are not counted
        for t in threads:
            t.join(timeout=seconds + 120)
    finally:
        server.stop()
    times = server_times(log)
    client = {k: [v for x in browsers for v in x.client_ms.get(k, [])] for k in times}
    errors = [e for x in browsers for e in x.errors]
    print(f"console: {len(browsers)} staff for {seconds:.0f} s (think {think_s:.1f} s on average; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores), "
          + ", ".join(f"{k} {len(v)} pages p50 {percentile(v, 0.5):.0f} ms p95 {percentile(v, 0.95):.0f} ms "
                      f"(client p95 {percentile(client[k], 0.95):.0f} ms)" for k, v in times.items())
          + f"; errors {len(errors)}" + (f": {errors[:3]}" if errors else ""))
    if errors:
        raise RuntimeError(f"the console answered {len(errors)} pages wrongly: {errors[:5]}")
    return [("console_queue_p95_ms", percentile(times["queue"], 0.95), "ms", "<=", 200.0),
            ("console_search_p95_ms", percentile(times["search"], 0.95), "ms", "<=", 200.0),
            ("ticket_page_p95_ms", percentile(times["ticket"], 0.95), "ms", "<=", 200.0)]


# -- the webhook, empty and full ----------------------------------------------------------------------------

def bench_users_on(url: str, users: int) -> Any:
    """The webhook bench's bound users (its roster and openids) on the database at `url`, once."""
    from sqlalchemy import select

    from models.people import WechatUser
    from tests.benchmarks.webhook.settings import REGISTER_FILE
    from tests.benchmarks.webhook.stores import _fill
    from tests.benchmarks.webhook.users import openid_of

    with database(url) as db, db.session() as s:
        there = s.scalars(select(WechatUser.id).where(WechatUser.openid == openid_of(users - 1))).first()
    if there is None:
        return _fill(url, users)
    from models.register import Register

    return Register.from_yaml(REGISTER_FILE.read_text(encoding="utf-8"))


def dialog_figures(url: str, seconds: float = 12.0, rounds: int = 3) -> list[Figure]:
    """The webhook bench's dialog phase on an empty database and on the full one, alternating."""
    from models.schema import upgrade
    from tests.benchmarks.webhook.__main__ import bench_env, parse_args
    from tests.benchmarks.webhook.phases import Bench
    from tests.benchmarks.webhook.script import Behaviour, Vocabulary, make_plans
    from tests.benchmarks.webhook.servers import Gunicorn, free_port

    args = parse_args(["--seconds", str(seconds), "--warmup", "4", "--monitor-seconds", "0", "--users", "500",
                       "--quiet-wait", "20"])
    empty = url.rsplit("/", 1)[0] + "/" + db_name(url) + "_empty"
    recreate(empty)
    upgrade(empty)
    register = bench_users_on(empty, args.users)
    bench_users_on(url, args.users)
    behaviour = Behaviour(Vocabulary.load(), make_plans(register))
    tmp = Path(tempfile.mkdtemp(prefix="repairbot-scale-dialog-"))
    rates: dict[str, list[float]] = {"empty": [], "full": []}
    try:
        for _ in range(rounds):
            for which, target in (("empty", empty), ("full", url)):
                env = {**bench_env(args, tmp, free_port()), "REPAIRBOT_DATABASE_URL": target}
                bench = Bench(args, tmp, behaviour, env, db_name=db_name(target))
                r = bench.dialog(None)
                rates[which].append(r.rate)
                print(f"dialog on the {which} database: {r.rate:.0f} msg/s p99 {r.p(0.99):.1f} ms "
                      f"errors {r.window.errors}", flush=True)
                if r.window.errors:
                    raise RuntimeError(f"dialog errors on the {which} database: "
                                       f"{r.window.error_samples.most_common(3)}")
    finally:
        Gunicorn.stop_all()
    ratio = max(rates["full"]) / max(rates["empty"])
    print(f"dialog: best of {rounds}: empty {max(rates['empty']):.0f} msg/s, full {max(rates['full']):.0f} msg/s "
          f"(all: {rates}); median ratio {statistics.median(rates['full']) / statistics.median(rates['empty']):.2f}")
    return [("dialog_ratio_full_vs_empty", ratio, "x", ">=", 0.9)]


# -- all of them ------------------------------------------------------------------------------------------------

PARTS: dict[str, Callable[[str], list[Figure]]] = {
    "inproc": inproc_figures, "console": console_figures, "dialog": dialog_figures}


def figures(url: str, tickets: int, only: tuple[str, ...] = tuple(PARTS)) -> list[Figure]:
    """Seed (when the database holds another size), then measure each part named in `only`."""
    ensure_seeded(url, tickets)
    out: list[Figure] = []
    for part in only:
        out += PARTS[part](url)
    return out


def line(f: Figure) -> str:
    name, value, unit, op, limit = f
    ok = value <= limit if op == "<=" else value >= limit
    return f"scale: {name} {value:.2f} {unit} bar {op} {limit:g} {'ok' if ok else 'SHORT'}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of a PostgreSQL database for the seeded data")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--only", default=",".join(PARTS), help="comma list of: " + ", ".join(PARTS))
    ap.add_argument("--explain", action="store_true", help="print the plans of the queries the figures rest on")
    args = ap.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    if args.explain:
        from tests.benchmarks.scale_plans import print_plans

        ensure_seeded(args.url, args.tickets)
        print_plans(args.url)
        return 0
    only = tuple(p for p in args.only.split(",") if p)
    if any(p not in PARTS for p in only):
        ap.error("--only takes: " + ", ".join(PARTS))
    figs = figures(args.url, args.tickets, only)
    lines = [line(f) for f in figs]
    print("\n".join(lines))
    return 1 if any(x.endswith("SHORT") for x in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
