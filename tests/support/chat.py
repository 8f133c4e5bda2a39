"""The dialog driver: a WeChat user that signs what it sends, and the steps tests take to chat with the bot.

Messages go to the real webhook over HTTP, signed (or encrypted, in safe mode) as WeChat's servers do;
the helpers read the bot's replies the way a person would, by the words and numbers on the screen.
"""

from __future__ import annotations

from devtools.chat import WeChatUser
from tests.support.constants import AES_KEY, APPID, TOKEN
from tests.support.tickets import DESCRIPTION

# The structured path to a dripping tap in 东环校区 学生公寓12栋 (the floor and room are typed).
DORM_TAP = ("东环校区宿舍维修", "给水", "水龙头", "学生公寓12栋")


def wechat_user(base_url: str, openid: str = "o-student-1", *, safe: bool = True, token: str = TOKEN) -> WeChatUser:
    """A WeChat user of the app served at base_url: safe mode (encrypted), as WeChat talks to an account with an
    AES key (the test config has one), or plain mode with safe=False (refused by such an account)."""
    return WeChatUser(f"{base_url}/wechat", token, openid, aes_key=AES_KEY if safe else "",
                      appid=APPID if safe else "")


def say(user: WeChatUser, text: str) -> str:
    """Send a line of text; return the bot's reply."""
    return user.text(text).text


def choose(user: WeChatUser, label: str) -> str:
    """Answer a numbered list by the number of the line that shows `label`."""
    answer = user.last_reply
    for line in answer.splitlines():
        number, _, text = line.partition(" ")
        if number.isdigit() and text == label:
            return say(user, number)
    raise AssertionError(f"{label!r} not offered in:\n{answer}")


def start_repair(user: WeChatUser) -> str:
    return say(user, "报修")


def to_description(user: WeChatUser, *, floor: str = "5", room: str = "502") -> str:
    """Start a dorm-tap repair in 12栋 and answer up to the room; return what the bot says next.

    That is the description prompt, unless the bot has something to say first (a duplicate, a notice).
    """
    assert "维修类型" in start_repair(user)
    for label in DORM_TAP:
        choose(user, label)
    say(user, floor)
    return say(user, room)


def file_dorm_tap(user: WeChatUser, description: str = DESCRIPTION) -> str:
    """Walk the structured path, checking each prompt, to the confirmation summary; return the summary."""
    reply = start_repair(user)
    assert "维修类型" in reply
    choose(user, "东环校区宿舍维修")
    choose(user, "给水")
    reply = choose(user, "水龙头")
    assert "楼栋" in reply  # a single campus for this category is chosen for the user
    choose(user, "学生公寓12栋")
    reply = say(user, "5")
    assert "房间号" in reply
    reply = say(user, "502")
    assert "描述" in reply
    reply = say(user, description)
    assert "照片" in reply
    reply = user.image(media_id="MEDIA-1").text
    assert "请核对报修单" in reply
    return reply


def ticket_no(reply: str) -> str:
    """The ticket number in the bot's 报修成功 reply."""
    assert "报修成功" in reply, reply
    return reply.split("单号 ")[1].split("。")[0]


def file_repair(user: WeChatUser, description: str = DESCRIPTION) -> str:
    """File the dorm-tap repair through the dialog, confirm it, and return the ticket number."""
    file_dorm_tap(user, description)
    return ticket_no(say(user, "1"))


def through_the_place(user: WeChatUser, reply: str, floor: str = "1", room: str = "0", note: str = "门口") -> str:
    """Answer whatever the form still asks of the place (floor, room, the spot in words); return what comes
    after. A sentence that names no floor is asked it: nothing is filed as 'outside the building' unsaid."""
    for _ in range(3):
        if "在几楼" in reply:
            reply = say(user, floor)
        elif "请输入房间号" in reply:
            reply = say(user, room)
        elif "说明具体位置" in reply:
            reply = say(user, note)
        else:
            break
    return reply


def report_on_floor(user: WeChatUser, floor: int) -> str:
    """Report a dripping tap in 12栋 on a floor of its own (no duplicate of other users' reports), with a photo;
    return the ticket number. A card without a phone number on the roster is asked one, and gives it."""
    assert "维修类型" in start_repair(user)
    for label in DORM_TAP:
        choose(user, label)
    say(user, str(floor))
    assert "描述" in say(user, f"{floor}01")
    assert "照片" in say(user, DESCRIPTION)
    reply = user.image(media_id=f"MEDIA-{user.openid}").text
    if "联系电话" in reply:
        reply = say(user, "13800000009")
    assert "请核对报修单" in reply, reply
    return ticket_no(say(user, "1"))
