"""扫码报修, as the office prints the stickers and as people scan them: `repairbot qr make` creates permanent
codes through WeChat's API and writes a page per place; a scan (by a follower, or following through the
sticker) starts a repair there; a stale or forged code is a plain answer, never another place."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses

from core.services import Services
from devtools.chat import WeChatUser
from devtools.fakewechat import FakeWeChat
from tests.support.chat import say
from tests.support.cli import run_cli
from tests.support.constants import API
from tests.support.samples import sample

MakeUser = Callable[..., WeChatUser]
QR_CREATE = API + "qrcode/create"


@pytest.fixture
def qr_api(wechat_api: responses.RequestsMock) -> list[dict[str, Any]]:
    """WeChat's qrcode/create, faked: each code's link names its ticket; what was asked is kept."""
    asked: list[dict[str, Any]] = []

    def create(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        asked.append(body)
        ticket = f"T{len(asked)}"
        return 200, {}, json.dumps({"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket}"})

    wechat_api.add_callback(responses.POST, QR_CREATE, callback=create)
    return asked


def codes(out: Path) -> list[dict[str, str]]:
    with open(out / "codes.csv", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def make(monkeypatch: pytest.MonkeyPatch, services: Services, out: Path, *args: str) -> Any:
    return run_cli(monkeypatch, services, "qr", "make", *args, "--out", str(out))


def scan(user: WeChatUser, scene: str, follow: bool = False) -> str:
    """Scan a sticker as WeChat reports it (Tencent's samples): SCAN for a follower, subscribe for a new one."""
    name = "scan_subscribe.xml" if follow else "scan.xml"
    xml = sample(name, user.openid)
    key = f"qrscene_{scene}" if follow else scene
    xml = re.sub(r"<EventKey><!\[CDATA\[[^\]]*\]\]></EventKey>", f"<EventKey><![CDATA[{key}]]></EventKey>", xml)
    return user.post_xml(xml).text


def test_a_room_sticker_is_made_and_printed(monkeypatch: pytest.MonkeyPatch, services: Services, tmp_path: Path,
                                            qr_api: list[dict[str, Any]]) -> None:
    result = make(monkeypatch, services, tmp_path, "--building", "12栋", "--room", "502")
    assert result.exit_code == 0, result.output
    [code] = codes(tmp_path)
    assert (code["building"], code["floor"], code["room"]) == ("学生公寓12栋", "5", "502")
    assert qr_api[0]["action_name"] == "QR_LIMIT_STR_SCENE"
    assert qr_api[0]["action_info"]["scene"]["scene_str"] == code["scene"] and len(code["scene"]) <= 64
    page = (tmp_path / code["file"]).read_text(encoding="utf-8")
    assert page.startswith("<svg") and "东环校区 学生公寓12栋 5楼 502" in page and "<path" in page


def test_every_room_of_a_building_gets_its_own_sticker(monkeypatch: pytest.MonkeyPatch, services: Services,
                                                       tmp_path: Path, qr_api: list[dict[str, Any]]) -> None:
    result = make(monkeypatch, services, tmp_path, "--building", "学生公寓12栋", "--all-rooms")
    assert result.exit_code == 0, result.output
    made = codes(tmp_path)
    assert len(made) == 7 * 24 == len(qr_api) == len({c["scene"] for c in made}) == len(list(tmp_path.glob("*.svg")))


@pytest.mark.parametrize("args, says", [
    (("--building", "第一教学楼"), "--campus"),
    (("--building", "12栋", "--room", "999"), "no room 999"),
    (("--building", "12栋", "--floor", "40"), "floors 1 to 7"),
    (("--building", "不存在的楼"), "no building"),
    (("--building", "12栋", "--room", "502", "--floor", "5"), "choose one"),
])
def test_a_sticker_that_cannot_be_is_refused_before_any_call(monkeypatch: pytest.MonkeyPatch, services: Services,
                                                             tmp_path: Path, qr_api: list[dict[str, Any]],
                                                             args: tuple[str, ...], says: str) -> None:
    result = make(monkeypatch, services, tmp_path, *args)
    assert result.exit_code != 0 and says in result.output
    assert qr_api == []


@pytest.fixture
def room_scene(monkeypatch: pytest.MonkeyPatch, services: Services, tmp_path: Path,
               qr_api: list[dict[str, Any]]) -> str:
    assert make(monkeypatch, services, tmp_path, "--building", "12栋", "--room", "502").exit_code == 0
    return codes(tmp_path)[0]["scene"]


def test_scanning_a_room_sticker_starts_a_repair_there(wechat: MakeUser, bound: Callable[..., None],
                                                       room_scene: str) -> None:
    user = wechat("o-scan-room")
    bound(user.openid)
    reply = scan(user, room_scene)
    assert "东环校区 学生公寓12栋 5楼 502" in reply
    reply = say(user, "水龙头一直滴水")
    assert "请选择楼栋" not in reply and "请输入房间号" not in reply
    if "描述" in reply:
        reply = say(user, "水龙头关不紧，一直滴水")
    assert "照片" in reply
    summary = user.image(media_id="MEDIA-SCAN").text
    assert "学生公寓12栋 5楼 502" in summary and "水龙头" in summary


def test_following_through_a_sticker_welcomes_then_binds_then_repairs(wechat: MakeUser, room_scene: str) -> None:
    user = wechat("o-scan-new")
    reply = scan(user, room_scene, follow=True)
    assert "欢迎关注" in reply and "学生公寓12栋 5楼 502" in reply and "校园卡号" in reply
    say(user, "20260001")
    reply = say(user, "12345X")
    assert "绑定成功" in reply
    reply = say(user, "水龙头一直滴水")
    if "描述" in reply:
        reply = say(user, "水龙头关不紧，一直滴水")
    assert "照片" in reply and "请输入房间号" not in reply  # the sticker's place survived the binding
    assert "学生公寓12栋 5楼 502" in user.image(media_id="MEDIA-SCAN-2").text


@pytest.mark.parametrize("scene", ["rp1:0000000000:5:502", "rp1:zz", "rp1:{code}:5:999", "rp1:{code}:99"])
def test_a_stale_or_forged_sticker_names_no_place(wechat: MakeUser, bound: Callable[..., None], room_scene: str,
                                                  scene: str) -> None:
    user = wechat("o-scan-stale")
    bound(user.openid)
    reply = scan(user, scene.format(code=room_scene.split(":")[1]))
    assert "不能用" in reply and "报修" in reply
    assert "当前没有进行中的操作" in say(user, "取消")  # no form was started


def test_a_new_follower_with_a_stale_sticker_gets_the_plain_welcome(wechat: MakeUser) -> None:
    reply = scan(wechat("o-scan-stale-new"), "rp1:0000000000:5:502", follow=True)
    assert "欢迎关注" in reply and "不能用" not in reply


def test_a_scan_mid_form_keeps_the_form(wechat: MakeUser, bound: Callable[..., None], room_scene: str) -> None:
    user = wechat("o-scan-busy")
    bound(user.openid)
    assert "维修类型" in say(user, "报修")
    reply = scan(user, room_scene)
    assert "取消" in reply and "维修类型" in reply
    assert "故障类别" in say(user, "1")


def test_the_loopback_fake_learns_permanent_codes() -> None:
    fake = FakeWeChat()
    token = json.loads(fake.handle("GET", "/cgi-bin/token", b"")[2])["access_token"]
    body = json.dumps({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "rp1:x"}}})
    answer = json.loads(fake.handle("POST", f"/cgi-bin/qrcode/create?access_token={token}", body.encode())[2])
    assert answer["url"].startswith("http://weixin.qq.com/q/")
    status, ctype, _ = fake.handle("GET", f"/cgi-bin/showqrcode?ticket={answer['ticket']}", b"")
    assert (status, ctype) == (200, "image/png")
    too_long = json.dumps({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}})
    refused = json.loads(fake.handle("POST", f"/cgi-bin/qrcode/create?access_token={token}", too_long.encode())[2])
    assert refused["errcode"] == 40097
