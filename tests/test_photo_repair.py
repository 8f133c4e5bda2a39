"""拍照报修: the menu button's event, then the photos as images, then a sentence — a complete ticket without
a single list number. The button itself is a menu type `repairbot menu` checks and pushes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from bot.menu import MenuError, parse_menu
from devtools.chat import WeChatUser
from tests.support.chat import say
from tests.support.samples import sample

MakeUser = Callable[..., WeChatUser]


def photo_button(user: WeChatUser) -> str:
    """The 拍照报修 button pressed, as WeChat reports it (Tencent's sample), with the shipped menu's key."""
    xml = re.sub(r"<EventKey><!\[CDATA\[[^\]]*\]\]></EventKey>", "<EventKey><![CDATA[PHOTO_REPAIR]]></EventKey>",
                 sample("pic_photo_or_album.xml", user.openid))
    answer = user.post_xml(xml)
    assert answer.status == 200
    return answer.body


def test_photos_then_a_sentence_file_a_ticket(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-pic-menu")
    bound(user.openid)
    assert photo_button(user) == "success"  # the camera is open: nothing to say yet
    assert "收到照片" in user.image(media_id="PIC-1").text
    assert "第 2 张照片" in user.image(media_id="PIC-2").text
    reply = say(user, "12栋502水龙头一直滴水")
    assert "学生公寓12栋" in reply and "水龙头" in reply
    if "描述" in reply:
        reply = say(user, "水龙头关不紧，一直滴水")
    assert "照片：2 张" in reply and "请核对报修单" in reply
    assert "报修成功" in say(user, "确认")


def test_typed_the_button_s_name_explains_it(wechat: MakeUser, bound: Callable[..., None]) -> None:
    user = wechat("o-pic-typed")
    bound(user.openid)
    reply = say(user, "拍照报修")
    assert "相册" in reply and "一句话" in reply


def test_the_menu_takes_the_photo_button_and_refuses_an_unknown_type() -> None:
    [button] = parse_menu({"buttons": [{"name": "拍照报修", "key": "PHOTO_REPAIR", "type": "pic_photo_or_album"}]})
    assert button.to_wechat() == {"type": "pic_photo_or_album", "name": "拍照报修", "key": "PHOTO_REPAIR"}
    with pytest.raises(MenuError, match="type 'camera'"):
        parse_menu({"buttons": [{"name": "拍", "key": "P", "type": "camera"}]})
    with pytest.raises(MenuError, match="type 'view'"):
        parse_menu({"buttons": [{"name": "拍", "key": "P", "type": "view"}]})
