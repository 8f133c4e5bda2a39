"""Workers acting from WeChat (开始 / 完成 / 无法维修 R…), through the real webhook; binding from the shell."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses
from click.testing import Result
from sqlalchemy import select

from core.actions import move_ticket
from core.services import Services
from devtools.chat import WeChatUser
from dialogs.staff_chat import StaffCommand, parse_staff_command
from models.people import Staff, bind_openid, set_subscribed
from models.pushes import Push, worker_push
from models.tickets import STATUS_ZH, TicketEvent, follow, get_ticket
from tests.support.constants import API, DORM
from tests.support.people import make_staff
from tests.support.tickets import make_ticket, stored
from tests.support.wechat_api import sent_templates, user_wrote

LIU, ZHAO = "o-worker-liu", "o-worker-zhao"


@pytest.fixture
def workers(services: Services) -> None:
    """刘师傅 and 赵师傅, both bound to WeChat."""
    make_staff(services, "刘师傅", "worker", categories=[DORM], phone="13900000009")
    make_staff(services, "赵师傅", "worker", categories=[DORM], phone="13900000008")
    with services.db.session() as s:
        bind_openid(s, "刘师傅", LIU)
        bind_openid(s, "赵师傅", ZHAO)


def events(services: Services, no: str) -> list[tuple[str, str, str | None]]:
    return [(e.status, e.by, e.note) for e in stored(services, no).events]


# -- reading the commands (pure) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, command", [
    ("开始 R261127001", StaffCommand("开始", "in_progress", "R261127001", "")),
    ("开始维修 R261127001", StaffCommand("开始维修", "in_progress", "R261127001", "")),
    ("完成 R261127001 换了灯管", StaffCommand("完成", "completed", "R261127001", "换了灯管")),
    ("完成R261127001，换了灯管", StaffCommand("完成", "completed", "R261127001", "换了灯管")),
    ("完成 ｒ２６１１２７００１ 好了", StaffCommand("完成", "completed", "R261127001", "好了")),
    ("无法维修 R261127001 缺材料", StaffCommand("无法维修", "on_hold", "R261127001", "缺材料")),
    ("暂时无法维修 r261127001：缺材料", StaffCommand("暂时无法维修", "on_hold", "R261127001", "缺材料")),
    ("完成", StaffCommand("完成", "completed")),
    ("我的任务", StaffCommand("我的任务", None)),
    ("完成了吗", None),
    ("开始报修", None),
    ("12栋502灯管不亮", None),
    ("评价 5", None),
])
def test_parse_staff_command(text: str, command: StaffCommand | None) -> None:
    assert parse_staff_command(text) == command


# -- a bound worker on their own ticket ---------------------------------------------------------------------------

def test_worker_moves_their_ticket_from_chat(wechat: Callable[..., WeChatUser], services: Services, workers: None,
                                             run_jobs: Callable[[], int],
                                             wechat_api: responses.RequestsMock) -> None:
    """开始 → 无法维修 (a reason) → 开始 → 完成 (a note), each as staff:刘师傅, each pushed to the reporter."""
    no = make_ticket(services, "o-wc-reporter", moved_to="assigned", worker="刘师傅")
    run_jobs()
    before = len(sent_templates(wechat_api))
    liu = wechat(LIU)
    reply = liu.text(f"开始 {no}").text
    assert f"{no} 已改为「维修中」" in reply and "学生公寓12栋 5楼 502" in reply and "13800000001" in reply
    assert "缺材料" in liu.text(f"无法维修 {no} 缺材料").text
    assert "已改为「维修中」" in liu.text(f"开始 {no}").text
    reply = liu.text(f"完成 {no} 换了阀芯").text
    assert f"{no} 已改为「维修完成」" in reply
    assert events(services, no)[-4:] == [
        ("in_progress", "staff:刘师傅", None), ("on_hold", "staff:刘师傅", "缺材料"),
        ("in_progress", "staff:刘师傅", None), ("completed", "staff:刘师傅", "换了阀芯")]
    run_jobs()
    pushed = [p for p in sent_templates(wechat_api)[before:] if p["touser"] == "o-wc-reporter"]
    assert [p["data"]["phrase2"]["value"] for p in pushed] == [
        "维修中", "暂缓维修", "维修中", "维修完成"]
    assert pushed[-1]["data"]["thing3"]["value"] == "换了阀芯"


def test_a_stranger_typing_the_same_words_moves_nothing(wechat: Callable[..., WeChatUser], services: Services,
                                                        workers: None) -> None:
    """The reporter or anyone unbound gets told these are workers' commands; the ticket does not move."""
    no = make_ticket(services, "o-wc-reporter2", moved_to="in_progress", worker="刘师傅")
    before = events(services, no)
    for openid in ("o-wc-stranger", "o-wc-reporter2"):
        for text in (f"完成 {no} 换了灯管", f"开始 {no}", f"无法维修 {no} 缺材料"):
            reply = wechat(openid).text(text).text
            assert "维修人员用的指令" in reply and "没有做任何改动" in reply
    assert events(services, no) == before
    assert stored(services, no).status == "in_progress"


def test_another_workers_ticket_is_refused(wechat: Callable[..., WeChatUser], services: Services,
                                          workers: None) -> None:
    no = make_ticket(services, "o-wc-reporter3", moved_to="in_progress", worker="刘师傅")
    reply = wechat(ZHAO).text(f"完成 {no} 修好了").text
    assert f"{no} 没有派给您" in reply
    assert stored(services, no).status == "in_progress"


def test_an_unbound_worker_is_a_stranger(wechat: Callable[..., WeChatUser], services: Services,
                                         workers: None) -> None:
    """Unbinding (or a deactivated account) takes the commands away."""
    no = make_ticket(services, "o-wc-reporter4", moved_to="assigned", worker="刘师傅")
    with services.db.session() as s:
        bind_openid(s, "刘师傅", None)
    assert "维修人员用的指令" in wechat(LIU).text(f"开始 {no}").text
    with services.db.session() as s:
        bind_openid(s, "刘师傅", LIU)
        s.scalars(select(Staff).where(Staff.name == "刘师傅")).one().active = False
    assert "维修人员用的指令" in wechat(LIU).text(f"开始 {no}").text
    assert stored(services, no).status == "assigned"


@pytest.mark.parametrize("status, text, said", [
    ("on_hold", "完成 {no} 好了", "现在是「暂时无法维修」，不能改为「维修完成」"),
    ("completed", "开始 {no}", "现在是「维修完成」，不能改为「维修中」"),
    ("in_progress", "开始 {no}", "已经是「维修中」了"),
    ("in_progress", "无法维修 {no}", "请写上暂时无法维修的原因"),
    ("closed", "完成 {no}", "已经「已销单」，不需要再操作了"),
])
def test_a_move_the_rules_refuse_is_explained(wechat: Callable[..., WeChatUser], services: Services, workers: None,
                                              status: str, text: str, said: str) -> None:
    no = make_ticket(services, "o-wc-reporter5", moved_to="completed" if status == "closed" else "in_progress",
                     worker="刘师傅")
    if status == "on_hold":
        move_ticket(services, no, "on_hold", by="staff:刘师傅", note="等配件")
    if status == "closed":
        move_ticket(services, no, "closed", by="staff:王调度")
    if status == "completed":
        move_ticket(services, no, "completed", by="staff:刘师傅")
    before = events(services, no)
    reply = wechat(LIU).text(text.format(no=no)).text
    assert said in reply
    if status == "on_hold":
        assert f"可以回复：「开始 {no}」" in reply
    assert events(services, no) == before


def test_an_unknown_ticket(wechat: Callable[..., WeChatUser], workers: None) -> None:
    reply = wechat(LIU).text("完成 R000101999 换了灯管").text
    assert "没有找到单号 R000101999" in reply


def test_a_bare_verb_shows_how(wechat: Callable[..., WeChatUser], workers: None) -> None:
    assert "请带上单号" in wechat(LIU).text("完成").text
    assert "请带上单号" not in wechat("o-wc-student").text("完成").text  # for others it is just a word


def test_my_tasks(wechat: Callable[..., WeChatUser], services: Services, workers: None) -> None:
    assert "没有待处理的派单" in wechat(LIU).text("我的任务").text
    mine = make_ticket(services, "o-wc-r6", moved_to="assigned", worker="刘师傅")
    done = make_ticket(services, "o-wc-r6", moved_to="completed", worker="刘师傅")
    theirs = make_ticket(services, "o-wc-r6", moved_to="assigned", worker="赵师傅")
    reply = wechat(LIU).text("我的任务").text
    assert "您的派单（1 张）" in reply and mine in reply
    assert done not in reply and theirs not in reply
    assert "您的派单" not in wechat("o-wc-student").text("我的任务").text


def test_a_retried_command_moves_once(wechat: Callable[..., WeChatUser], services: Services, workers: None) -> None:
    no = make_ticket(services, "o-wc-r7", moved_to="in_progress", worker="刘师傅")
    liu = wechat(LIU)
    first = liu.text(f"完成 {no} 换了阀芯")
    assert liu.retry().text == first.text
    assert [s for s, _, _ in events(services, no)].count("completed") == 1


def test_a_command_in_the_middle_of_a_dialog(wechat: Callable[..., WeChatUser], services: Services,
                                             workers: None, bound: Callable[..., None]) -> None:
    """A worker filing a repair of their own can still answer a push; the form waits for them."""
    no = make_ticket(services, "o-wc-r8", moved_to="assigned", worker="刘师傅")
    bound(LIU)
    liu = wechat(LIU)
    assert "维修类型" in liu.text("报修").text
    reply = liu.text(f"开始 {no}").text
    assert "已改为「维修中」" in reply and "还没完成" in reply
    assert stored(services, no).status == "in_progress"
    assert "故障类别" in liu.text("1").text  # the form goes on where it was


# -- binding from the shell ------------------------------------------------------------------------------------------

def openid_of(services: Services, name: str) -> str | None:
    with services.db.session() as s:
        return s.scalars(select(Staff.openid).where(Staff.name == name)).one()


def test_staff_add_with_openid_and_bind(cli: Callable[..., Result], services: Services) -> None:
    result = cli("staff", "add", "孙师傅", "--role", "worker", "--openid", "o-sun", "--password-stdin",
                 stdin="worker-pass-9\n")
    assert result.exit_code == 0, result.output
    assert "bound to WeChat o-sun" in result.output
    assert openid_of(services, "孙师傅") == "o-sun"
    result = cli("staff", "add", "钱师傅", "--role", "worker", "--password-stdin", stdin="worker-pass-8\n")
    assert result.exit_code == 0 and openid_of(services, "钱师傅") is None
    # An openid belongs to one account: binding it elsewhere moves it.
    result = cli("staff", "bind", "钱师傅", "o-sun")
    assert result.exit_code == 0, result.output
    assert (openid_of(services, "钱师傅"), openid_of(services, "孙师傅")) == ("o-sun", None)
    result = cli("staff", "unbind", "钱师傅")
    assert result.exit_code == 0 and openid_of(services, "钱师傅") is None


@pytest.mark.parametrize("args, said", [
    (("staff", "bind", "没有这人", "o-x"), "no staff account named"),
    (("staff", "bind", "孙师傅", "bad openid!"), "does not look like a WeChat openid"),
])
def test_staff_bind_refusals(cli: Callable[..., Result], services: Services, args: tuple[str, ...],
                             said: str) -> None:
    make_staff(services, "孙师傅", "worker")
    result = cli(*args)
    assert result.exit_code != 0 and said in result.output and "Traceback" not in result.output


# -- the push a worker is owed on assignment -------------------------------------------------------------------------

def test_worker_push_for_a_bound_worker(services: Services, workers: None, run_jobs: Callable[[], int],
                                            wechat_api: responses.RequestsMock) -> None:
    """Assigning records one push for the assigned worker, which the push job sends to them."""
    no = make_ticket(services, "o-wc-r9", moved_to="assigned", worker="刘师傅")
    with services.db.session() as s:
        t = get_ticket(s, no)
        event = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.status == "assigned")
                          ).one()
        push = s.scalars(select(Push).where(Push.event_id == event.id, Push.kind == "assign")).one()
        assert worker_push(s, t, event, "TPL-TICKET") is None  # once per event
        assert push.openid == LIU
        assert push.payload["fields"]["status"] == "新派单"
        assert push.payload["fields"]["note"] == "学生公寓12栋 502 给水/水龙头"
    run_jobs()
    sent = [p for p in sent_templates(wechat_api) if p["touser"] == LIU]
    assert [p["data"]["character_string1"]["value"] for p in sent] == [no]


def test_assignment_falls_back_to_a_text_worded_for_the_worker(services: Services, workers: None,
                                                               run_jobs: Callable[[], int],
                                                               wechat_api: responses.RequestsMock) -> None:
    """When the template fails for good and the worker wrote lately, the text tells them of the new job."""
    wechat_api.replace(responses.POST, API + "message/template/send",
                       json={"errcode": 40037, "errmsg": "invalid template_id"})
    user_wrote(services.redis, LIU, 60)
    no = make_ticket(services, "o-wc-r13", moved_to="assigned", worker="刘师傅")
    run_jobs()
    texts = [json.loads(c.request.body or b"")["text"]["content"] for c in wechat_api.calls
             if str(c.request.url).startswith(API + "message/custom/send")]
    to_worker = [t for t in texts if "新派单" in t]
    assert len(to_worker) == 1 and no in to_worker[0] and "学生公寓12栋" in to_worker[0]
    assert f"开始 {no}" in to_worker[0] and "您的报修单" not in to_worker[0]


def test_no_worker_push_without_an_openid_or_to_an_unsubscribed_worker(services: Services,
                                                                            workers: None) -> None:
    with services.db.session() as s:
        bind_openid(s, "刘师傅", None)
    no = make_ticket(services, "o-wc-r10", moved_to="assigned", worker="刘师傅")
    with services.db.session() as s:
        t = get_ticket(s, no)
        assert not list(s.scalars(select(Push).where(Push.ticket_id == t.id, Push.kind == "assign")))
        bind_openid(s, "刘师傅", LIU)
        set_subscribed(s, LIU, False)
    no = make_ticket(services, "o-wc-r12", moved_to="assigned", worker="刘师傅")
    with services.db.session() as s:
        t = get_ticket(s, no)
        push = s.scalars(select(Push).where(Push.ticket_id == t.id, Push.kind == "assign")).one()
        assert push.status == "skipped"


def test_assigning_from_the_shell_tells_the_worker(services: Services, workers: None, run_jobs: Callable[[], int],
                                                    wechat_api: responses.RequestsMock) -> None:
    """A move to `assigned` pushes the reporter and, separately, the worker it names."""
    no = make_ticket(services, "o-wc-r11", moved_to="accepted")
    move_ticket(services, no, "assigned", by="staff:调度", worker="刘师傅")
    run_jobs()
    sent = {p["touser"]: p["data"]["phrase2"]["value"] for p in sent_templates(wechat_api)}
    assert sent == {"o-wc-r11": STATUS_ZH["assigned"], LIU: "新派单"}


# -- the push a worker is owed when the reporter says it is still not fixed ----------------------------------------

def test_not_fixed_tells_the_worker_who_did_it(wechat: Callable[..., WeChatUser], services: Services, workers: None,
                                               run_jobs: Callable[[], int],
                                               wechat_api: responses.RequestsMock) -> None:
    """「没修好 还在滴水」 sends the ticket back; 刘师傅, who completed it, hears what is wrong, and can start again."""
    no = make_ticket(services, "o-wc-rw1", moved_to="completed", worker="刘师傅")
    with services.db.session() as s:
        follow(s, get_ticket(s, no), "o-wc-rw1-neighbour")
    run_jobs()
    wechat_api.calls.reset()
    assert f"{no} 已重新受理" in wechat("o-wc-rw1").text("没修好 还在滴水").text
    run_jobs()
    sent = {p["touser"]: p["data"] for p in sent_templates(wechat_api)}
    assert set(sent) == {LIU, "o-wc-rw1-neighbour"}  # the reporter did it and is not told
    assert (sent[LIU]["character_string1"]["value"], sent[LIU]["phrase2"]["value"]) == (no, "返修")
    assert sent[LIU]["thing3"]["value"] == "还没修好：还在滴水"
    assert sent["o-wc-rw1-neighbour"]["phrase2"]["value"] == STATUS_ZH["accepted"]
    wechat(LIU).text(f"开始 {no}")
    assert stored(services, no).status == "in_progress"


def test_not_fixed_falls_back_to_a_text_for_the_worker(wechat: Callable[..., WeChatUser], services: Services,
                                                       workers: None, run_jobs: Callable[[], int],
                                                       wechat_api: responses.RequestsMock) -> None:
    """Without a working template, the worker's text says it is a rework, with the reporter's words."""
    no = make_ticket(services, "o-wc-rw2", moved_to="completed", worker="刘师傅")
    run_jobs()
    wechat_api.replace(responses.POST, API + "message/template/send",
                       json={"errcode": 40037, "errmsg": "invalid template_id"})
    user_wrote(services.redis, LIU, 60)
    wechat_api.calls.reset()
    wechat("o-wc-rw2").text("没修好 水龙头还是关不紧")
    run_jobs()
    texts = [json.loads(c.request.body or b"")["text"]["content"] for c in wechat_api.calls
             if str(c.request.url).startswith(API + "message/custom/send")]
    to_worker = [t for t in texts if "返修" in t]
    assert len(to_worker) == 1
    assert no in to_worker[0] and "水龙头还是关不紧" in to_worker[0] and f"开始 {no}" in to_worker[0]


def test_no_rework_push_when_no_worker_had_it(wechat: Callable[..., WeChatUser], services: Services, workers: None,
                                              run_jobs: Callable[[], int]) -> None:
    """A ticket completed by the dispatcher without a worker goes back to the queue; no worker is pushed."""
    no = make_ticket(services, "o-wc-rw3", moved_to="accepted")
    move_ticket(services, no, "completed", by="staff:王调度")
    run_jobs()
    wechat("o-wc-rw3").text("没修好 还在滴水")
    with services.db.session() as s:
        t = get_ticket(s, no)
        assert t.status == "accepted"
        assert not list(s.scalars(select(Push).where(Push.ticket_id == t.id, Push.kind == "rework")))


def test_a_rating_tells_the_followers_the_ticket_is_closed(wechat: Callable[..., WeChatUser], services: Services,
                                                           run_jobs: Callable[[], int],
                                                           wechat_api: responses.RequestsMock) -> None:
    no = make_ticket(services, "o-wc-rate", moved_to="completed")
    with services.db.session() as s:
        follow(s, get_ticket(s, no), "o-wc-rate-neighbour")
    run_jobs()
    wechat_api.calls.reset()
    wechat("o-wc-rate").text("评价 5 修得很快")
    run_jobs()
    sent = [(p["touser"], p["data"]["phrase2"]["value"]) for p in sent_templates(wechat_api)]
    assert sent == [("o-wc-rate-neighbour", STATUS_ZH["closed"])]
