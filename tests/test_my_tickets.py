"""我的报修 (list, timeline, 留言, 撤销) and the duplicate suggestion, through the real webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import responses
from click.testing import Result
from sqlalchemy import func, select, update

from core.actions import move_ticket
from core.services import Services
from devtools.chat import WeChatUser
from dialogs.store import DialogStore
from models.pushes import Push
from models.tickets import STATUS_ZH, Ticket, TicketEvent, get_ticket
from tests.support.chat import choose, file_repair, to_description
from tests.support.people import make_staff
from tests.support.tickets import count_tickets, make_ticket, stored
from tests.support.wechat_api import sent_templates


def rows(reply: str) -> list[tuple[str, str, str]]:
    """Read the numbered list of 我的报修 as (choice number, ticket number, status)."""
    out = []
    for line in reply.splitlines():
        number, _, rest = line.partition(" ")
        if number.isdigit() and rest.startswith("R"):
            no, _, rest = rest.partition(" ")
            out.append((number, no, rest.split(" · ")[0]))
    return out


# -- the list ------------------------------------------------------------------------------------

def test_no_tickets(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    """A user who never filed is told so and shown how to start."""
    bound("o-mt-none")
    reply = wechat("o-mt-none").text("我的报修").text
    assert "还没有报修记录" in reply and "报修" in reply


def test_list_newest_first_in_chinese(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                      services: Services) -> None:
    """Tickets are listed newest first, each with its status in Chinese."""
    bound("o-mt-list")
    old = make_ticket(services, "o-mt-list", building="学生公寓3栋", age=timedelta(days=3))
    mid = make_ticket(services, "o-mt-list", building="学生公寓7栋", group="照明", item="灯管",
                      age=timedelta(hours=3))
    move_ticket(services, mid, "accepted", by="staff:调度员")
    new = file_repair(wechat("o-mt-list"))
    make_ticket(services, "o-someone-else", building="学生公寓9栋")
    reply = wechat("o-mt-list").text("我的报修").text
    assert rows(reply) == [("1", new, "提交维修单"), ("2", mid, "维修单受理"), ("3", old, "提交维修单")]
    assert "学生公寓7栋 照明/灯管" in reply
    assert not any(status in reply for status in ("submitted", "accepted"))


def test_open_a_ticket_shows_its_timeline(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                          services: Services) -> None:
    """Picking a ticket by its list number, or typing its ticket number, shows the details and the progress."""
    bound("o-mt-open")
    user = wechat("o-mt-open")
    no = file_repair(user)
    make_staff(services, "刘师傅", "worker", phone="13900000009")
    move_ticket(services, no, "accepted", by="staff:调度员")
    move_ticket(services, no, "assigned", by="staff:调度员", worker="刘师傅")
    move_ticket(services, no, "on_hold", by="staff:刘师傅", note="等配件到货")
    user.text("我的报修")
    reply = user.text("1").text
    assert reply.startswith(f"{no}  暂时无法维修")
    assert "位置：东环校区 学生公寓12栋 5楼 502" in reply and "描述：水龙头关不紧，一直在滴水" in reply
    assert "维修人员：刘师傅（电话 13900000009）" in reply
    progress = reply.split("进度：\n")[1].splitlines()
    steps = [line for line in progress if line.startswith("· ")]
    assert [s.split(" ", 3)[3] for s in steps] == ["提交维修单", "维修单受理", "指派维修", "暂时无法维修：等配件到货"]
    assert "撤销报修" not in reply  # accepted long ago
    reply = choose(user, "返回列表")
    assert rows(reply)[0][1] == no
    assert user.text(no).text.startswith(f"{no}  暂时无法维修")


def test_worker_shown_once_assigned(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                   services: Services) -> None:
    """Nobody is named before a worker is assigned; a worker without a phone is named without one."""
    bound("o-mt-worker")
    no = make_ticket(services, "o-mt-worker")
    user = wechat("o-mt-worker")
    user.text("我的报修")
    assert "维修人员" not in user.text("1").text
    make_staff(services, "赵师傅", "worker")
    move_ticket(services, no, "accepted", by="staff:调度员")
    move_ticket(services, no, "assigned", by="staff:调度员", worker="赵师傅")
    user.text("我的报修")
    reply = user.text("1").text
    assert "维修人员：赵师傅\n" in reply and "电话" not in reply.split("维修人员")[1].split("\n")[0]


def test_timeline_shows_beijing_time(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                     services: Services) -> None:
    """Times are shown as the user's clock shows them (China, UTC+8), not in UTC."""
    bound("o-mt-time")
    no = make_ticket(services, "o-mt-time")
    at = datetime(2026, 3, 9, 17, 30, tzinfo=UTC)  # 01:30 on the 10th in Beijing
    with services.db.session() as s:
        t = get_ticket(s, no)
        s.execute(update(TicketEvent).where(TicketEvent.ticket_id == t.id).values(at=at))
    user = wechat("o-mt-time")
    user.text("我的报修")
    assert "· 03-10 01:30 提交维修单" in user.text("1").text


def test_message_is_added_to_the_timeline(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                          services: Services, cli: Callable[..., Result]) -> None:
    """A 留言 lands on the ticket, keeps its status, and the office sees it in `repairbot tickets show`."""
    bound("o-mt-msg")
    user = wechat("o-mt-msg")
    no = file_repair(user)
    user.text("我的报修")
    user.text("1")
    assert "请输入留言" in choose(user, "留言")
    assert "500 字以内" in user.text("急" * 501).text
    reply = user.text("晚上八点后宿舍有人，可以来修").text
    assert f"留言已添加到 {no}" in reply
    assert "留言：晚上八点后宿舍有人，可以来修" in reply
    t = stored(services, no)
    assert t.status == "submitted"
    last = t.events[-1]
    assert (last.kind, last.by, last.note) == ("message", "user:o-mt-msg", "晚上八点后宿舍有人，可以来修")
    shown = cli("tickets", "show", no)
    assert shown.exit_code == 0
    line = next(x for x in shown.output.splitlines() if "message" in x)
    assert "by user:o-mt-msg" in line and "晚上八点后宿舍有人，可以来修" in line


# -- 撤销 --------------------------------------------------------------------------------------------------

def test_withdraw_a_submitted_ticket(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                     services: Services, run_jobs: Callable[[], int],
                                     wechat_api: responses.RequestsMock) -> None:
    """The reporter withdraws before acceptance: the ticket is cancelled by them and nobody is pushed."""
    bound("o-mt-wd")
    user = wechat("o-mt-wd")
    no = file_repair(user)
    user.text("我的报修")
    user.text("1")
    assert f"确定撤销 {no} 吗" in choose(user, "撤销报修")
    reply = choose(user, "不撤销")
    assert reply.startswith(f"{no}  提交维修单")  # changed their mind: back to the ticket, nothing done
    assert stored(services, no).status == "submitted"
    choose(user, "撤销报修")
    assert f"{no} 已撤销" in choose(user, "确定撤销")
    t = stored(services, no)
    assert t.status == "cancelled"
    assert (t.events[-1].status, t.events[-1].by) == ("cancelled", "user:o-mt-wd")
    run_jobs()
    assert sent_templates(wechat_api) == []
    with services.db.session() as s:
        assert s.scalar(select(func.count(Push.id))) == 0
    user.text("我的报修")
    assert rows(user.last_reply)[0] == ("1", no, STATUS_ZH["cancelled"])


def test_withdraw_not_offered_once_accepted(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                            services: Services) -> None:
    """An accepted ticket shows no 撤销; asking for it by name is not understood as withdrawing."""
    bound("o-mt-late")
    user = wechat("o-mt-late")
    no = file_repair(user)
    move_ticket(services, no, "accepted", by="staff:调度员")
    user.text("我的报修")
    reply = user.text("1").text
    assert "撤销报修" not in reply
    user.text("撤销报修")
    assert stored(services, no).status == "accepted"


def test_withdraw_refused_when_accepted_meanwhile(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                  services: Services) -> None:
    """Accepted between the question and the answer: the withdrawal is refused with a reason."""
    bound("o-mt-race")
    user = wechat("o-mt-race")
    no = file_repair(user)
    user.text("我的报修")
    user.text("1")
    choose(user, "撤销报修")
    move_ticket(services, no, "accepted", by="staff:调度员")
    reply = choose(user, "确定撤销")
    assert f"{no} 已经受理，不能撤销了" in reply
    t = stored(services, no)
    assert t.status == "accepted" and t.events[-1].status == "accepted"


def test_cannot_open_someone_elses_ticket(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                          services: Services) -> None:
    """Typing another user's ticket number shows nothing of it."""
    bound("o-mt-owner")
    bound("o-mt-snoop", "20260002")
    theirs = file_repair(wechat("o-mt-owner"), "我的私人描述，别人看不到")
    make_ticket(services, "o-mt-snoop", building="学生公寓3栋")
    snoop = wechat("o-mt-snoop")
    snoop.text("我的报修")
    for typed in (theirs, theirs.lower()):
        reply = snoop.text(typed).text
        assert "找不到" in reply
        assert "我的私人描述" not in reply and "13800000001" not in reply


# -- the duplicate suggestion --------------------------------------------------------------------------

def test_duplicate_is_suggested_and_followed(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                             services: Services, run_jobs: Callable[[], int],
                                             wechat_api: responses.RequestsMock) -> None:
    """B reporting the same fault on the same floor sees A's ticket, follows it, lists it and hears about it."""
    bound("o-dup-a")
    bound("o-dup-b", "20260002")
    a_no = file_repair(wechat("o-dup-a"))
    b = wechat("o-dup-b")
    reply = to_description(b, room="508")
    assert "48小时内已有人报修过" in reply and a_no in reply and "东环校区 学生公寓12栋 5楼 502" in reply
    assert "描述" not in reply.split("\n")[0]
    reply = choose(b, "关注这张单，不重复报修")
    assert f"已为您关注 {a_no}" in reply
    assert count_tickets(services) == 1
    assert rows(b.text("我的报修").text) == [("1", a_no, "提交维修单")]
    run_jobs()
    wechat_api.calls.reset()
    move_ticket(services, a_no, "accepted", by="staff:调度员")
    run_jobs()
    assert sorted(m["touser"] for m in sent_templates(wechat_api)) == ["o-dup-a", "o-dup-b"]
    # A follower reads the ticket but cannot withdraw it.
    b.text("我的报修")
    assert "撤销" not in b.text("1").text


def test_own_duplicate_is_not_filed_twice(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                          services: Services) -> None:
    """The same user reporting the same thing again is reminded of their own ticket."""
    bound("o-dup-self")
    user = wechat("o-dup-self")
    no = file_repair(user)
    reply = to_description(user, room="508")
    assert no in reply
    assert f"{no} 是您之前报的单" in choose(user, "关注这张单，不重复报修")
    assert count_tickets(services) == 1


def test_duplicate_can_be_filed_anyway(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                       services: Services) -> None:
    """B says the problem is different and files a ticket of their own."""
    bound("o-dup-a2")
    bound("o-dup-b2", "20260002")
    a_no = file_repair(wechat("o-dup-a2"))
    b = wechat("o-dup-b2")
    assert a_no in to_description(b, room="508")
    assert "描述" in choose(b, "我的问题不一样，继续报修")
    assert "照片" in b.text("我这边是热水龙头断了，水一直喷").text
    assert "请核对报修单" in b.image(media_id="MEDIA-B").text
    reply = b.text("1").text
    assert "报修成功" in reply
    b_no = reply.split("单号 ")[1].split("。")[0]
    assert b_no != a_no and count_tickets(services) == 2
    t = stored(services, b_no)
    assert (t.openid, t.room, t.description) == ("o-dup-b2", "508", "我这边是热水龙头断了，水一直喷")


@pytest.mark.parametrize("how", ["older than 48 hours", "closed", "cancelled", "rejected", "other floor",
                                 "other group"])
def test_not_suggested(wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services,
                       how: str) -> None:
    """Old, finished, or different tickets are not offered as duplicates."""
    bound("o-dup-b3", "20260002")
    kw: dict[str, object] = {"building": "学生公寓12栋", "floor": "5", "room": "502"}
    if how == "older than 48 hours":
        kw["age"] = timedelta(hours=49)
    if how == "other floor":
        kw.update(floor="6", room="602")
    if how == "other group":
        kw.update(group="照明", item="灯管")
    no = make_ticket(services, "o-dup-a3", **kw)  # type: ignore[arg-type]
    if how in ("closed", "cancelled", "rejected"):
        with services.db.session() as s:
            s.execute(update(Ticket).where(Ticket.no == no).values(status=how))
    reply = to_description(wechat("o-dup-b3"), room="508")
    assert no not in reply and "已有人报修" not in reply
    assert "描述" in reply


def test_recent_duplicate_just_inside_the_window(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                 services: Services) -> None:
    """A ticket 47 hours old, already being worked on, is still offered."""
    bound("o-dup-b4", "20260002")
    no = make_ticket(services, "o-dup-a4", age=timedelta(hours=47))
    move_ticket(services, no, "accepted", by="staff:调度员")
    reply = to_description(wechat("o-dup-b4"), room="508")
    assert no in reply and "维修单受理" in reply


def test_a_form_saved_with_only_the_duplicates_number_still_shows_it(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    """A form saved at the duplicate question by an older version (number only) still shows where and what."""
    bound("o-dup-a5")
    bound("o-dup-b5", "20260002")
    a_no = file_repair(wechat("o-dup-a5"))
    b = wechat("o-dup-b5")
    assert a_no in to_description(b, room="508")
    key = DialogStore.state_key("o-dup-b5")
    state = json.loads(services.redis.get(key) or b"{}")
    # As that version wrote it: the untyped form (no version number), without the duplicate's details.
    del state["data"]["dup"], state["data"]["v"]
    services.redis.set(key, json.dumps(state, ensure_ascii=False))
    reply = b.text("9").text  # a wrong number shows the question again
    assert a_no in reply and "东环校区 学生公寓12栋 5楼 502" in reply and "提交维修单" in reply
