"""Words typed with one wrong, sound-alike character: the rule, its limits, and the confidence the dialog uses."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs.nlu.fuzzy import Correction, FuzzyIndex, confidence_level
from dialogs.nlu.parse import Parse, Parser
from dialogs.nlu.sounds import fuzzy_key, readings, similarity


def check(p: Parse, **want: Any) -> None:
    got = {k: getattr(p, k) for k in want}
    assert got == want, p


# -- sounds ---------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [("zha", "za"), ("shan", "san"), ("chuang", "cuan"), ("lou", "nou"),
                                      ("ting", "tin"), ("deng", "den")])
def test_input_method_fuzzy_sounds_share_a_key(a: str, b: str) -> None:
    assert fuzzy_key(a) == fuzzy_key(b)


def test_heteronyms_have_every_reading() -> None:
    assert {"hai", "huan"} <= set(readings("还"))
    assert readings("a") == () and readings("1") == ()


def test_similarity_prefers_exact_homophones() -> None:
    assert similarity(["hua", "sa"], ["hua", "sa"]) == 1.0
    assert 0.9 <= similarity(["tiao", "za"], ["tiao", "zha"]) < 1.0
    assert similarity(["tiao", "pan"], ["tiao", "zha"]) < 0.8


# -- the index --------------------------------------------------------------------------

def _index() -> FuzzyIndex[str]:
    words = [("跳闸", "fault"), ("花洒", "thing"), ("12栋", "place"), ("图书馆", "place"), ("洗手盆", "thing")]
    return FuzzyIndex(words)


def _words(index: FuzzyIndex[str], text: str) -> list[str]:
    return [m.word for i in range(len(text)) for m in index.matches_at(text, i, len(text))]


@pytest.mark.parametrize(("text", "word"), [("老是跳匝", "跳闸"), ("调闸了", "跳闸"), ("花撒掉了", "花洒"),
                                            ("图书管三楼", "图书馆"), ("12冻", "12栋"), ("洗手盘堵了", "洗手盆")])
def test_one_sound_alike_character(text: str, word: str) -> None:
    assert word in _words(_index(), text)


@pytest.mark.parametrize("text", [
    "跳闸",        # typed right: the exact scanner's job
    "13栋",        # a number is never corrected
    "跳伞",        # 伞 does not sound like 闸
    "哗撒",        # two characters wrong
    "花坛",        # 坛 does not sound like 洒
    "图书室",      # shi is not guan
])
def test_what_is_not_a_match(text: str) -> None:
    assert _words(_index(), text) == []


def test_near_sounds_only_late_in_long_words() -> None:
    # pen/pan: close, not the same key: accepted in the third character, never in a two-character word.
    assert "洗手盆" in _words(_index(), "洗手盘")
    assert _words(FuzzyIndex([("水盆", "x")]), "水盘") == []


def test_confidence_levels() -> None:
    assert confidence_level(0.9) == "high"
    assert confidence_level(0.7) == "middle"
    assert confidence_level(0.4) == "low"
    assert Correction("跳匝", "跳闸", 0.75).level == "middle"


# -- in the parser ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "group", "building"), [
    ("柳石3栋207花撒掉了", "给水", "学生公寓3栋"),
    ("九栋203老是跳匝", "供电", "学生公寓9栋"),
    ("6栋412的马通盖裂了", "排水", "学生公寓6栋"),
    ("8栋116的吊善晃得很厉害", "风扇", "学生公寓8栋"),
    ("12栋604衣贵门关不上", "家具", "学生公寓12栋"),
    ("掉扇转不起来了 7栋", "风扇", "学生公寓7栋"),
])
def test_mistyped_fault_and_thing_words(parser: Parser, text: str, group: str, building: str) -> None:
    check(parser.parse(text), intent="repair", group=group, building=building)


@pytest.mark.parametrize(("text", "campus", "building"), [
    ("图书管三楼的灯不亮了", "东环校区", "图书馆"),
    ("剑盘3栋206的灯坏了", "箭盘校区", "学生公寓3栋"),
    ("公组房3栋1002马桶堵了", "教师公租房", "公租房3栋"),
    ("12号搂305的灯坏了", "东环校区", "学生公寓12栋"),
    ("学生活动中新二楼的窗户关不上", "东环校区", "学生活动中心"),
    ("田经场边上的路灯不亮", "东环校区", "田径场"),
])
def test_mistyped_place_names(parser: Parser, text: str, campus: str, building: str) -> None:
    check(parser.parse(text), campus=campus, building=building)


@pytest.mark.parametrize("text", [
    "床板断了一翻身就响",    # 一翻 is in 翻身, not a mistyped 一饭
    "十五栋六楼楼道的灯不亮了",  # 六 is a floor, not a mistyped 楼
    "师傅到了吗",            # 到了 is not 倒了 on the strength of 了
    "水龙头修了又坏",          # 修 is the desk's own word, never a typo
    "宿舍卫生间的水龙头一直在滴水关都关不上",
    "那个吊灯一直闪",          # 灯 is a thing: 吊灯 is no 吊顶
])
def test_no_correction_where_the_text_means_what_it_says(parser: Parser, text: str) -> None:
    assert not [c for c in parser.parse(text).corrections if c.applied], parser.parse(text).corrections


def test_a_real_word_needs_support_and_is_only_middle(parser: Parser) -> None:
    # 修建 is a word; after 草坪 it is the 修剪 the lexicon knows, to be confirmed.
    p = parser.parse("操场边上的草坪该修建了")
    assert [(c.typed, c.meant, c.level) for c in p.corrections] == [("修建", "修剪", "middle")]
    assert p.to_confirm == p.corrections


def test_a_correction_lowers_the_parse_confidence(parser: Parser) -> None:
    exact = parser.parse("柳石3栋207花洒掉了")
    typo = parser.parse("柳石3栋207花撒掉了")
    assert (exact.group, exact.building) == (typo.group, typo.building)
    assert typo.corrections[0].level == "high"
    assert typo.confidence < exact.confidence


def test_the_text_as_typed_when_a_correction_is_refused(parser: Parser) -> None:
    # The dialog's 「您是说…吗」 answered no: read the message again without corrections.
    p = parser.parse("柳石3栋207花撒掉了", fuzzy=False)
    check(p, group=None, building="学生公寓3栋", corrections=())


def test_json_keys_do_not_change(parser: Parser) -> None:
    assert "corrections" not in parser.parse("花撒坏了").to_json()
