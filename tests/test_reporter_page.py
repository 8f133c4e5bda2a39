"""The reporter's page /t/<signed token>, over real HTTP: what it shows, to whom, and the three actions."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urlparse

import pytest
import requests
import responses
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from core.actions import staff_reply
from core.config import Config
from core.links import LINK_MAX_AGE_S, make_token, ticket_link
from core.services import Services
from models.tickets import STATUS_ZH, TicketEvent, TicketPhoto
from tests.support.tickets import make_ticket, stored


def page_url(server: str, services: Services, no: str) -> str:
    """The link a push carries (core.links.ticket_link), pointed at the test server."""
    return server + urlparse(ticket_link(services.config, no)).path


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def config(config: Config) -> Config:
    """The pages are browsed on the plain-http test server: with an http public URL, so that the session cookie
    (which carries the CSRF token) is not Secure and requests sends it back."""
    return config.override(public_url="http://127.0.0.1")


class Browser:
    """A phone's browser: keeps its cookies, reads the form's CSRF token, posts forms."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, timeout=30)

    def post(self, url: str, action: str, form: dict[str, str], csrf: bool = True,
             follow: bool = True) -> requests.Response:
        page = self.get(url)
        assert page.status_code == 200, page.text
        data = dict(form)
        if csrf:
            match = CSRF.search(page.text)
            assert match, "the page has no form with a CSRF token"
            data["csrf_token"] = match.group(1)
        return self.http.post(f"{url}/{action}", data=data, timeout=30, allow_redirects=follow)


@pytest.fixture
def browser(server: str) -> Browser:
    return Browser()


# -- what the page shows ------------------------------------------------------------------------------------

def test_page_shows_the_ticket_in_chinese(server: str, services: Services, browser: Browser) -> None:
    """Status in Chinese, details, the timeline with the staff's reply and the reporter's message."""
    no = make_ticket(services, "o-page-show", moved_to="in_progress")
    staff_reply(services, no, "师傅下午两点到", by="staff:王调度")
    resp = browser.get(page_url(server, services, no))
    assert resp.status_code == 200
    html = resp.text
    assert no in html and "维修中" in html
    assert "学生公寓12栋" in html and "水龙头关不紧，一直在滴水" in html and "给水/水龙头" in html
    assert "后勤回复" in html and "师傅下午两点到" in html
    assert all(STATUS_ZH[s] in html for s in ("submitted", "accepted", "assigned", "in_progress"))
    assert "刘师傅" in html
    assert not any(s in html for s in ("submitted", "accepted", "assigned", "in_progress"))  # no English statuses
    assert resp.headers["Cache-Control"] == "no-store"
    assert 'id="rate"' not in html and 'id="rework"' not in html  # not completed yet
    assert 'id="message"' in html


def test_the_photo_is_served_under_the_same_token(server: str, services: Services, browser: Browser,
                                                  run_jobs: Callable[[], int],
                                                  wechat_api: responses.RequestsMock) -> None:
    """The saved photo is shown from REPAIRBOT_MEDIA_DIR; another ticket's link cannot reach it."""
    no = make_ticket(services, "o-page-photo", moved_to="accepted", media=("MEDIA-P1",))
    other = make_ticket(services, "o-page-other", moved_to="accepted")
    assert "照片正在上传" in browser.get(page_url(server, services, no)).text
    from core.jobs import enqueue
    from workers.media import download_photo

    photo = stored(services, no).photos[0]
    enqueue(services.redis, "media", download_photo, photo.id, job_id=f"media-{photo.id}")
    run_jobs()
    html = browser.get(page_url(server, services, no)).text
    src = re.search(r'<img src="([^"]+)"', html)
    assert src, html
    img = browser.get(server + src.group(1))
    assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
    assert img.headers["Content-Type"] == "image/png"
    # The same photo id under someone else's valid link, or under a bad token: nothing.
    assert browser.get(f"{page_url(server, services, other)}/photo/{photo.id}").status_code == 404
    assert browser.get(f"{server}/t/nonsense/photo/{photo.id}").status_code == 404


def test_a_file_outside_the_media_folder_is_never_served(server: str, services: Services,
                                                         browser: Browser) -> None:
    """A photo row whose path points elsewhere (say, a tampered row) serves nothing."""
    no = make_ticket(services, "o-page-escape", moved_to="accepted", media=("MEDIA-X",))
    with services.db.session() as s:
        photo = s.scalars(select(TicketPhoto)).one()
        photo.status, photo.path = "saved", str(services.config.instance_path.parent / "secret.txt")
    (services.config.instance_path.parent / "secret.txt").write_text("secret")
    html = browser.get(page_url(server, services, no)).text
    src = re.search(r'<img src="([^"]+)"', html)
    assert src
    resp = browser.get(server + src.group(1))
    assert resp.status_code == 404 and "secret" not in resp.text


@pytest.mark.parametrize("how", ["flipped", "other_key", "other_salt", "garbage", "truncated"])
def test_a_tampered_link_shows_nothing(server: str, services: Services, browser: Browser, how: str) -> None:
    """A link whose signature does not check out gets a friendly 404 page, and no ticket details."""
    no = make_ticket(services, "o-page-tamper", moved_to="completed")
    token = urlparse(ticket_link(services.config, no)).path.removeprefix("/t/")
    bad = {
        "flipped": token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:],
        "other_key": URLSafeTimedSerializer("another-secret", salt="ticket-page").dumps(no),
        "other_salt": URLSafeTimedSerializer(services.config.secret_key, salt="other").dumps(no),
        "garbage": "not-a-token",
        "truncated": token[: len(token) // 2],
    }[how]
    resp = browser.get(f"{server}/t/{bad}")
    assert resp.status_code == 404
    assert "链接无效" in resp.text and "我的报修" in resp.text
    assert no not in resp.text and "水龙头" not in resp.text
    # Nor can the bad token act.
    post = browser.http.post(f"{server}/t/{bad}/rate", data={"stars": "5"}, timeout=30)
    assert post.status_code in (400, 404)
    assert stored(services, no).status == "completed"


def signed_at(services: Services, no: str, when: float) -> str:
    """A genuine page token for a ticket, as if signed at `when`."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(when)

    return URLSafeTimedSerializer(services.config.secret_key, salt="ticket-page", signer=Then).dumps(no)


def test_an_expired_link_says_so(server: str, services: Services, browser: Browser) -> None:
    """A genuine link older than LINK_MAX_AGE_S gets 410 and a page that says how to find the ticket."""
    no = make_ticket(services, "o-page-old", moved_to="completed")

    old = signed_at(services, no, time.time() - LINK_MAX_AGE_S - 60)
    resp = browser.get(f"{server}/t/{old}")
    assert resp.status_code == 410
    assert "链接已过期" in resp.text and "30 天" in resp.text
    assert no not in resp.text
    recent = signed_at(services, no, time.time() - LINK_MAX_AGE_S + 3600)  # well inside its 30 days
    assert browser.get(f"{server}/t/{recent}").status_code == 200


def test_a_link_shows_only_its_own_ticket(server: str, services: Services, browser: Browser) -> None:
    """Someone else's link shows that ticket only; a link naming a ticket that does not exist shows none."""
    mine = make_ticket(services, "o-page-mine", moved_to="completed", description="我宿舍的水龙头在滴水")
    theirs = make_ticket(services, "o-page-theirs", moved_to="completed", description="别人宿舍的灯不亮了")
    html = browser.get(page_url(server, services, mine)).text
    assert mine in html and "我宿舍的水龙头在滴水" in html
    assert theirs not in html and "别人宿舍的灯不亮了" not in html
    ghost = make_token(services.config.secret_key, "R000101999")
    resp = browser.get(f"{server}/t/{ghost}")
    assert resp.status_code == 404 and "链接无效" in resp.text


def test_a_view_only_link_shows_but_cannot_act(server: str, services: Services, browser: Browser) -> None:
    """A link signed view-only (for a follower or a worker) shows the ticket and refuses every action."""
    no = make_ticket(services, "o-page-view", moved_to="completed")
    url = f"{server}/t/{make_token(services.config.secret_key, no, view_only=True)}"
    html = browser.get(url).text
    assert no in html and "只能查看进度" in html
    assert 'id="rate"' not in html and 'id="message"' not in html
    page = browser.get(page_url(server, services, no))  # a session with a CSRF token, from the real link
    token = CSRF.search(page.text)
    assert token
    resp = browser.http.post(f"{url}/rate", data={"stars": "5", "csrf_token": token.group(1)}, timeout=30)
    assert resp.status_code == 403
    assert stored(services, no).status == "completed"


# -- acting from the page ------------------------------------------------------------------------------------

def test_leave_a_message(server: str, services: Services, browser: Browser) -> None:
    """A message lands on the timeline as the reporter's, and the page says it was sent."""
    no = make_ticket(services, "o-page-msg", moved_to="assigned")
    url = page_url(server, services, no)
    resp = browser.post(url, "message", {"text": "晚上八点后宿舍有人"}, follow=False)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(urlparse(url).path)
    html = browser.get(url).text
    assert "留言已送达" in html and "您的留言" in html and "晚上八点后宿舍有人" in html
    t = stored(services, no)
    last = t.events[-1]
    assert (t.status, last.kind, last.by, last.note) == ("assigned", "message", "user:o-page-msg", "晚上八点后宿舍有人")
    assert "留言已送达" not in browser.get(url).text  # said once


@pytest.mark.parametrize("text, why", [("", "请写下留言内容"), ("急" * 501, "500 字以内")])
def test_a_bad_message_is_refused(server: str, services: Services, browser: Browser, text: str, why: str) -> None:
    no = make_ticket(services, "o-page-badmsg", moved_to="assigned")
    resp = browser.post(page_url(server, services, no), "message", {"text": text})
    assert resp.status_code == 400 and why in resp.text
    assert [e.kind for e in stored(services, no).events].count("message") == 0


def test_a_form_without_its_csrf_token_is_refused(server: str, services: Services, browser: Browser) -> None:
    """A post without the token (or with a forged one) changes nothing and gets a friendly page."""
    no = make_ticket(services, "o-page-csrf", moved_to="completed")
    url = page_url(server, services, no)
    for form in ({"stars": "5"}, {"stars": "5", "csrf_token": "forged"}):
        resp = browser.post(url, "rate", form, csrf=False)
        assert resp.status_code == 400 and "刷新页面" in resp.text
    resp = requests.post(f"{url}/message", data={"text": "hi"}, timeout=30)  # no session at all
    assert resp.status_code == 400
    t = stored(services, no)
    assert t.status == "completed" and t.rating is None
    assert not [e for e in t.events if e.kind == "message"]


def test_not_fixed_sends_it_back_as_rework(server: str, services: Services, browser: Browser) -> None:
    """「还没修好」 on a completed ticket sends it back to accepted, with the reporter's words."""
    no = make_ticket(services, "o-page-rework", moved_to="completed")
    url = page_url(server, services, no)
    html = browser.get(url).text
    assert "维修完成" in html and 'id="rework"' in html and 'id="rate"' in html
    resp = browser.post(url, "rework", {"text": ""})
    assert resp.status_code == 400 and "哪里还没修好" in resp.text
    resp = browser.post(url, "rework", {"text": "还在滴水"})
    assert resp.status_code == 200 and "已重新受理" in resp.text
    t = stored(services, no)
    assert t.status == "accepted"
    last = t.events[-1]
    assert (last.status, last.by, last.note) == ("accepted", "user:o-page-rework", "还没修好：还在滴水")
    assert "还没修好：还在滴水" in resp.text and 'id="rework"' not in resp.text
    # Sent twice (a stale page): refused, not moved again.
    again = browser.http.post(f"{url}/rework", data={"text": "还在滴水",
                                                       "csrf_token": CSRF.findall(resp.text)[0]}, timeout=30)
    assert again.status_code == 409 and "维修单受理" in again.text
    assert len(stored(services, no).events) == len(t.events)


@pytest.mark.parametrize("stars, comment", [(5, ""), (4, "修得很快"), (2, "来晚了两天"), (1, "还是会滴")])
def test_rate_closes_the_ticket_and_shows_the_rating(server: str, services: Services, browser: Browser,
                                                     stars: int, comment: str) -> None:
    no = make_ticket(services, f"o-page-rate{stars}", moved_to="completed")
    url = page_url(server, services, no)
    resp = browser.post(url, "rate", {"stars": str(stars), "comment": comment})
    assert resp.status_code == 200
    html = resp.text
    assert "谢谢您的评价" in html and "已销单" in html
    assert "您的评价" in html and "★" * stars + "☆" * (5 - stars) in html
    assert 'id="rate"' not in html and 'id="rework"' not in html
    if comment:
        assert comment in html
    t = stored(services, no)
    assert (t.status, t.rating, t.rating_comment) == ("closed", stars, comment or None)
    assert t.rated_at is not None
    assert t.events[-1].by == f"user:o-page-rate{stars}"


@pytest.mark.parametrize("form, why", [
    ({"stars": "2", "comment": ""}, "1–2 星的评价请写明原因"),
    ({"stars": "1", "comment": "   "}, "1–2 星的评价请写明原因"),
    ({"comment": "不错"}, "请选择 1 到 5 星"),
    ({"stars": "6"}, "请选择 1 到 5 星"),
    ({"stars": "0"}, "请选择 1 到 5 星"),
    ({"stars": "five"}, "请选择 1 到 5 星"),
    ({"stars": "3", "comment": "好" * 501}, "500 字以内"),
])
def test_rating_rules(server: str, services: Services, browser: Browser, form: dict[str, str], why: str) -> None:
    """1-2 stars need a comment; the rest of the form is checked too; nothing changes on a refusal."""
    no = make_ticket(services, "o-page-rules", moved_to="completed")
    resp = browser.post(page_url(server, services, no), "rate", form)
    assert resp.status_code == 400 and why in resp.text
    assert 'id="rate"' in resp.text  # the form again, with what was typed
    if form.get("stars") in ("1", "2"):
        assert f'value="{form["stars"]}" required checked' in resp.text
    t = stored(services, no)
    assert (t.status, t.rating) == ("completed", None)


def test_rating_before_completion_is_refused(server: str, services: Services, browser: Browser) -> None:
    no = make_ticket(services, "o-page-early", moved_to="in_progress")
    resp = browser.post(page_url(server, services, no), "rate", {"stars": "5"})
    assert resp.status_code == 409 and "维修完成后才能评价" in resp.text
    assert stored(services, no).status == "in_progress"


def test_rated_ticket_cannot_be_rated_twice(server: str, services: Services, browser: Browser) -> None:
    no = make_ticket(services, "o-page-twice", moved_to="completed")
    url = page_url(server, services, no)
    page = browser.get(url)
    token = CSRF.findall(page.text)[0]
    first = browser.http.post(f"{url}/rate", data={"stars": "5", "csrf_token": token}, timeout=30)
    assert first.status_code == 200
    second = browser.http.post(f"{url}/rate", data={"stars": "1", "comment": "改主意了", "csrf_token": token},
                               timeout=30)
    assert second.status_code == 409
    t = stored(services, no)
    assert (t.status, t.rating) == ("closed", 5)
    with services.db.session() as s:
        closes = s.scalars(select(TicketEvent).where(TicketEvent.status == "closed")).all()
        assert len(closes) == 1


def test_a_photo_wechat_no_longer_has_fails_at_once(services: Services, run_jobs: Callable[[], int],
                                                    wechat_api: responses.RequestsMock) -> None:
    """40007 (invalid media id) is not retried for hours: the photo is marked failed on the first try."""
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    from core.jobs import enqueue
    from workers.media import download_photo

    wechat_api.replace(responses.GET, "https://api.weixin.qq.com/cgi-bin/media/get",
                       json={"errcode": 40007, "errmsg": "invalid media_id"})
    no = make_ticket(services, "o-page-gone", moved_to="accepted", media=("MEDIA-GONE",))
    photo = stored(services, no).photos[0]
    enqueue(services.redis, "media", download_photo, photo.id, job_id=f"media-{photo.id}")
    run_jobs()
    row = stored(services, no).photos[0]
    assert row.status == "failed" and "40007" in (row.error or "")
    queue = services.queue("media")
    assert f"media-{photo.id}" in FailedJobRegistry(queue=queue).get_job_ids()
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == []
