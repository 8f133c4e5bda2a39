"""Which of the places a message names is where the fault is.

People locate one place by another: "12栋对面操场边上的路灯" is a lamp on the
field (12栋 only says which side), "图书馆旁边那段校道" is the road.  They also
name places that are not the fault's: "我住7栋，坏的是8栋门口的路灯" (where
they live), "不是五教，是四教" (a place taken back).  This module reads that
grammar and marks such places as hints; the parser then takes the place the
fault belongs to and uses a hint only for its campus.

The words are data (lexicon.yaml, `place_grammar`):

* relations: "X<relation>Y" with Y a place makes X a hint ("对面", "旁边",
  "门口", "那段" …); joiners may surround them ("的", "那", "这");
* home: a cue right before X ("我住", "我是") makes X a hint when another place
  follows;
* retract: the same for a place taken back ("不是").

With X followed by a relation and then a thing, not a place ("五教对面那盏路灯"),
X stays the place: there is nothing else.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dialogs.nlu.places import PlaceHit

# What joins two places named together.
_AND = re.compile(r"和|跟|与|及|、|,")
# How far back (characters) a home or retract cue may stand before its place.
_CUE_REACH = 8


@dataclass(frozen=True)
class PlaceGrammar:
    """The words of the place grammar (see the module docstring)."""

    relations: tuple[str, ...] = ()
    joiners: str = ""
    home: tuple[str, ...] = ()
    retract: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()  # relations that put a thing outside the place they follow ("门口")


@dataclass(frozen=True)
class Hint:
    """A place that only helps locate another one, and why."""

    index: int  # into the hits
    why: str  # relation, home or retract, with the words that decided it


class Landmarks:
    """Find, among the places of a message, those that are only hints."""

    def __init__(self, grammar: PlaceGrammar) -> None:
        joiners = f"[{re.escape(grammar.joiners)}]*" if grammar.joiners else ""
        self._between = _pattern(grammar.relations, rf"^{joiners}(?:(?:{{}}){joiners})+$")
        self._home = _pattern(grammar.home, rf"(?:{{}})[^，,。.!！?？；;]{{{{0,{_CUE_REACH}}}}}$")
        self._retract = _pattern(grammar.retract, rf"(?:{{}}){joiners}$")

    def relates(self, between: str) -> bool:
        """Tell whether the words between two places make the first a landmark of the second ("对面那条")."""
        return self._between is not None and self._between.match(between) is not None

    def hints(self, text: str, hits: Sequence[PlaceHit]) -> list[Hint]:
        """Return the hits that are hints, in text order; the last building named is never one."""
        buildings = [k for k, h in enumerate(hits) if h.entry.buildings or h.entry.scoped]
        out: dict[int, str] = {}
        for a, b in itertools.pairwise(buildings):
            between = text[hits[a].end:hits[b].start]
            if self._between is not None and self._between.match(between):
                out[a] = f"relation 「{between}」"
        # "二饭和三饭中间那段校道": a place joined by 和 to a hint is a hint too.
        for a, b in reversed(list(itertools.pairwise(buildings))):
            if b in out and a not in out and _AND.fullmatch(text, hits[a].end, hits[b].start):
                out[a] = f"joined to a hint 「{text[hits[a].end:hits[b].start]}」"
        for k in buildings[:-1]:
            before = text[max(0, _group_start(hits, k) - _CUE_REACH - 4):_group_start(hits, k)]
            if self._retract is not None and (m := self._retract.search(before)):
                out.setdefault(k, f"retract 「{m.group(0)}」")
            elif self._home is not None and (m := self._home.search(before)):
                out.setdefault(k, f"home 「{m.group(0)}」")
        return [Hint(k, why) for k, why in sorted(out.items())]


def _group_start(hits: Sequence[PlaceHit], k: int) -> int:
    """Where the place of hit k starts, a campus name right before it included ("柳石3栋")."""
    start = hits[k].start
    j = k - 1
    while j >= 0 and not (hits[j].entry.buildings or hits[j].entry.scoped) and hits[j].end == start:
        start = hits[j].start
        j -= 1
    return start


def _pattern(words: Sequence[str], template: str) -> re.Pattern[str] | None:
    if not words:
        return None
    alternation = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(template.format(alternation))
