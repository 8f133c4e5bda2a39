"""The place index: every way a campus or building of the register can be typed.

Aliases come from the register; their numeral variants ("12栋" → "十二栋",
"12号楼", "12#楼" …) are generated here from the lexicon's list of building
number suffixes, so a register lists only the names people really use.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dialogs.nlu.numbers import ANY_NUMBER_RE, CN_NUMERAL_CHARS, cn_to_int, number_forms, to_halfwidth
from dialogs.nlu.trie import Trie
from models.register import Register

Place = tuple[str, str]  # (campus, building), register canonical names

# More numbers than this in one alias would multiply variants for no gain.
_MAX_NUMBERS_PER_ALIAS = 2


@dataclass(frozen=True)
class PlaceEntry:
    """What one typed string names."""

    campuses: tuple[str, ...] = ()
    buildings: tuple[Place, ...] = ()
    # Buildings this string names only once their campus is known: the rest
    # of an alias after its campus's name ("公租房3栋" → "3栋" in 教师公租房).
    scoped: tuple[Place, ...] = ()


@dataclass(frozen=True)
class PlaceHit:
    """A place string found in a message, at text[start:end]."""

    start: int
    end: int
    entry: PlaceEntry


def normalise_alias(alias: str) -> str:
    """Bring an alias to the form messages are scanned in: half-width, lower case, no spaces."""
    return "".join(to_halfwidth(alias).lower().split())


def numeral_variants(alias: str) -> set[str]:
    """Spell every number in an alias both ways: "一教" ↔ "1教", "学生公寓12栋" ↔ "学生公寓十二栋"."""
    parts = ANY_NUMBER_RE.split(alias)
    numbers = ANY_NUMBER_RE.findall(alias)
    if not numbers or len(numbers) > _MAX_NUMBERS_PER_ALIAS:
        return {alias}
    choices: list[tuple[str, ...]] = []
    for num in numbers:
        value = cn_to_int(num)
        choices.append(tuple(dict.fromkeys((num, *number_forms(value)))) if value is not None else (num,))
    out = set()
    for combo in itertools.product(*choices):
        out.add("".join(p + n for p, n in zip(parts, combo, strict=False)) + parts[-1])
    return out


def suffix_variants(alias: str, suffixes: Sequence[str]) -> set[str]:
    """Swap a building-number suffix for each other one: "12栋" → "12号楼", "12#楼", "12幢" …"""
    out = {alias}
    for suffix in sorted(suffixes, key=len, reverse=True):
        if not alias.endswith(suffix) or len(alias) == len(suffix):
            continue
        stem = alias[: -len(suffix)]
        last = stem[-1]
        if last.isdigit() or last in CN_NUMERAL_CHARS:
            out.update(stem + other for other in suffixes)
        break
    return out


def building_variants(alias: str, suffixes: Sequence[str]) -> set[str]:
    """Expand one register alias into every string that should name the same building."""
    out: set[str] = set()
    for v in numeral_variants(normalise_alias(alias)):
        out.update(suffix_variants(v, suffixes))
    return out


def campus_variants(name: str) -> set[str]:
    """Expand a campus name or alias; "X校区" is also called plain "X"."""
    a = normalise_alias(name)
    out = {a}
    if a.endswith("校区") and len(a) >= 4:
        out.add(a[:-2])
    return out


def numbers_whole(text: str, start: int, end: int) -> bool:
    """Tell whether text[start:end] cuts no number apart: "2栋" is not in "12栋", "十栋" not in "三十栋"."""
    first, last = text[start], text[end - 1]
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if first.isdigit() and before.isdigit():
        return False
    if first in CN_NUMERAL_CHARS and before and before in CN_NUMERAL_CHARS:
        return False
    return not (last.isdigit() and after.isdigit())


def _add_generic_names(register: Register, buildings: dict[str, list[Place]]) -> None:
    """Let a building's common noun name the numbered ones of its kind elsewhere: where one campus calls its
    canteen 食堂, "食堂" may also be 第一食堂 of another campus (every one is a candidate, none is dropped)."""
    for word, places in list(buildings.items()):
        if len(word) < 2 or not all(_is_cjk(ch) and ch not in CN_NUMERAL_CHARS for ch in word):
            continue
        kinds = {b.kind for c, n in places if (b := register.building(c, n)) is not None}
        for b in register.all_buildings():
            place = (b.campus, b.name)
            longer = any(len(n) > len(word) and normalise_alias(n).endswith(word) for n in (b.name, *b.aliases))
            if place not in places and b.kind in kinds and longer:
                places.append(place)


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class PlaceIndex:
    """Find campus and building names in normalised text."""

    def __init__(self, register: Register, suffixes: Sequence[str], locatives: Collection[str] = ()) -> None:
        self.suffixes = tuple(normalise_alias(s) for s in suffixes if normalise_alias(s))
        self.locatives = frozenset(locatives)
        campuses: dict[str, list[str]] = {}
        buildings: dict[str, list[Place]] = {}
        # The names and aliases as the register writes them (the fuzzy matcher's words).
        self._names = {campus_name for c in register.campuses for campus_name in campus_variants(c.name)}
        scoped: dict[str, list[Place]] = {}
        for campus in register.campuses:
            cforms: set[str] = set()
            for name in (campus.name, *campus.aliases):
                cforms |= campus_variants(name)
                self._names |= campus_variants(name)
            longest_first = sorted(cforms, key=len, reverse=True)
            for f in cforms:
                campuses.setdefault(f, []).append(campus.name)
            for b in campus.buildings:
                forms: set[str] = set()
                for name in (b.name, *b.aliases):
                    forms |= building_variants(name, self.suffixes)
                    self._names.add(normalise_alias(name))
                for f in forms:
                    buildings.setdefault(f, []).append((campus.name, b.name))
                for f in forms:
                    for c in longest_first:
                        rest = f[len(c):]
                        if f.startswith(c) and len(rest) >= 2 and rest not in forms:
                            scoped.setdefault(rest, []).append((campus.name, b.name))
                            break
        _add_generic_names(register, buildings)
        self._entries: dict[str, PlaceEntry] = {}
        for word in set(campuses) | set(buildings) | set(scoped):
            self._entries[word] = PlaceEntry(
                campuses=tuple(dict.fromkeys(campuses.get(word, ()))),
                buildings=tuple(dict.fromkeys(buildings.get(word, ()))),
                scoped=tuple(p for p in dict.fromkeys(scoped.get(word, ())) if p not in buildings.get(word, ())),
            )
        self._trie: Trie[PlaceEntry] = Trie()
        for word, entry in self._entries.items():
            self._trie.add(word, entry)

    def words(self) -> list[str]:
        """List the strings the segmenter should keep whole: all but those with Arabic digits.

        jieba cuts digits one by one, so a user word such as "1教" would win over
        "教室" in "5101教室"; the scanner here finds digit aliases on its own.
        """
        return sorted(w for w in self._entries if not any(ch.isdigit() for ch in w))

    def names(self) -> list[tuple[str, PlaceEntry]]:
        """List the register's own names and aliases with what each names (the fuzzy matcher's words).

        The generated numeral and suffix variants are left out: a typo is looked
        for in the names people use, not in every spelling of them.
        """
        return [(w, self._entries[w]) for w in sorted(self._names) if w in self._entries]

    def items(self) -> list[tuple[str, PlaceEntry]]:
        """List every place string with what it names."""
        return list(self._entries.items())

    def by_number(self, number: str) -> PlaceEntry | None:
        """Find the buildings numbered so ("2" in "2-305"), through the building-number suffixes."""
        for suffix in self.suffixes:
            entry = self._entries.get(number + suffix)
            if entry is not None and (entry.buildings or entry.scoped):
                return entry
        return None

    def scan(self, text: str, boundaries: Collection[int]) -> list[PlaceHit]:
        """Find place strings left to right, longest first, where their edges make sense.

        `boundaries` are the word boundaries of the segmenter.  A short Chinese
        alias must start on one ("一教" is not in "统一教材"); one without
        numerals must also end on one ("学活" is not in "学活动"), save for a
        locative after it ("马路边", "操场上").
        """
        hits: list[PlaceHit] = []
        i, n = 0, len(text)
        trie = self._trie
        while i < n:
            if not trie.starts(text[i]):
                i += 1
                continue
            found = None
            # Longest first, but one that ends where a segment ends beats a longer
            # one that does not: "12栋楼梯间" is 12栋 + 楼梯间, not 12栋楼 + 梯间.
            matches = sorted(trie.matches_at(text, i), key=lambda m: (m[0] in boundaries, m[0]),
                             reverse=True)
            for end, entry in matches:
                if self._edges_ok(text, i, end, boundaries, self.locatives):
                    found = PlaceHit(i, end, entry)
                    break
            if found is None:
                i += 1
            else:
                hits.append(found)
                i = found.end
        return hits

    @staticmethod
    def _edges_ok(text: str, start: int, end: int, boundaries: Collection[int], locatives: Collection[str]) -> bool:
        if not numbers_whole(text, start, end):
            return False
        after = text[end] if end < len(text) else ""
        if end - start <= 2 and all(_is_cjk(ch) for ch in text[start:end]):
            if start not in boundaries:
                return False  # "一教" in "统一教材"
            # jieba cuts numerals loosely ("一/教三/楼"), so only a word alias must also end on a boundary.
            numeral = any(ch in CN_NUMERAL_CHARS for ch in text[start:end])
            return numeral or end in boundaries or after in locatives
        return True
