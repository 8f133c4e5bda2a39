"""Template pushes and photo downloads: what WeChat is asked to send, once, and what is recorded when it refuses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from itsdangerous import BadSignature, URLSafeTimedSerializer
from rq import Queue
from sqlalchemy import select

from core.actions import move_ticket
from core.jobs import enqueue
from core.services import Services
from core.wechat_api import TOKEN_KEY, WeChatAPI
from devtools.chat import WeChatUser
from models.errors import WeChatError
from models.pushes import KEYWORD_MAX, Push
from models.tickets import STATUS_PHRASE, TicketPhoto, get_ticket
from tests.support.chat import file_dorm_tap
from tests.support.constants import API, DORM
from tests.support.jobs import release_scheduled
from tests.support.people import make_staff
from tests.support.tickets import make_ticket
from tests.support.wechat_api import SEND, TOKEN_URL, answers, calls_to, sent_templates
from workers.push import send_push

LONG_REASON = "配件需要从厂家订购，预计下周三到货后再上门维修，请耐心等待"

# How to reach each status the reporter hears about, and what the push should say about it.
PATHS: dict[str, tuple[list[tuple[str, dict[str, str]]], dict[str, str], str]] = {
    "accepted": ([], {}, ""),
    "assigned": ([("accepted", {})], {"worker": "刘师傅"}, "刘师傅 13900000009"),
    "in_progress": ([("accepted", {}), ("assigned", {"worker": "刘师傅"})], {}, ""),
    "on_hold": ([("accepted", {})], {"note": LONG_REASON}, LONG_REASON[:KEYWORD_MAX - 1]),
    "completed": ([("accepted", {}), ("in_progress", {})], {}, ""),
    "rejected": ([], {"note": "不属于维修范围，请联系宿管"}, "不属于维修范围，请联系宿管"),
}


@pytest.fixture
def worker(services: Services) -> None:
    make_staff(services, "刘师傅", "worker", categories=[DORM], phone="13900000009")


def push_rows(services: Services) -> list[Push]:
    with services.db.session() as s:
        return list(s.scalars(select(Push).order_by(Push.id)))


def waiting(services: Services, queue: str) -> tuple[int, int]:
    """Jobs of a queue (queued now, scheduled for a retry)."""
    q = Queue(queue, connection=services.redis)
    return q.count, len(q.scheduled_job_registry.get_job_ids())


# -- what is sent --------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", list(PATHS))
def test_each_status_change_sends_one_template(services: Services, run_jobs: Callable[[], int], worker: None,
                                               wechat_api: responses.RequestsMock, status: str) -> None:
    """One template message per change, to the reporter, short enough for WeChat, linking the ticket page."""
    before, kw, says = PATHS[status]
    no = make_ticket(services, "o-push")
    for to, args in before:
        move_ticket(services, no, to, by="staff:调度员", **args)
    run_jobs()
    wechat_api.calls.reset()
    move_ticket(services, no, status, by="staff:调度员", **kw)
    # After 维修完成 a text telling how to rate follows the template (if the user wrote lately: not here).
    assert run_jobs() == (2 if status == "completed" else 1)
    sent = sent_templates(wechat_api)
    assert len(sent) == 1
    msg = sent[0]
    assert (msg["touser"], msg["template_id"]) == ("o-push", "TPL-TICKET")
    values = {k: v["value"] for k, v in msg["data"].items()}
    assert all(len(v) <= KEYWORD_MAX for v in values.values()), values
    assert no in values.values()
    assert values["phrase2"] == STATUS_PHRASE[status], values  # whole, in WeChat's 5 characters
    if says:
        assert any(says in v for v in values.values()), values
    link = urlparse(msg["url"])
    assert f"{link.scheme}://{link.netloc}" == "https://repair.example.edu" and link.path.startswith("/t/")
    token = link.path.removeprefix("/t/")
    signer = URLSafeTimedSerializer(services.config.secret_key, salt="ticket-page")
    assert signer.loads(token) == no
    with pytest.raises(BadSignature):  # signed: a link cannot be forged for another ticket
        URLSafeTimedSerializer("another-secret", salt="ticket-page").loads(token)
    row = [r for r in push_rows(services) if r.kind == "status"][-1]
    assert (row.status, row.openid, row.msgid) == ("sent", "o-push", "1001")


def test_the_time_in_a_push_is_beijing_time(services: Services, run_jobs: Callable[[], int],
                                            wechat_api: responses.RequestsMock) -> None:
    """The time shown in the push is the reporter's clock (UTC+8)."""
    from models.tickets import local_time

    no = make_ticket(services, "o-push-time")
    move_ticket(services, no, "accepted", by="staff:调度员")
    run_jobs()
    with services.db.session() as s:
        at = get_ticket(s, no).events[-1].at
    (msg,) = sent_templates(wechat_api)
    shown = [v["value"] for v in msg["data"].values() if v["value"].count(":") == 1 and "-" in v["value"]]
    assert shown == [local_time(at).strftime("%Y-%m-%d %H:%M")]
    assert local_time(at).utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]


def test_running_jobs_again_sends_nothing_more(services: Services, run_jobs: Callable[[], int],
                                               wechat_api: responses.RequestsMock) -> None:
    """A push already sent is never sent again: not by a second run, nor by queueing its id again."""
    no = make_ticket(services, "o-push-once")
    move_ticket(services, no, "accepted", by="staff:调度员")
    assert run_jobs() == 1
    assert run_jobs() == 0
    (row,) = push_rows(services)
    enqueue(services.redis, "pushes", send_push, row.id, job_id=f"push-{row.id}")
    enqueue(services.redis, "pushes", send_push, row.id)  # even under another job id
    assert run_jobs() == 2
    assert len(sent_templates(wechat_api)) == 1
    (row,) = push_rows(services)
    assert (row.status, row.attempts) == ("sent", 1)


def test_unsubscribed_reporter_is_not_pushed(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                             services: Services, run_jobs: Callable[[], int],
                                             wechat_api: responses.RequestsMock) -> None:
    """After the reporter unfollows the account, their push is recorded as skipped and WeChat is not called."""
    bound("o-push-gone")
    user = wechat("o-push-gone")
    file_dorm_tap(user)
    no = user.text("1").text.split("单号 ")[1].split("。")[0]
    run_jobs()
    wechat_api.calls.reset()
    assert user.event("unsubscribe").body == "success"
    move_ticket(services, no, "accepted", by="staff:调度员")
    run_jobs()
    assert sent_templates(wechat_api) == []
    (row,) = push_rows(services)
    assert (row.status, row.openid) == ("skipped", "o-push-gone")
    assert "unsubscribed" in (row.error or "")


# -- what WeChat answers ---------------------------------------------------------------------------------

def test_not_subscribed_answer_is_recorded_and_not_retried(services: Services, run_jobs: Callable[[], int],
                                                           wechat_api: responses.RequestsMock) -> None:
    """43004 is permanent: the row says failed with the code, and nothing tries again."""
    answers(wechat_api, SEND, {"errcode": 43004, "errmsg": "require subscribe"})
    no = make_ticket(services, "o-push-43004")
    move_ticket(services, no, "accepted", by="staff:调度员")
    run_jobs()
    (row,) = push_rows(services)
    assert (row.status, row.errcode, row.attempts) == ("failed", 43004, 1)
    assert "require subscribe" in (row.error or "")
    assert waiting(services, "pushes") == (0, 0)
    release_scheduled(services, "pushes")
    run_jobs()
    assert len(calls_to(wechat_api, SEND)) == 1
    # WeChat said the user is gone: the next change is recorded as skipped without asking WeChat again.
    move_ticket(services, no, "rejected", by="staff:调度员", note="重复报修")
    run_jobs()
    assert [r.status for r in push_rows(services)] == ["failed", "skipped"]
    assert len(calls_to(wechat_api, SEND)) == 1


def test_transient_answer_is_retried_later(services: Services, run_jobs: Callable[[], int],
                                           wechat_api: responses.RequestsMock) -> None:
    """System busy (-1): the push waits for a retry with backoff, then goes out once."""
    answers(wechat_api, SEND, {"errcode": -1, "errmsg": "system error"}, {"errcode": 0, "msgid": 2002})
    no = make_ticket(services, "o-push-busy")
    move_ticket(services, no, "accepted", by="staff:调度员")
    run_jobs()
    (row,) = push_rows(services)
    assert (row.status, row.errcode) == ("pending", -1)
    assert waiting(services, "pushes") == (0, 1)
    assert release_scheduled(services, "pushes") == 1
    run_jobs()
    (row,) = push_rows(services)
    assert (row.status, row.msgid, row.attempts) == ("sent", "2002", 2)
    assert len(calls_to(wechat_api, SEND)) == 2


def test_expired_token_is_refreshed_once(services: Services, run_jobs: Callable[[], int],
                                         wechat_api: responses.RequestsMock) -> None:
    """42001: one new token is fetched and the same message is sent with it."""
    services.redis.set(TOKEN_KEY, "OLD-TOKEN")
    answers(wechat_api, SEND, {"errcode": 42001, "errmsg": "access_token expired"}, {"errcode": 0, "msgid": 3003})
    no = make_ticket(services, "o-push-42001")
    move_ticket(services, no, "accepted", by="staff:调度员")
    run_jobs()
    assert len(calls_to(wechat_api, TOKEN_URL)) == 1
    sends = calls_to(wechat_api, SEND)
    tokens = [parse_qs(urlparse(c.request.url).query)["access_token"][0] for c in sends]
    assert tokens == ["OLD-TOKEN", "TOKEN-1"]
    (row,) = push_rows(services)
    assert (row.status, row.msgid) == ("sent", "3003")
    assert services.redis.get(TOKEN_KEY) == b"TOKEN-1"


def test_persistent_bad_token_gives_up_after_one_refresh(services: Services, run_jobs: Callable[[], int],
                                                         wechat_api: responses.RequestsMock) -> None:
    """40001 after a fresh token: the push fails with the error, after exactly two token fetches, no loop."""
    answers(wechat_api, SEND, {"errcode": 40001, "errmsg": "invalid credential"})
    no = make_ticket(services, "o-push-40001")
    move_ticket(services, no, "accepted", by="staff:调度员")
    run_jobs()
    assert len(calls_to(wechat_api, TOKEN_URL)) == 2
    assert len(calls_to(wechat_api, SEND)) == 2
    (row,) = push_rows(services)
    assert (row.status, row.errcode) == ("failed", 40001)
    assert "invalid credential" in (row.error or "") and "Recursion" not in (row.error or "")
    assert waiting(services, "pushes") == (0, 0)  # not retried: a new token did not help


def test_api_client_raises_on_persistent_bad_token(services: Services, wechat_api: responses.RequestsMock) -> None:
    """The client itself: a second 40001 is raised to the caller instead of fetching tokens for ever."""
    answers(wechat_api, SEND, {"errcode": 40001, "errmsg": "invalid credential"})
    api = WeChatAPI(services.config, services.redis)
    with pytest.raises(WeChatError) as err:
        api.send_template("o-x", "TPL-TICKET", {"thing3": {"value": "x"}})
    assert err.value.errcode == 40001
    assert len(calls_to(wechat_api, TOKEN_URL)) == 2 and len(calls_to(wechat_api, SEND)) == 2


def test_one_token_for_many_pushes(services: Services, run_jobs: Callable[[], int],
                                   wechat_api: responses.RequestsMock) -> None:
    """Many pushes share one access_token, kept in Redis for every process."""
    for i in range(4):
        no = make_ticket(services, f"o-push-many-{i}", building=f"学生公寓{i + 1}栋")
        move_ticket(services, no, "accepted", by="staff:调度员")
    assert run_jobs() == 4
    assert len(sent_templates(wechat_api)) == 4
    assert len(calls_to(wechat_api, TOKEN_URL)) == 1
    assert services.redis.get(TOKEN_KEY) == b"TOKEN-1"
    assert 0 < int(services.redis.ttl(TOKEN_KEY)) <= 7200
    # Another process (a fresh client on the same Redis) uses it without fetching.
    WeChatAPI(services.config, services.redis).send_template("o-push-many-0", "TPL-TICKET", {})
    assert len(calls_to(wechat_api, TOKEN_URL)) == 1


def test_token_comes_from_the_configured_base(services: Services, wechat_api: responses.RequestsMock) -> None:
    """The token is fetched from WECHAT_API_BASE_URL like every other call (not wechatpy's fixed host)."""
    other = "https://wechat-proxy.example.edu/cgi-bin/"
    wechat_api.get(other + "token", json={"access_token": "PROXY-TOKEN", "expires_in": 7200})
    wechat_api.post(other + "message/template/send", json={"errcode": 0, "msgid": 4004})
    api = WeChatAPI(services.config.override(wechat_api_base_url=other), services.redis)
    assert api.send_template("o-x", "TPL-TICKET", {}) == "4004"
    assert calls_to(wechat_api, TOKEN_URL) == []


# -- photos ------------------------------------------------------------------------------------------------

def test_photo_download_error_is_recorded_and_retried(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                      services: Services, run_jobs: Callable[[], int],
                                                      wechat_api: responses.RequestsMock) -> None:
    """WeChat failing to hand over a photo: the error is kept on the photo, and the download tries again later."""
    wechat_api.replace(responses.GET, API + "media/get", json={"errcode": -1, "errmsg": "system error"})
    bound("o-photo-err")
    user = wechat("o-photo-err")
    file_dorm_tap(user)
    assert "报修成功" in user.text("1").text
    run_jobs()
    with services.db.session() as s:
        photo = s.scalars(select(TicketPhoto)).one()
        assert (photo.status, photo.attempts, photo.path) == ("pending", 1, None)
        assert "-1" in (photo.error or "") and "system error" in (photo.error or "")
    assert waiting(services, "media") == (0, 1)
    wechat_api.replace(responses.GET, API + "media/get", body=b"\x89PNG\r\n\x1a\nlate", content_type="image/png")
    assert release_scheduled(services, "media") == 1
    run_jobs()
    with services.db.session() as s:
        photo = s.scalars(select(TicketPhoto)).one()
        assert (photo.status, photo.error, photo.attempts) == ("saved", None, 2)
        assert photo.path is not None and Path(photo.path).read_bytes().endswith(b"late")
