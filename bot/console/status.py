"""系统状态 (admins): what an operator looks at first when students say the bot is silent — the queues, the
failed jobs (with a retry), when the sweeps last ran, the access_token's age, the pushes that failed today,
and whether Redis and PostgreSQL answer.  The facts come from core/vitals.py, as /metrics reads them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import redis
from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from rq.job import Job
from sqlalchemy.exc import SQLAlchemyError

from bot.console.admin import admin_only
from bot.console.blueprint import bp, services
from bot.console.forms import ActionForm
from bot.console.text import TEXT
from core import vitals
from core.jobs import QUEUE_NAMES, SEND_PUSH
from models.backoffice import STAGE_ZH
from models.pushes import reopen_failed
from models.sla import late_by_stage

QUEUE_ZH = {"pushes": "微信推送", "media": "照片下载", "default": "定时清扫等"}
SWEEP_ZH = {vitals.SWEEP: "补发清扫（推送、照片）", vitals.SLA_SWEEP: "超时检查（SLA）"}
JOB_ZH = {"send_push": "发送微信推送", "download_photo": "下载报修照片", "record_late_delivery": "记录送达回执",
          "sweep": "补发清扫"}
# A sweep not seen for this long is shown as late (the workers queue it every minute).
SWEEP_LATE_S = {vitals.SWEEP: 5 * 60, vitals.SLA_SWEEP: 30 * 60}


@bp.get("/status")
def status() -> ResponseReturnValue:
    admin_only()
    svc = services()
    facts = {"db": vitals.db_health(svc.db), "redis": vitals.redis_health(svc.redis)}
    return render_template("console/status.html", **facts, **_from_redis(svc.redis, facts["redis"] == "ok"),
                           **_from_db(svc, facts["db"] == "ok"), QUEUE_ZH=QUEUE_ZH, JOB_ZH=JOB_ZH, STAGE_ZH=STAGE_ZH,
                           form=ActionForm(formdata=None))


def _from_redis(conn: redis.Redis, up: bool) -> dict[str, Any]:
    if not up:
        return {"depths": {}, "failed_counts": {}, "failed": [], "sweeps": [], "token_age": None}
    ran = vitals.last_sweeps(conn)
    at = time.time()
    sweeps = [(SWEEP_ZH[name], _when(ran.get(name)), name not in ran or at - ran[name] > SWEEP_LATE_S[name])
              for name in SWEEP_ZH]
    return {"depths": vitals.queue_depths(conn), "failed_counts": vitals.failed_counts(conn),
            "failed": vitals.failed_jobs(conn), "sweeps": sweeps, "token_age": vitals.token_age_s(conn)}


def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _from_db(svc: Any, up: bool) -> dict[str, Any]:
    if not up:
        return {"pushes_failed": None, "overdue": {}}
    try:
        with svc.db.session() as s:
            return {"pushes_failed": vitals.pushes_failed_today(s), "overdue": late_by_stage(s)}
    except SQLAlchemyError:
        return {"pushes_failed": None, "overdue": {}}


@bp.post("/status/jobs/<queue>/<job_id>/retry")
def retry_job(queue: str, job_id: str) -> ResponseReturnValue:
    """Put a failed job back on its queue; a push's row gets a fresh budget of attempts, as 重新发送 gives it."""
    admin_only()
    form = ActionForm()
    if not form.validate_on_submit():
        flash(TEXT["csrf"], "error")
        return redirect(url_for("console.status"))
    conn = services().redis
    if queue not in QUEUE_NAMES or not vitals.is_failed(conn, queue, job_id):
        flash(TEXT["job_not_failed"], "info")
        return redirect(url_for("console.status"))
    job = Job.fetch(job_id, connection=conn)
    if job.func_name == SEND_PUSH and job.args:
        with services().db.session() as s:
            reopen_failed(s, int(job.args[0]))
    vitals.retry_failed(conn, queue, job_id)
    flash(TEXT["job_retried"], "success")
    return redirect(url_for("console.status"))
