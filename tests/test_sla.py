"""Time limits and accountability (责任追究), return visits and closing (服务回访, 销单): the SLA sweep in real RQ
workers, on limits of seconds (tests/support/sla.py), the console's return visit and follow-ups.

The stage clock is moved back (`rewind`) rather than waited for, except in the first test, which waits for
limits of one second the way the scheduled sweep would meet them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from click.testing import Result
from flask import Flask
from rq import Queue
from sqlalchemy import select

from core.actions import move_ticket, rate, rework
from core.jobs import all_queues, enqueue
from core.services import Services
from models.backoffice import FollowUp, ReturnVisit
from models.clock import now
from models.pushes import Push
from models.register import Register
from models.sla import late_candidates
from models.tickets import Ticket
from tests.support.console import Console, text
from tests.support.constants import DORM, REGISTER_FILE
from tests.support.people import seed_staff
from tests.support.sla import bind_staff, overdue_rows, register_doc, rewind, short_limits
from tests.support.tickets import REPORTER, make_ticket, stored
from tests.support.wechat_api import sent_templates
from workers.queues import LeanSimpleWorker
from workers.sla import SLA_SWEEP, run_sla_sweep, schedule_sla_sweep

STAFF = "staff:王调度"
HOUR = "1h"


@pytest.fixture
def team(services: Services) -> None:
    """The console's people, the dispatcher and the admin bound to WeChat (as `repairbot staff bind` does)."""
    seed_staff(services)
    bind_staff(services, 王调度="o-wang", 管理员="o-admin", 李师傅="o-li")


def sweep_in_worker(services: Services, run_jobs: Callable[[], int], times: int = 1) -> None:
    """Queue the scheduled SLA sweep (each time under its own job id, as two schedulers might) and let a real
    RQ worker run it and send the pushes it queued."""
    for i in range(times):
        enqueue(services.redis, "default", SLA_SWEEP, job_id=f"sla-test-{time.monotonic_ns()}-{i}")
    run_jobs()


def phrases_to(wechat_api: responses.RequestsMock, openid: str) -> list[str]:
    """The status phrase (phrase2) of every template message sent to one user."""
    return [b["data"]["phrase2"]["value"] for b in sent_templates(wechat_api) if b["touser"] == openid]


# -- late stages: recorded once, the dispatchers at once, the admins a limit later ----------------------------

def test_a_late_stage_is_recorded_once_then_told_to_the_dispatcher_and_a_limit_later_to_the_admin(
        services: Services, team: None, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    short_limits(services, {"accept": "1s", "assign": HOUR, "complete": HOUR})
    no = make_ticket(services)
    time.sleep(1.2)
    sweep_in_worker(services, run_jobs, times=2)
    assert overdue_rows(services, no) == [("accept", 0, "王调度", False)]
    assert phrases_to(wechat_api, "o-wang") == ["受理超时"]
    assert phrases_to(wechat_api, "o-admin") == []
    time.sleep(1.0)  # one more limit: still not accepted
    sweep_in_worker(services, run_jobs, times=2)
    assert overdue_rows(services, no) == [("accept", 0, "王调度", True)]
    assert phrases_to(wechat_api, "o-admin") == ["超时督办"]
    assert phrases_to(wechat_api, "o-wang") == ["受理超时"]
    # Accepted at last: the next stage has a clock of its own, and nothing more is said of this one.
    move_ticket(services, no, "accepted", by=STAFF)
    sweep_in_worker(services, run_jobs)
    assert len(overdue_rows(services, no)) == 1


def test_a_worker_queues_and_runs_the_sla_sweep_by_itself(
        services: Services, team: None, wechat_api: responses.RequestsMock) -> None:
    """What `repairbot worker` runs: as it beats it queues this period's SLA sweep, then runs it."""
    short_limits(services, {"accept": "10s", "assign": HOUR, "complete": HOUR})
    no = make_ticket(services)
    rewind(services, no, 11)
    LeanSimpleWorker(all_queues(services.redis), connection=services.redis).work(burst=True, logging_level="WARNING")
    assert overdue_rows(services, no) == [("accept", 0, "王调度", False)]
    assert phrases_to(wechat_api, "o-wang") == ["受理超时"]


def test_sweeps_running_at_the_same_moment_record_and_push_once(services: Services, team: None) -> None:
    short_limits(services, {"accept": "10s", "assign": HOUR, "complete": HOUR})
    numbers = [make_ticket(services, f"o-r{i}") for i in range(3)]
    for no in numbers:
        rewind(services, no, 25)  # past the limit, and past it once more
    gate = threading.Barrier(4)
    errors: list[BaseException] = []

    def sweep() -> None:
        gate.wait()
        try:
            run_sla_sweep(services)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert [overdue_rows(services, no) for no in numbers] == [[("accept", 0, "王调度", True)]] * 3
    with services.db.session() as s:
        told = s.scalars(select(Push).where(Push.kind.in_(("overdue", "escalate"))))
        kinds = sorted((p.kind, p.openid) for p in told)
    assert kinds == sorted([("overdue", "o-wang")] * 3 + [("escalate", "o-admin")] * 3)
    with services.db.session() as s:  # recorded and escalated: later sweeps need not look at them again
        assert late_candidates(s, services.register(), now()) == []


def test_a_stage_late_for_days_is_recorded_without_a_stale_push(services: Services, team: None) -> None:
    """The first sweep after an upgrade (older tickets' clocks read back from their timelines), or after the
    workers were down for days: the late stages are recorded and escalated, nobody is flooded with old news."""
    short_limits(services, {"accept": "10s", "assign": HOUR, "complete": HOUR})
    old = make_ticket(services, "o-old")
    rewind(services, old, 2 * 86400)
    fresh = make_ticket(services, "o-fresh")
    rewind(services, fresh, 11)
    report = run_sla_sweep(services)
    assert (report.overdue, report.escalated, report.pushes) == (2, 1, 1)
    assert overdue_rows(services, old) == [("accept", 0, "王调度", True)]
    with services.db.session() as s:
        told = [(p.kind, p.ticket_id) for p in s.scalars(select(Push))]
    assert told == [("overdue", stored(services, fresh).id)]


def test_who_held_the_ticket_is_named_stage_by_stage(services: Services, team: None) -> None:
    short_limits(services, {"accept": "10s", "assign": "10s", "complete": "10s"})
    no = make_ticket(services)
    move_ticket(services, no, "accepted", by=STAFF)
    rewind(services, no, 11)
    run_sla_sweep(services)
    move_ticket(services, no, "assigned", by=STAFF, worker="李师傅")
    rewind(services, no, 11)
    report = run_sla_sweep(services)
    assert (report.overdue, report.escalated) == (1, 0)
    assert overdue_rows(services, no) == [("assign", 0, "王调度", False), ("complete", 0, "李师傅", False)]


def test_time_on_hold_is_not_counted_against_the_worker(services: Services, team: None) -> None:
    short_limits(services, {"accept": HOUR, "assign": HOUR, "complete": "10s"})
    no = make_ticket(services, moved_to="in_progress", worker="李师傅")
    move_ticket(services, no, "on_hold", by="staff:李师傅", note="缺阀芯，等材料")
    rewind(services, no, 30)  # thirty seconds on hold: three limits, none of them counted
    assert run_sla_sweep(services).overdue == 0
    move_ticket(services, no, "in_progress", by="staff:李师傅")
    assert stored(services, no).held_s >= 30
    assert run_sla_sweep(services).overdue == 0
    rewind(services, no, 11)  # now working past the limit
    run_sla_sweep(services)
    assert overdue_rows(services, no) == [("complete", 0, "李师傅", False)]


def test_a_rework_is_a_new_completion_round_for_the_same_worker(services: Services, team: None) -> None:
    short_limits(services, {"accept": HOUR, "assign": HOUR, "complete": "10s"})
    no = make_ticket(services, moved_to="in_progress", worker="李师傅")
    rewind(services, no, 11)
    run_sla_sweep(services)
    move_ticket(services, no, "completed", by="staff:李师傅")
    rework(services, no, REPORTER, "还在滴水")
    t = stored(services, no)
    assert (t.status, t.reworks, t.worker.name if t.worker else None, t.completed_at) == ("accepted", 1, "李师傅", None)
    assert run_sla_sweep(services).overdue == 0  # a new round: its clock has just started
    rewind(services, no, 11)
    run_sla_sweep(services)
    assert overdue_rows(services, no) == [("complete", 0, "李师傅", False), ("complete", 1, "李师傅", False)]


def test_stage_times_are_kept_as_the_ticket_moves(services: Services, team: None) -> None:
    no = make_ticket(services, moved_to="completed", worker="李师傅")
    filed = stored(services, no)
    assert filed.stage_started_at is not None and filed.accepted_by == STAFF
    assert filed.accepted_at and filed.assigned_at and filed.completed_at
    assert filed.created_at <= filed.accepted_at <= filed.assigned_at <= filed.completed_at
    rate(services, no, REPORTER, 5)
    closed = stored(services, no)
    assert (closed.close_reason, closed.closed_at is not None) == ("rated", True)


def test_each_period_queues_one_sweep_whichever_worker_asks(services: Services) -> None:
    """Every worker asks as it beats (workers/queues.py); one SLA sweep is queued per 5-minute period."""
    assert [schedule_sla_sweep(services.redis) for _ in range(3)] == [True, False, False]
    assert [j for j in Queue("default", connection=services.redis).job_ids if j.startswith("sla-sweep-")] != []
    assert schedule_sla_sweep(services.redis, every_s=1) is True  # another period


# -- after 维修完成: one reminder, then 已销单（未评价） ---------------------------------------------------------

def test_an_unrated_ticket_is_reminded_once_then_closed_unrated(
        services: Services, team: None, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    services.config = services.config.override(rate_remind_after=timedelta(seconds=3),
                                               auto_close_after=timedelta(seconds=7))
    no = make_ticket(services, moved_to="completed", worker="李师傅")
    run_jobs()
    assert phrases_to(wechat_api, REPORTER)[-1] == "维修完成"
    sweep_in_worker(services, run_jobs)
    assert phrases_to(wechat_api, REPORTER)[-1] == "维修完成"  # not yet
    rewind(services, no, 4)
    sweep_in_worker(services, run_jobs, times=2)
    assert phrases_to(wechat_api, REPORTER)[-1] == "待评价"
    assert phrases_to(wechat_api, REPORTER).count("待评价") == 1
    assert stored(services, no).status == "completed"
    rewind(services, no, 4)
    sweep_in_worker(services, run_jobs, times=2)
    t = stored(services, no)
    assert (t.status, t.close_reason) == ("closed", "unrated")
    assert (t.events[-1].status, t.events[-1].note) == ("closed", "已销单（未评价）")
    assert phrases_to(wechat_api, REPORTER)[-1] == "已销单"
    assert phrases_to(wechat_api, REPORTER).count("已销单") == 1


def test_a_rated_ticket_is_neither_reminded_nor_closed_again(services: Services, team: None) -> None:
    services.config = services.config.override(rate_remind_after=timedelta(seconds=3),
                                               auto_close_after=timedelta(seconds=7))
    no = make_ticket(services, moved_to="completed", worker="李师傅")
    rate(services, no, REPORTER, 4, "挺快的")
    rewind(services, no, 10)
    report = run_sla_sweep(services)
    assert (report.reminded, report.closed) == (0, 0)
    assert stored(services, no).close_reason == "rated"


def test_the_invitation_to_rate_can_wait_a_while(services: Services, team: None) -> None:
    services.config = services.config.override(rate_invite_delay=timedelta(minutes=30))
    make_ticket(services, moved_to="completed", worker="李师傅")
    with services.db.session() as s:
        hint = s.scalars(select(Push.id).where(Push.kind == "rate_hint")).one()
    assert f"push-{hint}" in Queue("pushes", connection=services.redis).scheduled_job_registry.get_job_ids()


# -- 服务回访 from the console ---------------------------------------------------------------------------------

def test_an_unsatisfied_return_visit_sends_the_ticket_back_to_its_worker(
        services: Services, team: None, app: Flask, run_jobs: Callable[[], int],
        wechat_api: responses.RequestsMock) -> None:
    no = make_ticket(services, moved_to="completed", worker="李师傅")
    console = Console.logged_in(app, "王调度")
    page = text(console.post(f"/console/tickets/{no}/visit", {"outcome": "unsatisfied", "note": "说还是在滴水"}))
    assert f"{no}：回访不满意，已退回返修" in page
    t = stored(services, no)
    assert (t.status, t.reworks, t.worker.name if t.worker else None) == ("accepted", 1, "李师傅")
    assert "回访不满意：说还是在滴水" in page and "服务回访" in page
    run_jobs()
    assert [b["data"]["phrase2"]["value"] for b in sent_templates(wechat_api) if b["touser"] == "o-li"][-1] == "返修"
    with services.db.session() as s:
        assert [(v.outcome, v.by) for v in s.scalars(select(ReturnVisit))] == [("unsatisfied", STAFF)]


def test_a_satisfied_return_visit_closes_the_ticket_and_a_worker_cannot_record_one(
        services: Services, team: None, app: Flask) -> None:
    no = make_ticket(services, moved_to="completed", worker="李师傅")
    worker = Console.logged_in(app, "李师傅")
    assert worker.post(f"/console/tickets/{no}/visit", {"outcome": "satisfied"}).status_code == 403
    page = text(Console.logged_in(app, "王调度").post(f"/console/tickets/{no}/visit",
                                                     {"outcome": "satisfied", "note": ""}))
    assert f"{no}：回访满意，已销单" in page and "回访后销单" in page
    assert (stored(services, no).status, stored(services, no).close_reason) == ("closed", "visit")


def test_a_return_visit_before_completion_is_refused_in_words(services: Services, team: None, app: Flask) -> None:
    no = make_ticket(services, moved_to="assigned", worker="李师傅")
    wang = Console.logged_in(app, "王调度")
    assert "维修完成后才能回访" in text(wang.post(f"/console/tickets/{no}/visit", {"outcome": "satisfied"}))
    assert "请选择回访结果" in text(wang.post(f"/console/tickets/{no}/visit", {"outcome": "bogus"}))
    assert stored(services, no).status == "assigned"


# -- a poor rating leaves a follow-up in the queue -------------------------------------------------------------

def test_a_poor_rating_is_followed_up_in_the_queue_until_someone_says_what_was_done(
        services: Services, team: None, app: Flask) -> None:
    poor = make_ticket(services, moved_to="completed", worker="李师傅")
    good = make_ticket(services, "o-happy", moved_to="completed", worker="李师傅")
    rate(services, poor, REPORTER, 2, "师傅来了很久才修")
    rate(services, good, "o-happy", 5)
    wang = Console.logged_in(app, "王调度")
    queue = text(wang.get("/console/"))
    assert "待跟进" in queue and poor in queue and "差评" in queue and "2 星：师傅来了很久才修" in queue
    assert good not in queue.split("待跟进")[1].split("</section>")[0]
    assert "待跟进" not in text(Console.logged_in(app, "赵调度").get("/console/"))  # another category's
    with services.db.session() as s:
        task = s.scalars(select(FollowUp)).one()
    assert "请写明处理情况" in text(wang.post(f"/console/followups/{task.id}/done", {"note": ""}))
    page = text(wang.post(f"/console/followups/{task.id}/done", {"note": "已电话致歉，明天上门复查"}))
    assert f"已记录跟进处理：{poor}" in page and "待跟进" not in page
    with services.db.session() as s:
        done = s.scalars(select(FollowUp)).one()
        assert (done.done_by, done.category) == ("王调度", DORM) and done.done_at is not None


# -- the register's limits and the command line ---------------------------------------------------------------

def test_the_register_gives_each_category_its_limits() -> None:
    reg = Register.from_yaml(REGISTER_FILE.read_text(encoding="utf-8"))
    housing = next(c for c in reg.categories if c.sla != reg.sla)
    assert housing.sla.accept > reg.sla.accept
    assert all(c.sla_urgent == reg.sla_urgent for c in reg.categories)
    assert reg.sla_urgent.complete < reg.sla.complete


@pytest.mark.parametrize("change, said", [
    ({"sla": {"accept": "2 hours"}}, "register: sla.accept '2 hours' is not a duration (e.g. 90s, 15m, 2h"),
    ({"sla": {"accept": 2}}, "register: sla.accept 2 is not a duration"),
    ({"sla_urgent": {"finish": "1h"}}, "register: sla_urgent has unknown stage(s) finish; the stages are accept"),
    ({"sla": "2h"}, "register: sla must be a mapping like {accept: 2h, assign: 4h, complete: 48h}"),
])
def test_register_load_refuses_a_bad_limit_saying_what_is_wrong(
        cli: Callable[..., Result], tmp_path: Path, change: dict[str, object], said: str) -> None:
    import yaml

    doc = {**register_doc(), **change}
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = cli("register", "load", str(path))
    assert result.exit_code == 1
    assert said in result.output


def test_sla_sweep_by_hand_prints_what_it_did(services: Services, team: None, cli: Callable[..., Result]) -> None:
    short_limits(services, {"accept": "10s", "assign": HOUR, "complete": HOUR})
    no = make_ticket(services)
    rewind(services, no, 11)
    result = cli("sla", "sweep")
    assert result.exit_code == 0, result.output
    assert "overdue recorded: 1, escalated to admins: 0" in result.output
    assert cli("sla", "sweep").output.startswith("overdue recorded: 0")
    with services.db.session() as s:
        assert s.scalars(select(Ticket.status).where(Ticket.no == no)).one() == "submitted"


# -- tickets filed before the stage columns ------------------------------------------------------------------

def test_tickets_filed_before_the_stage_columns_get_them_from_their_timeline(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import MetaData, create_engine, insert

    from models.schema import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0007")
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine, only=["tickets", "ticket_events"])
    tickets, events = meta.tables["tickets"], meta.tables["ticket_events"]
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    at = [start + timedelta(hours=h) for h in range(8)]
    common = {"openid": "o-old", "category": DORM, "group": "给水", "campus": "东环校区", "building": "学生公寓12栋",
              "description": "滴水", "phone": "13800000001", "priority": "normal"}
    with engine.begin() as conn:
        conn.execute(insert(tickets), [
            {"id": 1, "no": "R261120001", "status": "on_hold", "created_at": at[0], "updated_at": at[3], "rating": None,
             **common},
            {"id": 2, "no": "R261120002", "status": "closed", "created_at": at[0], "updated_at": at[7], "rating": 2,
             **common}])
        timeline = [(1, "accepted", 1, "staff:王调度"), (1, "assigned", 2, "staff:王调度"),
                    (1, "on_hold", 3, "staff:李师傅"),
                    (2, "accepted", 1, "staff:王调度"), (2, "assigned", 2, "staff:王调度"),
                    (2, "completed", 3, "staff:李师傅"), (2, "accepted", 4, "user:o-old"),
                    (2, "completed", 5, "staff:李师傅"), (2, "closed", 6, "user:o-old")]
        conn.execute(insert(events), [{"ticket_id": t, "kind": "status", "status": st, "at": at[h], "by": by}
                                      for t, st, h, by in timeline])
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        held, done = conn.execute(select(tickets).order_by(tickets.c.id)).all()
    engine.dispose()
    assert (held.accepted_by, held.reworks, held.completed_at, held.close_reason) == ("staff:王调度", 0, None, None)
    assert [str(v)[:16] for v in (held.accepted_at, held.assigned_at, held.stage_started_at, held.hold_started_at)] == [
        "2026-11-20 09:00", "2026-11-20 10:00", "2026-11-20 10:00", "2026-11-20 11:00"]
    assert (done.reworks, done.close_reason, str(done.completed_at)[:16], str(done.closed_at)[:16]) == (
        1, "rated", "2026-11-20 13:00", "2026-11-20 14:00")
