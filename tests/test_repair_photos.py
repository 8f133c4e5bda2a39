"""Several photos for one report: WeChat sends an album's pictures as one image message each, and every one the
user was told is received is filed, downloaded, and shown to staff and to the reporter (at most 3)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from flask import Flask

from core.links import ticket_link
from core.services import Services
from devtools.chat import WeChatUser
from tests.support.chat import choose, file_dorm_tap, file_repair, say, start_repair, ticket_no, to_description
from tests.support.console import Console, text
from tests.support.people import seed_staff
from tests.support.tickets import DESCRIPTION, stored


def media_ids(services: Services, no: str) -> list[str]:
    return [p.media_id for p in stored(services, no).photos]


def test_an_album_of_three_at_the_photo_step_is_filed_whole(wechat: Callable[..., WeChatUser],
                                                            bound: Callable[..., None], services: Services,
                                                            run_jobs: Callable[[], int]) -> None:
    user = wechat("o-album")
    bound("o-album")
    to_description(user)
    assert "最多 3 张" in say(user, DESCRIPTION)
    assert "照片：1 张" in user.image(media_id="ALBUM-1").text  # the step is answered: on to the summary
    second = user.image(media_id="ALBUM-2").text
    assert "第 2 张照片已收到" in second and "照片：2 张" in second
    assert "照片：3 张" in user.image(media_id="ALBUM-3").text
    no = ticket_no(say(user, "1"))
    assert media_ids(services, no) == ["ALBUM-1", "ALBUM-2", "ALBUM-3"]
    assert run_jobs() >= 3
    photos = stored(services, no).photos
    assert [p.status for p in photos] == ["saved"] * 3
    assert len({p.path for p in photos}) == 3 and all(Path(p.path or "").exists() for p in photos)


def test_a_fourth_photo_is_refused_kindly_and_changes_nothing(wechat: Callable[..., WeChatUser],
                                                              bound: Callable[..., None],
                                                              services: Services) -> None:
    user = wechat("o-four")
    bound("o-four")
    file_dorm_tap(user)  # its photo is MEDIA-1
    user.image(media_id="M-2")
    before = user.image(media_id="M-3").text
    reply = user.image(media_id="M-4").text
    assert "最多可以提交 3 张照片" in reply and "照片：3 张" in reply
    assert reply.endswith(before.splitlines()[-1])  # the summary again, as it was
    assert media_ids(services, ticket_no(say(user, "1"))) == ["MEDIA-1", "M-2", "M-3"]


def test_photos_sent_before_their_step_are_all_kept(wechat: Callable[..., WeChatUser],
                                                    bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-early-two")
    bound("o-early-two")
    start_repair(user)
    assert "照片已收到" in user.image(media_id="E-1").text
    reply = user.image(media_id="E-2").text
    assert "第 2 张照片已收到" in reply and "维修类型" in reply  # the question is asked again
    for label in ("东环校区宿舍维修", "给水", "水龙头", "学生公寓12栋"):
        choose(user, label)
    say(user, "5")
    say(user, "502")
    reply = say(user, DESCRIPTION)
    assert "请核对报修单" in reply and "照片：2 张" in reply  # the photo step is not asked
    assert media_ids(services, ticket_no(say(user, "1"))) == ["E-1", "E-2"]


def test_sending_the_photos_again_replaces_them(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                services: Services) -> None:
    user = wechat("o-resend")
    bound("o-resend")
    file_dorm_tap(user)
    user.image(media_id="OLD-2")
    reply = choose(user, "重新发照片")
    assert "请拍一张故障处的照片" in reply
    reply = user.image(media_id="NEW-1").text
    assert "照片：1 张" in reply
    assert media_ids(services, ticket_no(say(user, "1"))) == ["NEW-1"]


def test_a_photo_first_from_idle_starts_a_report_that_takes_more(wechat: Callable[..., WeChatUser],
                                                                 bound: Callable[..., None],
                                                                 services: Services) -> None:
    user = wechat("o-idle-album")
    bound("o-idle-album")
    assert "维修类型" in user.image(media_id="I-1").text
    assert "第 2 张照片已收到" in user.image(media_id="I-2").text
    for label in ("东环校区宿舍维修", "给水", "水龙头", "学生公寓12栋"):
        choose(user, label)
    say(user, "5")
    say(user, "502")
    assert "照片：2 张" in say(user, DESCRIPTION)
    assert media_ids(services, ticket_no(say(user, "1"))) == ["I-1", "I-2"]


def test_staff_and_the_reporter_see_every_photo(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                services: Services, app: Flask,
                                                run_jobs: Callable[[], int]) -> None:
    user = wechat("o-see-all")
    bound("o-see-all")
    file_dorm_tap(user)
    user.image(media_id="SEE-2")
    user.image(media_id="SEE-3")
    no = ticket_no(say(user, "1"))
    run_jobs()
    ids = [p.id for p in stored(services, no).photos]
    assert len(ids) == 3

    seed_staff(services)
    staff = Console.logged_in(app, "王调度")
    page = text(staff.get(f"/console/tickets/{no}"))
    assert [int(i) for i in re.findall(r'<img src="/console/photos/(\d+)"', page)] == ids
    assert all(staff.get(f"/console/photos/{i}").status_code == 200 for i in ids)

    reporter = app.test_client()
    link = urlparse(ticket_link(services.config, no)).path
    html = reporter.get(link).get_data(as_text=True)
    srcs = re.findall(r'<img src="([^"]+/photo/\d+)"', html)
    assert [int(s.rsplit("/", 1)[1]) for s in srcs] == ids
    assert all(reporter.get(src).data.startswith(b"\x89PNG") for src in srcs)


# -- photos about a ticket already filed ---------------------------------------------------------------------

def open_first_ticket(user: WeChatUser) -> str:
    say(user, "我的报修")
    return say(user, "1")


def test_photos_sent_with_a_message_join_the_ticket(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                    services: Services, app: Flask,
                                                    run_jobs: Callable[[], int]) -> None:
    """At 留言, an album of up to 3 is one message on the timeline; its words start the next one."""
    user = wechat("o-later")
    bound("o-later")
    no = file_repair(user)  # with its photo MEDIA-1
    open_first_ticket(user)
    assert "也可以发照片" in choose(user, "留言")
    assert f"照片已添加到 {no}（这条留言的第 1 张" in user.image(media_id="L-1").text
    user.image(media_id="L-2")
    assert "第 3 张" in user.image(media_id="L-3").text
    assert "最多带 3 张照片，这张没有加上" in user.image(media_id="L-4").text
    reply = say(user, "左边那个水龙头，阀门也松了")
    assert f"留言已添加到 {no}" in reply and "留言：补充了照片" in reply
    assert "这条留言的第 1 张" in user.image(media_id="L-5").text  # at the ticket again: a new message
    assert media_ids(services, no) == ["MEDIA-1", "L-1", "L-2", "L-3", "L-5"]
    assert run_jobs() >= 5
    t = stored(services, no)
    assert all(p.status == "saved" for p in t.photos)
    messages = [e for e in t.events if e.kind == "message"]
    assert [e.note for e in messages] == ["补充了照片", "左边那个水龙头，阀门也松了", "补充了照片"]
    assert [[p.media_id for p in t.photos if p.event_id == e.id] for e in messages] == [
        ["L-1", "L-2", "L-3"], [], ["L-5"]]
    seed_staff(services)
    page = text(Console.logged_in(app, "王调度").get(f"/console/tickets/{no}"))
    assert re.findall(r'alt="(\w+) \d"', page) == ["报修照片"] + ["留言照片"] * 4


def test_a_photo_at_the_list_is_a_new_report_not_a_change_to_a_ticket(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """The list only shows tickets (a read-only screen): a photo there goes where it goes from idle."""
    user = wechat("o-later-list")
    bound("o-later-list")
    no = file_repair(user)
    say(user, "我的报修")
    assert "收到照片" in user.image(media_id="X-1").text
    assert media_ids(services, no) == ["MEDIA-1"]
