"""The school's register: loading it, who repairs what where, room numbers, and faulty documents."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from core.services import Services
from devtools.chat import WeChatUser
from models.errors import RegisterError
from models.register import Register, current_register
from tests.support.chat import choose
from tests.support.constants import REGISTER_FILE

REFERENCE = REGISTER_FILE.read_text(encoding="utf-8")

# Another school, same shape, no name in common with the reference register.
SMALL = """
default_campus: 北山校区
campuses:
  - name: 南湖校区
    aliases: [南湖]
    buildings:
      - {name: 综合楼, aliases: [综合], kind: teaching, floors: 4, rooms: "Z{floor}{n:02d}", per_floor: 5}
  - name: 北山校区
    aliases: [北山]
    buildings:
      - {name: 桂园A座, aliases: [A座], kind: dormitory, floors: 3, rooms: "A{floor}{n:02d}", per_floor: 10}
      - {name: 桂园B座, aliases: [B座], kind: dormitory, floors: 3, rooms: "B{floor}{n:02d}", per_floor: 10}
      - {name: 北山礼堂, kind: hall, floors: 2}
      - {name: 北山球场, kind: outdoor, floors: 0}
groups:
  - {name: 水暖, trade: 水电, items: [龙头, 暖气片]}
  - {name: 木工, trade: 物业, items: [床板, 衣柜]}
  - {name: 园林, trade: 园林, items: [树木]}
categories:
  - name: 园林科
    scope: {campus: "*", kinds: [outdoor], groups: [园林]}
  - name: 北山公寓维修
    scope: {campus: 北山校区, kinds: [dormitory], groups: [水暖, 木工]}
  - name: 北山公共维修
    scope: {campus: 北山校区, kinds: {not: [dormitory, outdoor]}, groups: [水暖, 木工]}
  - name: 南湖校区维修
    scope: {campus: 南湖校区, kinds: "*", groups: [水暖, 木工]}
departments: [后勤服务中心]
"""


@pytest.fixture(scope="module")
def reference() -> Register:
    return Register.from_yaml(REFERENCE)


def doc() -> dict[str, Any]:
    """A fresh, mutable copy of the reference document."""
    loaded: dict[str, Any] = yaml.safe_load(REFERENCE)
    return copy.deepcopy(loaded)


# -- the reference register ----------------------------------------------------------------------

def test_reference_register_loads(reference: Register) -> None:
    """The customer's register loads whole: campuses, buildings, groups, categories, departments."""
    assert reference.default_campus == "东环校区"
    assert [c.name for c in reference.campuses] == ["东环校区", "箭盘校区", "柳石校区", "教师公租房"]
    dong = reference.campus("东环校区")
    assert dong is not None and len(dong.buildings) == 37
    assert reference.group_of_item("便盆") == "排水"
    assert reference.group_of_item("水龙头") == "给水"
    assert reference.group_of_item("马桶") is None  # people's words are the parser's business, not the register's
    assert len(reference.categories) == 7
    assert "后勤管理处" in reference.departments
    fifth = reference.building("东环校区", "第五教学楼")
    assert fifth is not None and "五教" in fifth.aliases and fifth.kind == "teaching"


@pytest.mark.parametrize("campus, kind, group, category", [
    ("东环校区", "dormitory", "给水", "东环校区宿舍维修"),
    ("东环校区", "dormitory", "门窗", "东环校区宿舍维修"),
    ("东环校区", "teaching", "排水", "东环校区公共区域物业维修"),
    ("东环校区", "canteen", "家具", "东环校区公共区域物业维修"),
    ("东环校区", "teaching", "给水", "东环校区公共区域水电维修"),
    ("东环校区", "library", "电梯", "东环校区公共区域水电维修"),
    ("东环校区", "outdoor", "照明", "东环校区公共区域水电维修"),
    ("东环校区", "dormitory", "保洁", "校园管理"),  # 校园管理 covers every campus and kind, and comes first
    ("东环校区", "outdoor", "绿化", "校园管理"),
    ("箭盘校区", "dormitory", "绿化", "校园管理"),
    ("箭盘校区", "dormitory", "给水", "箭盘校区维修"),
    ("箭盘校区", "teaching", "排水", "箭盘校区维修"),
    ("柳石校区", "canteen", "照明", "柳石校区维修"),
    ("教师公租房", "housing", "门窗", "教师公租房维修"),
    ("教师公租房", "housing", "保洁", "校园管理"),
])
def test_category_for_place_and_group(reference: Register, campus: str, kind: str, group: str,
                                      category: str) -> None:
    """Who repairs it follows from where (campus, kind of building) and what (trade group)."""
    found = reference.category_for(campus, kind, group)
    assert found is not None and found.name == category


@pytest.mark.parametrize("campus, kind, group", [
    (None, "dormitory", "给水"),
    ("东环校区", "dormitory", None),
    ("火星校区", "dormitory", "给水"),
    ("东环校区", "dormitory", "不存在的类别"),
])
def test_no_category_when_place_or_group_is_unknown(reference: Register, campus: str | None, kind: str,
                                                    group: str | None) -> None:
    """Without a known campus and group nothing is guessed."""
    assert reference.category_for(campus, kind, group) is None


def test_category_for_a_named_building(reference: Register) -> None:
    """A building's kind decides: 12栋 is a dormitory, 五教 is not."""
    dorm = reference.category_for_place("东环校区", "学生公寓12栋", "给水")
    teaching = reference.category_for_place("东环校区", "第五教学楼", "排水")
    assert dorm is not None and dorm.name == "东环校区宿舍维修"
    assert teaching is not None and teaching.name == "东环校区公共区域物业维修"


def test_buildings_offered_for_a_category(reference: Register) -> None:
    """The dorm category offers the 20 dormitories of 东环校区 and no teaching building."""
    cat = reference.category("东环校区宿舍维修")
    assert cat is not None
    names = [b.name for b in reference.buildings_for(cat, "东环校区", "给水")]
    assert len(names) == 20 and all(n.startswith("学生公寓") for n in names)
    assert [c.name for c in reference.campuses_of(cat)] == ["东环校区"]
    everywhere = reference.category("校园管理")
    assert everywhere is not None and len(reference.campuses_of(everywhere)) == 4


# -- rooms ------------------------------------------------------------------------------------

@pytest.mark.parametrize("campus, building, room, floor", [
    ("东环校区", "第五教学楼", "5512", 5),
    ("东环校区", "第五教学楼", "5101", 1),
    ("东环校区", "第五教学楼", "5614", 6),
    ("东环校区", "第一教学楼", "1305", 3),
    ("东环校区", "学生公寓12栋", "502", 5),
    ("东环校区", "学生公寓12栋", "724", 7),
    ("东环校区", "行政办公楼", "820", 8),
    ("教师公租房", "公租房1栋", "1106", 11),
    ("东环校区", "第五教学楼", "5515", None),  # 14 rooms a floor
    ("东环校区", "第五教学楼", "5701", None),  # 6 floors
    ("东环校区", "第五教学楼", "512", None),
    ("东环校区", "学生公寓12栋", "0502", None),
    ("东环校区", "图书馆", "301", None),  # no room numbers at all
    ("东环校区", "田径场", "1", None),
])
def test_floor_of_room(reference: Register, campus: str, building: str, room: str, floor: int | None) -> None:
    """A room number as the register numbers it tells its floor; anything else is not a room."""
    b = reference.building(campus, building)
    assert b is not None
    assert b.floor_of_room(room) == floor


def test_rooms_on_a_floor(reference: Register) -> None:
    """A floor's rooms follow the pattern, numbered from 1 to per_floor."""
    fifth = reference.building("东环校区", "第五教学楼")
    assert fifth is not None
    rooms = fifth.rooms_on(5)
    assert rooms[0] == "5501" and rooms[-1] == "5514" and len(rooms) == 14
    assert fifth.rooms_on(0) == [] and fifth.rooms_on(7) == []
    library = reference.building("东环校区", "图书馆")
    field = reference.building("东环校区", "田径场")
    assert library is not None and not library.has_rooms and library.rooms_on(1) == []
    assert field is not None and field.outdoor and not library.outdoor


# -- faulty registers ---------------------------------------------------------------------------

def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        node: Any = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _append(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        node: Any = d
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(value))
    return change


FIFTH = ["campuses", 0, "buildings", 4]
FAULTS: dict[str, tuple[Callable[[dict[str, Any]], None], list[str]]] = {
    "no-campuses": (_set(["campuses"], []), ["no campuses"]),
    "campuses-missing": (lambda d: d.pop("campuses"), ["campuses", "list"]),
    "groups-not-a-list": (_set(["groups"], "给水"), ["groups", "list"]),
    "unknown-group": (_set(["categories", 1, "scope", "groups"], ["给水", "暖通"]),
                      ["东环校区宿舍维修", "unknown group", "暖通"]),
    "unknown-campus": (_set(["categories", 4, "scope", "campus"], "箭盘山校区"), ["箭盘校区维修", "箭盘山校区"]),
    "duplicate-building": (_append(["campuses", 0, "buildings"], {"name": "第五教学楼", "kind": "teaching",
                                                                  "floors": 3}), ["第五教学楼", "twice"]),
    "duplicate-campus": (_append(["campuses"], {"name": "柳石校区"}), ["柳石校区", "twice"]),
    "duplicate-item": (_set(["groups", 1, "items"], ["水龙头", "便盆"]), ["水龙头", "twice"]),
    "duplicate-category": (_append(["categories"], {"name": "校园管理", "scope": {"groups": ["保洁"]}}),
                           ["校园管理", "twice"]),
    "pattern-unknown-field": (_set([*FIFTH, "rooms"], "5{level}{n:02d}"), ["第五教学楼", "room pattern"]),
    "pattern-unclosed": (_set([*FIFTH, "rooms"], "5{floor}{n:02d"), ["第五教学楼", "room pattern"]),
    "pattern-positional": (_set([*FIFTH, "rooms"], "5{0}{n}"), ["第五教学楼", "room pattern"]),
    "pattern-attribute": (_set([*FIFTH, "rooms"], "5{floor.number}{n}"), ["第五教学楼", "room pattern"]),
    "pattern-index": (_set([*FIFTH, "rooms"], "5{floor[0]}{n}"), ["第五教学楼", "room pattern"]),
    "pattern-without-n": (_set([*FIFTH, "rooms"], "5{floor}"), ["第五教学楼", "same room number"]),
    "pattern-ambiguous": (lambda d: _set(FIFTH, {**d["campuses"][0]["buildings"][4], "rooms": "{floor}{n}",
                                                 "floors": 12})(d),
                          ["第五教学楼", "same room number"]),  # 1st floor no. 11 and 11th floor no. 1
    "floors-not-a-number": (_set([*FIFTH, "floors"], "六层"), ["第五教学楼", "number"]),
    "floors-negative": (_set([*FIFTH, "floors"], -1), ["第五教学楼", "negative"]),
    "default-campus-unknown": (_set(["default_campus"], "西环校区"), ["default_campus", "西环校区"]),
    "building-without-name": (_append(["campuses", 1, "buildings"], {"kind": "teaching"}), ["箭盘校区", "name"]),
    "kinds-a-bare-word": (_set(["categories", 1, "scope", "kinds"], "dormitory"), ["东环校区宿舍维修", "kinds"]),
    "scope-not-a-mapping": (_set(["categories", 1, "scope"], ["dormitory"]), ["东环校区宿舍维修", "scope"]),
    "items-a-bare-word": (_set(["groups", 5, "items"], "电梯"), ["电梯", "items", "list"]),
    "aliases-a-bare-word": (_set([*FIFTH, "aliases"], "五教"), ["第五教学楼", "aliases", "list"]),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_faulty_register_is_refused_clearly(name: str) -> None:
    """A faulty register is refused with one line naming the fault and where it is."""
    change, words = FAULTS[name]
    d = doc()
    change(d)
    with pytest.raises(RegisterError) as err:
        Register.from_dict(d)
    message = str(err.value)
    assert "\n" not in message
    for w in words:
        assert w in message, message


@pytest.mark.parametrize("text, words", [
    ("", ["mapping"]),
    ("- just\n- a list\n", ["mapping"]),
    ("campuses: [\n  - a\n", ["YAML", "line 2"]),
    ("default_campus: 东环校区\ncampuses:\n\t- name: x\n", ["YAML", "line 3"]),
])
def test_unreadable_register_text_is_refused_clearly(text: str, words: list[str]) -> None:
    """Text that is not a register document at all gets a one-line RegisterError."""
    with pytest.raises(RegisterError) as err:
        Register.from_yaml(text)
    assert "\n" not in str(err.value)
    for w in words:
        assert w in str(err.value)


# -- another school's register ---------------------------------------------------------------------

def test_another_register_of_the_same_shape_works() -> None:
    """Nothing is hard-coded: a different school's register answers the same questions."""
    reg = Register.from_yaml(SMALL)
    assert reg.default_campus == "北山校区"

    def cat(campus: str, kind: str, group: str) -> str | None:
        found = reg.category_for(campus, kind, group)
        return found.name if found else None

    assert cat("北山校区", "dormitory", "水暖") == "北山公寓维修"
    assert cat("北山校区", "hall", "木工") == "北山公共维修"
    assert cat("北山校区", "outdoor", "园林") == "园林科"
    assert cat("南湖校区", "outdoor", "园林") == "园林科"
    assert cat("南湖校区", "teaching", "水暖") == "南湖校区维修"
    assert cat("北山校区", "outdoor", "水暖") is None  # nobody repairs taps on the sports ground here
    a = reg.building("北山校区", "桂园A座")
    assert a is not None and a.floor_of_room("A205") == 2 and a.floor_of_room("B205") is None
    assert a.rooms_on(3)[-1] == "A310"
    dorms = reg.category("北山公寓维修")
    assert dorms is not None
    assert [b.name for b in reg.buildings_for(dorms, "北山校区", "水暖")] == ["桂园A座", "桂园B座"]


def test_the_repair_form_follows_the_loaded_register(services: Services, wechat: Callable[..., WeChatUser],
                                                     bound: Callable[..., None]) -> None:
    """Load another school's register (no code change): the repair form offers its names, not the old ones."""
    with services.db.session() as s:
        from models.register import store_register

        store_register(s, SMALL, "small.yaml")
    services.forget_register()
    user = wechat("o-other-school")
    bound("o-other-school")
    reply = user.text("报修").text
    assert "北山公寓维修" in reply and "南湖校区维修" in reply
    assert "东环" not in reply and "校园管理" not in reply
    reply = choose(user, "北山公寓维修")
    assert "水暖" in reply and "木工" in reply and "园林" not in reply
    reply = choose(user, "水暖")
    assert "龙头" in reply and "暖气片" in reply
    reply = choose(user, "龙头")
    assert "桂园A座" in reply and "桂园B座" in reply and "北山礼堂" not in reply


# -- the command line ---------------------------------------------------------------------------

def _one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert type(result.exception).__name__ in ("NoneType", "SystemExit")  # a crash would be a traceback
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.mark.parametrize("text, words", [
    ("campuses: [\n  - a\n", ["YAML", "line 2"]),
    ("", ["mapping"]),
    ("default_campus: 东环校区\ncampuses: []\ngroups: []\ncategories: []\n", ["no campuses"]),
    (REFERENCE.replace("groups: [绿化, 保洁]", "groups: [绿化, 保洁, 暖通]"), ["校园管理", "暖通"]),
    (REFERENCE.replace('rooms: "5{floor}{n:02d}"', 'rooms: "5{floor.x}{n:02d}"'), ["第五教学楼", "room pattern"]),
], ids=["bad-yaml", "empty", "no-campuses", "unknown-group", "bad-pattern"])
def test_register_load_refuses_a_bad_file_in_one_line(cli: Callable[..., Result], tmp_path: Path, services: Services,
                                                      text: str, words: list[str]) -> None:
    """`repairbot register load` on a faulty file: non-zero exit, one 'Error:' line, and the old register stays."""
    path = tmp_path / "register.yaml"
    path.write_text(text, encoding="utf-8")
    before = services.register()
    assert before is not None
    line = _one_line_error(cli("register", "load", str(path)))
    for w in words:
        assert w in line
    with services.db.session() as s:
        now = current_register(s)
        assert now is not None and now.version == before.version


def test_register_load_refuses_a_file_not_in_utf8(cli: Callable[..., Result], tmp_path: Path) -> None:
    """A register saved in GBK (as Windows editors do) gets a one-line error, not a traceback."""
    path = tmp_path / "register.yaml"
    path.write_bytes(REFERENCE.encode("gbk"))
    _one_line_error(cli("register", "load", str(path)))


def test_register_load_puts_a_new_register_in_force(cli: Callable[..., Result], tmp_path: Path,
                                                    services: Services) -> None:
    """A good file is loaded, summarised in one line, and becomes the register in force."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    result = cli("register", "load", str(path))
    assert result.exit_code == 0, result.output
    assert "2 campuses, 5 buildings, 4 groups, 4 categories" in result.output  # its 3, and 其他
    with services.db.session() as s:
        now = current_register(s)
        assert now is not None and now.default_campus == "北山校区"


def test_every_category_takes_other_faults_where_its_scope_covers() -> None:
    """A register without an 其他 group gets one; a fault of it goes to the team that covers the place most
    narrowly, not to the first school-wide one."""
    reg = Register.from_yaml(SMALL)
    assert reg.group("其他") is not None and all("其他" in c.scope.groups for c in reg.categories)
    route = {(c, b): cat.name for c, b in [("北山校区", "桂园A座"), ("北山校区", "北山礼堂"), ("北山校区", "北山球场"),
                                           ("南湖校区", "综合楼")]
             if (cat := reg.category_for_place(c, b, "其他")) is not None}
    assert route == {("北山校区", "桂园A座"): "北山公寓维修", ("北山校区", "北山礼堂"): "北山公共维修",
                     ("北山校区", "北山球场"): "园林科", ("南湖校区", "综合楼"): "南湖校区维修"}
    assert reg.category_for_place("北山校区", "北山球场", "园林").name == "园林科"  # the others' routing is unchanged
    # A type chosen by hand still offers every place of its scope for 其他: no empty building list.
    outdoor = reg.category("园林科")
    assert outdoor is not None and [b.name for b in reg.buildings_for(outdoor, "北山校区", "其他")] == ["北山球场"]


def test_a_registers_own_other_group_is_kept() -> None:
    own = yaml.safe_load(SMALL)
    own["groups"].append({"name": "其他", "trade": "物业", "items": ["杂项"]})
    own["categories"][1]["scope"]["groups"].append("其他")
    reg = Register.from_dict(own)
    assert [g.items for g in reg.groups if g.name == "其他"] == [("杂项",)]
    assert reg.category_for_place("北山校区", "桂园A座", "其他").name == "北山公寓维修"
