"""A person who only talks: a voice message WeChat wrote down (语音识别 on) is read as if typed, and the reply
shows what was heard; one it could not write down asks to type, and leaves the form where it was."""

from __future__ import annotations

import re
from collections.abc import Callable

from devtools.chat import WeChatUser
from tests.support.chat import say
from tests.support.samples import sample

MakeUser = Callable[..., WeChatUser]


def spoken(user: WeChatUser, words: str) -> str:
    """A voice message as WeChat posts it (Tencent's sample), with what its recognition heard."""
    xml = sample("voice_recognition.xml", user.openid, msg_id=str(abs(hash((user.openid, words))) % 10**15))
    xml = re.sub(r"<Recognition><!\[CDATA\[[^\]]*\]\]></Recognition>",
                 f"<Recognition><![CDATA[{words}]]></Recognition>", xml)
    return user.post_xml(xml).text


def test_a_report_said_aloud_is_filed_like_a_typed_one(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-voice-report")
    bound(user.openid)
    reply = spoken(user, "12栋502水龙头一直滴水。")
    assert reply.startswith("听到：「12栋502水龙头一直滴水」")
    assert "学生公寓12栋" in reply and "水龙头" in reply
    assert "照片" in reply  # the form goes on to what is missing


def test_a_global_word_said_aloud_works(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-voice-cancel")
    bound(user.openid)
    assert "维修类型" in say(user, "报修")
    assert "已取消" in spoken(user, "取消。")
    assert "当前没有进行中的操作" in say(user, "取消")


def test_a_correction_said_aloud_changes_the_summary(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-voice-fix")
    bound(user.openid)
    say(user, "12栋502水龙头一直滴水")
    assert "请核对报修单" in user.image(media_id="MEDIA-V").text
    reply = spoken(user, "是3楼")
    assert "听到：「是3楼」" in reply and "3楼" in reply


def test_a_voice_message_not_written_down_asks_to_type_and_keeps_the_form(wechat: MakeUser,
                                                                          bound: Callable[..., None]) -> None:
    user = wechat("o-voice-unheard")
    bound(user.openid)
    assert "维修类型" in say(user, "报修")
    reply = user.post_xml(sample("voice.xml", user.openid, msg_id="8800000000000001")).text
    assert "打字" in reply and "维修类型" in reply
    assert "故障类别" in say(user, "1")  # the form went on from where it was


def test_a_voice_message_not_written_down_at_idle_says_what_to_do(wechat: MakeUser) -> None:
    reply = wechat("o-voice-idle").post_xml(sample("voice.xml", "o-voice-idle", msg_id="8800000000000002")).text
    assert "打字" in reply


def test_someone_who_can_only_talk_files_a_complete_ticket(wechat: MakeUser, bound: Callable[..., None]) -> None:
    """No photo, no typing, no list number: words said aloud file a ticket."""
    user = wechat("o-voice-only")
    bound(user.openid)
    assert "照片" in spoken(user, "12栋502水龙头一直滴水")
    summary = spoken(user, "拍不了")
    assert "请核对报修单" in summary and "照片：0 张" in summary
    assert "报修成功" in spoken(user, "确认提交")
