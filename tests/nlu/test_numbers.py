"""Chinese numerals, full-width digits and digit-by-digit readings."""

from __future__ import annotations

import pytest

from dialogs.nlu.numbers import (
    cn_digits_to_arabic,
    cn_to_int,
    int_to_cn,
    is_numeral_char,
    number_forms,
    to_fullwidth_digits,
    to_halfwidth,
)


@pytest.mark.parametrize(("text", "value"), [
    ("一", 1), ("两", 2), ("十", 10), ("十二", 12), ("二十", 20), ("二十二", 22), ("一百", 100),
    ("一百零二", 102), ("一百一十", 110), ("两百", 200), ("一千零五", 1005), ("九千九百九十九", 9999),
    ("五零二", 502), ("幺零八", 108), ("一二零三", 1203), ("三零五", 305), ("〇", 0),
    ("12", 12), ("0502", 502),
])
def test_cn_to_int(text: str, value: int) -> None:
    assert cn_to_int(text) == value


@pytest.mark.parametrize("text", ["", "十百", "二三十", "百十", "abc", "１２", "十二栋", "-3"])
def test_cn_to_int_refuses_non_numbers(text: str) -> None:
    assert cn_to_int(text) is None


@pytest.mark.parametrize(("value", "text"), [
    (0, "零"), (5, "五"), (10, "十"), (12, "十二"), (20, "二十"), (22, "二十二"), (100, "一百"),
    (102, "一百零二"), (110, "一百一十"), (1003, "一千零三"), (1010, "一千零一十"),
])
def test_int_to_cn(value: int, text: str) -> None:
    assert int_to_cn(value) == text


def test_int_to_cn_round_trips() -> None:
    for n in range(10_000):
        assert cn_to_int(int_to_cn(n)) == n


@pytest.mark.parametrize("n", [-1, 10_000])
def test_int_to_cn_range(n: int) -> None:
    with pytest.raises(ValueError):
        int_to_cn(n)


@pytest.mark.parametrize(("text", "digits"), [("五零二", "502"), ("一二零三", "1203"), ("幺洞幺", "101"),
                                              ("十二", None), ("", None), ("五a二", None)])
def test_cn_digits_to_arabic(text: str, digits: str | None) -> None:
    assert cn_digits_to_arabic(text) == digits


@pytest.mark.parametrize(("text", "half"), [
    ("５０２", "502"), ("１２＃楼", "12#楼"), ("ＡＢｃ", "ABc"), ("，。", ",。"), ("a\u3000b", "a b"), ("五教", "五教"),
])
def test_to_halfwidth(text: str, half: str) -> None:
    assert to_halfwidth(text) == half


def test_fullwidth_round_trip() -> None:
    assert to_halfwidth(to_fullwidth_digits("12栋305")) == "12栋305"
    assert to_fullwidth_digits("305") == "３０５"


def test_number_forms_and_numeral_chars() -> None:
    assert number_forms(12) == ("12", "十二")
    assert number_forms(12345) == ("12345",)
    assert all(is_numeral_char(c) for c in "0九十两")
    assert not any(is_numeral_char(c) for c in "栋a洞")
