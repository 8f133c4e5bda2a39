"""An upgrade keeps the office's data: a database of the previous release (Alembic revision 0006, its rows
written as that release wrote them, in plain SQL) is migrated to the newest schema while nothing is lost,
and the new release then files, lists, shows and moves tickets on it — old ones included."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as redis_lib
import responses
from alembic import command
from click.testing import Result
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from bot import create_app
from core.actions import move_ticket
from core.config import Config
from core.services import Services, use_services
from models.db import Database
from models.people import add_staff, bind, find_person, load_roster
from models.register import store_register
from models.schema import alembic_config, upgrade
from tests.support import database
from tests.support.chat import file_repair, wechat_user
from tests.support.cli import run_cli
from tests.support.constants import ID_PEPPER, REGISTER_FILE, ROSTER
from tests.support.http import serve
from tests.support.jobs import run_jobs
from workers.sweeps import requeue_pending

# The newest revision of the release before this one: moved on at each release. A migration that constrains
# (NOT NULL, a dropped column) belongs to the release after the one that stopped needing the old shape.
PREVIOUS_RELEASE = "0006"
FILED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def old_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a scratch one next to CI's PostgreSQL database, or an SQLite file."""
    base = os.environ.get("REPAIRBOT_TEST_DATABASE_URL") or ""
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'previous.db'}"
        return
    url = make_url(base)
    name = f"{url.database}_upgrade"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    database.on_server(base, drop, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        database.on_server(base, drop)


def at(hours: float) -> datetime:
    return FILED + timedelta(hours=hours)


TICKETS = [  # no, status, openid, worker, rating
    ("R261130001", "submitted", "o-old-1", None, None),
    ("R261130002", "in_progress", "o-old-2", 1, None),
    ("R261130003", "closed", "o-old-3", 1, 5),
]
EVENTS = {"submitted": 0, "accepted": 1, "assigned": 2, "in_progress": 3, "completed": 5, "closed": 6}


def write_previous_release(conn: Connection) -> None:
    """What the previous release left in its database: people and staff, tickets at three stages with their
    timelines, a photo, pushes sent and one still pending, a canned reply, a consult and a notice."""
    conn.execute(text("INSERT INTO wechat_users (openid, person_id, subscribed, bound_at, created_at) "
                      "VALUES (:o, :p, true, :t, :t)"),
                 [{"o": o, "p": i + 1, "t": at(-24)} for i, (_, _, o, _, _) in enumerate(TICKETS)])
    for tid, (no, status, openid, worker, rating) in enumerate(TICKETS, start=1):
        conn.execute(text(
            'INSERT INTO tickets (no, status, openid, person_id, category, "group", item, campus, building, floor, '
            "room, description, phone, worker_id, created_at, updated_at, rating, rated_at, priority) VALUES "
            "(:no, :status, :openid, :pid, '东环校区宿舍维修', '给水', '水龙头', '东环校区', '学生公寓12栋', '3', "
            "'30' || :tid, '水龙头关不紧，一直在滴水', '13800000001', :worker, :created, :created, :rating, :rated, "
            "'normal')"),
            {"no": no, "status": status, "openid": openid, "pid": tid, "tid": tid, "worker": worker,
             "created": at(tid), "rating": rating, "rated": at(tid + 7) if rating else None})
        walk = list(EVENTS)[:list(EVENTS).index(status) + 1]
        for step in walk:
            by = f"user:{openid}" if step in ("submitted", "closed") else "staff:王调度"
            event = conn.execute(text(
                'INSERT INTO ticket_events (ticket_id, kind, status, at, "by") VALUES '
                "(:tid, 'status', :s, :at, :by) RETURNING id"),
                {"tid": tid, "s": step, "at": at(tid + EVENTS[step]), "by": by}).scalar_one()
            if step != "submitted":
                conn.execute(text(
                    "INSERT INTO pushes (ticket_id, event_id, openid, kind, template_id, payload, status, attempts, "
                    "created_at, sent_at, msgid, channel) VALUES (:tid, :eid, :o, 'status', 'TPL-TICKET', :payload, "
                    "'sent', 1, :at, :at, :msgid, 'template')"),
                    {"tid": tid, "eid": event, "o": openid, "payload": json.dumps({"status": step}),
                     "at": at(tid + EVENTS[step]), "msgid": str(1000 + event)})
    conn.execute(text("INSERT INTO ticket_photos (ticket_id, media_id, path, status, attempts) "
                      "VALUES (1, 'MEDIA-OLD', 'R261130001/1.jpg', 'saved', 1)"))
    conn.execute(text("INSERT INTO pushes (ticket_id, openid, kind, template_id, payload, status, attempts, "
                      "created_at) VALUES (2, 'o-old-2', 'status', 'TPL-TICKET', :payload, 'pending', 0, :at)"),
                 {"at": at(6), "payload": json.dumps({"status": "in_progress"})})
    conn.execute(text("INSERT INTO counters (name, value) VALUES ('ticket:261130', 3)"))
    conn.execute(text("INSERT INTO canned_replies (status, text, position) "
                      "VALUES ('accepted', '已受理，师傅会尽快联系您', 1)"))
    conn.execute(text(
        "INSERT INTO consults (no, openid, person_id, title, kind, department, description, anonymous, status, "
        "created_at, updated_at) VALUES ('C261130001', 'o-old-1', 1, '食堂', '投诉', '饮食服务中心', '饭菜偏咸', "
        "false, 'submitted', :t, :t)"), {"t": at(2)})
    conn.execute(text(
        "INSERT INTO notices (title, body, campus, buildings, groups, starts_at, ends_at, created_by, created_at) "
        "VALUES ('停水通知', '12栋上午停水', '东环校区', '[\"学生公寓12栋\"]', '[\"给水\"]', :t, :end, '王调度', :t)"),
        {"t": at(3), "end": at(8)})  # over before the upgrade


def build_previous_release(url: str) -> None:
    command.upgrade(alembic_config(url), PREVIOUS_RELEASE)
    db_only = Database(url)  # the database alone: no Redis, none of the new release's listeners
    with db_only.session() as s:  # the register, the roster and staff: tables 0007 does not touch
        store_register(s, REGISTER_FILE.read_text(encoding="utf-8"), str(REGISTER_FILE))
        load_roster(s, ROSTER, pepper=ID_PEPPER)
        add_staff(s, "刘师傅", "worker", "worker-pass-1", ["东环校区宿舍维修"], "13900000009")
        add_staff(s, "王调度", "dispatcher", "dispatch-pass-1", ["东环校区宿舍维修"])
    with db_only.engine.begin() as conn:
        write_previous_release(conn)
    db_only.dispose()


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def upgraded(old_url: str, config: Config, redis_server: redis_lib.Redis) -> Iterator[Services]:
    """The previous release's database, migrated to the newest schema, with the new release's services on it."""
    build_previous_release(old_url)
    upgrade(old_url)
    redis_server.flushdb()
    svc = Services(config.override(database_url=old_url), redis_conn=redis_server)
    use_services(svc)
    yield svc
    svc.close()
    database.release(svc.db)


def test_every_row_of_the_previous_release_is_kept(upgraded: Services) -> None:
    url = upgraded.config.database_url
    assert rows(url, "SELECT no, status, rating FROM tickets ORDER BY id") == [
        (no, status, rating) for no, status, _, _, rating in TICKETS]
    assert rows(url, "SELECT count(*) FROM ticket_events") == [(1 + 4 + 6,)]
    assert rows(url, "SELECT status, count(*) FROM pushes GROUP BY status ORDER BY status") == [
        ("pending", 1), ("sent", 3 + 5)]
    # The new columns: the stage times read back from each timeline (migration 0008), zero where they count.
    assert rows(url, "SELECT no, accepted_at IS NOT NULL, completed_at IS NOT NULL, closed_at IS NOT NULL "
                     "FROM tickets ORDER BY id") == [
        ("R261130001", False, False, False), ("R261130002", True, False, False), ("R261130003", True, True, True)]
    assert rows(url, "SELECT count(*) FROM tickets WHERE held_s = 0 AND reworks = 0") == [(3,)]
    assert rows(url, "SELECT category FROM canned_replies") == [(None,)]


def test_the_new_release_works_on_the_upgraded_database(
        upgraded: Services, monkeypatch: pytest.MonkeyPatch, wechat_api: responses.RequestsMock) -> None:
    svc = upgraded
    with svc.db.session() as s:
        person = find_person(s, "20260001")
        assert person is not None
        bind(s, "o-new-1", person)
    with serve(create_app(svc.config, svc)) as url:
        new_no = file_repair(wechat_user(url, "o-new-1"))
    assert new_no not in {no for no, *_ in TICKETS}

    move_ticket(svc, "R261130001", "accepted", by="staff:王调度")  # an old ticket moves on
    move_ticket(svc, "R261130002", "completed", by="staff:刘师傅", note="换了阀芯")
    requeue_pending(svc, older_than_s=0)  # the push the previous release left pending, too
    run_jobs(svc)

    listed = cli_json(monkeypatch, svc, "tickets", "list", "--json")
    assert {t["no"] for t in listed} == {new_no, "R261130001", "R261130002", "R261130003"}
    assert {t["no"]: t["status"] for t in listed}["R261130002"] == "completed"
    shown = cli_json(monkeypatch, svc, "tickets", "show", "R261130003", "--json")
    assert shown["status"] == "closed" and len(shown["events"]) == 6
    # Every push went out: the old pending one and the moves' (a kind without a template is skipped by design).
    assert rows(svc.config.database_url, "SELECT id, kind, status FROM pushes "
                                         "WHERE status NOT IN ('sent', 'skipped')") == []


def cli_json(monkeypatch: pytest.MonkeyPatch, svc: Services, *args: str) -> object:
    done: Result = run_cli(monkeypatch, svc, *args)
    assert done.exit_code == 0, done.output
    return json.loads(done.output)



def shape(url: str) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    """Each table's columns: (type, nullable, has a server default)."""
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {table: {c["name"]: (str(c["type"]), bool(c["nullable"]), c.get("default") is not None)
                        for c in found.get_columns(table)} for table in found.get_table_names()}
    finally:
        engine.dispose()


def test_the_upgrade_only_adds_what_the_previous_release_can_ignore(old_url: str, database_url: str) -> None:
    """While web nodes are restarted one by one, the previous release runs on the migrated schema: nothing it
    uses may change or go, and whatever it does not know must fill itself (nullable, or a server default)."""
    command.upgrade(alembic_config(old_url), PREVIOUS_RELEASE)
    before, after = shape(old_url), shape(database_url)
    for table, columns in before.items():
        assert table in after, f"{table} was dropped"
        for name, (kind, nullable, _) in columns.items():
            assert name in after[table], f"{table}.{name} was dropped or renamed"
            assert after[table][name][:2] == (kind, nullable), f"{table}.{name} changed"
    required_new = [(t, n) for t, cols in after.items() if t in before for n, (_, nullable, default) in cols.items()
                    if n not in before[t] and not (nullable or default)]
    assert required_new == [], "a new column the previous release would not fill"
