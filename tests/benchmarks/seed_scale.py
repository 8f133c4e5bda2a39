"""Fill PostgreSQL with a whole university's three years, fast: the figures at scale are measured on it.

Rows are made in Python from the register in force (any register of its shape) and written with
PostgreSQL's COPY, never through the ORM: a million tickets with their events, photos, pushes, overdue
stages and return visits, fifty thousand bound WeChat users and a hundred thousand complaints take
minutes.  The mix is plausible rather than real: most tickets are closed with stage times that
sometimes miss the register's limits, recent ones are still open, dormitories report most, term time
more than the holidays, office hours more than the night.

    python -m tests.benchmarks.seed_scale --url postgresql+psycopg://postgres@127.0.0.1:5432/NAME --tickets N

The database must be migrated or empty (it is migrated first) and hold no tickets yet.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from models.db import Database
from models.register import Building, Register, RegisterDoc, current_register, store_register
from models.schema import upgrade

DAY = 86_400.0
HOUR = 3_600.0
YEARS = 3
LOCAL_OFFSET_S = 8 * 3600  # ticket numbers count days on China's clock
DEFAULT_REGISTER = Path(__file__).resolve().parents[2] / "bot" / "data" / "register.yaml"
DEFAULT_SLA = {"accept": 2 * HOUR, "assign": 4 * HOUR, "complete": 48 * HOUR}
DEFAULT_SLA_URGENT = {"accept": 900.0, "assign": 1800.0, "complete": 4 * HOUR}
CHUNK = 20_000  # tickets per round of COPY statements
WORKERS_PER_CATEGORY = 4
SEED_PASSWORD = "seed-pass-1"  # the seeded staff accounts' password (a benchmark logs in with it)

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
    """Lines of COPY text per table, written and emptied a chunk at a time."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, *values: Any) -> None:
        self.lines.setdefault(table, []).append("\t".join(_cell(v) for v in values))

    def flush(self, conn: psycopg.Connection[Any]) -> None:
        for table, lines in self.lines.items():
            if lines:
                copy_lines(conn, table, lines)
                self.counts[table] = self.counts.get(table, 0) + len(lines)
        self.lines = {}


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


def _stamp(epoch: float) -> str:
    """A timestamptz in COPY text (seconds since the epoch, UTC)."""
    return datetime.fromtimestamp(int(epoch), UTC).isoformat()


def copy_lines(conn: psycopg.Connection[Any], table: str, lines: list[str]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
        for start in range(0, len(lines), 5000):
            copy.write("\n".join(lines[start:start + 5000]) + "\n")


def pick(rng: random.Random, weighted: Iterable[tuple[Any, float]]) -> Any:
    items = list(weighted)
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


# -- the register -----------------------------------------------------------------------------

def load_register(url: str, register_path: str | None) -> tuple[Register, dict[str, Any]]:
    """The register in force (loading ``register_path``, or the shipped one when none is), with its document."""
    db = Database(url)
    try:
        with db.session() as s:
            reg = current_register(s)
            if reg is None or register_path:
                path = Path(register_path) if register_path else DEFAULT_REGISTER
                reg = store_register(s, path.read_text(encoding="utf-8"), str(path.name))
            doc = s.scalars(select(RegisterDoc.document).order_by(RegisterDoc.id.desc()).limit(1)).one()
    finally:
        db.dispose()
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

def seed_staff(conn: psycopg.Connection[Any], reg: Register) -> Staffing:
    """One dispatcher and a few workers per category, and an admin; kept when they exist already."""
    digest = generate_password_hash(SEED_PASSWORD)
    rows: list[tuple[str, str, list[str]]] = [("统计管理员", "admin", [])]
    for i, cat in enumerate(reg.categories, start=1):
        rows.append((f"调度员{i:02d}", "dispatcher", [cat.name]))
        rows += [(f"维修工{i:02d}-{n}", "worker", [cat.name]) for n in range(1, WORKERS_PER_CATEGORY + 1)]
    with conn.cursor() as cur:
        for name, role, cats in rows:
            cur.execute("INSERT INTO staff (name, role, password_hash, categories, active, created_at, departments,"
                        " session_version, on_duty) VALUES (%s, %s, %s, %s, true, now(), '[]', 0, false)"
                        " ON CONFLICT (name) DO NOTHING", (name, role, digest, json.dumps(cats, ensure_ascii=False)))
        cur.execute("SELECT id, name, role, categories FROM staff WHERE name = ANY(%s)", ([r[0] for r in rows],))
        found = cur.fetchall()
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


def seed_people(conn: psycopg.Connection[Any], ids: Ids, users: int, rng: random.Random,
                start: float) -> list[tuple[str, int, str]]:
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
        bound = start + rng.random() * YEARS * 365 * DAY * 0.3
        buf.add("wechat_users", ids.take("wechat_users"), openid_of(i), pid, rng.random() > 0.04, phone,
                bound, bound, bound + rng.random() * 600 * DAY)
        out.append((openid_of(i), pid, phone))
    buf.flush(conn)
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

def psycopg_url(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _start_ids(conn: psycopg.Connection[Any]) -> Ids:
    with conn.cursor() as cur:
        found = {}
        for table in SEQUENCED:
            cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
            found[table] = int(cur.fetchone()[0])  # type: ignore[index]
    return Ids(found)


def _counters(conn: psycopg.Connection[Any]) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT name, value FROM counters")
        return {name: int(value) for name, value in cur.fetchall()}


def _save_counters(conn: psycopg.Connection[Any], seen: dict[str, int]) -> None:
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO counters (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE"
                        " SET value = greatest(counters.value, excluded.value)", list(seen.items()))


def _reset_sequences(conn: psycopg.Connection[Any]) -> None:
    with conn.cursor() as cur:
        for table in (*SEQUENCED, "staff"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" greatest((SELECT max(id) FROM {table}), 1))")


def _chunks(times: list[float], size: int) -> Iterator[list[float]]:
    for start in range(0, len(times), size):
        yield times[start:start + size]


def seed(url: str, *, tickets: int = 1_000_000, users: int = 50_000, complaints: int = 100_000,
         register_path: str | None = None, seed: int = 0, progress: bool = False) -> dict[str, int]:
    """Fill the database at ``url`` (migrated first) and return how many rows each table got."""
    upgrade(url)
    reg, doc = load_register(url, register_path)
    rng = random.Random(seed)
    now = time.time()
    start = now - YEARS * 365 * DAY
    with psycopg.connect(psycopg_url(url)) as conn:
        _no_tickets_yet(conn)
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # no FK triggers: every id is made consistent here
            cur.execute("SET synchronous_commit = off")
        ids = _start_ids(conn)
        staffing = seed_staff(conn, reg)
        reporters = seed_people(conn, ids, max(users, 1), rng, start)
        places = spots(reg)
        seen = _counters(conn)
        world = World(rng, reporters, [p for p, _ in places], [w for _, w in places], staffing, limits(doc), now, ids,
                      Numbering("R", "ticket", seen))
        counts = _fill(conn, world, tickets, complaints, reg.departments or ("后勤",), start, progress)
        _save_counters(conn, seen)
        _reset_sequences(conn)
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
    return {"people": len(reporters), "wechat_users": len(reporters), **counts}


def _no_tickets_yet(conn: psycopg.Connection[Any]) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM (SELECT 1 FROM tickets LIMIT 1) t")
        if cur.fetchone()[0]:  # type: ignore[index]
            raise SystemExit("the database has tickets already: seed an empty one")


def _fill(conn: psycopg.Connection[Any], world: World, tickets: int, complaints: int, departments: tuple[str, ...],
          start: float, progress: bool) -> dict[str, int]:
    buf = Buffers()
    began = time.monotonic()
    for chunk in _chunks(filing_times(tickets, start, world.now, world.rng), CHUNK):
        for created in chunk:
            make_ticket(world, buf, created)
        buf.flush(conn)
        if progress:
            print(f"  tickets {buf.counts.get('tickets', 0):,} in {time.monotonic() - began:.0f} s", file=sys.stderr)
    world.numbers = Numbering("C", "consult", world.numbers.seen)
    for chunk in _chunks(filing_times(complaints, start, world.now, world.rng), CHUNK):
        for created in chunk:
            make_consult(world, buf, created, departments)
        buf.flush(conn)
    return dict(buf.counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of a PostgreSQL database (postgresql+psycopg://…)")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--complaints", type=int, default=100_000)
    ap.add_argument("--register", dest="register_path", default=None,
                    help="a register YAML (default: the one in force)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    began = time.monotonic()
    counts = seed(args.url, tickets=args.tickets, users=args.users, complaints=args.complaints,
                  register_path=args.register_path, seed=args.seed, progress=True)
    for table, n in counts.items():
        print(f"{table:16} {n:>10,}")
    print(f"seeded in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
