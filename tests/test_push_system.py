"""The push system end to end: one push per change, one shared token, retries, fallback, delivery reports.

WeChat's API is faked with `responses` (in this process) or with `devtools.fakewechat` served on a loopback
port (for worker processes); RQ workers, Redis and the database are real.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from itsdangerous import URLSafeTimedSerializer
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import select, update

import workers.queues
from core.actions import move_ticket, staff_reply
from core.config import Config
from core.jobs import OUTBOXES, RETRIES, all_queues, enqueue
from core.pacing import STRIKES_KEY
from core.services import Services, use_services
from core.wechat_api import TOKEN_KEY, WeChatAPI
from devtools.chat import WeChatUser
from devtools.fakewechat import FakeServer, FakeWeChat
from models.clock import now
from models.errors import WeChatError
from models.people import WechatUser, ensure_user
from models.pushes import KEYWORD_MAX, Push
from models.tickets import STATUS_ZH
from tests.support.cli import environment
from tests.support.constants import FOOD
from tests.support.consults import make_consult
from tests.support.http import running
from tests.support.jobs import release_scheduled
from tests.support.tickets import make_ticket
from tests.support.wechat_api import CUSTOM, SEND, TOKEN_URL, answers, bodies, calls_to
from tests.support.wechat_api import user_wrote as wrote
from tests.support.workers import LeanWorker, prepare_worker
from workers.push import send_push, sent_mark_key
from workers.queues import LeanSimpleWorker
from workers.sweeps import STUCK_AFTER_S, requeue_pending

STAFF = "staff:调度员"


# -- helpers --------------------------------------------------------------------------------------

def accepted(services: Services, openid: str, note: str | None = None) -> tuple[str, int]:
    """File a ticket and accept it: one push owed. Return the ticket number and the push id."""
    no = make_ticket(services, openid)
    move_ticket(services, no, "accepted", by=STAFF, note=note)
    with services.db.session() as s:
        push_id = s.scalars(select(Push.id).where(Push.openid == openid)).one()
    return no, push_id


def row(services: Services, push_id: int) -> Push:
    with services.db.session() as s:
        push = s.get(Push, push_id)
        assert push is not None
        return push


def job(services: Services, push_id: int) -> Job:
    return Job.fetch(f"push-{push_id}", connection=services.redis)


def scheduled(services: Services) -> list[str]:
    return list(Queue("pushes", connection=services.redis).scheduled_job_registry.get_job_ids())


def user_wrote(services: Services, openid: str, ago_s: float) -> None:
    wrote(services.redis, openid, ago_s)


# -- one push per change --------------------------------------------------------------------------------

def test_a_change_makes_one_push_however_often_its_job_runs(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    _, push_id = accepted(services, "o-once")
    assert run_jobs() == 1
    # The same job again, under its own id and under another, and the function called directly.
    enqueue(services.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}")
    enqueue(services.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}-again")
    assert run_jobs() == 2
    assert send_push(push_id) == "not pending"
    # A sweep does not queue what was sent.
    assert requeue_pending(services, older_than_s=0).pushes == 0
    assert len(calls_to(wechat_api, SEND)) == 1
    sent = row(services, push_id)
    assert (sent.status, sent.attempts, sent.channel, sent.msgid) == ("sent", 1, "template", "1001")
    assert sent.sent_at is not None and sent.errcode is None


def test_queueing_a_job_id_twice_queues_it_once(services: Services, run_jobs: Callable[[], int],
                                                wechat_api: responses.RequestsMock) -> None:
    """The sweep and the console's resend queue a push by its job id: twice is once (and the bulk senders, which
    have the push too, find it sent)."""
    _, push_id = accepted(services, "o-twice")
    enqueue(services.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}")
    enqueue(services.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}")
    assert Queue("pushes", connection=services.redis).get_job_ids().count(f"push-{push_id}") == 1
    run_jobs()
    assert len(calls_to(wechat_api, SEND)) == 1


def test_racing_threads_send_once(services: Services, wechat_api: responses.RequestsMock) -> None:
    """Eight threads call send_push for the same row at the same moment: one sends, the rest find it claimed."""
    ids = [accepted(services, f"o-race-{i}")[1] for i in range(3)]
    for push_id in ids:
        barrier = threading.Barrier(8)
        results: list[str] = []

        def race(pid: int = push_id, gate: threading.Barrier = barrier, out: list[str] = results) -> None:
            gate.wait()
            out.append(send_push(pid))

        threads = [threading.Thread(target=race) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(results) == ["not pending"] * 7 + ["sent"]
    assert len(calls_to(wechat_api, SEND)) == 3
    assert [row(services, i).attempts for i in ids] == [1, 1, 1]


# -- several processes --------------------------------------------------------------------------------------

def _child_services(env: dict[str, str]) -> Services:
    svc = Services(Config.from_env(env, dotenv=None))
    use_services(svc)
    return svc


def _worker_process(env: dict[str, str], start: Any) -> None:
    """A worker process: a real RQ worker (the lean SimpleWorker) on the shared Redis, started with the others."""
    svc = _child_services(env)
    worker = LeanSimpleWorker(all_queues(svc.redis), connection=svc.redis)
    start.wait(120)
    worker.work(burst=True, logging_level="WARNING")
    svc.close()


def _racer_process(env: dict[str, str], ids: list[int], start: Any, out: Any) -> None:
    """Call send_push for the same ids as the other racers, at the same moment."""
    svc = _child_services(env)
    start.wait(120)
    out.put([(push_id, send_push(push_id)) for push_id in ids])
    svc.close()


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeWeChat, str]]:
    """devtools.fakewechat on a loopback port: what processes other than this one can reach.

    Its token endpoint takes 0.3 s, as a trip to WeChat might: processes that start together all
    find no token, and only the lock keeps them from fetching one each.
    """
    fake = FakeWeChat(token_delay_s=0.3)
    server = FakeServer(fake)
    with running(server):
        yield fake, f"http://127.0.0.1:{server.port}/cgi-bin/"


def run_processes(target: Callable[..., None], arg_sets: list[tuple[Any, ...]], with_queue: bool = False,
                  timeout_s: float = 180) -> list[Any]:
    """Start one process per argument set (spawned: nothing inherited), release them at once, collect."""
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, start, out) if with_queue else (*a, start)) for a in arg_sets]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=timeout_s) for _ in procs] if with_queue else []
    for p in procs:
        p.join(timeout=timeout_s)
        assert p.exitcode == 0, f"a child process exited {p.exitcode}"
    return results


def test_worker_processes_share_one_token_and_send_each_push_once(
        services: Services, fake_api: tuple[FakeWeChat, str]) -> None:
    """Four worker processes, every push queued twice (two jobs race for each row): one token, one send each."""
    fake, base = fake_api
    ids = [accepted(services, f"o-mp-{i:02d}")[1] for i in range(24)]
    for push_id in ids:
        enqueue(services.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}-again")
    assert services.redis.get(TOKEN_KEY) is None
    env = environment(services, WECHAT_API_BASE_URL=base)
    run_processes(_worker_process, [(env,)] * 4)
    assert fake.token_fetches == 1
    per_user = Counter(m["openid"] for m in fake.sent)
    assert per_user == {f"o-mp-{i:02d}": 1 for i in range(24)}
    with services.db.session() as s:
        rows = list(s.scalars(select(Push).where(Push.id.in_(ids))))
    assert {(r.status, r.attempts, r.channel) for r in rows} == {("sent", 1, "template")}
    assert sorted(int(r.msgid or 0) for r in rows) == sorted(m["seq"] for m in fake.sent)


def test_two_processes_racing_for_the_same_rows_send_each_once(
        services: Services, fake_api: tuple[FakeWeChat, str]) -> None:
    fake, base = fake_api
    ids = [accepted(services, f"o-pr-{i:02d}")[1] for i in range(12)]
    env = environment(services, WECHAT_API_BASE_URL=base)
    results = run_processes(_racer_process, [(env, ids), (env, ids)], with_queue=True)
    outcomes: dict[int, list[str]] = {i: [] for i in ids}
    for batch in results:
        for push_id, outcome in batch:
            outcomes[push_id].append(outcome)
    assert all(sorted(o) == ["not pending", "sent"] for o in outcomes.values()), outcomes
    assert len(fake.sent) == 12 and fake.token_fetches == 1


# -- where a push leads ----------------------------------------------------------------------------------

def test_each_push_links_to_its_page_and_only_the_reporter_gets_the_reporters_link(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    """The reporter's /t/ link lets its holder act on the ticket: followers get a view-only one."""
    from core.links import read_consult_token, read_token
    from models.notices import publish
    from models.tickets import follow, get_ticket

    secret, base = services.config.secret_key, services.config.public_url
    no = make_ticket(services, "o-link-reporter")
    consult_no = make_consult(services, openid="o-link-sender", card_no=None, title="食堂饭菜偏咸", kind="建议",
                              department=FOOD, description="二食堂的菜最近偏咸", suggestion=None)
    with services.db.session() as s:
        ensure_user(s, "o-link-follower")
        follow(s, get_ticket(s, no), "o-link-follower")
        notice = publish(s, "学生公寓12栋停水检修", "周三 9:00-12:00 停水", by=STAFF)
        s.add(Push(notice_id=notice.id, openid="o-link-resident", kind="notice", template_id="TPL-REPLY",
                   payload={"character_string1": {"value": f"N{notice.id}"}, "thing2": {"value": "停水检修"}}))
        notice_id = notice.id
    move_ticket(services, no, "accepted", by=STAFF)
    from core.actions import consult_reply

    consult_reply(services, consult_no, "已转告饮食服务中心", by=STAFF)
    with services.db.session() as s:
        for push_id in s.scalars(select(Push.id).where(Push.kind == "notice")):
            enqueue(services.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}")
    assert run_jobs() == 4
    urls = {b["touser"]: b["url"] for b in bodies(wechat_api, SEND)}
    prefix = f"{base}/t/"
    reporter, follower = read_token(secret, urls["o-link-reporter"].removeprefix(prefix)), \
        read_token(secret, urls["o-link-follower"].removeprefix(prefix))
    assert (reporter.no, reporter.reporter) == (no, True)
    assert (follower.no, follower.reporter) == (no, False)
    assert read_consult_token(secret, urls["o-link-sender"].removeprefix(f"{base}/c/")) == consult_no
    assert urls["o-link-resident"] == f"{base}/notices/{notice_id}"


# -- the access_token -----------------------------------------------------------------------------------

def test_expired_token_is_refreshed_once_and_the_push_goes_out(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    services.redis.set(TOKEN_KEY, "OLD-TOKEN")
    answers(wechat_api, SEND, {"errcode": 42001, "errmsg": "access_token expired"},
            {"errcode": 0, "errmsg": "ok", "msgid": 4201})
    _, push_id = accepted(services, "o-42001")
    run_jobs()
    assert len(calls_to(wechat_api, TOKEN_URL)) == 1
    used = [parse_qs(urlparse(c.request.url).query)["access_token"][0] for c in calls_to(wechat_api, SEND)]
    assert used == ["OLD-TOKEN", "TOKEN-1"]
    sent = row(services, push_id)
    assert (sent.status, sent.msgid, sent.attempts) == ("sent", "4201", 1)


def test_persistent_bad_token_fails_the_push_after_two_fetches(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    answers(wechat_api, SEND, {"errcode": 40001, "errmsg": "invalid credential"})
    _, push_id = accepted(services, "o-40001")
    run_jobs()
    assert len(calls_to(wechat_api, TOKEN_URL)) == 2  # the first token, and one refresh
    assert len(calls_to(wechat_api, SEND)) == 2  # the call, and one retry with the new token
    assert scheduled(services) == []  # not retried
    failed = row(services, push_id)
    assert (failed.status, failed.errcode) == ("failed", 40001)
    assert "invalid credential" in (failed.error or "")
    assert calls_to(wechat_api, CUSTOM) == []  # bad credentials: no fallback either


def test_token_fetched_by_another_process_is_used_not_replaced(
        services: Services, wechat_api: responses.RequestsMock) -> None:
    """A 40001 on a token another process has already replaced: no fetch, the new token is used."""
    api = WeChatAPI(services.config, services.redis)
    services.redis.set(TOKEN_KEY, "NEWER")
    assert api._renew("STALE") == "NEWER"
    assert calls_to(wechat_api, TOKEN_URL) == []
    assert api._renew("NEWER") == "TOKEN-1"  # the refused one is replaced
    assert len(calls_to(wechat_api, TOKEN_URL)) == 1


# -- what WeChat answers -------------------------------------------------------------------------------------

def test_unsubscribed_user_is_recorded_and_not_retried(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    answers(wechat_api, SEND, {"errcode": 43004, "errmsg": "require subscribe"})
    user_wrote(services, "o-43004", ago_s=60)  # even a recent message does not bring a fallback
    _, push_id = accepted(services, "o-43004")
    run_jobs()
    failed = row(services, push_id)
    assert (failed.status, failed.errcode, failed.attempts, failed.channel) == ("failed", 43004, 1, "template")
    assert scheduled(services) == [] and release_scheduled(services) == 0
    run_jobs()
    assert len(calls_to(wechat_api, SEND)) == 1 and calls_to(wechat_api, CUSTOM) == []
    with services.db.session() as s:  # the next change is recorded as skipped without calling WeChat
        user = s.scalars(select(WechatUser).where(WechatUser.openid == "o-43004")).one()
        assert user.subscribed is False


def test_frequency_limit_pauses_the_senders_then_the_push_goes_out(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    """45009 ("too many"): not a failure and no attempt spent; every sender pauses, then the push goes out."""
    answers(wechat_api, SEND, {"errcode": 45009, "errmsg": "reach max api daily quota limit"},
            {"errcode": 0, "errmsg": "ok", "msgid": 4509})
    _, push_id = accepted(services, "o-45009")
    run_jobs()  # the push's job, then the bulk sender it was handed to (after a pause of about a second)
    sent = row(services, push_id)
    assert (sent.status, sent.msgid, sent.attempts, sent.errcode) == ("sent", "4509", 1, None)
    assert len(calls_to(wechat_api, SEND)) == 2
    assert services.redis.get(STRIKES_KEY) == b"1" and scheduled(services) == []


def test_backoff_grows() -> None:
    intervals = RETRIES["pushes"].intervals
    assert isinstance(intervals, list) and all(b > a for a, b in itertools.pairwise(intervals))


def test_transient_error_on_the_last_try_is_a_failure(
        services: Services, wechat_api: responses.RequestsMock) -> None:
    """Outside a job with tries left (here: called directly), a transient error is final."""
    answers(wechat_api, SEND, {"errcode": -1, "errmsg": "system error"})
    _, push_id = accepted(services, "o-last")
    with pytest.raises(WeChatError) as err:
        send_push(push_id)
    assert err.value.errcode == -1
    assert (row(services, push_id).status, row(services, push_id).errcode) == ("failed", -1)


def test_network_errors_are_retried_and_secrets_stay_out_of_the_error(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    """A request error's text holds the URL, and the URL the access_token (or, for the token, the app secret)."""
    wechat_api.replace(responses.POST, SEND, body=requests.ConnectionError(
        "HTTPSConnectionPool: Max retries exceeded with url: /cgi-bin/message/template/send?access_token=TOKEN-1"))
    _, push_id = accepted(services, "o-net")
    run_jobs()
    waiting = row(services, push_id)
    assert (waiting.status, waiting.errcode) == ("pending", -2)
    assert scheduled(services) == [f"push-{push_id}"]
    assert "ConnectionError" in (waiting.error or "") and "TOKEN-1" not in (waiting.error or "")
    # What RQ and the logs would show: the whole chain of the error raised to the job.
    api = WeChatAPI(services.config, services.redis)
    with pytest.raises(WeChatError) as err:
        api.send_template("o-net", "TPL-TICKET", {})
    shown = "".join(traceback.format_exception(err.value))
    assert err.value.errcode == -2 and "TOKEN-1" not in shown and "access_token=" not in shown
    services.redis.delete(TOKEN_KEY)
    wechat_api.replace(responses.GET, TOKEN_URL, body=requests.ConnectionError(
        "Max retries exceeded with url: /cgi-bin/token?grant_type=client_credential&secret=test-app-secret"))
    with pytest.raises(WeChatError) as err:
        api.send_template("o-net", "TPL-TICKET", {})
    shown = "".join(traceback.format_exception(err.value))
    assert err.value.errcode == -2 and "test-app-secret" not in shown


def test_urllib3_debug_lines_do_not_show_the_token() -> None:
    import logging

    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, '%s://%s:%s "%s %s %s" %s %s',
                               ("https", "api.weixin.qq.com", 443, "POST",
                                "/cgi-bin/message/template/send?access_token=SECRET-TOKEN&x=1", "HTTP/1.1", 200, 80),
                               None)
    for f in logging.getLogger("urllib3.connectionpool").filters:
        assert f.filter(record) if isinstance(f, logging.Filter) else True
    assert "SECRET-TOKEN" not in record.getMessage() and "access_token=***&x=1" in record.getMessage()


def test_unexpected_error_gives_the_row_back_for_the_retry(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash before WeChat was called (here: the token lock) leaves the row pending, not stuck in sending."""

    def broken(self: WeChatAPI) -> str:
        raise RuntimeError("lock timeout")

    monkeypatch.setattr(WeChatAPI, "token", broken)
    _, push_id = accepted(services, "o-crash")
    run_jobs()
    assert row(services, push_id).status == "pending"
    assert job(services, push_id).get_status() == "scheduled"
    monkeypatch.undo()
    release_scheduled(services)
    run_jobs()
    assert (row(services, push_id).status, len(calls_to(wechat_api, SEND))) == ("sent", 1)


# -- the customer-service fallback ---------------------------------------------------------------------------

@pytest.mark.parametrize("errcode, errmsg", [(40037, "invalid template_id"), (47003, "argument invalid! data.thing3")])
def test_template_refused_for_good_falls_back_to_a_text_message(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock,
        errcode: int, errmsg: str) -> None:
    answers(wechat_api, SEND, {"errcode": errcode, "errmsg": errmsg})
    note = "配件需要从厂家订购，预计下周三到货后再上门维修，请耐心等待"
    user_wrote(services, "o-fallback", ago_s=47 * 3600)
    no = make_ticket(services, "o-fallback")
    move_ticket(services, no, "accepted", by=STAFF)
    move_ticket(services, no, "on_hold", by=STAFF, note=note)
    run_jobs()
    (template, *_), texts = bodies(wechat_api, SEND), bodies(wechat_api, CUSTOM)
    assert all(len(v["value"]) <= KEYWORD_MAX for v in template["data"].values())
    assert len(texts) == 2 and {t["touser"] for t in texts} == {"o-fallback"}
    text = texts[-1]["text"]["content"]
    assert texts[-1]["msgtype"] == "text"
    assert no in text and STATUS_ZH["on_hold"] in text and note in text  # the note in full, not cut
    link = text.split("查看详情：")[1].strip()
    assert link.startswith("https://repair.example.edu/t/")
    signer = URLSafeTimedSerializer(services.config.secret_key, salt="ticket-page")
    assert signer.loads(link.rsplit("/", 1)[1]) == no
    assert len(text) < 400
    with services.db.session() as s:
        rows = list(s.scalars(select(Push).where(Push.openid == "o-fallback")))
    assert {(r.status, r.channel, r.errcode) for r in rows} == {("sent", "custom", errcode)}
    assert all(f"template failed ({errcode}" in (r.error or "") for r in rows)


@pytest.mark.parametrize("ago_h", [49, None])
def test_no_fallback_when_the_user_has_not_written_within_48_hours(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock,
        ago_h: int | None) -> None:
    answers(wechat_api, SEND, {"errcode": 40037, "errmsg": "invalid template_id"})
    if ago_h is not None:
        user_wrote(services, "o-silent", ago_s=ago_h * 3600)
    _, push_id = accepted(services, "o-silent")
    run_jobs()
    assert calls_to(wechat_api, CUSTOM) == []
    failed = row(services, push_id)
    assert (failed.status, failed.channel, failed.errcode) == ("failed", "template", 40037)
    assert scheduled(services) == []


def test_a_reply_falls_back_too(services: Services, run_jobs: Callable[[], int],
                                wechat_api: responses.RequestsMock) -> None:
    answers(wechat_api, SEND, {"errcode": 40037, "errmsg": "invalid template_id"})
    user_wrote(services, "o-reply", ago_s=10)
    no = make_ticket(services, "o-reply")
    staff_reply(services, no, "师傅明天上午九点上门，请宿舍留人", by=STAFF)
    run_jobs()
    (text,) = [b["text"]["content"] for b in bodies(wechat_api, CUSTOM)]
    assert no in text and "师傅明天上午九点上门，请宿舍留人" in text and "/t/" in text


def test_fallback_retried_after_a_transient_error_does_not_send_the_template_again(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    answers(wechat_api, SEND, {"errcode": 40037, "errmsg": "invalid template_id"})
    answers(wechat_api, CUSTOM, {"errcode": -1, "errmsg": "system error"}, {"errcode": 0, "errmsg": "ok"})
    user_wrote(services, "o-fb-retry", ago_s=10)
    _, push_id = accepted(services, "o-fb-retry")
    run_jobs()
    waiting = row(services, push_id)
    assert (waiting.status, waiting.channel, waiting.errcode) == ("pending", "custom", -1)
    release_scheduled(services)
    run_jobs()
    assert (row(services, push_id).status, row(services, push_id).channel) == ("sent", "custom")
    assert len(calls_to(wechat_api, SEND)) == 1 and len(calls_to(wechat_api, CUSTOM)) == 2


def test_fallback_refused_by_wechat_is_recorded(services: Services, run_jobs: Callable[[], int],
                                                wechat_api: responses.RequestsMock) -> None:
    """Our record said the user wrote lately, WeChat says otherwise (45015): failed, with both reasons."""
    answers(wechat_api, SEND, {"errcode": 40037, "errmsg": "invalid template_id"})
    answers(wechat_api, CUSTOM, {"errcode": 45015, "errmsg": "response out of time limit"})
    user_wrote(services, "o-fb-late", ago_s=10)
    _, push_id = accepted(services, "o-fb-late")
    run_jobs()
    failed = row(services, push_id)
    assert (failed.status, failed.channel, failed.errcode) == ("failed", "custom", 45015)
    assert "40037" in (failed.error or "") and scheduled(services) == []


def test_without_a_template_id_the_text_message_is_used(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    unconfigured = Services(services.config.override(template_ticket=""), redis_conn=services.redis)
    try:
        for openid, wrote in (("o-notpl-recent", True), ("o-notpl-silent", False)):
            if wrote:
                user_wrote(services, openid, ago_s=10)
            no = make_ticket(services, openid)
            move_ticket(unconfigured, no, "accepted", by=STAFF)
    finally:
        unconfigured.close()
    run_jobs()
    assert calls_to(wechat_api, SEND) == []
    assert [b["touser"] for b in bodies(wechat_api, CUSTOM)] == ["o-notpl-recent"]
    with services.db.session() as s:
        got = {p.openid: (p.status, p.channel) for p in s.scalars(select(Push))}
    assert got == {"o-notpl-recent": ("sent", "custom"), "o-notpl-silent": ("skipped", None)}


# -- delivery reports and WeChat's retries of the webhook ----------------------------------------------------------

def delivery_event(msgid: str, status: str) -> str:
    return (f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msgid}</MsgID>"
            f"<Status><![CDATA[{status}]]></Status>")


def test_templatesendjobfinish_updates_the_row(
        wechat: Callable[..., WeChatUser], services: Services, run_jobs: Callable[[], int],
        wechat_api: responses.RequestsMock) -> None:
    answers(wechat_api, SEND, {"errcode": 0, "errmsg": "ok", "msgid": 200163836},
            {"errcode": 0, "errmsg": "ok", "msgid": 200163840})
    _, blocked = accepted(services, "o-report")
    _, fine = accepted(services, "o-report-2")
    run_jobs()
    assert (row(services, blocked).msgid, row(services, fine).msgid) == ("200163836", "200163840")
    user = wechat("o-report")
    answer = user.send("event", delivery_event("200163836", "failed:user block"))
    assert answer.status == 200 and answer.text == ""
    wechat("o-report-2").send("event", delivery_event("200163840", "success"))
    assert row(services, blocked).delivery == "failed:user block"
    assert row(services, fine).delivery == "success"
    assert row(services, blocked).status == "sent"  # WeChat took it; the user's block is the delivery
    # WeChat retrying the report changes nothing and makes no push.
    again = user.retry()
    assert again.status == 200
    with services.db.session() as s:
        assert len(list(s.scalars(select(Push)))) == 2
    assert Queue("pushes", connection=services.redis).count == 0
    assert row(services, blocked).delivery == "failed:user block"


def test_report_for_an_unknown_msgid_is_ignored(wechat: Callable[..., WeChatUser], services: Services,
                                                run_jobs: Callable[[], int]) -> None:
    answer = wechat("o-nobody").send("event", delivery_event("999", "success"))
    assert answer.status == 200 and answer.text == ""
    for _ in range(1 + RETRIES["default"].max):  # the first try, then every retry, finds nothing
        assert release_scheduled(services, "default") == 1
        run_jobs()
    assert release_scheduled(services, "default") == 0
    with services.db.session() as s:
        assert list(s.scalars(select(Push))) == []


def test_report_that_overtakes_its_msgid_is_recorded_later(
        wechat: Callable[..., WeChatUser], services: Services, run_jobs: Callable[[], int],
        wechat_api: responses.RequestsMock) -> None:
    """WeChat may report delivery before the worker has written the msgid down: it is not lost."""
    answers(wechat_api, SEND, {"errcode": 0, "errmsg": "ok", "msgid": 200163999})
    _, push_id = accepted(services, "o-early")
    wechat("o-early").send("event", delivery_event("200163999", "success"))  # before the push is sent
    run_jobs()  # now the push goes out, and its msgid is recorded
    assert row(services, push_id).msgid == "200163999" and row(services, push_id).delivery is None
    assert release_scheduled(services, "default") == 1
    run_jobs()
    assert row(services, push_id).delivery == "success"


# -- rows left in `sending` by a dead worker ------------------------------------------------------------------------

def leave_sending(services: Services, push_id: int, ago_s: float, attempts: int = 1) -> None:
    """What a worker killed mid-send leaves behind."""
    with services.db.session() as s:
        s.execute(update(Push).where(Push.id == push_id).values(
            status="sending", attempts=attempts, sent_at=now() - timedelta(seconds=ago_s)))
    Queue("pushes", connection=services.redis).empty()


def test_stuck_sending_row_is_taken_back_and_sent(services: Services, run_jobs: Callable[[], int],
                                                  wechat_api: responses.RequestsMock) -> None:
    _, stuck = accepted(services, "o-stuck")
    _, busy = accepted(services, "o-busy")
    leave_sending(services, stuck, STUCK_AFTER_S + 60)
    leave_sending(services, busy, 30)  # a live worker may still be on it
    report = requeue_pending(services)
    assert (report.pushes, report.stuck) == (1, 1)
    run_jobs()
    assert (row(services, stuck).status, row(services, stuck).attempts) == ("sent", 2)
    assert row(services, busy).status == "sending"
    assert [b["touser"] for b in bodies(wechat_api, SEND)] == ["o-stuck"]


def test_stuck_row_already_accepted_by_wechat_is_not_sent_twice(
        services: Services, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    """The worker died after WeChat took the message and noted it in Redis, before the database knew."""
    _, push_id = accepted(services, "o-died")
    leave_sending(services, push_id, STUCK_AFTER_S + 60)
    services.redis.set(sent_mark_key(push_id), "template:777")
    assert requeue_pending(services).stuck == 1
    run_jobs()
    done = row(services, push_id)
    assert (done.status, done.msgid, done.channel) == ("sent", "777", "template")
    assert calls_to(wechat_api, SEND) == []


def test_sweep_can_leave_sending_rows_alone(services: Services, wechat_api: responses.RequestsMock) -> None:
    _, push_id = accepted(services, "o-alone")
    leave_sending(services, push_id, STUCK_AFTER_S + 60)
    assert requeue_pending(services, stuck_after_s=None).pushes == 0
    assert row(services, push_id).status == "sending"


def as_jobs(services: Services, ids: list[int]) -> None:
    """Take pushes from the bulk senders and queue a job for each instead."""
    services.redis.delete(*OUTBOXES)
    Queue("pushes", connection=services.redis).empty()
    for push_id in ids:
        enqueue(services.redis, "pushes", send_push, push_id, job_id=f"push-{push_id}")


# -- the workers ------------------------------------------------------------------------------------------------

def test_lean_worker_needs_fewer_redis_round_trips(services: Services, wechat_api: responses.RequestsMock,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """LeanSimpleWorker runs the same jobs as RQ's SimpleWorker with about half the Redis round trips."""
    trips = Counter[str]()
    execute, pipeline = services.redis.execute_command, services.redis.pipeline

    def counted_execute(*args: Any, **kw: Any) -> Any:
        trips[current] += 1
        return execute(*args, **kw)

    def counted_pipeline(*args: Any, **kw: Any) -> Any:
        trips[current] += 1  # executed once
        return pipeline(*args, **kw)

    monkeypatch.setattr(services.redis, "execute_command", counted_execute)
    monkeypatch.setattr(services.redis, "pipeline", counted_pipeline)
    # The same jobs for both: the SLA sweep a lean worker queues as it beats is work the plain one is not given.
    monkeypatch.setattr(workers.queues, "schedule_sla_sweep", lambda conn: False)
    used: dict[str, int] = {}
    for current, cls in (("plain", SimpleWorker), ("lean", LeanSimpleWorker)):
        ids = [accepted(services, f"o-{current}-{i}")[1] for i in range(5)]
        as_jobs(services, ids)  # a job each, as the sweep queues them
        worker = cls(all_queues(services.redis), connection=services.redis)
        worker.work(burst=True, logging_level="WARNING", max_jobs=1)  # registration and a first job
        trips.clear()
        worker.work(burst=True, logging_level="WARNING")
        used[current] = trips[current]
        assert {row(services, i).status for i in ids} == {"sent"}
        assert worker.last_heartbeat is not None
    assert used["lean"] < 0.75 * used["plain"], used
    assert len(calls_to(wechat_api, SEND)) == 10


def test_forking_worker_prepared_in_its_parent_sends_once(
        services: Services, fake_api: tuple[FakeWeChat, str]) -> None:
    """LeanWorker forks a work-horse per job; prepare_worker warms the parent and leaves it no connection."""
    fake, base = fake_api
    env = environment(services, WECHAT_API_BASE_URL=base)
    ids = [accepted(services, f"o-fork-{i}")[1] for i in range(3)]
    run_processes(_forking_worker_process, [(env,)])
    assert Counter(m["openid"] for m in fake.sent) == {f"o-fork-{i}": 1 for i in range(3)}
    assert {row(services, i).status for i in ids} == {"sent"}


def _forking_worker_process(env: dict[str, str], start: Any) -> None:
    svc = _child_services(env)
    prepare_worker(svc)  # warms the engine, then empties its pool: nothing for the work-horses to share
    worker = LeanWorker(all_queues(svc.redis), connection=svc.redis)
    start.wait(120)
    worker.work(burst=True, logging_level="WARNING")
    svc.close()
