"""「您是说…吗」: a report read through a middle-confidence correction of a typo is checked with one question;
yes keeps the correction, no reads the words as typed and the form asks what is then missing."""

from __future__ import annotations

from collections.abc import Callable

from devtools.chat import WeChatUser


def test_yes_takes_the_corrected_word(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-dym-yes")
    bound("o-dym-yes")
    asked = user.text("12栋502洗手盘堵了").text
    assert "您是说「洗手盆」吗" in asked and "1 是的" in asked
    reply = user.text("1").text
    assert "学生公寓12栋" in reply and "502" in reply and "洗手" in reply  # the form is filled from the words
    assert "维修类型" not in reply  # nothing the words said is asked again


def test_no_reads_the_words_as_typed(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-dym-no")
    bound("o-dym-no")
    assert "您是说" in user.text("12栋502洗手盘堵了").text
    reply = user.text("不是").text
    assert "洗手盆" not in reply
    assert "学生公寓12栋" in reply  # the place was read without any correction, and is kept


def test_a_sure_correction_is_not_asked(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-dym-sure")
    bound("o-dym-sure")
    reply = user.text("12栋502花撒坏了").text
    assert "您是说" not in reply and "花洒" in reply


def test_cancel_works_at_the_question(wechat: Callable[..., WeChatUser], bound: Callable[..., None]) -> None:
    user = wechat("o-dym-cancel")
    bound("o-dym-cancel")
    assert "您是说" in user.text("12栋502马桶赌了").text
    assert "已取消" in user.text("取消").text
