"""修改密码 in 个人信息: the ID digits are only the first password; a person can choose their own, and is
told so right after binding. The current password is asked first, and wrong ones count against binding's lock."""

from __future__ import annotations

from collections.abc import Callable

from core.services import Services
from devtools.chat import WeChatUser
from models.people import find_person


def open_password(user: WeChatUser) -> str:
    page = user.text("个人信息").text
    number = next(line.split()[0] for line in page.splitlines() if line.endswith("修改密码"))
    return user.text(number).text


def checks(services: Services, card: str, password: str) -> bool:
    with services.db.session() as s:
        person = find_person(s, card)
        assert person is not None
        return person.check_password(password, pepper=services.config.id_pepper)


def test_binding_suggests_choosing_a_password(wechat: Callable[..., WeChatUser]) -> None:
    user = wechat("o-pw-new")
    user.text("绑定")
    user.text("20260002")
    reply = user.text("234567").text
    assert "绑定成功" in reply and "个人信息" in reply and "密码" in reply


def test_a_person_chooses_a_password_and_binds_elsewhere_with_it(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-pw-change")
    bound("o-pw-change")  # 张三, card 20260001, ID digits 12345X
    assert "当前密码" in open_password(user)
    assert "还可以再试 4 次" in user.text("000000").text
    assert "新密码" in user.text("12345x").text
    assert "6–20 位" in user.text("abc").text
    assert "再输入一次" in user.text("Lamp-502!").text
    assert "不一样" in user.text("Lamp-503!").text
    user.text("Lamp-502!")
    reply = user.text("Lamp-502!").text
    assert "密码已修改" in reply and "张三" in reply  # back on the profile page
    assert checks(services, "20260001", "Lamp-502!") and not checks(services, "20260001", "12345X")
    other = wechat("o-pw-phone-2")
    other.text("绑定")
    other.text("20260001")
    assert "密码不对" in other.text("12345X").text
    assert "绑定成功" in other.text("Lamp-502!").text


def test_guessing_the_current_password_locks_like_binding(
        wechat: Callable[..., WeChatUser], bound: Callable[..., None], services: Services) -> None:
    user = wechat("o-pw-guess")
    bound("o-pw-guess")
    open_password(user)
    for _ in range(services.config.bind_max_failures - 1):
        assert "还可以再试" in user.text("999999").text
    assert "已锁定" in user.text("999999").text
    assert checks(services, "20260001", "12345X")  # unchanged
