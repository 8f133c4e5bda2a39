"""The custom menu: checked against WeChat's limits locally, pushed through the (faked) API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
from click.testing import Result

from bot.menu import MenuError, load_menu, menu_keys, parse_menu
from core.config import Config
from tests.support.constants import API


def test_shipped_menu_is_within_limits() -> None:
    buttons = load_menu(Config.from_env({}, dotenv=None).menu_file)
    assert [b.name for b in buttons] == ["报修", "咨询", "服务"]
    assert {"REPAIR", "MY_TICKETS", "PHOTO_REPAIR", "RATE", "CONSULT", "CONSULT_HISTORY", "NOTICES", "PROFILE",
            "HELP"} == set(menu_keys(buttons))


def test_menu_show_prints_the_buttons(cli: Callable[..., Result]) -> None:
    result = cli("menu", "show")
    assert result.exit_code == 0, result.output
    assert "我要报修  [REPAIR]" in result.output and "通知公告  [NOTICES]" in result.output


def test_menu_push_creates_the_menu(cli: Callable[..., Result]) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(API + "token", json={"access_token": "T1", "expires_in": 7200})
        create = rsps.post(API + "menu/create", json={"errcode": 0, "errmsg": "ok"})
        result = cli("menu", "push")
    assert result.exit_code == 0, result.output
    assert "menu created: 3 buttons" in result.output
    body = json.loads(create.calls[0].request.body)
    assert body["button"][0] == {"name": "报修", "sub_button": [
        {"type": "click", "name": "我要报修", "key": "REPAIR"},
        {"type": "click", "name": "我的报修", "key": "MY_TICKETS"},
        {"type": "pic_photo_or_album", "name": "拍照报修", "key": "PHOTO_REPAIR"},
        {"type": "click", "name": "维修评价", "key": "RATE"}]}
    assert "T1" in (create.calls[0].request.url or "")


def test_menu_push_reports_wechats_refusal(cli: Callable[..., Result]) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(API + "token", json={"access_token": "T1", "expires_in": 7200})
        rsps.post(API + "menu/create", json={"errcode": 40016, "errmsg": "invalid button size"})
        result = cli("menu", "push")
    assert result.exit_code != 0
    assert "40016" in result.output and "Traceback" not in result.output


BROKEN = """
buttons:
  - name: 报修报修报修报修
    sub_buttons:
      - {name: a, key: A}
  - name: 咨询
    sub_buttons: [{name: a, key: A}, {name: b, key: B}, {name: c, key: C}, {name: d, key: D},
                  {name: e, key: E}, {name: f, key: F}]
  - name: 服务
    sub_buttons:
      - {name: 通知, key: %s}
      - {name: 两个都有, key: K, url: "https://x.edu"}
""" % ("K" * 129)


def test_broken_menu_is_refused_locally_with_every_reason(cli: Callable[..., Result], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    monkeypatch.setenv("REPAIRBOT_MENU_FILE", str(path))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        result = cli("menu", "push")
        assert not rsps.calls  # nothing was sent to WeChat
    assert result.exit_code != 0
    assert "24 bytes, WeChat allows 16" in result.output
    assert "6 sub-buttons" in result.output
    assert "129 bytes, WeChat allows 128" in result.output
    assert "exactly one of key" in result.output


@pytest.mark.parametrize("doc", [
    {},
    {"buttons": []},
    {"buttons": [{"name": "a", "key": "A"}] * 4},
    {"buttons": [{"key": "A"}]},
])
def test_menu_shape_errors(doc: dict[str, object]) -> None:
    with pytest.raises(MenuError):
        parse_menu(doc)
