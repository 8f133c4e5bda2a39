"""Screens that only show things (我的报修's list and a ticket, 个人信息, 查看历史, the rating list) are not forms:
what does not answer them goes where it would go with no dialog open, without asking; what answers them
(a list number, a ticket number, an action's name) still does."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from core.services import Services
from devtools.chat import WeChatUser
from dialogs.registry import DIALOGS
from models.consult import close_consult, get_consult
from tests.support.chat import choose
from tests.support.consults import make_consult
from tests.support.tickets import count_tickets, make_ticket, stored

# The steps that only show something; every other step asks a question whose answer could be lost.
READ_ONLY = {("my_tickets", "list"), ("my_tickets", "detail"), ("profile", "show"), ("rate", "pick"),
             ("consult_history", "range"), ("consult_history", "list"), ("consult_history", "entry"),
             ("ticket_message", "pick"), ("ticket_withdraw", "pick")}


def state(services: Services, openid: str) -> dict[str, object]:
    return json.loads(services.redis.get(f"dlg:{openid}") or b"{}")


def at_my_tickets(wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services,
                  openid: str) -> tuple[WeChatUser, str]:
    bound(openid)
    no = make_ticket(services, openid, building="学生公寓3栋")
    user = wechat(openid)
    assert no in user.text("我的报修").text
    return user, no


def test_the_engine_knows_which_steps_only_show() -> None:
    """The declaration is on the steps themselves: the screens above, and no form step."""
    declared = {(d.name, s.name) for d in DIALOGS for s in d.steps if s.read_only}
    assert declared == READ_ONLY


def test_a_greeting_at_the_list_greets(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                       services: Services) -> None:
    user, _ = at_my_tickets(wechat, bound, services, "o-ro-hello")
    reply = user.text("你好").text
    assert "张三" in reply and "欢迎" in reply and "找不到" not in reply
    assert state(services, "o-ro-hello").get("flow") is None  # the list is put away


def test_a_report_at_the_list_starts_a_repair(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                              services: Services) -> None:
    user, _ = at_my_tickets(wechat, bound, services, "o-ro-report")
    reply = user.text("12栋502水龙头一直滴水").text
    assert "找不到" not in reply and "要离开吗" not in reply
    assert state(services, "o-ro-report").get("flow") == "repair"


def test_a_menu_click_at_the_list_opens_it_without_asking(wechat: Callable[..., WeChatUser],
                                                          bound: Callable[..., None], services: Services) -> None:
    user, _ = at_my_tickets(wechat, bound, services, "o-ro-click")
    reply = user.click("PROFILE").text
    assert "要离开吗" not in reply and "姓名：张三" in reply
    assert "要离开吗" not in user.text("我的报修").text  # and a menu word from 个人信息 too
    assert "维修类型" in user.click("REPAIR").text


def test_a_photo_at_the_list_starts_a_repair_with_it(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                     services: Services) -> None:
    user, _ = at_my_tickets(wechat, bound, services, "o-ro-photo")
    assert "收到照片" in user.image(media_id="MEDIA-RO").text
    assert state(services, "o-ro-photo").get("flow") == "repair"


@pytest.mark.parametrize("typed", ["9", "０"])
def test_numbers_still_answer_the_list(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                       services: Services, typed: str) -> None:
    """Out of range, a number is still about the list: it is told what range there is."""
    user, _ = at_my_tickets(wechat, bound, services, f"o-ro-num{typed}")
    assert f"没有第 {int(typed)} 项" in user.text(typed).text
    assert state(services, f"o-ro-num{typed}").get("step") == "list"


def test_a_ticket_number_still_opens_it(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                        services: Services) -> None:
    user, no = at_my_tickets(wechat, bound, services, "o-ro-no")
    assert user.text("R999999999").text.startswith("这张单找不到了")  # a number that is not theirs
    assert user.text(no.lower()).text.startswith(f"{no}  提交维修单")


def test_a_ticket_page_lets_go_too(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                   services: Services) -> None:
    user, _ = at_my_tickets(wechat, bound, services, "o-ro-detail")
    user.text("1")
    assert "请输入留言" in user.text("留言").text  # an action's name answers the page
    bound("o-ro-detail2")
    other = wechat("o-ro-detail2")
    make_ticket(services, "o-ro-detail2")
    other.text("我的报修")
    other.text("1")
    assert "维修类型" in other.text("报修").text


def test_rating_on_a_ticket_page_rates_that_ticket(wechat: Callable[..., WeChatUser],
                                                   bound: Callable[..., None], services: Services) -> None:
    """「评价 5」 typed on an older completed ticket's page rates the ticket shown, not the latest one."""
    bound("o-ro-rate")
    older = make_ticket(services, "o-ro-rate", moved_to="completed", age=timedelta(hours=2))
    newer = make_ticket(services, "o-ro-rate", moved_to="completed")
    user = wechat("o-ro-rate")
    user.text("我的报修")
    assert user.text(older).text.startswith(older)
    assert f"{older} 已评 5 星" in user.text("评价 5 很快").text
    assert stored(services, older).rating == 5 and stored(services, newer).rating is None


def test_free_text_at_the_profile_starts_a_repair(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                  services: Services) -> None:
    bound("o-ro-prof")
    user = wechat("o-ro-prof")
    assert "姓名：张三" in user.text("个人信息").text
    reply = user.text("宿舍灯不亮了").text
    assert "请回复列表前的数字" not in reply
    assert state(services, "o-ro-prof").get("flow") in ("repair", "did_you_mean")
    assert count_tickets(services) == 0  # nothing filed without its 确认


def test_no_pause_question_at_a_screen(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                       services: Services) -> None:
    """Back after a long while at the list, a number still opens the ticket (nothing was unfinished)."""
    user, no = at_my_tickets(wechat, bound, services, "o-ro-pause")
    raw = state(services, "o-ro-pause")
    raw["updated"] = float(raw["updated"]) - 3 * 3600  # type: ignore[arg-type]
    services.redis.set("dlg:o-ro-pause", json.dumps(raw))
    reply = user.text("1").text
    assert reply.startswith(f"{no}  提交维修单") and "未完成" not in reply


def test_forms_still_ask_before_leaving(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    """A form with answers in it is not a screen: a menu click there still asks."""
    bound("o-ro-form")
    user = wechat("o-ro-form")
    user.text("报修")
    choose(user, "东环校区宿舍维修")
    assert "要离开吗" in user.click("MY_TICKETS").text


def test_history_entry_opens_with_its_replies(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                              services: Services) -> None:
    """A number in the history list opens that complaint: its words, status, the replies and the close note."""
    bound("o-ro-hist", "20260002")
    first = make_consult(services, openid="o-ro-hist", title="二食堂饭菜偏咸", reply="已和厨师沟通",
                         age=timedelta(days=2))
    second = make_consult(services, openid="o-ro-hist", kind="建议", title="图书馆延长开放", suggestion=None,
                          description="希望期末图书馆开到十二点")
    with services.db.session() as s:
        close_consult(s, get_consult(s, first), by="staff:admin", note="已整改，盐量减半")
    user = wechat("o-ro-hist")
    user.text("查看历史")
    listed = choose(user, "最近7天")
    assert "回复数字查看" in listed and first in listed and second in listed
    assert listed.index(second) < listed.index(first)  # newest first
    entry = user.text("2").text
    assert entry.startswith(f"{first}  投诉·已办结")
    for shown in ("最近一周二食堂的青菜和汤都特别咸", "建议：希望少放点盐", "回复：已和厨师沟通",
                  "已办结：已整改，盐量减半"):
        assert shown in entry
    listed_again = choose(user, "返回列表")
    assert first in listed_again
    entry = user.text("1").text
    assert "希望期末图书馆开到十二点" in entry and "还没有回复" in entry
    assert "没有第 5 项" in user.text("5").text
    assert state(services, "o-ro-hist").get("flow") == "consult_history"
    reply = user.text("图书馆的灯坏了").text  # not about the history: taken as from idle
    assert "没有第" not in reply
    assert state(services, "o-ro-hist").get("flow") in ("repair", "did_you_mean")


def test_history_range_question_lets_go_of_a_report(wechat: Callable[..., WeChatUser],
                                                    bound: Callable[..., None], services: Services) -> None:
    bound("o-ro-range")
    user = wechat("o-ro-range")
    user.text("查看历史")
    assert "没看懂这个时间范围" in user.text("上上个礼拜左右").text  # reads as a range: about the question
    assert "要离开吗" not in user.click("NOTICES").text
    user.text("查看历史")
    user.text("你好")
    assert state(services, "o-ro-range").get("flow") is None


def test_a_ticket_number_anywhere_opens_it(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                           services: Services) -> None:
    """With no list open, or on another ticket's page, a ticket number opens that ticket — only the user's own."""
    bound("o-ro-anywhere")
    first = make_ticket(services, "o-ro-anywhere")
    second = make_ticket(services, "o-ro-anywhere", building="学生公寓3栋")
    theirs = make_ticket(services, "o-someone-else")
    user = wechat("o-ro-anywhere")
    assert user.text(first).text.startswith(f"{first}  提交维修单")
    assert user.text(second).text.startswith(f"{second}  提交维修单")  # from the first one's page
    reply = user.text(theirs).text
    assert "没有找到您的报修单" in reply and "水龙头关不紧" not in reply
