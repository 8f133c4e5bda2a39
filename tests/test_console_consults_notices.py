"""网上咨询 and 通知公告 in the staff console, over Flask's test client: who sees what, replies, notices."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import responses
from flask import Flask
from sqlalchemy import func, select

from core.services import Services
from models.consult import get_consult
from models.notices import Notice, publish
from models.people import ensure_user, get_staff, now
from models.pushes import Push
from tests.support.console import Console, text
from tests.support.constants import API, DORMS, ESTATE, FOOD
from tests.support.consults import make_consult
from tests.support.people import DESK_STAFF, make_resident, seed_staff, staff_id
from tests.support.wechat_api import sent_templates

CHINA = ZoneInfo("Asia/Shanghai")
CONSULT_RE = re.compile(r'href="/console/consults/(C\d+)"')


def consult_state(services: Services, no: str) -> tuple[str, list[str], int]:
    """A consult's status, its timeline's kinds and how many pushes it has."""
    with services.db.session() as s:
        c = get_consult(s, no)
        pushes = s.scalar(select(func.count(Push.id)).where(Push.consult_id == c.id)) or 0
        return c.status, [e.kind for e in c.events], int(pushes)


@pytest.fixture
def desk(app: Flask, services: Services) -> Callable[[str | None], Console]:
    """A logged-in console for a staff name (None: not logged in)."""
    seed_staff(services, DESK_STAFF)

    def make(name: str | None = "管理员") -> Console:
        return Console.logged_in(app, name)

    return make


def listed(c: Console, **args: str) -> list[str]:
    page = c.get("/console/consults", query_string=args)
    assert page.status_code == 200, text(page)[:500]
    return CONSULT_RE.findall(text(page))


# -- 网上咨询: who sees what ----------------------------------------------------------------------

def test_consults_are_seen_by_department(desk: Callable[..., Console], services: Services) -> None:
    food = make_consult(services)
    estate = make_consult(services, department=ESTATE, title="楼道灯坏了", openid="o-estate")
    dorms = make_consult(services, department=DORMS, kind="建议", title="宿舍晾衣架", openid="o-dorms")
    assert sorted(listed(desk("管理员"))) == sorted([food, estate, dorms])
    assert listed(desk("饮食调度")) == [food]
    assert sorted(listed(desk("物业调度"))) == sorted([estate, dorms])
    nobody = desk("无部门调度")
    assert listed(nobody, status="all") == []
    assert "还没有负责的咨询部门" in text(nobody.get("/console/consults"))
    assert listed(desk("李师傅"), status="all") == []
    # The filters cannot widen the scope.
    assert listed(desk("饮食调度"), department=ESTATE, status="all") == []


def test_another_departments_consult_is_not_found(desk: Callable[..., Console], services: Services) -> None:
    theirs = make_consult(services, department=ESTATE, title="楼道灯坏了")
    c = desk("饮食调度")
    resp = c.get(f"/console/consults/{theirs}")
    assert resp.status_code == 404 and "找不到" in text(resp) and "楼道灯坏了" not in text(resp)
    assert c.post(f"/console/consults/{theirs}/reply", {"text": "看看"}).status_code == 404
    assert c.post(f"/console/consults/{theirs}/close", {"note": "好"}).status_code == 404
    assert desk("无部门调度").get(f"/console/consults/{theirs}").status_code == 404
    assert desk("李师傅").post(f"/console/consults/{theirs}/close").status_code == 404
    assert c.get("/console/consults/C000000000").status_code == 404
    assert consult_state(services, theirs) == ("open", ["submitted"], 0)
    assert desk(None).get(f"/console/consults/{theirs}").status_code == 302  # login first


def test_the_header_links(desk: Callable[..., Console]) -> None:
    admin = text(desk("管理员").get("/console/")).split("<main>")[0]
    assert "网上咨询" in admin and "通知公告" in admin
    food = text(desk("饮食调度").get("/console/")).split("<main>")[0]
    assert "网上咨询" in food and "通知公告" not in food
    worker = text(desk("李师傅").get("/console/")).split("<main>")[0]
    assert "网上咨询" not in worker and "通知公告" not in worker


def test_consult_filters(desk: Callable[..., Console], services: Services) -> None:
    a = make_consult(services, age=timedelta(days=10), title="饭菜太贵")
    b = make_consult(services, kind="建议", title="多开一个窗口", status="replied")
    c_ = make_consult(services, kind="表扬", title="阿姨很热情", status="closed")
    d = make_consult(services, department=ESTATE, title="楼道灯坏了")
    admin = desk("管理员")
    assert set(listed(admin)) == {a, b, d}  # not closed, by default
    assert set(listed(admin, status="all")) == {a, b, c_, d}
    assert listed(admin, status="closed") == [c_]
    assert listed(admin, status="replied") == [b]
    assert set(listed(admin, department=FOOD, status="all")) == {a, b, c_}
    assert listed(admin, kind="建议") == [b]
    assert listed(admin, kind="表扬", status="all") == [c_]
    assert listed(admin, q="窗口") == [b]
    assert listed(admin, q=d) == [d]
    assert listed(admin, q="100%_") == []
    today = datetime.now(CHINA).date()
    assert a not in listed(admin, status="all", since=(today - timedelta(days=1)).isoformat())
    assert listed(admin, status="all", until=(today - timedelta(days=5)).isoformat()) == [a]
    # Waiting ones first (newest first), then the others, newest first; bad values are ignored.
    assert listed(admin, status="all") == [d, a, c_, b]
    assert set(listed(admin, status="nonsense", kind="坏", since="昨天", page="x")) == {a, b, d}


def test_consult_page_shows_the_sender_unless_anonymous(desk: Callable[..., Console], services: Services) -> None:
    named = make_consult(services, openid="o-named", card_no="20260002")
    hidden = make_consult(services, title="宿管态度差", department=DORMS, description="宿管阿姨说话很冲",
                          suggestion=None, anonymous=True, openid="o-hidden-sender", card_no="20260003")
    with services.db.session() as s:
        user = ensure_user(s, "o-hidden-sender")
        user.phone = "13912345678"
    admin = desk("管理员")
    page = text(admin.get(f"/console/consults/{named}"))
    for expected in ("二食堂饭菜偏咸", "投诉", FOOD, "最近一周二食堂的青菜和汤都特别咸", "希望少放点盐",
                     "李四", "13800000002", "提交", "待处理"):
        assert expected in page, expected
    pages = [text(admin.get(f"/console/consults/{hidden}")), text(desk("物业调度").get(f"/console/consults/{hidden}")),
             text(admin.get("/console/consults")), text(admin.get("/console/consults", query_string={"q": "宿管"}))]
    for page in pages:
        assert "宿管态度差" in page and "匿名" in page
        for secret in ("王五", "13912345678", "o-hidden-sender"):
            assert secret not in page, secret
    row = text(admin.get("/console/consults")).split(f">{named}<")[1].split("</tr>")[0]
    assert "李四" in row


def test_reply_and_close(desk: Callable[..., Console], services: Services, wechat_api: responses.RequestsMock,
                         run_jobs: Callable[[], int]) -> None:
    no = make_consult(services, openid="o-complainer", anonymous=True)
    c = desk("饮食调度")
    assert "回复内容不能为空" in text(c.post(f"/console/consults/{no}/reply", {"text": "  "}))
    assert consult_state(services, no) == ("open", ["submitted"], 0)
    page = text(c.post(f"/console/consults/{no}/reply", {"text": "已通知二食堂减盐，谢谢反馈"}))
    assert f"{no}：回复已发送给提交人" in page
    assert consult_state(services, no) == ("replied", ["submitted", "reply"], 1)
    assert run_jobs() == 1
    [sent] = sent_templates(wechat_api)
    assert (sent["touser"], sent["template_id"]) == ("o-complainer", "TPL-REPLY")
    assert sent["data"]["thing2"]["value"] == "已通知二食堂减盐，谢谢反馈"
    page = text(c.get(f"/console/consults/{no}"))
    assert "已回复" in page and "工作人员回复" in page and "饮食调度" in page and "已发送" in page
    assert "o-complainer" not in page  # anonymous: not even the openid
    page = text(c.post(f"/console/consults/{no}/close", {"note": "已整改"}))
    assert f"{no}：已办结" in page and "此件已办结" in page and "已整改" in page
    assert consult_state(services, no) == ("closed", ["submitted", "reply", "closed"], 2)
    assert "已经办结" in text(c.post(f"/console/consults/{no}/close"))
    assert "已办结，不能再回复" in text(c.post(f"/console/consults/{no}/reply", {"text": "再说一句"}))
    assert consult_state(services, no) == ("closed", ["submitted", "reply", "closed"], 2)
    assert run_jobs() == 1  # the 办结 and its note reach the sender too
    closed = sent_templates(wechat_api)[1]
    assert (closed["touser"], closed["template_id"]) == ("o-complainer", "TPL-REPLY")
    assert closed["data"]["thing2"]["value"] == "已整改"
    with services.db.session() as s:
        assert [e.by for e in get_consult(s, no).events][1:] == ["staff:饮食调度"] * 2


def test_consult_posts_need_the_csrf_token(desk: Callable[..., Console], services: Services) -> None:
    no = make_consult(services)
    notice_id = _notice(services)
    admin = desk("管理员")
    sid = staff_id(services, "无部门调度")
    for url, data in [(f"/console/consults/{no}/reply", {"text": "好的"}),
                      (f"/console/consults/{no}/close", {}),
                      (f"/console/consults/departments/{sid}", {f"s{sid}-departments": FOOD}),
                      ("/console/notices/new", {"title": "停水", "body": "停水"}),
                      (f"/console/notices/{notice_id}/push", {}),
                      (f"/console/notices/{notice_id}/end", {})]:
        for token in (None, "forged-token"):
            resp = admin.client.post(url, data=dict(data, **({"csrf_token": token} if token else {})))
            assert resp.status_code == 400 and "页面已过期或表单无效" in text(resp), url
    assert consult_state(services, no) == ("open", ["submitted"], 0)
    with services.db.session() as s:
        assert s.scalar(select(func.count(Notice.id))) == 1
        assert get_staff(s, "无部门调度").departments == []


# -- who answers for which department --------------------------------------------------------------


def test_admin_sets_departments(desk: Callable[..., Console], services: Services) -> None:
    food = make_consult(services)
    dorms = make_consult(services, department=DORMS, title="晾衣架")
    nobody = desk("无部门调度")
    assert listed(nobody, status="all") == []
    sid = staff_id(services, "无部门调度")
    admin = desk("管理员")
    page = text(admin.get("/console/consults/departments"))
    assert "无部门调度" in page and FOOD in page and DORMS in page
    page = text(admin.post(f"/console/consults/departments/{sid}",
                           {f"s{sid}-departments": [DORMS, FOOD]}))
    assert f"已保存 无部门调度 负责的咨询部门：{FOOD}、{DORMS}" in page
    assert sorted(listed(nobody, status="all")) == sorted([food, dorms])  # at once, same session
    assert nobody.get(f"/console/consults/{dorms}").status_code == 200
    page = text(admin.post(f"/console/consults/departments/{sid}", {f"s{sid}-departments": ["没有这个部门"]}))
    assert "未知的部门：没有这个部门" in page
    admin.post(f"/console/consults/departments/{sid}", {})
    assert listed(nobody, status="all") == []
    with services.db.session() as s:
        assert get_staff(s, "无部门调度").departments == []
    # The staff page's form sets them as well (with a new password).
    page = text(admin.post("/console/staff", {"name": "新调度", "role": "dispatcher", "departments": [FOOD],
                                              "password": "new-pass-12", "confirm": "new-pass-12"}))
    assert "已添加账号：新调度" in page
    assert listed(Console.logged_in(admin.client.application, "新调度", "new-pass-12"), status="all") == [food]
    for name in ("饮食调度", "李师傅"):
        c = desk(name)
        assert c.get("/console/consults/departments").status_code == 403
        assert c.post(f"/console/consults/departments/{sid}",
                      {f"s{sid}-departments": FOOD}).status_code == 403
    assert admin.post("/console/consults/departments/99999", {}).status_code == 404


# -- 通知公告 --------------------------------------------------------------------------------------------

def _notice(services: Services, **kw: Any) -> int:
    with services.db.session() as s:
        return publish(s, kw.pop("title", "12栋停水检修"), kw.pop("body", "今天14:00-18:00停水"), "staff:管理员",
                       **kw).id


def test_notices_are_for_admins_only(desk: Callable[..., Console], services: Services) -> None:
    notice_id = _notice(services, buildings=[["东环校区", "学生公寓12栋"]])
    for name in ("饮食调度", "李师傅"):
        c = desk(name)
        for url in ("/console/notices", "/console/notices/new", f"/console/notices/{notice_id}"):
            assert c.get(url).status_code == 403, (name, url)
        for url in ("/console/notices/new", f"/console/notices/{notice_id}/push", f"/console/notices/{notice_id}/end"):
            assert c.post(url, {"title": "x", "body": "y"}).status_code == 403, (name, url)
    with services.db.session() as s:
        n = s.get(Notice, notice_id)
        assert n is not None and n.pushed_at is None and n.ends_at is None
        assert s.scalar(select(func.count(Notice.id))) == 1
    assert desk("管理员").get("/console/notices/99999").status_code == 404


def _form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"title": "学生公寓12栋停水检修",
                            "body": "因管道检修，12、13栋今天14:00-18:00停水，请提前储水。",
                            "campus": "", "buildings": ["东环校区/学生公寓12栋", "东环校区/学生公寓13栋"],
                            "groups": ["给水"], "starts_at": "2026-11-28T08:00", "ends_at": "2026-11-28T18:30"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_admin_publishes_a_notice(desk: Callable[..., Console], services: Services) -> None:
    admin = desk("管理员")
    page = text(admin.get("/console/notices/new"))
    assert "发布通知" in page and 'value="东环校区/学生公寓12栋"' in page and 'value="箭盘校区/食堂"' in page
    assert 'value="给水"' in page and 'type="datetime-local"' in page
    day = (datetime.now(CHINA) + timedelta(days=1)).date()
    resp = admin.post("/console/notices/new", _form(starts_at=f"{day}T08:00", ends_at=f"{day} 18:30"))
    page = text(resp)
    assert "已发布通知「学生公寓12栋停水检修」" in page
    with services.db.session() as s:
        n = s.scalars(select(Notice)).one()
        assert n.buildings == [["东环校区", "学生公寓12栋"], ["东环校区", "学生公寓13栋"]]
        assert (n.campus, n.groups, n.created_by) == ("东环校区", ["给水"], "staff:管理员")
        # China time in the form, UTC in the database.
        assert n.starts_at == datetime(day.year, day.month, day.day, 0, 0, tzinfo=UTC)
        assert n.ends_at == datetime(day.year, day.month, day.day, 10, 30, tzinfo=UTC)
    for expected in ("东环校区：学生公寓12栋、学生公寓13栋", f"{day} 08:00", f"{day} 18:30", "给水", "管理员",
                     "未开始"):
        assert expected in page, expected
    row = text(admin.get("/console/notices")).split("学生公寓12栋停水检修")[1].split("</tr>")[0]
    assert "未开始" in row and "东环校区：学生公寓12栋、学生公寓13栋" in row and "未推送" in row


def test_a_notice_for_a_campus_or_the_whole_school(desk: Callable[..., Console], services: Services) -> None:
    admin = desk("管理员")
    admin.post("/console/notices/new", _form(title="箭盘校区停电", campus="箭盘校区", buildings=None, groups=None,
                                             starts_at="", ends_at=""))
    admin.post("/console/notices/new", _form(title="寒假放假通知", buildings=None, groups=None, ends_at=""))
    with services.db.session() as s:
        rows = {n.title: n for n in s.scalars(select(Notice))}
    assert (rows["箭盘校区停电"].campus, rows["箭盘校区停电"].buildings, rows["箭盘校区停电"].ends_at) == \
        ("箭盘校区", [], None)
    assert abs(rows["箭盘校区停电"].starts_at - now()) < timedelta(minutes=1)  # blank start: now
    assert (rows["寒假放假通知"].campus, rows["寒假放假通知"].buildings) == (None, [])
    page = text(admin.get(f"/console/notices/{rows['寒假放假通知'].id}"))
    assert "全校" in page and "长期有效" in page and "没有指定楼栋，不推送" in page


@pytest.mark.parametrize("changes, message", [
    ({"ends_at": "2026-11-28T07:00"}, "结束时间必须晚于开始时间（开始 2026-11-28 08:00，结束 2026-11-28 07:00）"),
    ({"ends_at": "2026-11-28T08:00"}, "结束时间必须晚于开始时间"),
    ({"starts_at": "明天上午"}, "开始时间格式不对"),
    ({"ends_at": "2026-13-45T99:00"}, "结束时间格式不对"),
    ({"buildings": ["东环校区/学生公寓99栋", "东环校区/学生公寓12栋"]}, "登记册中没有这些楼栋：东环校区/学生公寓99栋"),
    ({"buildings": ["东环校区/学生公寓12栋"], "campus": "箭盘校区"}, "所选楼栋不在「箭盘校区」：东环校区/学生公寓12栋"),
    ({"campus": "火星校区", "buildings": None}, "登记册中没有校区「火星校区」"),
    ({"groups": ["给水", "魔法"]}, "登记册中没有这些维修类别：魔法"),
    ({"title": ""}, "请填写标题"),
    ({"body": "   "}, "请填写正文"),
])
def test_a_bad_notice_is_refused_clearly(desk: Callable[..., Console], services: Services,
                                         changes: dict[str, Any], message: str) -> None:
    resp = desk("管理员").post("/console/notices/new", _form(**changes))
    page = text(resp)
    assert resp.status_code == 400 and message in page, page[page.find("flash error"):][:400]
    assert 'value="学生公寓12栋停水检修"' in page or not _form(**changes).get("title")  # what was typed is kept
    with services.db.session() as s:
        assert s.scalar(select(func.count(Notice.id))) == 0


def test_buildings_can_be_typed(desk: Callable[..., Console], services: Services) -> None:
    desk("管理员").post("/console/notices/new", _form(buildings=["箭盘校区/学生公寓1栋， 箭盘校区/学生公寓2栋"]))
    with services.db.session() as s:
        n = s.scalars(select(Notice)).one()
        assert n.buildings == [["箭盘校区", "学生公寓1栋"], ["箭盘校区", "学生公寓2栋"]] and n.campus == "箭盘校区"


def _template_send_answers(wechat_api: responses.RequestsMock, errors: dict[str, int]) -> None:
    """Answer template sends per openid: an error code for some, ok for the others."""
    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        openid = json.loads(request.body)["touser"]
        if openid in errors:
            return 200, {}, json.dumps({"errcode": errors[openid], "errmsg": "require subscribe"})
        return 200, {}, json.dumps({"errcode": 0, "errmsg": "ok", "msgid": 2000 + len(openid)})

    wechat_api.remove(responses.POST, API + "message/template/send")
    wechat_api.add_callback(responses.POST, API + "message/template/send", callback=answer,
                            content_type="application/json")


def test_push_a_notice_and_count_the_results(desk: Callable[..., Console], services: Services,
                                             wechat_api: responses.RequestsMock,
                                             run_jobs: Callable[[], int]) -> None:
    for openid in ("o-12-a", "o-12-b", "o-12-gone"):
        make_resident(services, openid, "学生公寓12栋")
    make_resident(services, "o-12-unsubscribed", "学生公寓12栋", subscribed=False)
    make_resident(services, "o-7", "学生公寓7栋")
    _template_send_answers(wechat_api, {"o-12-gone": 43004})
    notice_id = _notice(services, buildings=[["东环校区", "学生公寓12栋"]], groups=["给水"],
                        ends_at=now() + timedelta(hours=4))
    admin = desk("管理员")
    page = text(admin.get(f"/console/notices/{notice_id}"))
    assert "将推送给 <b class=\"audience\">3</b> 位用户" in page and "推送给住户" in page
    page = text(admin.post(f"/console/notices/{notice_id}/push"))
    assert "已开始推送通知「12栋停水检修」：共 3 位用户" in page
    counts = _counts(page)
    assert counts == {"sent": 0, "failed": 0, "pending": 3}
    run_jobs()
    page = text(admin.get(f"/console/notices/{notice_id}"))
    assert _counts(page) == {"sent": 2, "failed": 1, "pending": 0}
    assert "o-12-gone" in page and "43004" in page  # the failed one is named, with its error
    assert sorted(m["touser"] for m in sent_templates(wechat_api)) == ["o-12-a", "o-12-b", "o-12-gone"]
    assert "已发送 2 / 失败 1 / 待发送 0" in text(admin.get("/console/notices"))
    # Once only.
    assert "已经推送过了" in text(admin.post(f"/console/notices/{notice_id}/push"))
    assert run_jobs() == 0
    with services.db.session() as s:
        assert s.scalar(select(func.count(Push.id)).where(Push.notice_id == notice_id)) == 3


def _counts(page: str) -> dict[str, int]:
    found = {k: re.search(rf'class="count-{k}">(\d+)<', page) for k in ("sent", "failed", "pending")}
    return {k: int(m.group(1)) for k, m in found.items() if m}


def test_what_cannot_be_pushed(desk: Callable[..., Console], services: Services) -> None:
    admin = desk("管理员")
    campus_wide = _notice(services, campus="东环校区")
    page = text(admin.post(f"/console/notices/{campus_wide}/push"))
    assert "只有指定了楼栋的通知可以推送" in page
    empty = _notice(services, buildings=[["柳石校区", "学生公寓6栋"]])
    assert "没有需要推送的用户" in text(admin.post(f"/console/notices/{empty}/push"))
    make_resident(services, "o-12", "学生公寓12栋")
    ended = _notice(services, buildings=[["东环校区", "学生公寓12栋"]], starts_at=now() - timedelta(days=2),
                    ends_at=now() - timedelta(days=1))
    assert "已结束，不再推送" in text(admin.post(f"/console/notices/{ended}/push"))
    with services.db.session() as s:
        assert s.scalar(select(func.count(Push.id))) == 0
        assert all(n.pushed_at is None for n in s.scalars(select(Notice)))


def test_end_a_notice_now(desk: Callable[..., Console], services: Services) -> None:
    notice_id = _notice(services, ends_at=now() + timedelta(hours=4))
    admin = desk("管理员")
    page = text(admin.post(f"/console/notices/{notice_id}/end"))
    assert "通知「12栋停水检修」已结束" in page and "已结束" in page
    with services.db.session() as s:
        n = s.get(Notice, notice_id)
        assert n is not None and n.ends_at is not None and n.ends_at <= now()
    assert "已经结束了" in text(admin.post(f"/console/notices/{notice_id}/end"))
