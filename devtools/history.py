"""A school's history of repairs, made up: three years of a whole university for the figures at scale, or a
few hundred tickets for the demo's statistics page.

Rows are made in Python from the register in force (any register of its shape) and written with
PostgreSQL's COPY, never through the ORM: a million tickets with their events, photos, pushes, overdue
stages and return visits, fifty thousand bound WeChat users and a hundred thousand complaints take
minutes.  On SQLite (the demo) the same rows go in as plain INSERTs.  The mix is plausible rather than
real: most tickets are closed with stage times that sometimes miss the register's limits, recent ones are
still open, dormitories report most, term time more than the holidays, office hours more than the night.

    python -m tests.benchmarks.seed_scale --url postgresql+psycopg://postgres@127.0.0.1:5432/NAME --tickets N

The database must be migrated or empty (it is migrated first) and hold no tickets yet.  The seeded staff
(an admin ADMIN, per category a dispatcher 调度员NN and workers 维修工NN-n) log in with SEED_PASSWORD.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection
from werkzeug.security import generate_password_hash

import models.all  # noqa: F401  (every table on the metadata)
from models.db import Base, Database
from models.register import Building, Register, RegisterDoc, current_register, store_register
from models.rollup import rebuild
from models.schema import upgrade

DAY = 86_400.0
HOUR = 3_600.0
YEARS = 3
LOCAL_OFFSET_S = 8 * 3600  # ticket numbers count days on China's clock
DEFAULT_REGISTER = files("bot") / "data" / "register.yaml"  # the shipped one
DEFAULT_SLA = {"accept": 2 * HOUR, "assign": 4 * HOUR, "complete": 48 * HOUR}
DEFAULT_SLA_URGENT = {"accept": 900.0, "assign": 1800.0, "complete": 4 * HOUR}
CHUNK = 20_000  # tickets per round of COPY statements
WORKERS_PER_CATEGORY = 4
SEED_PASSWORD = "seed-pass-1"  # the seeded staff accounts' password (a benchmark logs in with it)
ADMIN = "统计管理员"  # the seeded admin

# How many of a kind, by weight (not percentages).
KIND_WEIGHT = {"dormitory": 6.0, "teaching": 2.0, "housing": 2.0, "canteen": 1.5, "lab": 1.2, "office": 1.0}
MONTH_WEIGHT = [0.55, 0.35, 1.1, 1.1, 1.0, 1.0, 0.45, 0.35, 1.25, 1.1, 1.0, 1.0]  # January … December
HOUR_WEIGHT = [0.1, 0.05, 0.03, 0.03, 0.03, 0.1, 0.3, 0.8, 1.3, 1.5, 1.4, 1.2,
               1.0, 1.0, 1.3, 1.4, 1.3, 1.1, 0.9, 1.0, 1.1, 1.0, 0.6, 0.3]
RATINGS = ((5, 60), (4, 24), (3, 8), (2, 4), (1, 4))
RATING_COMMENTS = {1: "修了两次还是不行", 2: "等了很久才来", 3: "还行", 4: "挺快的", 5: "师傅很负责，谢谢"}
VISITS = (("satisfied", 60), ("fair", 20), ("unsatisfied", 5), ("unreached", 15))
CONSULT_KINDS = (("投诉", 35), ("建议", 25), ("咨询", 30), ("表扬", 10))
PHRASES = ("{item}坏了，麻烦尽快来修", "{item}不能用了", "{item}有问题，已经好几天了", "{item}漏水",
           "{item}松了", "{item}老是出毛病", "{item}需要维修，谢谢师傅")


@dataclass(frozen=True)
class Spot:
    """A building with the faults reported there: (group, items, category) of each group some category takes."""

    campus: str
    building: Building
    faults: tuple[tuple[str, tuple[str, ...], str], ...]


@dataclass
class Staffing:
    """The seeded office: per category its dispatcher and workers, as (id, name)."""

    dispatchers: dict[str, tuple[int, str]] = field(default_factory=dict)
    workers: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


@dataclass
class Ids:
    """The next id of each table (COPY gives ids itself; the sequences are set after)."""

    next: dict[str, int]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Buffers:
    """Rows per table (values in COLUMNS' order; times as seconds since the epoch), written a chunk at a time."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, *values: Any) -> None:
        self.rows.setdefault(table, []).append(values)

    def flush(self, sink: Sink) -> None:
        """Write every table's rows, parents before children (COLUMNS' order)."""
        for table in COLUMNS:
            rows = self.rows.get(table)
            if rows:
                sink.write(table, rows)
                self.counts[table] = self.counts.get(table, 0) + len(rows)
        self.rows = {}


class Sink:
    """Where rows go: PostgreSQL's COPY on PostgreSQL (fast), plain multi-row INSERTs elsewhere (SQLite)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if self.pg:
            copy_lines(self.conn, table, ["\t".join(_cell(v) for v in row) for row in rows])
            return
        names = [c.strip().strip('"') for c in COLUMNS[table].split(",")]
        target = Base.metadata.tables[table]
        self.conn.execute(insert(target), [dict(zip(names, map(_value, row), strict=True)) for row in rows])

    def sql(self, statement: str, **params: Any) -> list[Any]:
        result = self.conn.execute(text(statement), params)
        return list(result) if result.returns_rows else []


# Columns written per table, in the order the generator gives values.
COLUMNS = {
    "people": "id, card_no, name, secret_hash, role, phone, active",
    "wechat_users": "id, openid, person_id, subscribed, phone, bound_at, created_at, last_message_at",
    "tickets": ('id, no, status, openid, person_id, category, "group", item, campus, building, floor, room, '
                "description, phone, worker_id, created_at, updated_at, rating, rating_comment, rated_at, priority, "
                "accepted_at, accepted_by, assigned_at, completed_at, closed_at, close_reason, stage_started_at, "
                "held_s, reworks, rating_reminded_at"),
    "ticket_events": 'id, ticket_id, kind, status, at, "by", note',
    "ticket_photos": "id, ticket_id, media_id, path, status, attempts",
    "pushes": "id, ticket_id, event_id, openid, kind, channel, delivery, template_id, payload, status, attempts, "
              "msgid, created_at, sent_at",
    "sla_overdue": "id, ticket_id, stage, round, due_at, at, holder, holder_id, escalated_at, category",
    "return_visits": 'id, ticket_id, outcome, note, "by", at',
    "consults": "id, no, openid, person_id, title, kind, department, description, suggestion, anonymous, status, "
                "created_at, updated_at",
    "consult_events": 'id, consult_id, kind, "by", note, at',
}
SEQUENCED = tuple(COLUMNS)


def _cell(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return _stamp(value)
    return str(value)


def _value(value: Any) -> Any:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, float) else value


def _stamp(epoch: float) -> str:
    """A timestamptz in COPY text (seconds since the epoch, UTC)."""
    return datetime.fromtimestamp(int(epoch), UTC).isoformat()


def copy_lines(conn: Connection, table: str, lines: list[str]) -> None:
    raw = cast(psycopg.Connection[Any], conn.connection.driver_connection)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
        for start in range(0, len(lines), 5000):
            copy.write("\n".join(lines[start:start + 5000]) + "\n")


def pick(rng: random.Random, weighted: Iterable[tuple[Any, float]]) -> Any:
    items = list(weighted)
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


# -- the register -----------------------------------------------------------------------------

def load_register(db: Database, register_path: str | None) -> tuple[Register, dict[str, Any]]:
    """The register in force (loading ``register_path``, or the shipped one when none is), with its document."""
    with db.session() as s:
        reg = current_register(s)
        if reg is None or register_path:
            path = Path(register_path) if register_path else DEFAULT_REGISTER
            reg = store_register(s, path.read_text(encoding="utf-8"), path.name)
        doc = s.scalars(select(RegisterDoc.document).order_by(RegisterDoc.id.desc()).limit(1)).one()
    return reg, dict(doc)


def spots(reg: Register) -> list[tuple[Spot, float]]:
    """Every building where some fault can be reported, weighted by how much its kind reports."""
    out: list[tuple[Spot, float]] = []
    for campus in reg.campuses:
        for b in campus.buildings:
            faults = tuple((g.name, g.items, cat.name) for g in reg.groups
                           if (cat := reg.category_for(campus.name, b.kind, g.name)) is not None)
            if faults:
                out.append((Spot(campus.name, b, faults), KIND_WEIGHT.get(b.kind, 0.6)))
    return out


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": HOUR, "d": DAY}


def _seconds(text: Any, default: float) -> float:
    m = _DURATION.match(str(text)) if text is not None else None
    return float(m.group(1)) * _UNIT[m.group(2)] if m else default


def limits(doc: dict[str, Any]) -> dict[tuple[str, bool], dict[str, float]]:
    """Each category's stage limits in seconds, normal and urgent, from the document (defaults where silent)."""
    school = {k: _seconds((doc.get("sla") or {}).get(k), v) for k, v in DEFAULT_SLA.items()}
    urgent = {k: _seconds((doc.get("sla_urgent") or {}).get(k), v) for k, v in DEFAULT_SLA_URGENT.items()}
    out: dict[tuple[str, bool], dict[str, float]] = {}
    for node in doc.get("categories") or []:
        own = node.get("sla") or {}
        own_urgent = node.get("sla_urgent") or {}
        out[(node["name"], False)] = {k: _seconds(own.get(k), v) for k, v in school.items()}
        out[(node["name"], True)] = {k: _seconds(own_urgent.get(k), v) for k, v in urgent.items()}
    return out


# -- people and staff ---------------------------------------------------------------------------

def seed_staff(sink: Sink, reg: Register, workers: int = WORKERS_PER_CATEGORY) -> Staffing:
    """One dispatcher and a few workers per category, and an admin (ADMIN); kept when they exist already."""
    digest = generate_password_hash(SEED_PASSWORD)
    rows: list[tuple[str, str, list[str]]] = [(ADMIN, "admin", [])]
    for i, cat in enumerate(reg.categories, start=1):
        rows.append((f"调度员{i:02d}", "dispatcher", [cat.name]))
        rows += [(f"维修工{i:02d}-{n}", "worker", [cat.name]) for n in range(1, workers + 1)]
    staff = Base.metadata.tables["staff"]
    known = {name for (name,) in sink.conn.execute(select(staff.c.name))}
    new = [{"name": name, "role": role, "password_hash": digest, "categories": cats, "active": True,
            "created_at": datetime.now(UTC), "departments": [], "session_version": 0, "on_duty": False}
           for name, role, cats in rows if name not in known]
    if new:
        sink.conn.execute(insert(staff), new)
    found = sink.conn.execute(select(staff.c.id, staff.c.name, staff.c.role, staff.c.categories)
                              .where(staff.c.name.in_([r[0] for r in rows])))
    staffing = Staffing()
    for sid, name, role, cats in found:
        cat = (cats or [None])[0]
        if role == "dispatcher" and cat:
            staffing.dispatchers[cat] = (sid, name)
        elif role == "worker" and cat:
            staffing.workers.setdefault(cat, []).append((sid, name))
    return staffing


def phone_of(i: int) -> str:
    return f"1{3 + i % 7}{(i * 7_919_993) % 10**9:09d}"


def openid_of(i: int) -> str:
    return f"oSeedUser{i:07d}"


def seed_people(sink: Sink, ids: Ids, users: int, rng: random.Random,
                start: float, span: float) -> list[tuple[str, int, str]]:
    """Bound users: a roster row and a WeChat user each.  Returns (openid, person id, phone) per user."""
    secret = "hmac-sha256$" + generate_password_hash("seeded-not-a-real-id")
    buf = Buffers()
    out: list[tuple[str, int, str]] = []
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
    for i in range(users):
        pid, phone = ids.take("people"), phone_of(i)
        name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        role = "teacher" if i % 10 == 0 else "student"
        buf.add("people", pid, f"9{i:07d}", name, secret, role, phone, True)
        bound = start + rng.random() * span * 0.3
        buf.add("wechat_users", ids.take("wechat_users"), openid_of(i), pid, rng.random() > 0.04, phone,
                bound, bound, bound + rng.random() * 600 * DAY)
        out.append((openid_of(i), pid, phone))
    buf.flush(sink)
    return out


# -- tickets -------------------------------------------------------------------------------------

def filing_times(n: int, start: float, end: float, rng: random.Random) -> list[float]:
    """n times between start and end, sorted: more in term time and office hours."""
    out: list[float] = []
    span = end - start
    while len(out) < n:
        t = start + rng.random() * span
        local = time.gmtime(t + LOCAL_OFFSET_S)
        if rng.random() * 1.5 < MONTH_WEIGHT[local.tm_mon - 1] * HOUR_WEIGHT[local.tm_hour]:
            out.append(t)
    out.sort()
    return out


@dataclass
class Numbering:
    """Per-day serial numbers (R261127003), continuing the counters already in the database."""

    prefix: str
    series: str
    seen: dict[str, int]
    _days: dict[int, str] = field(default_factory=dict)

    def next(self, t: float) -> str:
        key = int((t + LOCAL_OFFSET_S) // DAY)
        day = self._days.get(key)
        if day is None:
            day = self._days[key] = time.strftime("%y%m%d", time.gmtime(t + LOCAL_OFFSET_S))
        name = f"{self.series}:{day}"
        value = self.seen.get(name, 0) + 1
        self.seen[name] = value
        return f"{self.prefix}{day}{value:03d}"


@dataclass
class World:
    """What every ticket is made from."""

    rng: random.Random
    reporters: list[tuple[str, int, str]]
    places: list[Spot]
    place_weights: list[float]
    staffing: Staffing
    sla: dict[tuple[str, bool], dict[str, float]]
    now: float
    ids: Ids
    numbers: Numbering


def reporter(world: World) -> tuple[str, int, str]:
    """Most reporters report a few times; some hundreds (10% of tickets come from the first 500 users)."""
    n = len(world.reporters)
    i = world.rng.randrange(min(500, n)) if world.rng.random() < 0.1 else world.rng.randrange(n)
    return world.reporters[i]


def place_of(world: World) -> tuple[Spot, str | None, str | None]:
    rng = world.rng
    spot = rng.choices(world.places, weights=world.place_weights)[0]
    b = spot.building
    if b.floors <= 0:
        return spot, None, None
    floor = rng.randint(1, b.floors)
    rooms = b.rooms_on(floor)
    room = rng.choice(rooms) if rooms and rng.random() < 0.85 else None
    return spot, str(floor), room


def delay(rng: random.Random, median_h: float, sigma: float, urgent: bool) -> float:
    return rng.lognormvariate(math.log(median_h * HOUR / (8 if urgent else 1)), sigma)


def make_ticket(world: World, buf: Buffers, created: float) -> None:
    """One ticket with its timeline, photos, pushes, overdue stages and return visit."""
    rng = world.rng
    openid, person_id, phone = reporter(world)
    spot, floor, room = place_of(world)
    group, items, category = rng.choice(spot.faults)
    item = rng.choice(items) if items and rng.random() < 0.9 else None
    urgent = rng.random() < 0.02
    description = rng.choice(PHRASES).format(item=item or group)
    tid, no = world.ids.take("tickets"), world.numbers.next(created)
    dispatcher = world.staffing.dispatchers.get(category, (None, "值班调度"))
    worker = rng.choice(world.staffing.workers.get(category) or [(None, "维修工")])
    limit = world.sla.get((category, urgent), DEFAULT_SLA_URGENT if urgent else DEFAULT_SLA)
    t = Timeline(world, buf, tid, openid, created)
    t.event("submitted", f"user:{openid}", "紧急：漏电" if urgent else None)
    row: dict[str, Any] = {"status": "submitted", "worker_id": None, "rating": None, "rating_comment": None,
                           "rated_at": None, "accepted_at": None, "accepted_by": None, "assigned_at": None,
                           "completed_at": None, "closed_at": None, "close_reason": None, "stage_started_at": created,
                           "reworks": 0, "rating_reminded_at": None, "updated_at": created, "category": category}
    _walk(world, t, row, limit, dispatcher, worker, category, urgent)
    if rng.random() < 0.35:
        buf.add("ticket_photos", world.ids.take("ticket_photos"), tid, f"seedmedia{tid}", f"photos/{no}-1.jpg",
                "saved", 1)
    buf.add("tickets", tid, no, row["status"], openid, person_id, category, group, item, spot.campus,
            spot.building.name, floor, room, description, phone, row["worker_id"], created, row["updated_at"],
            row["rating"], row["rating_comment"], row["rated_at"], "urgent" if urgent else "normal",
            row["accepted_at"], row["accepted_by"], row["assigned_at"], row["completed_at"], row["closed_at"],
            row["close_reason"], row["stage_started_at"], 0, row["reworks"], row["rating_reminded_at"])


@dataclass
class Timeline:
    """Writes a ticket's events, and the pushes its reporter got for them."""

    world: World
    buf: Buffers
    tid: int
    openid: str
    at: float

    def event(self, status: str, by: str, note: str | None = None, kind: str = "status",
              push: bool = False) -> int:
        eid = self.world.ids.take("ticket_events")
        self.buf.add("ticket_events", eid, self.tid, kind, status, self.at, by, note)
        if push:
            pid = self.world.ids.take("pushes")
            self.buf.add("pushes", pid, self.tid, eid, self.openid, "status", "template", "success", "seed-status",
                         '{"template": "status", "fields": {}}', "sent", 1, f"seed{pid}", self.at, self.at + 2)
        return eid


def _walk(world: World, t: Timeline, row: dict[str, Any], limit: dict[str, float],
          dispatcher: tuple[int | None, str], worker: tuple[int | None, str], category: str, urgent: bool) -> None:
    """Move the ticket through its stages while their times are in the past; record what was late."""
    rng, now = world.rng, world.now
    ends = rng.random()
    accept = t.at + delay(rng, 0.6, 1.0, urgent)
    if ends < 0.03 and accept <= now:
        t.at = t.at + rng.random() * (accept - t.at)
        row.update(status="cancelled", updated_at=t.at)
        t.event("cancelled", f"user:{t.openid}", "用户撤销")
        return
    if accept > now:
        return
    _late(world, t.buf, t.tid, "accept", t.at, accept, limit, dispatcher, category)
    t.at = accept
    by = f"staff:{dispatcher[1]}"
    if ends < 0.07:
        row.update(status="rejected", updated_at=t.at)
        t.event("rejected", by, "不属于维修范围，已转相关部门", push=True)
        return
    row.update(status="accepted", accepted_at=accept, accepted_by=by, stage_started_at=accept, updated_at=accept)
    t.event("accepted", by, push=True)
    assign = accept + delay(rng, 0.5, 1.0, urgent)
    if assign > now:
        return
    _late(world, t.buf, t.tid, "assign", accept, assign, limit, dispatcher, category)
    t.at = assign
    row.update(status="assigned", assigned_at=assign, worker_id=worker[0], stage_started_at=assign, updated_at=assign)
    t.event("assigned", by, f"指派给{worker[1]}")
    _repair(world, t, row, limit, worker, category, urgent)


def _repair(world: World, t: Timeline, row: dict[str, Any], limit: dict[str, float],
            worker: tuple[int | None, str], category: str, urgent: bool) -> None:
    rng, now = world.rng, world.now
    start = t.at
    done = start + delay(rng, 16, 0.9, urgent)
    by = f"staff:{worker[1]}"
    if rng.random() < 0.5 and start + (done - start) * 0.3 <= now:
        t.at = start + (done - start) * 0.3
        row.update(status="in_progress", updated_at=t.at)
        t.event("in_progress", by)
    if done > now:
        if rng.random() < 0.08:
            row.update(status="on_hold")
        return
    _late(world, t.buf, t.tid, "complete", start, done, limit, worker, category)
    t.at = done
    row.update(status="completed", completed_at=done, stage_started_at=None, updated_at=done)
    t.event("completed", by, "已修好", push=True)
    if rng.random() < 0.03:
        row["reworks"] = 1
        t.event("completed", f"user:{t.openid}", "还没修好，又来看了一次", kind="message")
    _close(world, t, row)


def _close(world: World, t: Timeline, row: dict[str, Any]) -> None:
    """Rated within three days (closed then), else reminded and closed unrated after seven."""
    rng, now, done = world.rng, world.now, t.at
    if rng.random() < 0.06 and done + 3 * DAY <= now:
        outcome = pick(rng, VISITS)
        by = f"staff:{world.staffing.dispatchers.get(row['category'], (0, '回访员'))[1]}"
        t.buf.add("return_visits", world.ids.take("return_visits"), t.tid, outcome, None, by,
                  done + DAY * (1 + rng.random() * 3))
    rated = done + rng.expovariate(1 / (0.6 * DAY))
    if rng.random() < 0.65 and rated <= min(now, done + 3 * DAY):
        stars = pick(rng, RATINGS)
        row.update(rating=stars, rating_comment=RATING_COMMENTS[stars] if stars <= 2 or rng.random() < 0.3 else None,
                   rated_at=rated, status="closed", closed_at=rated, close_reason="rated", updated_at=rated)
        t.at = rated
        t.event("closed", f"user:{t.openid}", f"评价 {stars} 星")
        return
    if done + 3 * DAY <= now:
        row["rating_reminded_at"] = done + 3 * DAY
    if done + 7 * DAY <= now:
        t.at = done + 7 * DAY
        row.update(status="closed", closed_at=t.at, close_reason="unrated", updated_at=t.at)
        t.event("closed", "system:sla", "已销单（未评价）", push=True)


def _late(world: World, buf: Buffers, tid: int, stage: str, began: float, ended: float,
          limit: dict[str, float], holder: tuple[int | None, str], category: str) -> None:
    """An overdue record when a stage took longer than its limit (escalated when one more limit passed)."""
    due = began + limit[stage]
    if ended <= due:
        return
    escalated = due + limit[stage] if ended > due + limit[stage] else None
    buf.add("sla_overdue", world.ids.take("sla_overdue"), tid, stage, 0, due, due + world.rng.random() * 300,
            holder[1], holder[0], escalated, category)


# -- complaints ----------------------------------------------------------------------------------

def make_consult(world: World, buf: Buffers, created: float, departments: tuple[str, ...]) -> None:
    rng = world.rng
    openid, person_id, _ = reporter(world)
    kind, dept = pick(rng, CONSULT_KINDS), rng.choice(departments)
    cid, no = world.ids.take("consults"), world.numbers.next(created)
    replied = created + rng.expovariate(1 / DAY)
    closed = replied + rng.expovariate(1 / (2 * DAY))
    status = "closed" if closed <= world.now else "replied" if replied <= world.now else "open"
    buf.add("consults", cid, no, openid, person_id, f"{kind}：{dept}", kind, dept, f"关于{dept}的{kind}，请处理",
            None, rng.random() < 0.1, status, created, min(closed, world.now) if status != "open" else created)
    buf.add("consult_events", world.ids.take("consult_events"), cid, "submitted", f"user:{openid}", None, created)
    if status != "open":
        buf.add("consult_events", world.ids.take("consult_events"), cid, "reply", "staff:统计管理员",
                "已收到，正在处理", replied)
    if status == "closed":
        buf.add("consult_events", world.ids.take("consult_events"), cid, "closed", "staff:统计管理员", None, closed)


# -- the whole run ---------------------------------------------------------------------------------

class AlreadySeeded(RuntimeError):
    """The database has tickets: history is only made for an empty one."""


def _start_ids(sink: Sink) -> Ids:
    return Ids({table: int(sink.sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")[0][0]) for table in SEQUENCED})


def _counters(sink: Sink) -> dict[str, int]:
    return {name: int(value) for name, value in sink.sql("SELECT name, value FROM counters")}


def _save_counters(sink: Sink, seen: dict[str, int], before: dict[str, int]) -> None:
    for name, value in seen.items():
        if name in before:
            sink.sql("UPDATE counters SET value = :value WHERE name = :name AND value < :value", name=name, value=value)
        else:
            sink.sql("INSERT INTO counters (name, value) VALUES (:name, :value)", name=name, value=value)


def _reset_sequences(sink: Sink) -> None:
    for table in (*SEQUENCED, "staff"):
        sink.sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest((SELECT max(id) FROM {table}), 1))")


def _chunks(times: list[float], size: int) -> Iterator[list[float]]:
    for start in range(0, len(times), size):
        yield times[start:start + size]


def has_tickets(db: Database) -> bool:
    with db.reading() as conn:
        return conn.execute(text("SELECT 1 FROM tickets LIMIT 1")).first() is not None


def seed(url: str, *, tickets: int = 1_000_000, users: int = 50_000, complaints: int = 100_000,
         register_path: str | None = None, seed: int = 0, progress: bool = False, years: float = YEARS,
         workers: int = WORKERS_PER_CATEGORY, ending_days_ago: float = 0) -> dict[str, int]:
    """Fill the database at ``url`` (migrated first, its register loaded when it has none) with ``years`` of
    filings ending ``ending_days_ago`` (their stages go on to now), and return how many rows each table got.
    Raises AlreadySeeded when it has tickets."""
    upgrade(url)
    db = Database(url)
    try:
        if has_tickets(db):
            raise AlreadySeeded("the database has tickets already: seed an empty one")
        reg, doc = load_register(db, register_path)
        with db.engine.connect() as conn, conn.begin():
            span = (years * 365 * DAY, ending_days_ago * DAY)
            counts = _seed_into(Sink(conn), reg, doc, (tickets, users, complaints), random.Random(seed), progress,
                                span, workers)
        rebuild(db.engine)  # the rows went in by COPY, around the ticket rules that keep the roll-up
        if db.engine.dialect.name == "postgresql":
            with db.reading() as conn:
                conn.execute(text("ANALYZE"))
    finally:
        db.dispose()
    return counts


def _seed_into(sink: Sink, reg: Register, doc: dict[str, Any], sizes: tuple[int, int, int],
               rng: random.Random, progress: bool, span: tuple[float, float], workers: int) -> dict[str, int]:
    tickets, users, complaints = sizes
    now = time.time()
    end = now - span[1]
    start = end - span[0]
    if sink.pg:
        sink.sql("SET LOCAL session_replication_role = replica")  # no FK triggers: every id is made consistent here
        sink.sql("SET LOCAL synchronous_commit = off")
    ids = _start_ids(sink)
    staffing = seed_staff(sink, reg, workers)
    reporters = seed_people(sink, ids, max(users, 1), rng, start, span[0])
    places = spots(reg)
    before = _counters(sink)
    seen = dict(before)
    world = World(rng, reporters, [p for p, _ in places], [w for _, w in places], staffing, limits(doc), now, ids,
                  Numbering("R", "ticket", seen))
    counts = _fill(sink, world, (tickets, complaints), reg.departments or ("后勤",), (start, end), progress)
    _save_counters(sink, seen, before)
    if sink.pg:
        _reset_sequences(sink)
    return {"people": len(reporters), "wechat_users": len(reporters), **counts}


def _fill(sink: Sink, world: World, sizes: tuple[int, int], departments: tuple[str, ...],
          period: tuple[float, float], progress: bool) -> dict[str, int]:
    tickets, complaints = sizes
    start, end = period
    buf = Buffers()
    began = time.monotonic()
    for chunk in _chunks(filing_times(tickets, start, end, world.rng), CHUNK):
        for created in chunk:
            make_ticket(world, buf, created)
        buf.flush(sink)
        if progress:
            print(f"  tickets {buf.counts.get('tickets', 0):,} in {time.monotonic() - began:.0f} s", file=sys.stderr)
    world.numbers = Numbering("C", "consult", world.numbers.seen)
    for chunk in _chunks(filing_times(complaints, start, end, world.rng), CHUNK):
        for created in chunk:
            make_consult(world, buf, created, departments)
        buf.flush(sink)
    return dict(buf.counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of the database (postgresql+psycopg://…)")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--complaints", type=int, default=100_000)
    ap.add_argument("--register", dest="register_path", default=None,
                    help="a register YAML (default: the one in force)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    began = time.monotonic()
    try:
        counts = seed(args.url, tickets=args.tickets, users=args.users, complaints=args.complaints,
                      register_path=args.register_path, seed=args.seed, progress=True)
    except AlreadySeeded as exc:
        print(exc, file=sys.stderr)
        return 1
    for table, n in counts.items():
        print(f"{table:16} {n:>10,}")
    print(f"seeded in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
