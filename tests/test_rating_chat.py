"""Rating and 还没修好 in chat, through the real webhook: the short commands and the 评价 dialog."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import responses

from core.services import Services
from devtools.chat import WeChatUser
from dialogs.rate import RateCommand, ReworkCommand, parse_command
from dialogs.store import DialogStore
from models.tickets import get_ticket, move
from tests.support.chat import choose
from tests.support.tickets import make_ticket, stored
from tests.support.wechat_api import sent_templates


def closes(services: Services, no: str) -> int:
    return [e.status for e in stored(services, no).events].count("closed")


# -- reading the commands (pure) ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, command", [
    ("评价 5", RateCommand(None, 5, "")),
    ("评价5", RateCommand(None, 5, "")),
    ("评价 5 修得很快", RateCommand(None, 5, "修得很快")),
    ("评价 ５，修得很快！", RateCommand(None, 5, "修得很快！")),
    ("评价 4星 师傅很耐心", RateCommand(None, 4, "师傅很耐心")),
    ("评价 五星", RateCommand(None, 5, "")),
    ("评价 R261127001 4", RateCommand("R261127001", 4, "")),
    ("评价r261127001 2 来晚了", RateCommand("R261127001", 2, "来晚了")),
    ("评价 R261127001", RateCommand("R261127001", None, "")),
    ("评价", RateCommand(None, None, "")),
    ("评价 6", RateCommand(None, 6, "")),
    ("没修好 还在滴水", ReworkCommand(None, "还在滴水")),
    ("还没修好，还在滴水", ReworkCommand(None, "还在滴水")),
    ("没修好 R261127001 水还在滴", ReworkCommand("R261127001", "水还在滴")),
    ("没修好", ReworkCommand(None, "")),
    ("评价一下", None),
    ("评价很好", None),
    ("评价 5分钟就修好了", None),
    ("12栋502水龙头坏了", None),
    ("评价 " + "5" * 5000, None),
    ("", None),
])
def test_parse_command(text: str, command: RateCommand | ReworkCommand | None) -> None:
    """What the completion push suggests is read; ordinary sentences are not commands."""
    assert parse_command(text) == command


# -- the short commands ---------------------------------------------------------------------------------------

def test_rate_applies_to_the_most_recently_completed_ticket(wechat: Callable[..., WeChatUser],
                                                            services: Services) -> None:
    """「评价 5」 rates the ticket completed last; 「评价 5 修得很快」 the next one, keeping the words."""
    older = make_ticket(services, "o-rc-latest", moved_to="completed")
    newer = make_ticket(services, "o-rc-latest", moved_to="completed")
    open_one = make_ticket(services, "o-rc-latest", moved_to="in_progress")
    user = wechat("o-rc-latest")
    reply = user.text("评价 5").text
    assert f"谢谢您的评价！{newer} 已评 5 星" in reply and "还有 1 张" in reply
    t = stored(services, newer)
    assert (t.status, t.rating, t.rating_comment) == ("closed", 5, None)
    assert stored(services, older).status == "completed"
    reply = user.text("评价 4 修得很快").text
    assert f"{older} 已评 4 星" in reply and "还有" not in reply
    t = stored(services, older)
    assert (t.status, t.rating, t.rating_comment) == ("closed", 4, "修得很快")
    assert t.events[-1].note == "评价 4 星：修得很快"
    assert stored(services, open_one).status == "in_progress"
    assert "没有待评价" in user.text("评价 5").text


def test_rate_a_named_ticket(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """「评价 R… 4」 rates that ticket, not the latest."""
    named = make_ticket(services, "o-rc-named", moved_to="completed")
    latest = make_ticket(services, "o-rc-named", moved_to="completed")
    reply = wechat("o-rc-named").text(f"评价 {named} 4").text
    assert f"{named} 已评 4 星" in reply
    assert (stored(services, named).status, stored(services, named).rating) == ("closed", 4)
    assert stored(services, latest).status == "completed"


def test_low_stars_need_a_reason(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """「评价 1」 asks why; 「无」 is not enough for 1 star; the reason closes the ticket."""
    no = make_ticket(services, "o-rc-low", moved_to="completed")
    user = wechat("o-rc-low")
    reply = user.text("评价 1").text
    assert "哪里不满意（必填）" in reply
    assert stored(services, no).status == "completed"
    assert "需要写明原因" in user.text("无").text
    reply = user.text("师傅没来，自己修的").text
    assert "谢谢您的评价" in reply and "转给后勤管理处" in reply
    t = stored(services, no)
    assert (t.status, t.rating, t.rating_comment) == ("closed", 1, "师傅没来，自己修的")


def test_low_stars_with_a_reason_at_once(wechat: Callable[..., WeChatUser], services: Services) -> None:
    no = make_ticket(services, "o-rc-low2", moved_to="completed")
    reply = wechat("o-rc-low2").text("评价 2 等了三天才来").text
    assert f"{no} 已评 2 星" in reply
    assert (stored(services, no).rating, stored(services, no).rating_comment) == (2, "等了三天才来")


def test_not_fixed_sends_the_latest_completed_back(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """「没修好 还在滴水」 sends the latest completed ticket back to 受理, with the words on the timeline."""
    no = make_ticket(services, "o-rc-rework", moved_to="completed")
    reply = wechat("o-rc-rework").text("没修好 还在滴水").text
    assert f"{no} 已重新受理" in reply
    t = stored(services, no)
    assert t.status == "accepted"
    assert (t.events[-1].by, t.events[-1].note) == ("user:o-rc-rework", "还没修好：还在滴水")
    assert "没有「维修完成」的报修单" in wechat("o-rc-rework").text("没修好 还是不行").text


def test_not_fixed_without_words_asks_what(wechat: Callable[..., WeChatUser], services: Services) -> None:
    no = make_ticket(services, "o-rc-rework2", moved_to="completed")
    user = wechat("o-rc-rework2")
    reply = user.text("还没修好").text
    assert f"请说说 {no}" in reply and "哪里还没修好" in reply
    assert stored(services, no).status == "completed"
    assert "已重新受理" in user.text("水龙头还是关不紧").text
    assert stored(services, no).events[-1].note == "还没修好：水龙头还是关不紧"


def test_nothing_to_rate(wechat: Callable[..., WeChatUser], services: Services) -> None:
    make_ticket(services, "o-rc-none", moved_to="in_progress")
    reply = wechat("o-rc-none").text("评价 5").text
    assert "没有待评价的报修单" in reply


@pytest.mark.parametrize("status, said", [("in_progress", "维修完成后才能评价"), ("cancelled", "已经「已撤销」")])
def test_a_named_ticket_not_ready(wechat: Callable[..., WeChatUser], services: Services, status: str,
                                  said: str) -> None:
    no = make_ticket(services, "o-rc-early", moved_to="in_progress" if status == "in_progress" else "submitted")
    if status == "cancelled":
        with services.db.session() as s:
            move(s, get_ticket(s, no), "cancelled", by="user:o-rc-early", role="reporter")
    reply = wechat("o-rc-early").text(f"评价 {no} 5").text
    assert said in reply
    assert stored(services, no).status == status


def test_someone_elses_ticket_cannot_be_rated(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """Naming another reporter's ticket says nothing about it and changes nothing."""
    no = make_ticket(services, "o-rc-owner", moved_to="completed", description="别人的水龙头")
    reply = wechat("o-rc-stranger").text(f"评价 {no} 1 差评").text
    assert f"没有找到您报的单 {no}" in reply and "别人的水龙头" not in reply
    reply = wechat("o-rc-stranger").text(f"没修好 {no} 捣乱").text
    assert "没有找到您报的单" in reply
    t = stored(services, no)
    assert (t.status, t.rating) == ("completed", None)


def test_a_rated_ticket_says_so(wechat: Callable[..., WeChatUser], services: Services) -> None:
    no = make_ticket(services, "o-rc-again", moved_to="completed")
    user = wechat("o-rc-again")
    user.text("评价 5")
    assert f"{no} 已经评价过了（5 星）" in user.text(f"评价 {no} 1 改个差评").text
    assert stored(services, no).rating == 5


def test_a_retried_rating_closes_once(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """WeChat's retry of 「评价 5」 gets the same answer and no second close."""
    no = make_ticket(services, "o-rc-retry", moved_to="completed")
    user = wechat("o-rc-retry")
    first = user.text("评价 5")
    assert user.retry().text == first.text
    assert closes(services, no) == 1


def test_the_completion_push_then_the_rating(wechat: Callable[..., WeChatUser], services: Services,
                                             run_jobs: Callable[[], int],
                                             wechat_api: responses.RequestsMock) -> None:
    """The reporter is pushed 维修完成, answers 「评价 5 修得很快」, and the ticket is closed with it."""
    no = make_ticket(services, "o-rc-push", moved_to="completed")
    run_jobs()
    pushed = [p for p in sent_templates(wechat_api) if p["touser"] == "o-rc-push"]
    assert pushed[-1]["data"]["phrase2"]["value"] == "维修完成"
    assert pushed[-1]["data"]["character_string1"]["value"] == no
    assert "谢谢您的评价" in wechat("o-rc-push").text("评价 5 修得很快").text
    assert stored(services, no).status == "closed"


# -- commands and dialogs in progress --------------------------------------------------------------------------

def test_inside_a_live_dialog_the_dialog_answers(wechat: Callable[..., WeChatUser], bound: Callable[..., None],
                                                 services: Services) -> None:
    """In the middle of a repair form, 「评价 5」 is an answer to the form, not a rating."""
    no = make_ticket(services, "o-rc-live", moved_to="completed")
    bound("o-rc-live")
    user = wechat("o-rc-live")
    assert "维修类型" in user.text("报修").text
    reply = user.text("评价 5").text
    assert "谢谢" not in reply
    assert stored(services, no).status == "completed"


def test_after_a_pause_the_command_wins_and_the_form_is_kept(wechat: Callable[..., WeChatUser],
                                                             bound: Callable[..., None], services: Services) -> None:
    """A form left for long: the command from the push is carried out, then the user is asked about the form."""
    no = make_ticket(services, "o-rc-pause", moved_to="completed")
    bound("o-rc-pause")
    user = wechat("o-rc-pause")
    assert "维修类型" in user.text("报修").text
    key = DialogStore.state_key("o-rc-pause")
    state = json.loads(services.redis.get(key) or b"{}")
    state["updated"] = time.time() - services.config.dialog_pause_s - 60
    services.redis.set(key, json.dumps(state, ensure_ascii=False))
    reply = user.text("评价 5").text
    assert "谢谢您的评价" in reply and "未完成的报修单" in reply and "回复 1 继续填写" in reply
    assert stored(services, no).status == "closed"
    assert "维修类型" in user.text("1").text  # the form is still there


# -- the dialog: 我的报修 → a ticket → 评价, and the menu's 维修评价 -------------------------------------------

def test_rate_from_my_tickets(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """我的报修 → the ticket → 评价 → stars → comment (「无」 skips it for 3+ stars) → closed, and shown."""
    no = make_ticket(services, "o-rc-dialog", moved_to="completed")
    user = wechat("o-rc-dialog")
    user.text("我的报修")
    reply = user.text("1").text
    assert reply.startswith(f"{no}  维修完成")
    reply = choose(user, "评价")
    assert f"请为 {no}" in reply and "1 ★ 很不满意" in reply and "5 ★★★★★ 非常满意" in reply
    assert "选填" in user.text("4").text
    reply = user.text("无").text
    assert f"{no} 已评 4 星" in reply
    t = stored(services, no)
    assert (t.status, t.rating, t.rating_comment) == ("closed", 4, None)
    user.text("我的报修")
    reply = user.text("1").text
    assert reply.startswith(f"{no}  已销单") and "评价：4 星" in reply
    assert "评价 4 星" in reply  # on the timeline too
    assert "1 评价" not in reply and "还没修好" not in reply.split("进度")[0]


def test_low_rating_in_the_dialog_needs_a_reason(wechat: Callable[..., WeChatUser], services: Services) -> None:
    no = make_ticket(services, "o-rc-dialog-low", moved_to="completed")
    user = wechat("o-rc-dialog-low")
    user.text("我的报修")
    user.text("1")
    choose(user, "评价")
    assert "必填" in user.text("2").text
    assert "需要写明原因" in user.text("没有").text
    assert f"请为 {no}" in user.text("返回").text  # back to the stars
    reply = user.text("1 一直没人来").text  # stars and the reason in one message
    assert f"{no} 已评 1 星" in reply
    assert (stored(services, no).rating, stored(services, no).rating_comment) == (1, "一直没人来")


def test_not_fixed_from_my_tickets(wechat: Callable[..., WeChatUser], services: Services) -> None:
    no = make_ticket(services, "o-rc-dialog-rework", moved_to="completed")
    user = wechat("o-rc-dialog-rework")
    user.text("我的报修")
    user.text("1")
    assert "哪里还没修好" in choose(user, "还没修好")
    assert "已重新受理" in user.text("还在滴").text
    assert stored(services, no).status == "accepted"


def test_rate_menu_lists_the_completed_tickets(wechat: Callable[..., WeChatUser], services: Services) -> None:
    """The menu's 维修评价 asks which ticket when there are several, then the stars."""
    first = make_ticket(services, "o-rc-menu", moved_to="completed")
    second = make_ticket(services, "o-rc-menu", moved_to="completed")
    user = wechat("o-rc-menu")
    reply = user.click("RATE").text
    assert "请选择要评价的报修单" in reply and first in reply and second in reply
    reply = user.text(first).text
    assert f"请为 {first}" in reply
    assert f"{first} 已评 5 星" in user.text("5 很好").text
    assert stored(services, first).rating_comment == "很好"
    reply = user.text("评价").text  # one left: straight to the stars
    assert f"请为 {second}" in reply


def test_rate_menu_with_nothing_to_rate(wechat: Callable[..., WeChatUser], services: Services) -> None:
    reply = wechat("o-rc-menu-none").click("RATE").text
    assert "没有待评价的报修单" in reply
