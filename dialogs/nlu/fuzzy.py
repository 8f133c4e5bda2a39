"""Find lexicon words and place names typed with one wrong, sound-alike character.

The exact scanners find "跳闸" and "图书馆"; this one finds "跳匝" and
"图书管".  The rule is the same for every word, not a list of misspellings:

* exactly one character of the word is wrong, and at least half of it is
  typed right (so "花撒" can be 花洒, but nothing is guessed from sound alone);
* the wrong character sounds like the right one: one of its readings has the
  same fuzzy pinyin key (sounds.fuzzy_key), or, once two characters of a
  longer word are right, a pinyin edit distance close enough (rapidfuzz);
* a character's usual reading counts more than its other ones (灯 can be
  read "ding", but "吊灯" is no 吊顶);
* numbers are never corrected: "13栋" is not a misspelt "12栋", and in a
  name with a number a numeral is never the wrong character ("十五栋六楼" is
  not 十五栋楼); "校一院" may still be 校医院.

Each match carries a confidence from the pinyin similarity of the whole word
(rapidfuzz over its syllables) and the share of characters typed right; the
parser lowers it further when the evidence is thin (see parse.py).
Pinyin of every indexed word is computed once, when the index is built.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rapidfuzz.distance import Levenshtein

from dialogs.nlu.numbers import CN_NUMERAL_CHARS
from dialogs.nlu.sounds import best_reading, fuzzy_key, is_han, keys, readings, similarity, word_readings

V = TypeVar("V")

# A match through a character's other reading (a heteronym's second one) is worth this much.
RARER_READING = 0.95

# Keys inside a trie node (no message character is a control character: they are dropped).
_END = ""  # words ending here: list of (word, syllables, value)
_SOUNDS = "\x01"  # fuzzy key -> characters of the children that sound so
_SYLLABLES = "\x02"  # child character -> its readings in the indexed words

# A near sound (not the same fuzzy key) is accepted from the third character on, at this
# similarity, and only with the same initial letter (an input method needs that one right).
NEAR_SOUND = 0.6
_NEAR_FROM_DEPTH = 2


@dataclass(frozen=True)
class FuzzyMatch(Generic[V]):
    """A word of the index found at text[start:end] with the character at `wrong` mistyped."""

    start: int
    end: int
    word: str
    value: V
    wrong: int
    confidence: float


def _near(a: str, b: str) -> bool:
    """Tell whether two fuzzy keys sound close: same initial letter, pinyin edit distance small."""
    return a[:1] == b[:1] and Levenshtein.normalized_similarity(a, b) >= NEAR_SOUND


def _substitutable(ch: str) -> bool:
    # The character meant may not be a number: "12栋" is never a mistyped "13栋".
    return is_han(ch) and ch not in CN_NUMERAL_CHARS


class FuzzyIndex(Generic[V]):
    """A character trie that can also be walked with one sound-alike substitution."""

    def __init__(self, words: Iterable[tuple[str, V]], min_len: int = 2) -> None:
        self._root: dict[str, Any] = {}
        self.max_len = 0
        for word, value in words:
            if len(word) >= min_len and any(_substitutable(ch) for ch in word):
                self._add(word, value)
        self._index_sounds(self._root)
        # What a word can start with, exactly or by sound: checked before a walk is started.
        self.first_chars = frozenset(ch for ch in self._root if ch not in (_END, _SOUNDS, _SYLLABLES))
        self.first_sounds = frozenset(self._root[_SOUNDS])

    def _add(self, word: str, value: V) -> None:
        syllables = tuple(word_readings(word))
        node = self._root
        for ch, syl in zip(word, syllables, strict=True):
            seen = node.setdefault(_SYLLABLES, {})
            seen[ch] = tuple(dict.fromkeys((*seen.get(ch, ()), syl)))
            node = node.setdefault(ch, {})
        node.setdefault(_END, []).append((word, syllables, value))
        self.max_len = max(self.max_len, len(word))

    def _index_sounds(self, node: dict[str, Any]) -> None:
        sounds: dict[str, list[str]] = {}
        for ch, syls in node.get(_SYLLABLES, {}).items():
            if _substitutable(ch):
                for key in {fuzzy_key(s) for s in syls}:
                    sounds.setdefault(key, []).append(ch)
        node[_SOUNDS] = sounds
        for ch, child in node.items():
            if ch not in (_END, _SOUNDS, _SYLLABLES):
                self._index_sounds(child)

    def matches_at(self, text: str, start: int, stop: int, may_change: frozenset[int] | None = None
                   ) -> Iterator[FuzzyMatch[V]]:
        """Yield the words found at text[start:…] with exactly one character changed, longest and surest first.

        may_change: positions where a character may be wrong (None: any).
        Matches are scored as they are yielded: a caller that stops at the first
        one it accepts pays for no more.
        """
        found: list[tuple[int, int, list[tuple[str, tuple[str, ...], V]]]] = []
        stack: list[tuple[dict[str, Any], int, int]] = [(self._root, start, -1)]
        while stack:
            node, i, wrong = stack.pop()
            if wrong >= 0 and _END in node:
                found.append((i, wrong, node[_END]))
            if i >= stop:
                continue
            ch = text[i]
            child = node.get(ch)
            if child is not None:
                stack.append((child, i + 1, wrong))
            if wrong < 0 and (may_change is None or i in may_change):
                stack.extend((node[c], i + 1, i) for c in self._sound_alikes(node, ch, i - start))
        found.sort(key=lambda f: f[0], reverse=True)
        for _, group in itertools.groupby(found, key=lambda f: f[0]):
            scored = [m for end, wrong, entries in group for m in self._scored(text, start, end, wrong, entries)]
            yield from sorted(scored, key=lambda m: m.confidence, reverse=True)

    @staticmethod
    def _sound_alikes(node: dict[str, Any], ch: str, depth: int) -> list[str]:
        """List the children of a node a typed character may stand for."""
        typed = keys(ch)
        if not typed:
            return []
        sounds = node[_SOUNDS]
        found = [c for key in typed for c in sounds.get(key, ()) if c != ch]
        if depth >= _NEAR_FROM_DEPTH:
            # Only the usual reading counts here: a rare one (餐 "sun") would make everything sound near.
            usual = fuzzy_key(readings(ch)[0])
            for c, syls in node.get(_SYLLABLES, {}).items():
                if c != ch and c not in found and _substitutable(c) and any(_near(usual, fuzzy_key(s)) for s in syls):
                    found.append(c)
        return found

    @staticmethod
    def _scored(text: str, start: int, end: int, wrong: int,
                entries: list[tuple[str, tuple[str, ...], V]]) -> list[FuzzyMatch[V]]:
        out = []
        n = end - start
        right = (n - 1) / n  # one character is wrong; words have two or more
        for word, syllables, value in entries:
            if text[wrong] in CN_NUMERAL_CHARS and any(ch.isdigit() or ch in CN_NUMERAL_CHARS for ch in word):
                continue
            k = wrong - start
            reading = best_reading(text[wrong], syllables[k])
            typed = [*syllables[:k], reading, *syllables[k + 1:]]
            conf = similarity(typed, syllables) * (0.75 + 0.25 * right)
            if readings(text[wrong])[:1] != (reading,):
                conf *= RARER_READING  # 还 read huan, 露 read lou: likely, but less so than the usual reading
            out.append(FuzzyMatch(start, end, word, value, wrong, round(conf, 3)))
        return out


# What the dialog does with a correction: take it, ask 「您是说…吗」, or ask what is meant.
HIGH = 0.85
MIDDLE = 0.6


def confidence_level(confidence: float) -> str:
    """Name the band of a confidence: high (take it), middle (confirm it), low (ask)."""
    return "high" if confidence >= HIGH else "middle" if confidence >= MIDDLE else "low"


@dataclass(frozen=True)
class Correction:
    """A word read as another: what was typed, what it was taken for, and how sure that is."""

    typed: str
    meant: str
    confidence: float
    applied: bool = True  # a low one is only a suggestion: the parse does not use it

    @property
    def level(self) -> str:
        """Return high, middle or low (see confidence_level)."""
        return confidence_level(self.confidence)
