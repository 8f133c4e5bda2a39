"""The free-text parser against the school's register: places, things, intents, context, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jieba
import pytest

from dialogs.nlu.cli import main, run_parse
from dialogs.nlu.lexicon import DEFAULT_LEXICON, Lexicon
from dialogs.nlu.parse import JSON_KEYS, Parse, Parser, clear_parsers, get_parser, normalise
from dialogs.nlu.places import building_variants, numeral_variants
from models.errors import RegisterError
from models.register import Register
from tests.nlu.tsv import BARS, BARS_HARD, BLIND_TSVS, EXTRA_TSV, HARD_TSV, load_tsv, register_path, score, shared_file

EAST, JP, LS, HOUSING = "东环校区", "箭盘校区", "柳石校区", "教师公租房"


def check(p: Parse, **want: Any) -> None:
    got = {k: getattr(p, k) for k in want}
    assert got == want, p


# -- places ----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "12栋", "十二栋", "12号楼", "十二号楼", "12#楼", "12#", "１２栋", "１２＃楼", "宿舍12栋", "公寓十二栋", "12幢",
    "学生公寓12栋", "学生公寓十二栋", "12 栋", "12号宿舍楼", "东环12栋",
])
def test_building_numeral_variants(parser: Parser, text: str) -> None:
    check(parser.parse(text), intent="repair", campus=EAST, building="学生公寓12栋")


@pytest.mark.parametrize(("text", "campus", "building"), [
    ("五教", EAST, "第五教学楼"), ("5教", EAST, "第五教学楼"), ("教五", EAST, "第五教学楼"),
    ("第五教学楼", EAST, "第五教学楼"), ("五号教学楼", EAST, "第五教学楼"), ("第5教学楼", EAST, "第五教学楼"),
    ("一饭", EAST, "第一食堂"), ("1食堂", EAST, "第一食堂"), ("学活", EAST, "学生活动中心"),
    ("医务室", EAST, "校医院"), ("操场", EAST, "田径场"), ("马路边", EAST, "校园道路"),
    ("箭盘操场", JP, "田径场"), ("箭盘山校区一教", JP, "第一教学楼"), ("柳石主教学楼", LS, "教学楼"),
    ("实训楼", LS, "实训楼"), ("公租房3栋", HOUSING, "公租房3栋"), ("公租房三号楼", HOUSING, "公租房3栋"),
    ("教师公寓4栋", HOUSING, "公租房4栋"), ("青年教师公寓1栋", HOUSING, "公租房1栋"),
    ("公租房那边的3栋", HOUSING, "公租房3栋"), ("柳石那边的饭堂", LS, "食堂"),
])
def test_building_aliases(parser: Parser, text: str, campus: str, building: str) -> None:
    check(parser.parse(text), campus=campus, building=building)


@pytest.mark.parametrize(("text", "building", "floor", "room"), [
    ("12栋305", "学生公寓12栋", "3", "305"),
    ("12栋305宿舍", "学生公寓12栋", "3", "305"),
    ("12栋305室", "学生公寓12栋", "3", "305"),
    ("12栋３０５", "学生公寓12栋", "3", "305"),
    ("12栋五零二", "学生公寓12栋", "5", "502"),
    ("十二栋七一二", "学生公寓12栋", "7", "712"),
    ("12#305", "学生公寓12栋", "3", "305"),
    ("2-305的灯坏了", "学生公寓2栋", "3", "305"),
    ("12楼305的灯坏了", "学生公寓12栋", "3", "305"),
    ("12栋901", "学生公寓12栋", None, None),      # 12栋 has 7 floors
    ("12栋3050", "学生公寓12栋", None, None),     # no such room
    ("12栋325", "学生公寓12栋", None, None),      # 24 rooms a floor
    ("12栋三楼", "学生公寓12栋", "3", None),
    ("12栋3层", "学生公寓12栋", "3", None),
    ("12栋第三层", "学生公寓12栋", "3", None),
    ("12栋顶楼", "学生公寓12栋", "7", None),
    ("12栋九楼", "学生公寓12栋", None, None),     # a floor the building does not have
    ("一教1203", "第一教学楼", "2", "1203"),
    ("一教一二零三", "第一教学楼", "2", "1203"),
    ("五教5512", "第五教学楼", "5", "5512"),
    ("一教203", "第一教学楼", None, None),        # 一教 numbers rooms 1{floor}{n:02d}
    ("图书馆305", "图书馆", None, None),          # the library has no room numbers
    ("图书馆三楼", "图书馆", "3", None),
    ("操场三楼", "田径场", None, None),           # outdoor: no floors
    ("体育馆门口", "体育馆", None, None),
    ("公租房1栋1106", "公租房1栋", "11", "1106"),
])
def test_floor_and_room(parser: Parser, text: str, building: str, floor: str | None, room: str | None) -> None:
    check(parser.parse(text), building=building, floor=floor, room=room)


@pytest.mark.parametrize(("text", "floor"), [("三楼卫生间的灯坏了", "3"), ("5楼的插座没电", "5"),
                                             ("负一楼的灯坏了", None), ("楼梯扶手坏了", None)])
def test_floor_without_building(parser: Parser, text: str, floor: str | None) -> None:
    check(parser.parse(text), building=None, floor=floor, room=None)


def test_room_needs_a_building(parser: Parser) -> None:
    check(parser.parse("305的灯坏了"), building=None, room=None, group="照明")


@pytest.mark.parametrize("text", ["统一教材太贵了", "这个学活动很好"])
def test_short_alias_inside_a_word_is_not_a_place(parser: Parser, text: str) -> None:
    check(parser.parse(text), building=None)


# -- resolution across campuses ----------------------------------------------------

def test_default_campus_first_and_alternatives(parser: Parser) -> None:
    p = parser.parse("一教三楼的灯坏了")
    check(p, campus=EAST, building="第一教学楼", floor="3")
    assert p.building_candidates == ((JP, "第一教学楼"),)
    unambiguous = parser.parse("五教三楼的灯坏了")
    assert unambiguous.building_candidates == ()
    assert p.confidence < unambiguous.confidence


def test_unique_elsewhere(parser: Parser) -> None:
    check(parser.parse("实训楼305的灯坏了"), campus=LS, building="实训楼", room="305", category="柳石校区维修")


def test_ambiguous_outside_default_campus_is_not_guessed(parser: Parser) -> None:
    p = parser.parse("食堂的吊扇不转")
    check(p, intent="repair", campus=None, building=None, group="风扇", category=None)
    # Every canteen is a candidate, the default campus's numbered ones first: none is dropped.
    assert p.building_candidates == (
        (EAST, "第一食堂"), (EAST, "第二食堂"), (EAST, "第三食堂"), (JP, "食堂"), (LS, "食堂"))
    assert p.confidence < parser.parse("箭盘食堂的吊扇不转").confidence


def test_a_common_noun_ranks_the_users_campus_first(parser: Parser) -> None:
    p = parser.parse("饭堂门口那盏路灯坏了", user_campus=LS)
    check(p, campus=LS, building="食堂", group="照明")
    assert p.building_candidates[:3] == ((EAST, "第一食堂"), (EAST, "第二食堂"), (EAST, "第三食堂"))


def test_named_campus_wins(parser: Parser) -> None:
    p = parser.parse("箭盘3栋205水管爆了")
    check(p, campus=JP, building="学生公寓3栋", room="205", floor="2", category="箭盘校区维修")
    assert p.building_candidates == ()


def test_named_campus_without_that_building(parser: Parser) -> None:
    p = parser.parse("柳石三教的灯坏了")
    check(p, campus=LS, building=None, category="柳石校区维修", group="照明")


def test_campus_only_category_when_scope_decides(parser: Parser) -> None:
    check(parser.parse("箭盘校区的路灯坏了"), campus=JP, building=None, category="箭盘校区维修")
    # In 东环 the category depends on the kind of building: not known yet.
    check(parser.parse("东环校区的路灯坏了"), campus=EAST, building=None, category=None, group="照明")
    # 保洁 goes to one category anywhere.
    check(parser.parse("东环校区路边好多垃圾"), campus=EAST, category="校园管理")


# -- context -----------------------------------------------------------------------

def test_user_campus_prefers_the_users_campus(parser: Parser) -> None:
    p = parser.parse("3栋205水管爆了", user_campus=JP)
    check(p, campus=JP, building="学生公寓3栋", room="205")
    assert (EAST, "学生公寓3栋") in p.building_candidates


def test_user_campus_reaches_campus_scoped_names(parser: Parser) -> None:
    check(parser.parse("3栋802水管爆了", user_campus=HOUSING), campus=HOUSING, building="公租房3栋", room="802")


def test_user_campus_does_not_override_the_text(parser: Parser) -> None:
    check(parser.parse("柳石3栋505的插座烧了", user_campus=JP), campus=LS, building="学生公寓3栋")
    check(parser.parse("五教的灯坏了", user_campus=JP), campus=EAST, building="第五教学楼")


def test_unknown_user_campus_is_ignored(parser: Parser) -> None:
    check(parser.parse("3栋205水管爆了", user_campus="火星校区"), campus=EAST)


def test_default_building_when_no_place(parser: Parser) -> None:
    home = (EAST, "学生公寓12栋")
    check(parser.parse("马桶堵了", default_building=home), campus=EAST, building="学生公寓12栋",
          category="东环校区宿舍维修", room=None)
    check(parser.parse("305马桶堵了", default_building=home), building="学生公寓12栋", room="305", floor="3")
    # A place in the text wins; a campus alone also counts as a place.
    check(parser.parse("五教马桶堵了", default_building=home), building="第五教学楼")
    check(parser.parse("箭盘马桶堵了", default_building=home), campus=JP, building=None)
    check(parser.parse("马桶堵了", default_building=("东环校区", "没有这栋楼")), building=None)


def test_default_building_from_json(parser: Parser) -> None:
    # A dialog state read back from JSON holds a list, not a tuple.
    home: Any = ["东环校区", "学生公寓12栋"]
    check(parser.parse("灯坏了", default_building=home), building="学生公寓12栋", category="东环校区宿舍维修")
    check(parser.parse("灯坏了", default_building=("东环校区",)), building=None)  # type: ignore[arg-type]


def test_no_context_by_default(parser: Parser) -> None:
    check(parser.parse("马桶堵了"), intent="repair", campus=None, building=None, category=None, group="排水",
          item="便盆", fault="堵")


# -- things, faults, groups --------------------------------------------------------

@pytest.mark.parametrize(("text", "group", "item"), [
    ("马桶堵了", "排水", "便盆"), ("蹲坑堵了", "排水", "便盆"), ("厕所堵了", "排水", "便盆"),
    ("便池反味", "排水", "便盆"), ("下水道堵了", "排水", "下水道"), ("洗手池下水很慢", "排水", "洗手池"),
    ("地漏反水", "排水", "地漏"), ("灯坏了", "照明", None), ("灯管不亮", "照明", "灯管"),
    ("灯一闪一闪的", "照明", None), ("楼道的声控灯不亮", "照明", None), ("路灯不亮", "照明", "路灯"),
    ("跳闸了", "供电", None), ("没电了", "供电", None), ("电闸老是跳", "供电", "空气开关"),
    ("插座烧了", "供电", "插座"), ("水龙头关不紧", "给水", "水龙头"), ("水龙头一直滴水", "给水", "水龙头"),
    ("水管爆了", "给水", "水管"), ("花洒出水很小", "给水", "花洒"), ("没热水了", "给水", None),
    ("吊扇不转", "风扇", "吊扇"), ("风扇转不动", "风扇", None), ("电梯困人了", "电梯", "电梯"),
    ("门锁坏了", "门窗", "门锁"), ("门关不上", "门窗", "门"), ("窗户玻璃碎了", "门窗", "玻璃"),
    ("纱窗破了", "门窗", "纱窗"), ("床板断了", "家具", "床铺"), ("椅子腿断了", "家具", "椅子"),
    ("床铺的护栏松了", "家具", "床铺"), ("柜子的锁坏了", "家具", "柜子"), ("宿舍的锁坏了", "门窗", "门锁"),
    ("黑板掉漆了", "家具", "黑板"), ("墙皮掉了", "墙地面", "墙体"), ("墙上有裂缝", "墙地面", "墙体"),
    ("地砖松了", "墙地面", "瓷砖"), ("路面有个坑", "墙地面", "路面"), ("楼梯扶手松了", "墙地面", "楼梯扶手"),
    ("天花板漏水", "墙地面", "天花板"), ("草坪该修剪了", "绿化", "草坪"), ("树倒了", "绿化", "树木"),
    ("地上好多垃圾", "保洁", "垃圾"), ("卫生间有积水", "保洁", "积水"), ("桌子很脏", "保洁", None),
    ("洗手池的水龙头坏了", "给水", "水龙头"), ("水龙头下面的洗手池堵了", "排水", "洗手池"),
    ("卫生间很臭，蹲坑好像堵了", "排水", "便盆"), ("空调插座没电", "供电", "插座"),
])
def test_things_and_groups(parser: Parser, text: str, group: str, item: str | None) -> None:
    check(parser.parse(text), intent="repair", group=group, item=item)


@pytest.mark.parametrize("text", [
    "空调坏了", "空调漏水", "空调不制冷", "投影仪打不开", "电脑开不了机", "教室的电脑坏了", "饮水机没有热水",
    "宿舍网络连不上", "洗衣机坏了",
])
def test_unknown_things_are_not_guessed(parser: Parser, text: str) -> None:
    p = parser.parse(text)
    check(p, intent="repair", group=None, item=None, category=None)
    assert p.group_candidates == ()
    assert p.confidence <= 0.6


def test_fault_fitting_several_groups_lists_them(parser: Parser) -> None:
    p = parser.parse("卫生间漏水了")
    check(p, group="给水", fault="漏水", spot="卫生间")
    assert p.group_candidates[0] == "给水"
    assert "排水" in p.group_candidates
    assert p.confidence < parser.parse("卫生间水龙头漏水了").confidence


def test_broken_with_nothing_named_has_no_group(parser: Parser) -> None:
    p = parser.parse("坏了")
    check(p, intent="repair", group=None, fault="损坏")


@pytest.mark.parametrize(("text", "spot"), [
    ("五教一楼卫生间便盆堵", "卫生间"), ("二教二楼走廊的窗户玻璃碎了", "走廊"), ("体育馆门口的路面有个坑", "门口"),
    ("12栋楼梯间的灯坏了", "楼梯间"), ("宿舍阳台的水龙头坏了", "阳台"), ("12栋305宿舍的灯坏了", "宿舍"),
])
def test_spots(parser: Parser, text: str, spot: str) -> None:
    assert parser.parse(text).spot == spot


@pytest.mark.parametrize(("text", "spot"), [("三教二楼走廊灯不亮", "走廊"), ("东环3栋楼道灯坏了好几天了", "楼道")])
def test_a_thing_named_with_its_spot_says_the_spot(parser: Parser, text: str, spot: str) -> None:
    """「走廊灯」 is a lamp, and it is in the corridor."""
    p = parser.parse(text)
    assert (p.group, p.spot, p.spot_generic) == ("照明", spot, False)


def test_a_generic_spot_is_told_apart(parser: Parser) -> None:
    assert parser.parse("12栋宿舍的灯坏了").spot_generic


def test_a_room_the_building_does_not_have_is_kept_aside(parser: Parser) -> None:
    """二教 numbers its rooms 2302…: "302" is not placed, but not forgotten either."""
    p = parser.parse("二教302的灯管一闪一闪")
    assert (p.building, p.room, p.room_said) == ("第二教学楼", None, "302")
    assert parser.parse("12栋503洗手池漏水").room_said is None


def test_design_example(parser: Parser) -> None:
    check(parser.parse("五教一楼卫生间便盆堵"), intent="repair", category="东环校区公共区域物业维修", group="排水",
          item="便盆", campus=EAST, building="第五教学楼", floor="1", room=None, spot="卫生间", fault="堵")


# -- intents -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "intent"), [
    ("饭菜太咸", "complaint"), ("建议食堂开到十点", "complaint"), ("师傅态度很好", "complaint"),
    ("我要投诉宿管", "complaint"), ("点个赞", "complaint"), ("热水供应不稳定", "complaint"),
    ("保洁不到位", "complaint"), ("菜太贵", "complaint"), ("三食堂的菜太贵了", "complaint"),
    ("师傅修得很快", "complaint"), ("希望食堂增加夜宵", "complaint"),
    ("我的报修到哪一步了", "query"), ("查询报修进度", "query"), ("我的维修单", "query"),
    ("我报的修什么时候来", "query"), ("怎么还没人来修", "query"), ("修好了吗", "query"),
    ("有没有停水通知", "notice"), ("通知公告", "notice"), ("明天会不会停电", "notice"),
    ("您好", "other"), ("好的", "other"), ("谢谢", "other"), ("在吗", "other"), ("今天天气不错", "other"),
    ("18栋几点关门", "other"),
    ("四教一楼大厅地上有很多垃圾，麻烦清扫", "repair"), ("18栋", "repair"), ("我要报修", "repair"),
    ("您好，12栋305的灯坏了，谢谢", "repair"), ("能不能派人来修一下灯", "repair"),
    ("灯坏了什么时候能来修", "repair"), ("宿舍停电了", "repair"),
])
def test_intents(parser: Parser, text: str, intent: str) -> None:
    assert parser.parse(text).intent == intent


def test_non_repairs_carry_no_repair_fields(parser: Parser) -> None:
    p = parser.parse("三食堂的菜太贵了")
    check(p, intent="complaint", group=None, item=None, category=None, fault=None)
    assert p.building == "第三食堂"  # the place still helps route a complaint


# -- robustness --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "", " ", "\n", "\t\r", "。。。", "？？？", "!!!", "😀😀", "\u200b", "\x00\x01", "\ud800", "🔧12栋🔧",
    "a" * 5000, "五教一楼卫生间便盆堵" * 600, "1" * 5000, "栋" * 3000, "-" * 100 + "305", "<xml>&amp;</xml>",
    "12栋" + "\u0301" * 10, "ＡＢＣ１２３", "𠀀𠀁", "null", "None", "{}",
])
def test_never_raises(parser: Parser, text: str) -> None:
    p = parser.parse(text)
    assert p.intent in ("repair", "complaint", "query", "notice", "other")
    assert 0.0 <= p.confidence <= 1.0
    json.dumps(p.to_json(), ensure_ascii=False)


@pytest.mark.parametrize("text", ["", "   ", "。。。", "😀", "\x00"])
def test_empty_means_other_with_nulls(parser: Parser, text: str) -> None:
    p = parser.parse(text)
    assert p.intent == "other"
    assert all(v is None for k, v in p.to_json().items() if k not in ("intent", "confidence"))


def test_long_text_is_still_read(parser: Parser) -> None:
    check(parser.parse("12栋305的灯坏了" + "，麻烦了" * 2000), building="学生公寓12栋", room="305", group="照明")


def test_normalise() -> None:
    assert normalise("１２＃楼　３０５ ") == "12#楼305"
    assert len(normalise("字" * 5000)) <= 600


def test_to_json_has_exactly_the_design_keys(parser: Parser) -> None:
    out = parser.parse("一教三楼的灯坏了").to_json()
    assert tuple(out) == JSON_KEYS
    assert set(out) == {"intent", "category", "group", "item", "campus", "building", "floor", "room", "spot",
                        "fault", "confidence"}
    assert isinstance(out["floor"], str)


def test_parse_is_pure(parser: Parser) -> None:
    texts = ["12栋305的灯坏了", "食堂的吊扇不转", "空调坏了", "您好"]
    first = [parser.parse(t) for t in texts]
    assert [parser.parse(t) for t in reversed(texts)] == list(reversed(first))


def test_parse_from_many_threads(parser: Parser) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [r.text for r in load_tsv(EXTRA_TSV)]
    alone = [parser.parse(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(parser.parse, texts)) == alone


def test_global_jieba_is_untouched(parser: Parser) -> None:
    # Our words live in a private tokenizer: the global one neither has them nor was loaded by us.
    assert "五教" not in jieba.dt.FREQ
    assert "关不上" not in jieba.dt.user_word_tag_tab


# -- the parser cache ------------------------------------------------------------------

def test_get_parser_caches_per_register(register: Register) -> None:
    clear_parsers()
    a = get_parser(register)
    assert get_parser(register) is a
    other = Register.from_yaml(register_path().read_text(encoding="utf-8"))  # type: ignore[union-attr]
    assert get_parser(other) is not a
    v7 = Register.from_yaml(register_path().read_text(encoding="utf-8"), version=7)  # type: ignore[union-attr]
    v7_again = Register.from_yaml(register_path().read_text(encoding="utf-8"), version=7)  # type: ignore[union-attr]
    assert get_parser(v7) is get_parser(v7_again)
    clear_parsers()


# -- the lexicon is checked against the register -----------------------------------------

def _lexicon_with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_LEXICON.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "lexicon.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_lexicon_target_missing_from_register_fails_loudly(register: Register, tmp_path: Path) -> None:
    path = _lexicon_with(tmp_path, "  便盆: [马桶,", "  空调: [柜机]\n  便盆: [马桶,")
    with pytest.raises(RegisterError, match="空调"):
        Parser(register, path)


def test_lexicon_fault_group_missing_from_register_fails_loudly(register: Register, tmp_path: Path) -> None:
    path = _lexicon_with(tmp_path, "groups: [排水]", "groups: [暖通]")
    with pytest.raises(RegisterError, match="暖通"):
        Lexicon.load(register, path)


def test_register_without_an_item_the_lexicon_maps_fails_loudly(register: Register) -> None:
    import yaml

    doc = yaml.safe_load(register_path().read_text(encoding="utf-8"))  # type: ignore[union-attr]
    for g in doc["groups"]:
        g["items"] = [i for i in g["items"] if i != "便盆"]
    with pytest.raises(RegisterError, match="便盆"):
        Parser(Register.from_dict(doc))


@pytest.mark.parametrize("bad", ["[]", "things: [a, b]", "faults: {a: 1}", "intents: {chat: {strong: [hi]}}",
                                 "faults: [{label: x, words: []}]", ": : :"])
def test_malformed_lexicon_is_a_register_error(register: Register, tmp_path: Path, bad: str) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(RegisterError):
        Lexicon.load(register, path)


def test_missing_lexicon_file_is_a_register_error(register: Register, tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match="cannot read"):
        Lexicon.load(register, tmp_path / "nope.yaml")


# -- any register, not only this school's -------------------------------------------------

OTHER_SCHOOL = """
default_campus: 南校区
campuses:
  - name: 南校区
    aliases: [南区]
    buildings:
      - {name: 理科楼, aliases: [理科大楼], kind: teaching, floors: 4, rooms: "L{floor}{n:02d}", per_floor: 8}
      - {name: 学生宿舍A3, aliases: [A3栋, 3号楼], kind: dorm, floors: 5, rooms: "{floor}{n:02d}", per_floor: 10}
  - name: 北校区
    buildings:
      - {name: 学生宿舍B3, aliases: [3号楼], kind: dorm, floors: 5, rooms: "{floor}{n:02d}", per_floor: 10}
groups:
  - {name: 水暖, trade: 维修, items: [暖气片, 龙头]}
  - {name: 电工, trade: 维修, items: [电灯]}
categories:
  - name: 南区宿舍
    scope: {campus: 南校区, kinds: [dorm], groups: [水暖, 电工]}
  - name: 南区公共
    scope: {campus: 南校区, kinds: {not: [dorm]}, groups: [水暖, 电工]}
  - name: 北区
    scope: {campus: 北校区, kinds: "*", groups: [水暖, 电工]}
"""

OTHER_LEXICON = """
things:
  暖气片: [暖气, 散热器]
  龙头: [水龙头]
  电工: [灯]
faults:
  - {label: 不热, code: cold, groups: [水暖], words: [不热, 冰凉]}
  - {label: 损坏, code: broken, words: [坏了, 坏]}
spots: [卫生间]
building_number_suffixes: [栋, 号楼]
intents:
  complaint: {strong: [投诉]}
  other: {strong: [你好]}
"""


def test_another_schools_register_and_lexicon(tmp_path: Path) -> None:
    lex = tmp_path / "lexicon.yaml"
    lex.write_text(OTHER_LEXICON, encoding="utf-8")
    p = Parser(Register.from_yaml(OTHER_SCHOOL), lex)
    check(p.parse("三号楼305暖气不热"), intent="repair", campus="南校区", building="学生宿舍A3", room="305",
          floor="3", group="水暖", item="暖气片", category="南区宿舍", fault="不热")
    assert p.parse("三号楼305暖气不热").building_candidates == (("北校区", "学生宿舍B3"),)
    check(p.parse("理科楼l203的灯坏了"), building="理科楼", room="L203", floor="2", group="电工",
          category="南区公共")
    check(p.parse("A3栋"), intent="repair", building="学生宿舍A3")
    check(p.parse("北校区3栋的水龙头坏了"), campus="北校区", building="学生宿舍B3", category="北区")
    assert p.parse("投诉").intent == "complaint"
    # The default lexicon names items this register lacks: refused.
    with pytest.raises(RegisterError):
        Parser(Register.from_yaml(OTHER_SCHOOL))


# -- numeral variants of aliases ---------------------------------------------------------

def test_numeral_variants() -> None:
    assert numeral_variants("12栋") == {"12栋", "十二栋"}
    assert numeral_variants("一教") == {"一教", "1教"}
    assert numeral_variants("图书馆") == {"图书馆"}
    assert {"12号楼", "12#楼", "十二幢", "十二栋"} <= building_variants("12栋", ["栋", "号楼", "#楼", "幢"])
    assert building_variants("一号教学楼", ["栋", "号楼"]) == {"一号教学楼", "1号教学楼"}


# -- the command line ----------------------------------------------------------------------

def test_run_parse_writes_one_object_per_line(register: Register) -> None:
    lines = ["五教一楼卫生间便盆堵", "", "您好", "   ", "😀", "18栋"]
    out = io.StringIO()
    assert run_parse(register, io.StringIO("\n".join(lines) + "\n"), out) == 0
    objs = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(objs) == len(lines)
    assert [o["intent"] for o in objs] == ["repair", "other", "other", "other", "other", "repair"]
    assert all(tuple(o) == JSON_KEYS for o in objs)
    assert "第五教学楼" in out.getvalue()  # ensure_ascii=False


def test_run_parse_without_trailing_newline(register: Register) -> None:
    out = io.StringIO()
    run_parse(register, io.StringIO("灯坏了\r\n马桶堵了"), out)
    assert [json.loads(x)["group"] for x in out.getvalue().splitlines()] == ["照明", "排水"]


def test_cli_refuses_a_missing_or_bad_register(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--register", str(tmp_path / "nope.yaml")]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("campuses: []\n", encoding="utf-8")
    assert main(["--register", str(bad)]) == 2
    assert "error:" in capsys.readouterr().err


# -- the bars, on the dev set and on our own held-out-style set ----------------------------

def _tsv_cases() -> list[Any]:
    cases = [pytest.param(EXTRA_TSV, BARS, id="extra"), pytest.param(HARD_TSV, BARS_HARD, id="hard")]
    cases += [pytest.param(p, BARS_HARD, id=p.stem.removeprefix("utterances-")) for p in BLIND_TSVS]
    for name, bars, case in (("utterances-dev.tsv", BARS, "dev"), ("utterances-dev-2.tsv", BARS_HARD, "dev-2")):
        path = shared_file(name)
        cases.append(pytest.param(path, bars, id=case, marks=pytest.mark.skipif(path is None, reason=f"no {name}")))
    return cases


@pytest.mark.parametrize(("path", "bars"), _tsv_cases())
def test_scores_meet_the_bars(parser: Parser, path: Path, bars: dict[str, float]) -> None:
    result = score(load_tsv(path), lambda t: parser.parse(t).to_json())
    assert not result.below_bars(bars), (result.summary(), result.errors)


@pytest.mark.parametrize(("path", "size"), [(EXTRA_TSV, 150), (HARD_TSV, 300)])
def test_held_out_sets_are_big_and_varied(path: Path, size: int) -> None:
    rows = load_tsv(path)
    assert len(rows) >= size
    assert len({r.text for r in rows}) == len(rows)
    assert {r.gold["intent"] for r in rows} == {"repair", "complaint", "query", "notice", "other"}
    assert len({r.gold["campus"] for r in rows if r.gold["campus"]}) == 4


@pytest.mark.parametrize("path", BLIND_TSVS, ids=lambda p: p.stem)
def test_blind_sets_are_big_and_varied(path: Path) -> None:
    rows = load_tsv(path)
    assert len(rows) >= 150
    assert len({r.text for r in rows}) == len(rows)
    assert {r.gold["intent"] for r in rows} == {"repair", "complaint", "query", "notice", "other"}
    assert len({r.gold["campus"] for r in rows if r.gold["campus"]}) == 4
    assert not {r.text for r in rows} & {r.text for r in load_tsv(HARD_TSV)}


def test_hard_set_is_not_the_dev_sets() -> None:
    ours = {r.text for r in load_tsv(HARD_TSV)}
    for name in ("utterances-dev.tsv", "utterances-dev-2.tsv"):
        path = shared_file(name)
        if path is not None:
            assert not ours & {r.text for r in load_tsv(path)}
