"""A person who points at a map: a shared location (WeChat's 位置 message) starts a repair at the nearest
building, or answers the place step of one being filled; with no map in the register, or off campus, the
bot says so and asks as before. The map is the register's optional lat/lng, checked when it is loaded."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from core.services import Services
from devtools.chat import Answer, WeChatUser
from models.errors import RegisterError
from models.register import Point, Register, store_register
from tests.support.chat import choose, say, start_repair
from tests.support.constants import REGISTER_FILE
from tests.support.samples import sample

MakeUser = Callable[..., WeChatUser]
SPACING_M = 60.0  # between neighbouring buildings on the made-up map
METRES_PER_DEGREE = 111_320.0


def on_a_map(doc: dict[str, Any]) -> dict[str, Any]:
    """The school's register with a made-up map: campuses 10 km apart, buildings on a 60 m grid."""
    doc = copy.deepcopy(doc)
    for i, campus in enumerate(doc["campuses"]):
        lat0, lng0 = 24.3 + i * 0.1, 109.4
        campus.update(lat=lat0, lng=lng0, radius_m=3000)
        for j, b in enumerate(campus["buildings"]):
            b.update(lat=lat0 + (j // 8) * SPACING_M / METRES_PER_DEGREE,
                     lng=lng0 + (j % 8) * SPACING_M / (METRES_PER_DEGREE * math.cos(math.radians(lat0))))
    return doc


def school() -> dict[str, Any]:
    """The school's register without any map points it may have (the tests draw their own)."""
    doc = dict(yaml.safe_load(REGISTER_FILE.read_text(encoding="utf-8")))
    for campus in doc["campuses"]:
        for node in (campus, *campus["buildings"]):
            for key in ("lat", "lng", "radius_m"):
                node.pop(key, None)
    return doc


def point_of(doc: dict[str, Any], building: str, campus: int = 0) -> Point:
    node = next(b for b in doc["campuses"][campus]["buildings"] if b["name"] == building)
    return Point(node["lat"], node["lng"])


def in_force(services: Services, doc: dict[str, Any]) -> None:
    with services.db.session() as s:
        store_register(s, yaml.safe_dump(doc, allow_unicode=True), "register.yaml")
    services.forget_register()


@pytest.fixture
def mapped(services: Services) -> Iterator[dict[str, Any]]:
    doc = on_a_map(school())
    in_force(services, doc)
    yield doc
    services.forget_register()


@pytest.fixture
def unmapped(services: Services) -> Iterator[None]:
    in_force(services, school())
    yield
    services.forget_register()


def share(user: WeChatUser, where: Point) -> Answer:
    """A location message as WeChat sends it (Tencent's sample: Location_X is the latitude, Location_Y the
    longitude), with this user's point."""
    xml = sample("location.xml", user.openid, msg_id=str(abs(hash((user.openid, where))) % 10**15))
    xml = re.sub(r"<Location_X>[^<]*</Location_X>", f"<Location_X>{where.lat}</Location_X>", xml)
    return user.post_xml(re.sub(r"<Location_Y>[^<]*</Location_Y>", f"<Location_Y>{where.lng}</Location_Y>", xml))


def nudge(p: Point, north_m: float) -> Point:
    return Point(p.lat + north_m / METRES_PER_DEGREE, p.lng)


def test_a_location_at_idle_starts_a_repair_at_the_nearest_building(wechat: MakeUser, bound: Callable[..., None],
                                                                    mapped: dict[str, Any]) -> None:
    user = wechat("o-loc-idle")
    bound(user.openid)
    reply = share(user, nudge(point_of(mapped, "学生公寓12栋"), 10)).text
    assert "学生公寓12栋 附近" in reply
    reply = say(user, "水龙头一直滴水")
    assert "请选择楼栋" not in reply and "几楼" in reply, reply  # the building is known; its floor is asked


def test_a_location_answers_the_building_step(wechat: MakeUser, bound: Callable[..., None],
                                              mapped: dict[str, Any]) -> None:
    user = wechat("o-loc-step")
    bound(user.openid)
    start_repair(user)
    for label in ("东环校区宿舍维修", "给水", "水龙头"):
        choose(user, label)
    assert "楼栋" in user.last_reply
    reply = share(user, point_of(mapped, "学生公寓3栋")).text
    assert "学生公寓3栋 附近，已填上" in reply and "几楼" in reply


def test_a_location_off_campus_is_said_and_the_form_kept(wechat: MakeUser, bound: Callable[..., None],
                                                         mapped: dict[str, Any]) -> None:
    user = wechat("o-loc-far")
    bound(user.openid)
    start_repair(user)
    reply = share(user, Point(39.9, 116.4)).text
    assert "不在学校里" in reply and "维修类型" in reply
    assert "故障类别" in say(user, "1")


def test_without_a_map_the_bot_asks_in_words(wechat: MakeUser, bound: Callable[..., None], unmapped: None) -> None:
    user = wechat("o-loc-unmapped")
    bound(user.openid)
    reply = share(user, Point(24.3264, 109.4281)).text
    assert "还不能用位置" in reply and "12栋" in reply


def test_the_nearest_building_is_on_the_campus_whose_circle_holds_the_point() -> None:
    doc = on_a_map(school())
    reg = Register.from_dict(doc)
    second = doc["campuses"][1]
    b = second["buildings"][0]
    found = reg.nearest(Point(b["lat"], b["lng"]))
    assert found is not None and (found.campus, found.name) == (second["name"], b["name"])
    assert reg.nearest(Point(0.0, 0.0)) is None
    assert Register.from_dict(school()).mapped is False and reg.mapped is True


@pytest.mark.parametrize("change, says", [
    (lambda d: d["campuses"][0]["buildings"][0].update(lat=25.5), "outside its radius_m"),
    (lambda d: d["campuses"][0]["buildings"][0].pop("lng"), "lat and lng must both be numbers"),
    (lambda d: d["campuses"][0].update(lat=124.3), "not a place on Earth"),
    (lambda d: d["campuses"][0].pop("radius_m"), "lat, lng and radius_m together"),
    (lambda d: d["campuses"][0].update(radius_m=-5), "radius_m must be a positive"),
])
def test_a_map_with_a_mistake_is_refused_on_load(change: Callable[[dict[str, Any]], Any], says: str) -> None:
    doc = on_a_map(school())
    change(doc)
    with pytest.raises(RegisterError, match=says):
        Register.from_dict(doc)


def reported(user: WeChatUser, where: Point) -> Answer:
    """The LOCATION event (上报地理位置 on), as Tencent's sample has it, with this user's point."""
    xml = sample("location_event.xml", user.openid)
    xml = re.sub(r"<Latitude>[^<]*</Latitude>", f"<Latitude>{where.lat}</Latitude>", xml)
    return user.post_xml(re.sub(r"<Longitude>[^<]*</Longitude>", f"<Longitude>{where.lng}</Longitude>", xml))


def test_a_reported_location_fills_a_waiting_place_step(wechat: MakeUser, bound: Callable[..., None],
                                                        mapped: dict[str, Any]) -> None:
    user = wechat("o-loc-report")
    bound(user.openid)
    start_repair(user)
    for label in ("东环校区宿舍维修", "给水", "水龙头"):
        choose(user, label)
    assert "学生公寓5栋 附近，已填上" in reported(user, point_of(mapped, "学生公寓5栋")).text


def test_a_reported_location_at_idle_says_nothing_and_starts_nothing(wechat: MakeUser, bound: Callable[..., None],
                                                                     mapped: dict[str, Any]) -> None:
    user = wechat("o-loc-report-idle")
    bound(user.openid)
    answer = reported(user, point_of(mapped, "学生公寓5栋"))
    assert (answer.status, answer.body) == (200, "success")
    assert "当前没有进行中的操作" in say(user, "取消")
