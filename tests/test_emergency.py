"""Emergencies (电梯困人, 冒烟, 漏电, 水管爆裂, 燃气): the duty phone and what to do first, filed urgent without a
photo, pushed at once to the category's dispatchers and the workers on duty, 紧急 at the top of the console's
queue, and a false alarm downgraded by staff.  Through the webhook, real RQ workers and the console."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses
from click.testing import Result
from flask import Flask

from core.services import Services
from devtools.chat import WeChatUser
from dialogs.nlu.parse import Parser
from models.errors import RegisterError
from models.people import bind_openid
from models.pushes import Push
from models.register import Register
from tests.support.chat import say, ticket_no, to_description
from tests.support.console import Console, text
from tests.support.constants import DORM, PASSWORD, REGISTER_FILE
from tests.support.people import make_staff
from tests.support.tickets import make_ticket, stored
from tests.support.wechat_api import sent_templates

STUDENT = "o-em-student"
DISPATCHER, OTHER_DISPATCHER = "o-em-wang", "o-em-zhou"
LIU, ZHAO = "o-em-liu", "o-em-zhao"
SCHOOL_PHONE, DORM_PHONE = "0772-2686552", "0772-2686552"


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser(Register.from_yaml(REGISTER_FILE.read_text(encoding="utf-8")))


@pytest.fixture
def team(services: Services) -> None:
    """王调度 (dormitories), 周调度 (another category), 刘师傅 and 赵师傅 (dormitories), all bound to WeChat."""
    make_staff(services, "王调度", "dispatcher", categories=[DORM], phone="13900000001")
    make_staff(services, "周调度", "dispatcher", categories=["箭盘校区维修"])
    make_staff(services, "刘师傅", "worker", categories=[DORM], phone="13900000009")
    make_staff(services, "赵师傅", "worker", categories=[DORM], phone="13900000008")
    with services.db.session() as s:
        for name, openid in (("王调度", DISPATCHER), ("周调度", OTHER_DISPATCHER), ("刘师傅", LIU), ("赵师傅", ZHAO)):
            bind_openid(s, name, openid)


# -- the register and the words ------------------------------------------------------------------------

def test_register_reads_duty_phones() -> None:
    reg = Register.from_yaml(REGISTER_FILE.read_text(encoding="utf-8"))
    assert reg.duty_phone == SCHOOL_PHONE
    teachers = reg.category("教师公租房维修")
    campus = reg.category("校园管理")
    assert teachers is not None and teachers.duty_phone == "0772-2687110"
    assert campus is not None and campus.duty_phone == SCHOOL_PHONE  # none of its own: the school's


def test_register_refuses_a_duty_phone_that_is_not_a_string() -> None:
    doc = REGISTER_FILE.read_text(encoding="utf-8").replace('duty_phone: "0772-2686552"', "duty_phone: 2686552", 1)
    with pytest.raises(RegisterError, match="duty_phone"):
        Register.from_yaml(doc)


@pytest.mark.parametrize("words, kind, group", [
    ("12栋电梯困人了", "电梯困人", "电梯"),
    ("我被困在电梯里了", "电梯困人", "电梯"),
    ("12栋502插座冒烟了", "起火冒烟", "供电"),
    ("宿舍着火了", "起火冒烟", "供电"),
    ("五教三楼水管爆裂了", "水管爆裂", "给水"),
    ("卫生间大面积漏水", "水管爆裂", "给水"),
    ("闻到很浓的煤气味", "燃气泄漏", "其他"),
    ("插座漏电，手一碰就麻", "漏电短路", "供电"),
    ("走廊电线短路了", "漏电短路", "供电"),
])
def test_emergency_words(parser: Parser, words: str, kind: str, group: str) -> None:
    p = parser.parse(words)
    assert (p.intent, p.emergency, p.group) == ("repair", kind, group)
    assert p.to_json()["emergency"] == kind


@pytest.mark.parametrize("words", [
    "电梯有点慢", "灯不亮", "12栋502水龙头一直滴水", "漏电保护器跳了", "燃气热水器打不着火", "电梯门关不上",
    "停电人都热死了", "食堂饭菜有糊味", "电梯按钮不灵",
])
def test_ordinary_faults_are_not_emergencies(parser: Parser, words: str) -> None:
    p = parser.parse(words)
    assert p.emergency is None
    assert "emergency" not in p.to_json()


def test_parse_explain_names_the_emergency(cli: Callable[..., Result]) -> None:
    result = cli("parse", "--explain", "--register", str(REGISTER_FILE), stdin="12栋电梯困人了\n电梯有点慢\n")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first["emergency"] == "电梯困人"
    assert any(line.startswith("emergency 电梯困人") for line in first["explain"])
    assert "emergency" not in second


# -- the chat ------------------------------------------------------------------------------------------

def test_emergency_first_reply_files_urgent_without_photo_and_pushes_staff(
        wechat: Callable[..., WeChatUser], services: Services, bound: Callable[..., None], team: None,
        run_jobs: Callable[[], int], wechat_api: responses.RequestsMock, cli: Callable[..., Result]) -> None:
    bound(STUDENT)
    with services.db.session() as s:
        from models.people import set_on_duty
        set_on_duty(s, "刘师傅", True)
    user = wechat(STUDENT)
    first = say(user, "12栋502门口电梯困人了")
    # The duty phone and what to do now come before anything is asked.
    assert first.index(DORM_PHONE) < first.index("警铃") < first.index("照片")
    assert "24 小时值班电话" in first and "跳过" in first
    reply = say(user, "跳过")
    assert "【紧急】请核对报修单" in reply and "照片：0 张" in reply
    no = ticket_no(say(user, "确认"))
    t = stored(services, no)
    assert t.priority == "urgent" and t.group == "电梯" and t.category == DORM and not t.photos
    assert t.events[0].note == "紧急：电梯困人"
    run_jobs()
    with services.db.session() as s:
        staff_pushes = {p.openid: p.kind for p in s.query(Push).filter(Push.ticket_id == t.id)}
    # The category's dispatcher and the worker on duty; not the worker off duty, not another category's.
    assert staff_pushes == {DISPATCHER: "urgent", LIU: "urgent"}
    sent = {m["touser"]: m for m in sent_templates(wechat_api)}
    assert set(sent) == {DISPATCHER, LIU}
    assert sent[LIU]["data"]["phrase2"]["value"] == "紧急报修"
    assert sent[LIU]["data"]["character_string1"]["value"] == no
    # The shell shows the priority.
    listed = cli("tickets", "list")
    assert f"{no}" in listed.output and "URGENT" in listed.output
    shown = cli("tickets", "show", no)
    assert "priority urgent (紧急)" in shown.output


def test_with_no_worker_on_duty_every_worker_of_the_category_hears(
        wechat: Callable[..., WeChatUser], services: Services, bound: Callable[..., None], team: None,
        run_jobs: Callable[[], int]) -> None:
    bound(STUDENT)
    user = wechat(STUDENT)
    say(user, "12栋502宿舍插座冒烟了")
    reply = user.image(media_id="MEDIA-EM-1").text  # a photo is welcome
    assert "请核对报修单" in reply and "照片：1 张" in reply
    no = ticket_no(say(user, "确认"))
    run_jobs()
    with services.db.session() as s:
        t = stored(services, no)
        told = {p.openid for p in s.query(Push).filter(Push.ticket_id == t.id, Push.kind == "urgent")}
    assert told == {DISPATCHER, LIU, ZHAO}


def test_confirm_at_the_photo_files_at_once(wechat: Callable[..., WeChatUser], services: Services,
                                            bound: Callable[..., None], team: None) -> None:
    bound(STUDENT)
    user = wechat(STUDENT)
    say(user, "12栋502水管爆了")
    reply = say(user, "确认")
    assert "紧急报修成功" in reply and "0772-2686552" in reply
    assert stored(services, ticket_no(reply)).priority == "urgent"


def test_emergency_without_a_place_asks_it_after_the_school_phone(
        wechat: Callable[..., WeChatUser], services: Services, bound: Callable[..., None]) -> None:
    bound(STUDENT)
    user = wechat(STUDENT)
    first = say(user, "闻到很浓的煤气味")
    assert SCHOOL_PHONE in first and "打开门窗" in first and "不要开关任何电器" in first
    assert "在哪栋楼" in first and "维修类型" not in first  # only the building is asked, in words


def test_an_ordinary_fault_is_not_urgent(wechat: Callable[..., WeChatUser], services: Services,
                                         bound: Callable[..., None]) -> None:
    bound(STUDENT)
    user = wechat(STUDENT)
    reply = say(user, "12栋502灯不亮")
    assert "值班电话" not in reply
    assert "照片" in say(user, "灯管不亮了，开关没反应")  # the description, then the photo
    summary = say(user, "跳过")  # anyone may go on without a photo; the summary is an ordinary one
    assert "请核对报修单" in summary and "【紧急】" not in summary


def test_emergency_said_in_the_description_marks_the_form(
        wechat: Callable[..., WeChatUser], services: Services, bound: Callable[..., None]) -> None:
    bound(STUDENT)
    user = wechat(STUDENT)
    assert "描述" in to_description(user)  # through the menus
    reply = say(user, "卫生间水管爆裂了，到处都是水")
    assert "值班电话" in reply and "总阀" in reply and "跳过" in reply


# -- the console and the shell ---------------------------------------------------------------------------

def test_console_puts_urgent_first_and_a_dispatcher_downgrades_a_false_alarm(
        app: Flask, services: Services, team: None) -> None:
    older = make_ticket(services, "o-em-a", description="水龙头一直滴水")
    urgent = make_ticket(services, "o-em-b", priority="urgent", description="电梯困人")
    newer = make_ticket(services, "o-em-c", description="灯管不亮了")
    wang = Console.logged_in(app, "王调度", PASSWORD)
    assert wang.queue()[0] == urgent and set(wang.queue()) >= {older, newer}
    page = text(wang.get("/console/"))
    assert "紧急" in page
    ticket_page = text(wang.get(f"/console/tickets/{urgent}"))
    assert "改为普通" in ticket_page
    resp = wang.post(f"/console/tickets/{urgent}/downgrade", {"note": "现场核实为误报"})
    assert "已改为普通工单" in text(resp)
    t = stored(services, urgent)
    assert t.priority == "normal"
    assert (t.events[-1].kind, t.events[-1].by, t.events[-1].note) == ("priority", "staff:王调度",
                                                                       "紧急改为普通：现场核实为误报")
    assert wang.queue()[0] == newer  # no longer ahead of the newer one
    assert "改为普通</button>" not in text(wang.get(f"/console/tickets/{urgent}"))
    # Once more: not urgent any more, said in Chinese.
    assert "不是紧急工单" in text(wang.post(f"/console/tickets/{urgent}/downgrade", {}))


def test_a_worker_cannot_downgrade(app: Flask, services: Services, team: None) -> None:
    urgent = make_ticket(services, "o-em-d", priority="urgent", moved_to="assigned", worker="刘师傅")
    liu = Console.logged_in(app, "刘师傅", PASSWORD)
    assert liu.post(f"/console/tickets/{urgent}/downgrade", {}).status_code == 403
    assert stored(services, urgent).priority == "urgent"


def test_staff_duty_from_the_shell(cli: Callable[..., Result], services: Services, team: None) -> None:
    assert cli("staff", "duty", "赵师傅", "--on").exit_code == 0
    with services.db.session() as s:
        from models.people import emergency_staff, get_staff
        assert get_staff(s, "赵师傅").on_duty
        assert {p.name for p in emergency_staff(s, DORM)} == {"王调度", "赵师傅"}
    assert cli("staff", "duty", "赵师傅", "--off").exit_code == 0
    assert cli("staff", "duty", "无此人", "--on").exit_code != 0
