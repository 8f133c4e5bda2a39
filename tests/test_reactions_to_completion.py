"""What a reporter says, in their own words, about a repair just completed — and at the rating screens —
acts on that ticket: thanks are offered the rating, "still broken" sends it back, a complaint names it.
Through the real webhook; tickets made as staff would move them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.services import Services
from devtools.chat import WeChatUser
from dialogs.rate import reaction_kind, stars_in_words
from models.tickets import Ticket, TicketEvent
from tests.support.tickets import count_tickets, make_ticket, stored

Chat = Callable[..., WeChatUser]
Bind = Callable[..., None]


def test_thanks_are_offered_the_rating_of_the_ticket_just_completed(wechat: Chat, bound: Bind,
                                                                   services: Services) -> None:
    bound("o-thanks")
    no = make_ticket(services, "o-thanks", moved_to="completed")
    user = wechat("o-thanks")
    reply = user.text("修好了 谢谢师傅").text
    assert no in reply and "「评价 5" in reply and "投诉" not in reply
    assert "已评 5 星" in user.text("评价 5").text  # the commands still work


def test_still_broken_sends_the_ticket_back_with_the_words(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-still")
    no = make_ticket(services, "o-still", moved_to="completed", group="排水", item=None, description="下水道堵了")
    before = count_tickets(services)
    reply = wechat("o-still").text("还是堵的").text
    assert no in reply and "重新维修" in reply and "还是堵的" in reply
    t = stored(services, no)
    assert t.status != "completed" and "还是堵的" in (t.events[-1].note or "")
    assert count_tickets(services) == before  # no new repair


def test_nobody_came_sends_the_ticket_back(wechat: Chat, bound: Bind, services: Services) -> None:
    for openid, said in (("o-nobody-1", "师傅根本没来 怎么就显示完成了"), ("o-nobody-2", "师傅说来了又没来")):
        bound(openid)
        no = make_ticket(services, openid, moved_to="completed")
        reply = wechat(openid).text(said).text
        assert no in reply and "重新维修" in reply, reply
        assert stored(services, no).status != "completed"


def test_a_complaint_about_the_service_names_the_ticket(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-rude")
    no = make_ticket(services, "o-rude", moved_to="completed")
    user = wechat("o-rude")
    user.text("师傅态度很差")
    reply = user.last_reply
    assert "投诉" in reply
    summary = user.text("1").text if "匿名" in reply else reply
    for _ in range(3):
        if "请核对" in summary:
            break
        summary = user.text("1").text
    assert no in summary and "类型：投诉" in summary


def test_the_same_fault_again_asks_whether_it_is_that_ticket(wechat: Chat, bound: Bind,
                                                            services: Services) -> None:
    bound("o-again")
    no = make_ticket(services, "o-again", moved_to="completed")
    user = wechat("o-again")
    reply = user.text("12栋502水龙头漏水").text
    assert no in reply and "还没修好吗" in reply
    assert "重新维修" in user.text("1").text
    assert stored(services, no).status != "completed"


def test_the_same_fault_again_can_be_a_new_report(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-again-2")
    no = make_ticket(services, "o-again-2", moved_to="completed")
    user = wechat("o-again-2")
    user.text("12栋502水龙头漏水")
    reply = user.text("2").text
    assert "还没修好" not in reply and no not in reply
    assert stored(services, no).status == "completed"


def test_without_a_recent_completion_words_go_as_before(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-none")
    make_ticket(services, "o-none", moved_to="in_progress")
    reply = wechat("o-none").text("还是堵的").text
    assert "重新维修" not in reply


@pytest.mark.parametrize("text, kind", [
    ("修好了 谢谢师傅", "praise"), ("很快 师傅态度好", "praise"), ("还是堵的", "rework"), ("没修好 还在闪", "rework"),
    ("师傅根本没来 怎么就显示完成了", "rework"), ("师傅说来了又没来", "rework"), ("不满意", "complaint"),
    ("师傅态度很差", "complaint"), ("图书馆的灯坏了", None),
])
def test_reaction_kind(text: str, kind: str | None) -> None:
    assert reaction_kind(text) == kind


@pytest.mark.parametrize("text, stars", [
    ("满意", 5), ("很满意", 5), ("非常好", 5), ("还行", 3), ("一般", 3), ("不满意", 2), ("很差", 1),
    ("很不满意", 1), ("不错", 4), ("很快 师傅态度好", None),
])
def test_stars_in_words(text: str, stars: int | None) -> None:
    assert stars_in_words(text) == stars


def test_a_new_report_at_the_list_leaves_it(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-list-4")
    two_completed(services, "o-list-4")
    user = wechat("o-list-4")
    user.text("评价")
    reply = user.text("图书馆三楼的灯坏了").text
    assert "打分" not in reply and "请选择要评价" not in reply


# -- the rating list and the star step --------------------------------------------------------------------

def two_completed(services: Services, openid: str) -> tuple[str, str]:
    lamp = make_ticket(services, openid, moved_to="completed", group="照明", item="灯管", description="灯管一闪一闪")
    tap = make_ticket(services, openid, moved_to="completed")
    return lamp, tap


def test_words_at_the_list_pick_the_ticket_they_describe(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-list-1")
    lamp, tap = two_completed(services, "o-list-1")
    user = wechat("o-list-1")
    assert "请选择要评价的报修单" in user.text("评价").text
    reply = user.text("灯管那个").text
    assert lamp in reply and "打分" in reply
    assert "还有什么想说" in user.text("满意").text
    assert f"{lamp} 已评 5 星" in user.text("无").text
    assert stored(services, tap).status == "completed" and count_tickets(services) == 2


def test_a_comment_at_the_list_is_kept_and_the_stars_asked(wechat: Chat, bound: Bind,
                                                          services: Services) -> None:
    bound("o-list-2")
    lamp, tap = two_completed(services, "o-list-2")
    user = wechat("o-list-2")
    user.text("评价")
    reply = user.text("很快 师傅态度好").text
    assert "很快 师傅态度好" in reply and "打分" in reply and "投诉" not in reply
    reply = user.text("5").text
    assert "已评 5 星" in reply
    rated = [t for t in (stored(services, lamp), stored(services, tap)) if t.rating]
    assert [t.rating_comment for t in rated] == ["很快 师傅态度好"]


def test_not_fixed_at_the_list_sends_the_described_ticket_back(wechat: Chat, bound: Bind,
                                                               services: Services) -> None:
    bound("o-list-3")
    lamp, tap = two_completed(services, "o-list-3")
    user = wechat("o-list-3")
    user.text("评价")
    reply = user.text("没修好 还在闪").text
    assert lamp in reply and "重新维修" in reply and "还在闪" in reply
    assert stored(services, lamp).status != "completed" and stored(services, tap).status == "completed"


def test_words_at_the_star_step(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-stars")
    first = make_ticket(services, "o-stars", moved_to="completed")
    user = wechat("o-stars")
    assert "打分" in user.text("评价").text
    reply = user.text("很快 师傅态度好").text
    assert "很快 师傅态度好" in reply and "评分是 1 到 5" not in reply
    assert f"{first} 已评 5 星" in user.text("满意").text
    assert stored(services, first).rating_comment == "很快 师傅态度好"
    second = make_ticket(services, "o-stars", moved_to="completed")
    user.text("评价")
    assert "还有什么想说" in user.text("很满意").text
    assert f"{second} 已评 5 星" in user.text("无").text
    third = make_ticket(services, "o-stars", moved_to="completed")
    user.text("评价")
    assert "哪里不满意" in user.text("不满意").text
    assert f"{third} 已评 2 星" in user.text("等了三天才来").text
    fourth = make_ticket(services, "o-stars", moved_to="completed")
    user.text("评价")
    assert "重新维修" in user.text("没修好 还在滴").text
    assert stored(services, fourth).status != "completed"


# -- questions to the desk --------------------------------------------------------------------------------

def test_questions_about_campus_services_are_a_consult(wechat: Chat, bound: Bind) -> None:
    bound("o-ask")
    user = wechat("o-ask")
    for said in ("请问暑假宿舍能不能留宿", "我想咨询一下暑假能不能留宿"):
        reply = user.text(said).text
        assert "没看懂" not in reply and "咨询" in reply, reply
        user.text("取消")
    reply = user.text("咨询").text
    assert "标题" in reply and "没看懂" not in reply
    reply = user.text("请问暑假宿舍能不能留宿").text
    assert "哪一类" not in reply and "部门" in reply  # a title asking 「请问…」 is a 咨询: the kind is not asked
    user.text("取消")
    reply = user.text("请问宿舍灯坏了怎么办").text
    assert "咨询" not in reply  # a fault asked about is still a repair


def test_a_title_asking_through_the_menu_is_a_question(wechat: Chat, bound: Bind) -> None:
    bound("o-ask-2")
    user = wechat("o-ask-2")
    assert "标题" in user.click("CONSULT").text
    reply = user.text("请问暑假宿舍能不能留宿").text
    assert "哪一类" not in reply and "部门" in reply


# -- smaller things ---------------------------------------------------------------------------------------

def test_a_ticket_number_inside_a_sentence_opens_that_ticket(wechat: Chat, bound: Bind,
                                                            services: Services) -> None:
    bound("o-no-in")
    make_ticket(services, "o-no-in")
    no = make_ticket(services, "o-no-in", moved_to="accepted")
    reply = wechat("o-no-in").text(f"{no}什么时候修").text
    assert reply.startswith(no) and "请选择" not in reply


def test_a_withdrawn_ticket_offers_no_message(wechat: Chat, bound: Bind, services: Services) -> None:
    bound("o-wd-msg")
    no = make_ticket(services, "o-wd-msg", status="cancelled")
    open_one = make_ticket(services, "o-wd-msg")
    user = wechat("o-wd-msg")
    assert "留言" not in user.text(no).text
    assert "留言" in user.text(open_one).text


def test_a_smoking_socket_is_not_recorded_as_no_power(wechat: Chat, bound: Bind) -> None:
    bound("o-smoke")
    reply = wechat("o-smoke").text("12栋502插座冒烟了").text
    assert "冒烟" in reply and "没电" not in reply


def test_a_repair_completed_long_ago_is_not_what_words_are_about(wechat: Chat, bound: Bind,
                                                                 services: Services) -> None:
    bound("o-old")
    no = make_ticket(services, "o-old", moved_to="completed", group="排水", item=None, description="下水道堵了")
    with services.db.session() as s:
        ticket = s.get_one(Ticket, stored(services, no).id)
        for event in ticket.events:
            s.execute(update(TicketEvent).where(TicketEvent.id == event.id).values(at=event.at - timedelta(days=5)))
    reply = wechat("o-old").text("还是堵的").text
    assert "重新维修" not in reply and stored(services, no).status == "completed"
