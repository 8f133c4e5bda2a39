"""The custom menu: checked against WeChat's limits locally, pushed through the (faked) API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from bot.cli import main
from bot.menu import MenuError, load_menu, menu_keys, parse_menu
from core.config import Config
from core.services import Services
from tests.conftest import API


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, services: Services, config: Config) -> CliRunner:
    """Point the command line at the test database, Redis and the faked WeChat API."""
    kwargs = services.redis.connection_pool.connection_kwargs
    redis_url = (f"unix://{kwargs['path']}" if "path" in kwargs
                 else f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}")
    env = {"REPAIRBOT_DATABASE_URL": config.database_url, "REPAIRBOT_REDIS_URL": redis_url,
           "REPAIRBOT_INSTANCE_PATH": str(config.instance_path), "WECHAT_APPID": config.wechat_appid,
           "WECHAT_SECRET": config.wechat_secret, "WECHAT_API_BASE_URL": API, "WECHAT_TOKEN": "t"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return CliRunner()


def test_shipped_menu_is_within_limits() -> None:
    buttons = load_menu(Config.from_env({}, dotenv=None).menu_file)
    assert [b.name for b in buttons] == ["报修", "咨询", "服务"]
    assert {"REPAIR", "MY_TICKETS", "RATE", "CONSULT", "CONSULT_HISTORY", "NOTICES", "PROFILE",
            "HELP"} == set(menu_keys(buttons))


def test_menu_show_prints_the_buttons(cli_env: CliRunner) -> None:
    result = cli_env.invoke(main, ["menu", "show"])
    assert result.exit_code == 0, result.output
    assert "我要报修  [REPAIR]" in result.output and "通知公告  [NOTICES]" in result.output


def test_menu_push_creates_the_menu(cli_env: CliRunner) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(API + "token", json={"access_token": "T1", "expires_in": 7200})
        create = rsps.post(API + "menu/create", json={"errcode": 0, "errmsg": "ok"})
        result = cli_env.invoke(main, ["menu", "push"])
    assert result.exit_code == 0, result.output
    assert "menu created: 3 buttons" in result.output
    body = json.loads(create.calls[0].request.body)
    assert body["button"][0] == {"name": "报修", "sub_button": [
        {"type": "click", "name": "我要报修", "key": "REPAIR"},
        {"type": "click", "name": "我的报修", "key": "MY_TICKETS"},
        {"type": "click", "name": "维修评价", "key": "RATE"}]}
    assert "T1" in (create.calls[0].request.url or "")


def test_menu_push_reports_wechats_refusal(cli_env: CliRunner) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(API + "token", json={"access_token": "T1", "expires_in": 7200})
        rsps.post(API + "menu/create", json={"errcode": 40016, "errmsg": "invalid button size"})
        result = cli_env.invoke(main, ["menu", "push"])
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


def test_broken_menu_is_refused_locally_with_every_reason(cli_env: CliRunner, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    monkeypatch.setenv("REPAIRBOT_MENU_FILE", str(path))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        result = cli_env.invoke(main, ["menu", "push"])
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
