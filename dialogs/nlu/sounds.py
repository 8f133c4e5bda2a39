"""How characters sound: pinyin readings, the input method's fuzzy sounds, and pinyin similarity.

Students type Chinese with pinyin input methods, so a wrong character almost
always sounds like the right one: 跳匝 for 跳闸, 图书管 for 图书馆, 花撒 for
花洒.  This module answers the two questions the fuzzy matcher asks about a
character: which syllables can it be read as (pypinyin, every reading of a
heteronym such as 还 hai/huan), and how close two readings are (rapidfuzz's
edit distance over the pinyin).

Readings are compared by a fuzzy key that merges the sounds pinyin input
methods offer as "模糊音": z/zh, c/ch, s/sh, n/l, an/ang, en/eng, in/ing —
the distinctions many southern speakers do not make when they type.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from pypinyin import Style, lazy_pinyin, pinyin
from rapidfuzz.distance import Levenshtein

# Initials and finals an input method lets a user confuse (its 模糊音 settings).
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))

# A word cut into runs of Chinese characters and single other characters.
_RUNS = re.compile(r"[\u3400-\u9fff]+|[^\u3400-\u9fff]")

_lock = threading.Lock()
_readings: dict[str, tuple[str, ...]] = {}
_keys: dict[str, frozenset[str]] = {}


def is_han(ch: str) -> bool:
    """Tell whether a character is a CJK ideograph (only those have readings)."""
    return "\u3400" <= ch <= "\u9fff"


def fuzzy_key(syllable: str) -> str:
    """Merge the readings an input method treats as one: "zha" and "za", "lou" and "nou", "ban" and "bang"."""
    for a, b in _FUZZY_INITIALS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a):]
            break
    for a, b in _FUZZY_FINALS:
        if syllable.endswith(a):
            return syllable[: -len(a)] + b
    return syllable


def readings(ch: str) -> tuple[str, ...]:
    """Return every toneless reading of a character (empty for anything that is not Chinese)."""
    found = _readings.get(ch)
    if found is not None:
        return found
    value = tuple(dict.fromkeys(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])) if is_han(ch) else ()
    with _lock:
        _readings[ch] = value
    return value


def keys(ch: str) -> frozenset[str]:
    """Return the fuzzy keys of every reading of a character (cached: called for each typed character)."""
    found = _keys.get(ch)
    if found is None:
        found = frozenset(fuzzy_key(r) for r in readings(ch))
        with _lock:
            _keys[ch] = found
    return found


def word_readings(word: str) -> list[str]:
    """Read a word as a whole (pypinyin picks a heteronym's reading from its phrase), one syllable a character.

    Characters without a reading (digits, letters, #) stand for themselves.
    """
    out: list[str] = []
    for run in _RUNS.findall(word):
        out.extend(lazy_pinyin(run, style=Style.NORMAL) if is_han(run[0]) else [run])
    return out if len(out) == len(word) else [readings(ch)[0] if readings(ch) else ch for ch in word]


def best_reading(ch: str, meant: str) -> str:
    """Pick the reading of a typed character closest to the syllable it should have been."""
    options = readings(ch) or (ch,)
    if len(options) == 1:
        return options[0]
    return max(options, key=lambda r: Levenshtein.normalized_similarity(fuzzy_key(r), fuzzy_key(meant)))


def similarity(typed: Sequence[str], meant: Sequence[str]) -> float:
    """Compare two words' syllables by edit distance over their pinyin (1.0: they sound the same).

    Fuzzy-key equal syllables (za/zha) still cost a little, so an exact
    homophone is always the surer correction.
    """
    exact = Levenshtein.normalized_similarity("".join(typed), "".join(meant))
    keyed = Levenshtein.normalized_similarity("".join(map(fuzzy_key, typed)), "".join(map(fuzzy_key, meant)))
    return max(exact, 0.95 * keyed)
