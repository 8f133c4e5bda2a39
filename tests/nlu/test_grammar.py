"""Which place is the fault's (landmarks, home, retractions) and which group a trap word belongs to."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs.nlu.parse import Parse, Parser

EAST = "东环校区"


def check(p: Parse, **want: Any) -> None:
    got = {k: getattr(p, k) for k in want}
    assert got == want, p


# -- landmarks and two places -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "building"), [
    ("12栋对面操场边上的路灯不亮了", "田径场"),        # X对面的Y, Y a place: Y
    ("图书馆旁边那段校道塌了个坑", "校园道路"),
    ("二饭和三饭中间那段校道的路灯坏了", "校园道路"),    # both are hints
    ("五教对面那盏路灯坏了好几天了", "第五教学楼"),      # Y is a thing: X is the place
    ("体育馆门口的路灯不亮", "体育馆"),
    ("我住7栋，坏的是8栋门口的路灯", "学生公寓8栋"),     # home
    ("我在三教上课，二教一楼的厕所堵了", "第二教学楼"),
    ("不是五教，是四教三楼的灯坏了", "第四教学楼"),      # retracted
    ("我在3教2楼，厕所洗手池的水龙头一直在流水", "第三教学楼"),  # home, but no other place
])
def test_the_place_of_the_fault(parser: Parser, text: str, building: str) -> None:
    check(parser.parse(text), campus=EAST, building=building)


def test_a_hints_room_is_not_the_faults(parser: Parser) -> None:
    check(parser.parse("我在12栋305 但是要报的是13栋门口的井盖"), building="学生公寓13栋", room=None, floor=None)


def test_a_hints_campus_helps(parser: Parser) -> None:
    check(parser.parse("我住公租房2栋，隔壁3栋的电梯坏了好久了"), campus="教师公租房", building="公租房3栋")


def test_hints_are_explained(parser: Parser) -> None:
    p = parser.parse("12栋对面操场边上的路灯不亮了")
    assert p.place_hints == (("12栋", "relation 「对面」"),)
    assert p.category == "东环校区公共区域水电维修"  # the field's category, not the dormitory's


# -- traps for a group ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "group"), [
    ("12栋电梯的门夹人", "电梯"),             # a door that belongs to a lift
    ("行政楼电梯的显示屏不亮了", "电梯"),
    ("柜子的门掉了", "家具"),
    ("卫生间插座进水了 一插就跳闸", "供电"),    # water in an electrical fault
    ("一用吹风机就跳闸", "供电"),              # the circuit's fault, not the appliance's
    ("卫生间下水道很臭", "排水"),              # a smell from a drain
    ("楼道垃圾桶臭死了 没人倒", "保洁"),        # a smell that is a cleaning job
    ("马路中间塌了一块", "墙地面"),             # the place itself broke
    ("马路边的路灯杆歪了", "照明"),             # a thing at the place
    ("浴室的花洒和灯都坏了", "给水"),           # the first of things joined by 和
    ("空调漏水", None),                      # an unknown object still stops the guess
])
def test_trap_words(parser: Parser, text: str, group: str | None) -> None:
    check(parser.parse(text), intent="repair", group=group)


# -- a road named by its common noun, a side of a building, a fault that fits its thing ------------------------

@pytest.mark.parametrize(("text", "building"), [
    ("三教对面那条路上有个大坑", "校园道路"),      # a weak word for the road's surface after a landmark: the road
    ("二饭旁边的路上全是积水", "校园道路"),
    ("体育馆门口的路面塌了个坑", "体育馆"),        # the surface itself (a strong word) stays at the building
    ("六叫三楼的灯不亮", "第六教学楼"),            # a mistyped name never ends on a floor's numeral (教三)
])
def test_more_places_of_the_fault(parser: Parser, text: str, building: str) -> None:
    check(parser.parse(text), campus=EAST, building=building)


@pytest.mark.parametrize(("text", "outside"), [
    ("四教门口的路灯不亮", True),
    ("13栋楼下的井盖松了", True),
    ("我住7栋 坏的是8栋旁边的路灯", True),
    ("四教三楼门口的灯不亮", False),             # a floor said: inside
    ("12栋305门口的灯坏了", False),             # a room said: inside
    ("电梯旁边的窗户关不上 六教", False),          # the side of a thing, not of the building
    ("四教的路灯不亮", False),
])
def test_by_the_building_not_in_it(parser: Parser, text: str, outside: bool) -> None:
    assert parser.parse(text).outside is outside


@pytest.mark.parametrize(("text", "group"), [
    ("9栋阳台积水下不去 地漏堵死了", "排水"),      # the water is the symptom, the drain the thing
    ("操场积水了", "保洁"),
    ("插销烧黑了", "供电"),                      # 插销: a bolt or a plug, the fault decides
    ("门上的插销坏了", "门窗"),
])
def test_the_fault_that_fits_decides(parser: Parser, text: str, group: str) -> None:
    assert parser.parse(text).group == group
