"""Free text → intent, place and fault: the language layer of the repair desk.

The pipeline for one message:

1. normalise (full-width → ASCII, lower case, no spaces, bounded length);
2. cut it with a private jieba tokenizer whose user dictionary holds every
   place string of the register and every lexicon word — its word boundaries
   decide whether a one-character word ("门", "灯", "堵") really stands alone;
3. scan for places (campus and building strings, numeral variants included)
   and for lexicon terms (things, faults, spots), longest match first; then,
   among the characters nothing explains, for places and terms typed with one
   sound-alike wrong character ("图书管", "跳匝": fuzzy.py), each kept with its
   confidence as a correction;
4. read floors and rooms with patterns, keeping a room only when the
   building's register pattern has it;
5. tell the place of the fault from places that only locate it or are the
   writer's own ("12栋对面操场边上", "我住7栋，坏的是8栋": landmarks.py), then
   resolve the building (named campus, a hint's campus, the user's campus,
   the register's default campus, then wherever it is unique);
6. pick the broken thing (a part goes to the thing before it, a smell from a
   drain is the drain's) and its group, the intent from weighted cue groups
   (intent.py), and the category through the register's scope rules.

Nothing here names a campus, building, group or item: they come from the
register and the lexicon file.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dialogs.nlu.emergency import detect as detect_emergency
from dialogs.nlu.fuzzy import MIDDLE, Correction, FuzzyIndex, FuzzyMatch
from dialogs.nlu.intent import Cue, Decision, Evidence, IntentModel
from dialogs.nlu.landmarks import Hint, Landmarks
from dialogs.nlu.lexicon import Lexicon, Term, only_item
from dialogs.nlu.numbers import CN_NUMERAL_CHARS, cn_to_int, to_halfwidth
from dialogs.nlu.places import Place, PlaceEntry, PlaceHit, PlaceIndex, numbers_whole
from dialogs.nlu.segment import PrivateTokenizer
from dialogs.nlu.sounds import is_han, keys
from dialogs.nlu.trie import Trie
from models.register import Building, Register

log = logging.getLogger(__name__)

JSON_KEYS = ("intent", "category", "group", "item", "campus", "building", "floor", "room", "spot", "fault",
             "confidence")

# Longer messages are cut: a report is a sentence or two, and the cap keeps a
# pasted essay from costing more than a few milliseconds.
MAX_CHARS = 600

# Rooms are 3–5 characters of digits (with an optional letter, for registers
# that number rooms "A305"), not part of a longer number.
_ROOM_RE = re.compile(r"(?<![0-9a-z.])([a-z]?\d{3,5})(?![0-9])")
# A room read digit by digit in Chinese ("五零二").
_CN_ROOM_RE = re.compile(r"[零〇○一幺二两三四五六七八九十百]{3,6}")
# What may not follow a number for it to be a room ("305元", "300天", but "312天花板").
_NOT_ROOM_AFTER_RE = re.compile(r"元|块|个|点|分|年|月|日|天(?!花)|次|人|米|度|岁|斤|%|楼|层|栋")
# Floors: "3楼", "三层", "第5层", "3f"; not "负一楼", not "楼梯"/"楼道".
_FLOOR_RE = re.compile(
    rf"(?<![0-9{CN_NUMERAL_CHARS}负下])第?(\d{{1,2}}|[一二两三四五六七八九十]{{1,3}})(?:楼|层|f)(?![梯道])"
)
_TOP_FLOOR_RE = re.compile(r"顶楼|顶层|最高层")
# Building number and room in one: "2-305", "12楼305" (a number before 楼 and
# a room right after it is a building, not a floor).
_SHORTHAND_RE = re.compile(r"(?<![0-9])(\d{1,3})(?:-|_|/|—|楼)([a-z]?\d{3,5})(?![0-9])")
_WORD_CHAR_RE = re.compile(r"[0-9a-z\u3400-\u9fff]")
_PUNCT_RE = re.compile(r"[^0-9a-z\u3400-\u9fff]+")
_DIGITS_RE = re.compile(r"\d+")
# A fuzzy match on thin evidence (only function characters right, or the wrong
# character part of a real word as typed) is worth this much of its confidence
# when the words around it support it, and too little to be used when not.
_THIN_SUPPORTED = 0.75
_THIN_ALONE = 0.5
# How far (in characters) a thing and its fault may be apart to support a thin match.
_SUPPORT_GAP = 2
# A word longer than this is never thin evidence for being a real word as typed.
_THIN_MAX_LEN = 3

# What joins two things ("花洒和灯都坏了").
_AND_RE = re.compile(r"(?:的)?(?:和|跟|与|还有|以及|、|,)")
# What may stand between a thing and its part: "电梯的门", "柜子上的锁", "电梯里面的按钮".
_PART_JOIN_RE = re.compile(r"(?:(?:上|里|里面|上面|外面)?的)?")

# Characters that never carry meaning but break matching: spaces, zero-width
# and control characters.
_DROP_RE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u2060\ufeff\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Parse:
    """What one message says, in register names; None where it does not say."""

    intent: str
    category: str | None
    group: str | None
    item: str | None
    campus: str | None
    building: str | None
    floor: str | None
    room: str | None
    spot: str | None
    fault: str | None
    confidence: float
    # Other (campus, building) pairs the place string could mean, when no
    # campus was named: the answer is the preferred one, these are the rest.
    building_candidates: tuple[tuple[str, str], ...] = ()
    # Groups the message could be about, likeliest first, when more than one fits.
    group_candidates: tuple[str, ...] = ()
    # A broken thing the register has no group for ("空调"), as typed: the report is an 其他 one.
    unknown_thing: str | None = None
    # Words read as other words ("跳匝" as 跳闸), each with its confidence; the
    # dialog confirms a middle one (「您是说…吗」) and ignores a low one.
    corrections: tuple[Correction, ...] = ()
    # Why: the intent cue groups found and each intent's score; places read as
    # hints only (the place string and the grammar that made it one).
    intent_cues: tuple[Cue, ...] = ()
    intent_scores: tuple[tuple[str, float], ...] = ()
    place_hints: tuple[tuple[str, str], ...] = ()
    # Whether the spot is a generic one ("宿舍", "教室": a room, not a public area).
    spot_generic: bool = False
    # A room-like number the message gave that the building does not have ("二教302": its rooms are 2302…),
    # so the dialog can say so instead of dropping it.
    room_said: str | None = None
    # An emergency the words say (the lexicon's `emergencies` kind: 电梯困人 …), and the words that said it.
    emergency: str | None = None
    emergency_words: str | None = None
    # The fault is outside its building, by it ("五教门口的路灯", "8栋楼下的井盖"): no floor or room to ask.
    outside: bool = False

    @property
    def to_confirm(self) -> tuple[Correction, ...]:
        """Return the corrections used at middle confidence: the ones to ask 「您是说…吗」 about."""
        return tuple(c for c in self.corrections if c.applied and c.level == "middle")

    def to_json(self) -> dict[str, Any]:
        """Return the DESIGN's `repairbot parse` object: exactly its keys, None for unknown (and the
        emergency kind, only when the words say one)."""
        obj = {k: getattr(self, k) for k in JSON_KEYS}
        if self.emergency:
            obj["emergency"] = self.emergency
        return obj


def _other(confidence: float) -> Parse:
    return Parse("other", None, None, None, None, None, None, None, None, None, confidence)


@dataclass(frozen=True)
class _Hit:
    """A lexicon word found at text[start:end]."""

    start: int
    end: int
    word: str
    term: Term
    confidence: float = 1.0  # below 1: read with one wrong character


@dataclass(frozen=True)
class _Segments:
    """The segmenter's word boundaries over a text."""

    boundaries: frozenset[int]
    starts: list[int]  # where each word starts, in order
    ends: list[int]  # where each word ends

    def word_at(self, i: int) -> tuple[int, int]:
        """Return (start, end) of the word that holds character i."""
        k = bisect.bisect_right(self.starts, i) - 1
        return self.starts[k], self.ends[k]


@dataclass(frozen=True)
class _Place:
    """The place a message names, resolved."""

    campus: str | None = None
    building: Building | None = None
    alternatives: tuple[Place, ...] = ()
    room: str | None = None
    floor: int | None = None
    ambiguous: bool = False
    from_context: bool = False


@dataclass(frozen=True)
class _Thing:
    """The broken thing a message names and what it means for the group."""

    group: str | None = None
    item: str | None = None
    fault: str | None = None
    candidates: tuple[str, ...] = ()
    source: str = "none"  # thing, fault, weak, unknown or none
    unknown: str | None = None  # the word of a thing the register does not know


class Parser:
    """Parse free text against one register; build once, then call parse() from any thread."""

    def __init__(self, register: Register, lexicon_path: str | Path | None = None) -> None:
        self.register = register
        self.lexicon = Lexicon.load(register, lexicon_path)
        self.places = PlaceIndex(register, self.lexicon.building_suffixes, self.lexicon.place_locatives)
        self._landmarks = Landmarks(self.lexicon.place_grammar)
        self._terms: Trie[Term] = Trie()
        for word, term in self.lexicon.terms.items():
            self._terms.add(word, term)
        self._intents = IntentModel(self.lexicon.cues, self.lexicon.question_words, self.lexicon.question_patterns)
        self._filler = _alternation(self.lexicon.place_filler)
        self._buildings = {(b.campus, b.name): b for b in register.all_buildings()}
        self._campus_names = frozenset(c.name for c in register.campuses)
        self._campus_category = self._campus_categories()
        words = [*self.places.words(), *self.lexicon.terms]
        self._tokenizer = PrivateTokenizer(words)
        # Our own words: a fuzzy match may overlap them, not a word of the language.
        self._own_words = frozenset(words)
        self._known = frozenset(self.lexicon.terms) | frozenset(w for w, _ in self.places.items())
        self._term_index: FuzzyIndex[Term] = FuzzyIndex(self.lexicon.terms.items())
        self._place_index: FuzzyIndex[PlaceEntry] = FuzzyIndex(self.places.names())
        self._item_places = self._places_by_item()
        sides = self.lexicon.place_grammar.outside
        joiners = f"[{re.escape(self.lexicon.place_grammar.joiners)}]*"
        self._outside_rx = re.compile(joiners + "(?:" + "|".join(map(re.escape, sorted(sides, key=len, reverse=True)))
                                      + ")") if sides else None

    # -- public -------------------------------------------------------------

    def parse(self, text: str, *, user_campus: str | None = None,
              default_building: tuple[str, str] | None = None, fuzzy: bool = True) -> Parse:
        """Read one message; never raise: anything unreadable is intent `other` with nulls.

        user_campus: the bound user's campus, preferred when the text names none.
        default_building: (campus, building) used when the text names no place at all.
        fuzzy: read words typed with a wrong character; False reads the text as
            typed (what the dialog falls back to when the user says a correction
            is not what they meant).
        """
        try:
            # Callers may hand over a JSON list; anything that is not a pair is ignored.
            home = default_building if isinstance(default_building, tuple | list) else ()
            pair = (str(home[0]), str(home[1])) if len(home) == 2 else None
            return self._parse(text if isinstance(text, str) else "", user_campus, pair, fuzzy)
        except Exception:  # a bug must not cost the user their message
            log.exception("nlu: cannot parse %r", text[:80] if isinstance(text, str) else text)
            return _other(0.0)

    # -- the pipeline ---------------------------------------------------------

    def _parse(self, raw: str, user_campus: str | None, default_building: tuple[str, str] | None,
               fuzzy: bool = True) -> Parse:
        text = normalise(raw)
        if not _WORD_CHAR_RE.search(text):
            return _other(1.0)
        seg = self._segments(text)
        fixes: list[Correction] = []
        hits = self.places.scan(text, seg.boundaries)
        if fuzzy:
            hits = self._fuzzy_places(text, seg, hits, fixes)
        shorthand_room = None
        if not any(h.entry.buildings or h.entry.scoped for h in hits):
            shorthand = self._shorthand(text)
            if shorthand is not None:
                hit, shorthand_room = shorthand
                hits = sorted([*hits, hit], key=lambda h: h.start)
        masked = _mask(text, [(h.start, h.end) for h in hits])
        terms = self._scan_terms(text, masked, seg)
        if fuzzy:
            terms = self._fuzzy_terms_in(text, masked, seg, terms, fixes)
        terms = self._places_as_things(text, hits, terms)
        hits = self._landmark_nouns(text, hits, terms)
        hints = self._landmarks.hints(text, hits)
        # A hint's own floor and room ("我在12栋305，…") are not the fault's.
        own = _mask(masked, _hint_spans(hints, hits, len(text)))
        rooms = [shorthand_room] if shorthand_room else _room_numbers(own)
        place = self._resolve_place(hits, hints, rooms, user_campus, default_building)
        floor = place.floor if place.floor is not None else self._text_floor(own, place.building)
        thing = self._thing(text, _attach_parts(text, terms))
        spot = self._spot(terms)
        decision = self._intent(text, masked, terms, hits)
        intent, intent_conf = decision.intent, decision.confidence

        alarm = detect_emergency(self.lexicon.emergencies, text)
        if alarm is not None:
            # Someone in danger: a report whatever else the words look like, of the kind's group if no thing.
            intent = "repair"
            if thing.group is None and alarm[0].group is not None:
                thing = replace(thing, group=alarm[0].group, item=only_item(self.register, alarm[0].group),
                                candidates=())
        if intent != "repair":
            thing = _Thing()
        category = self._category(place, thing.group) if intent == "repair" else None
        confidence = intent_conf if intent != "repair" else intent_conf * _place_conf(place) * _thing_conf(thing)
        used = [c.confidence for c in fixes if c.applied]
        confidence *= min(used, default=1.0)
        return Parse(
            intent=intent,
            category=category,
            group=thing.group,
            item=thing.item,
            campus=place.campus,
            building=place.building.name if place.building else None,
            floor=str(floor) if floor is not None else None,
            room=place.room,
            spot=spot,
            fault=thing.fault,
            confidence=round(max(0.0, min(1.0, confidence)), 2),
            building_candidates=place.alternatives,
            group_candidates=thing.candidates,
            unknown_thing=thing.unknown,
            corrections=tuple(fixes),
            intent_cues=decision.cues,
            intent_scores=decision.scores,
            place_hints=tuple((text[hits[h.index].start:hits[h.index].end], h.why) for h in hints),
            spot_generic=spot is not None and self._generic_spot(spot),
            room_said=rooms[0] if rooms and place.building is not None and place.room is None else None,
            emergency=alarm[0].kind if alarm is not None else None,
            emergency_words=alarm[1] if alarm is not None else None,
            outside=(intent == "repair" and floor is None and place.room is None
                     and self._outside(text, hits, hints, place)),
        )

    def _segments(self, text: str) -> _Segments:
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for tok in self._tokenizer.tokens(text):
            starts.append(pos)
            pos += len(tok)
            ends.append(pos)
        return _Segments(frozenset([0, *ends]), starts, ends)

    def _shorthand(self, text: str) -> tuple[PlaceHit, str] | None:
        """Read "2-305" / "12楼305" as building 2 (12), room 305, when the register has that room."""
        for m in _SHORTHAND_RE.finditer(text):
            entry = self.places.by_number(m.group(1))
            if entry is None:
                continue
            room = m.group(2)
            if any(_room_of(self._buildings[p], room) for p in entry.buildings):
                return PlaceHit(m.start(1), m.end(1), entry), room
        return None

    def _scan_terms(self, text: str, masked: str, seg: _Segments) -> list[_Hit]:
        """Find lexicon words outside the places, longest first, where the segmenter agrees."""
        out: list[_Hit] = []
        i, n = 0, len(text)
        trie = self._terms
        while i < n:
            if masked[i] == _MASK or not trie.starts(text[i]):
                i += 1
                continue
            stop = masked.find(_MASK, i)
            found = None
            for end, term in reversed(trie.matches_at(text, i, stop if stop >= 0 else n)):
                if _word_ok(i, end, seg):
                    found = _Hit(i, end, text[i:end], term)
                    break
            if found is None:
                i += 1
            else:
                out.append(found)
                i = found.end
        return out

    # -- words typed with one wrong character -------------------------------------

    def _fuzzy_places(self, text: str, seg: _Segments, hits: list[PlaceHit], fixes: list[Correction]
                      ) -> list[PlaceHit]:
        """Add place names typed with one wrong character ("图书管"), replacing exact hits inside them."""
        out = list(hits)
        # A numeral that starts a floor ("五叫三楼": 三楼) is not the end of a mistyped name ("叫三" for 教三).
        floor_numeral = {m.start(1) for m in _FLOOR_RE.finditer(text)}
        for m, thin in self._fuzzy(self._place_index, text, seg, [(h.start, h.end) for h in hits], text,
                                   refuse=lambda m: m.end - 1 in floor_numeral):
            short = m.end - m.start <= 2 and not (m.start in seg.boundaries and m.end in seg.boundaries)
            if short or not numbers_whole(text, m.start, m.end):
                continue
            inside = [h for h in out if m.start <= h.start and h.end <= m.end]
            if any(h.start < m.end and m.start < h.end for h in out if h not in inside):
                continue
            conf = m.confidence
            if thin:
                # "食糖" is a word, but "箭盘食糖二楼" is a canteen: thin needs a place's company.
                if not self._place_supported(text, m, out):
                    fixes.append(Correction(text[m.start:m.end], m.word, round(conf * _THIN_ALONE, 2), applied=False))
                    continue
                conf *= _THIN_SUPPORTED
            out = [h for h in out if h not in inside] + [PlaceHit(m.start, m.end, m.value)]
            fixes.append(Correction(text[m.start:m.end], m.word, round(conf, 2)))
        return sorted(out, key=lambda h: h.start)

    def _place_supported(self, text: str, m: FuzzyMatch[Any], hits: Sequence[PlaceHit]) -> bool:
        """Tell whether a place match stands where places stand: next to another place, or before a floor or a side."""
        if any(h.end == m.start or h.start == m.end for h in hits):
            return True
        after = text[m.end:m.end + 4]
        return bool(_FLOOR_RE.match(after) or _ROOM_RE.match(after)
                    or any(after.startswith(w) for w in self.lexicon.place_locatives))

    def _fuzzy_terms_in(self, text: str, masked: str, seg: _Segments, terms: list[_Hit],
                        fixes: list[Correction]) -> list[_Hit]:
        """Add lexicon words typed with one wrong character ("花撒"), replacing exact hits inside them."""
        out = list(terms)
        for m, thin in self._fuzzy(self._term_index, text, seg, [(h.start, h.end) for h in terms], masked):
            conf = m.confidence
            if thin:
                conf *= _THIN_SUPPORTED if _supported(m, out) else _THIN_ALONE
            conf = round(conf, 2)
            if conf < MIDDLE:
                fixes.append(Correction(text[m.start:m.end], m.word, conf, applied=False))
                continue
            inside = [h for h in out if m.start <= h.start and h.end <= m.end]
            if _loses_meaning(m.value, inside):
                continue
            out = [h for h in out if h not in inside]
            out.append(_Hit(m.start, m.end, m.word, m.value, conf))
            fixes.append(Correction(text[m.start:m.end], m.word, conf))
        return sorted(out, key=lambda h: h.start)

    def _fuzzy(self, index: FuzzyIndex[Any], text: str, seg: _Segments, explained: Sequence[tuple[int, int]],
               masked: str, refuse: Callable[[FuzzyMatch[Any]], bool] | None = None
               ) -> list[tuple[FuzzyMatch[Any], bool]]:
        """Find index words typed with one wrong character among the characters nothing explains yet.

        A match may hold words already found (they are then replaced), never cut one.
        Returns the matches, longest first and not overlapping, each with whether
        its evidence is thin (see _thin).
        """
        # A word of one character found exactly may still be part of a mistyped one ("掉扇" is 吊扇),
        # unless it names a thing: "吊灯" is a lamp, not a mistyped 吊顶.
        covered = {i for a, b in explained for i in range(a, b) if b - a > 1 or self._names_thing(text[a:b])}
        # A function character is never taken for a mistyped one: "的水" is not 滴水.
        fixed = self.lexicon.function_chars
        may_change = frozenset(i for i, ch in enumerate(text)
                               if i not in covered and masked[i] != _MASK and is_han(ch) and ch not in fixed)
        if not may_change:
            return []
        n = len(text)
        found: list[FuzzyMatch[Any]] = []
        first_chars, first_sounds, reach = index.first_chars, index.first_sounds, index.max_len
        nearest = n + reach  # the first changeable position at or after i
        for i in range(n - 1, -1, -1):
            if i in may_change:
                nearest = i
            ch = text[i]
            if nearest - i >= reach or masked[i] == _MASK or (
                    ch not in first_chars and not (i == nearest and keys(ch) & first_sounds)):
                continue  # no word from here reaches a changeable character, or none starts so
            stop = masked.find(_MASK, i)
            for m in index.matches_at(text, i, n if stop < 0 else stop, may_change):
                if refuse is not None and refuse(m):
                    continue
                if (text[m.start:m.end] not in self._known and self._splits_no_word(text, seg, m)
                        and all(b <= m.start or m.end <= a or (m.start <= a and b <= m.end) for a, b in explained)):
                    found.append(m)
                    break
        chosen: list[FuzzyMatch[Any]] = []
        for m in sorted(found, key=lambda m: (m.end - m.start, m.confidence), reverse=True):
            if all(m.end <= c.start or c.end <= m.start for c in chosen):
                chosen.append(m)
        return [(m, self._thin(text, seg, m)) for m in sorted(chosen, key=lambda m: m.start)]

    def _names_thing(self, word: str) -> bool:
        term = self.lexicon.terms.get(word)
        return term is not None and (term.thing is not None or term.unknown)

    def _splits_no_word(self, text: str, seg: _Segments, m: FuzzyMatch[Any]) -> bool:
        """Tell whether a match's edges cut no word of the language apart ("一翻" is not in "一翻身").

        It may cut one of our own words that the exact scan did not take.
        """
        for edge in (m.start, m.end):
            if edge not in seg.boundaries:
                a, b = seg.word_at(edge)
                # A locative may be cut off the end: "田经场边" is 田径场 + 边 although 场边 is a word.
                tail_ok = edge == m.end and text[edge:b] in self.lexicon.place_locatives
                if text[a:b] not in self._own_words and not tail_ok:
                    return False
        return True

    def _thin(self, text: str, seg: _Segments, m: FuzzyMatch[Any]) -> bool:
        """Tell whether a match rests on thin evidence.

        Thin: every character typed right is a function character ("到了" for
        倒了), or the wrong character belongs to a real word as typed ("修建"
        for 修剪: the writer may mean what they wrote).
        """
        rest = [ch for i, ch in enumerate(text[m.start:m.end], m.start) if i != m.wrong]
        if all(ch in self.lexicon.function_chars or not (is_han(ch) or ch.isdigit()) for ch in rest):
            return True
        if m.end - m.start > _THIN_MAX_LEN:
            return False  # three characters typed right are evidence enough
        a, b = seg.word_at(m.wrong)
        return b - a > 1 and text[a:b] not in self._own_words

    def _places_as_things(self, text: str, hits: Sequence[PlaceHit], terms: list[_Hit]) -> list[_Hit]:
        """Read a place name the lexicon also lists as a thing as both ("马路中间塌了": the road surface)."""
        terms_of = self.lexicon.terms
        extra = [_Hit(h.start, h.end, word, term) for h in hits
                 if (term := terms_of.get(word := text[h.start:h.end])) is not None and term.thing is not None]
        return sorted([*terms, *extra], key=lambda h: h.start) if extra else terms

    # -- places -------------------------------------------------------------

    def _places_by_item(self) -> dict[str, PlaceEntry]:
        """Map a thing that a place is named by ("马路": 路面) to the places so named.

        The lexicon's weak words for that thing ("路上", "那条路") then name the place
        too when a landmark locates them: "图书馆对面那条路上有个坑" is on the road.
        """
        found: dict[str, list[Place]] = {}
        for word, entry in self.places.items():
            term = self.lexicon.terms.get(word)
            if term is not None and term.thing is not None and term.thing.item and entry.buildings:
                found.setdefault(term.thing.item, []).extend(entry.buildings)
        return {item: PlaceEntry(buildings=tuple(dict.fromkeys(places))) for item, places in found.items()}

    def _landmark_nouns(self, text: str, hits: list[PlaceHit], terms: Sequence[_Hit]) -> list[PlaceHit]:
        """Read a weak word for a place's thing right after a landmark ("五教旁边的路上") as that place."""
        if not self._item_places or not hits:
            return hits
        out = list(hits)
        for t in terms:
            target = t.term.thing
            if not t.term.weak or target is None or target.item not in self._item_places:
                continue
            if any(h.start < t.end and t.start < h.end for h in out):
                continue
            before = [h for h in out if h.end <= t.start and (h.entry.buildings or h.entry.scoped)]
            if before and self._landmarks.relates(text[before[-1].end:t.start]):
                out.append(PlaceHit(t.start, t.end, self._item_places[target.item]))
        return sorted(out, key=lambda h: h.start) if len(out) > len(hits) else hits

    def _resolve_place(self, hits: Sequence[PlaceHit], hints: Sequence[Hint], rooms: Sequence[str],
                       user_campus: str | None, default_building: tuple[str, str] | None) -> _Place:
        named = next((c for h in hits for c in h.entry.campuses), None)
        user = user_campus if user_campus in self._campus_names else None
        # A hint's campus, when it has only one, is the likeliest for the place it locates.
        hinted = next((c for k in hints for c in {p[0] for p in hits[k.index].entry.buildings} if
                       len({p[0] for p in hits[k.index].entry.buildings}) == 1), None)
        preferred = [c for c in (named, hinted, user, self.register.default_campus) if c]
        scoped_ok = {c for c in (named, hinted, user) if c}
        demoted = {k.index for k in hints}
        # The places the fault is at first, the hints after them (a hint is the place when nothing else is).
        building_hits = [h for k, h in enumerate(hits) if (h.entry.buildings or h.entry.scoped) and k not in demoted]
        building_hits += [hits[k] for k in sorted(demoted)]

        first: tuple[Place | None, tuple[Place, ...]] | None = None
        for h in building_hits:
            cands = [*h.entry.buildings, *(p for p in h.entry.scoped if p[0] in scoped_ok)]
            if not cands:
                continue
            chosen, alternatives = _choose(cands, named, preferred)
            # The first place that resolves wins over an ambiguous one before it ("食堂二饭").
            if first is None or (first[0] is None and chosen is not None):
                first = (chosen, alternatives)
            if chosen is not None and _first_room(self._buildings[chosen], rooms):
                first = (chosen, alternatives)
                break
        if first is None:
            home = self._buildings.get(default_building) if default_building and not hits else None
            if home is not None:
                return _in_building(home, rooms, (), from_context=True)
            return _Place(campus=named)
        chosen, alternatives = first
        if chosen is None:
            return _Place(campus=named, alternatives=alternatives, ambiguous=True)
        return _in_building(self._buildings[chosen], rooms, alternatives)


    def _outside(self, text: str, hits: Sequence[PlaceHit], hints: Sequence[Hint], place: _Place) -> bool:
        """Tell whether the words put the fault outside its building: the building's name, then a side of it."""
        if place.building is None or place.building.floors == 0 or self._outside_rx is None:
            return False
        here = (place.building.campus, place.building.name)
        demoted = {k.index for k in hints}
        return any(k not in demoted and here in (*h.entry.buildings, *h.entry.scoped)
                   and self._outside_rx.match(text, h.end) for k, h in enumerate(hits))

    def _text_floor(self, masked: str, b: Building | None) -> int | None:
        """Read a floor said in words ("三楼", "5层"), if the building has that floor."""
        floor = None
        m = _FLOOR_RE.search(masked)
        if m is not None:
            floor = cn_to_int(m.group(1))
        elif b is not None and _TOP_FLOOR_RE.search(masked):
            floor = b.floors
        if floor is None or floor < 1:
            return None
        if b is not None and not 1 <= floor <= b.floors:
            return None  # outdoor places have no floors; "9楼" of a 6-floor building is a misreading
        return floor

    # -- what is broken -----------------------------------------------------------

    def _thing(self, text: str, hits: Sequence[_Hit]) -> _Thing:
        """Pick the broken thing: the first one a fault word follows, else the last one named."""
        faults = [h for h in hits if h.term.fault is not None]
        strong = [h for h in hits if (h.term.thing is not None and not h.term.weak) or h.term.unknown]
        weak = [h for h in hits if h.term.thing is not None and h.term.weak]
        primary: _Hit | None = None
        fault: _Hit | None = None
        pairs: list[tuple[_Hit, _Hit]] = []
        for k, th in enumerate(strong):
            # Things joined by 和/跟 share the fault said after them: the first is reported.
            j = k + 1
            while j < len(strong) and _AND_RE.fullmatch(text, strong[j - 1].end, strong[j].start):
                j += 1
            nxt = strong[j].start if j < len(strong) else None
            said = next((f for f in faults if f.start >= th.end and (nxt is None or f.start < nxt)), None)
            if said is not None:
                pairs.append((th, said))
        if pairs:
            # The first thing a fault is said of, unless that fault cannot be its own and a later
            # pair fits: in "阳台积水排不出去，地漏堵了" the water is the symptom, the drain the fault.
            primary, fault = next((p for p in pairs if _fits(*p)), pairs[0])
        if primary is None:
            primary = strong[-1] if strong else None
            fault = faults[0] if faults else None
            if (primary is not None and primary.term.unknown and fault is not None and fault.term.fault is not None
                    and fault.term.fault.groups and fault.end <= primary.start):
                # The fault was said before the unknown object and not of it: "老是跳闸，一开吹风机就跳".
                primary = None
                strong = []
        fc = fault.term.fault if fault is not None else None
        if primary is not None and primary.term.unknown and fc is not None and fc.supply:
            # A fault of the supply, not of the appliance: "一用吹风机就跳闸" is the circuit's.
            primary = None
            strong = []
        label = fc.label if fc is not None else None

        if primary is not None and primary.term.unknown:
            # An object the register does not know: do not guess from the fault word.
            return _Thing(fault=label, source="unknown", unknown=primary.word)
        if primary is not None and primary.term.thing is not None:
            target = primary.term.thing
            if fc is not None and fc.override and fc.groups and target.group not in fc.groups:
                return _Thing(fc.groups[0], only_item(self.register, fc.groups[0]), label,
                              _distinct([fc.groups[0], target.group]), "fault")
            others = [h.term.thing.group for h in strong if h.term.thing is not None]
            return _Thing(target.group, target.item, label,
                          _many(_distinct([target.group, *others])), "thing")
        weak_groups = [h.term.thing.group for h in weak if h.term.thing is not None]
        fault_groups = [g for f in faults if f.term.fault is not None for g in f.term.fault.groups]
        if fault_groups:
            # A weak thing narrows a fault that fits several groups ("厕所漏水": the toilet).
            group = next((g for g in weak_groups if g in fault_groups), fault_groups[0])
            item = next((h.term.thing.item for h in weak if h.term.thing is not None
                         and h.term.thing.group == group), None) or only_item(self.register, group)
            return _Thing(group, item, label, _many(_distinct([*fault_groups, *weak_groups])), "fault")
        if weak:
            last = weak[-1].term.thing
            assert last is not None
            return _Thing(last.group, last.item, label, _many(_distinct([last.group, *weak_groups])), "weak")
        return _Thing(fault=label)

    def _spot(self, hits: Sequence[_Hit]) -> str | None:
        """Name the spot: the first specific one ("卫生间"), else a generic one ("宿舍").

        A thing named with its spot in one word ("走廊灯", "楼道灯") says the spot too.
        """
        said = [w for h in hits if (w := h.word if h.term.spot else self._spot_prefix(h.word))]
        specific = next((w for w in said if not self._generic_spot(w)), None)
        return specific or next(iter(said), None)

    def _generic_spot(self, word: str) -> bool:
        term = self.lexicon.terms.get(word)
        return term is not None and term.generic_spot

    def _spot_prefix(self, word: str) -> str | None:
        """The spot a longer word starts with ("走廊" in 走廊灯), if any."""
        for k in range(len(word) - 1, 1, -1):
            term = self.lexicon.terms.get(word[:k])
            if term is not None and term.spot:
                return word[:k]
        return None

    # -- intent -----------------------------------------------------------------

    def _intent(self, text: str, masked: str, terms: Sequence[_Hit], hits: Sequence[PlaceHit]) -> Decision:
        """Decide what the message is for, with the confidence of that decision and the cues that made it."""
        evidence = Evidence(
            telling_fault=any(h.term.fault is not None and h.term.fault.groups for h in terms),
            fault=any(h.term.fault is not None for h in terms),
            thing=any(h.term.thing is not None and not h.term.weak for h in terms),
            unknown=any(h.term.unknown for h in terms),
        )
        d = self._intents.decide(text, evidence)
        if d.intent == "repair" and not any(c.intent != "repair" for c in d.cues):
            request = any(c.intent == "repair" and c.weight > 0 for c in d.cues)
            return replace(d, confidence=1.0 if evidence.fault or request else 0.9)
        if d.intent == "other":
            has_place = bool(hits) or any(h.term.spot and not h.term.generic_spot for h in terms)
            if has_place and not d.asks and len(self._residue(masked, terms)) <= 3:
                # A bare place ("18栋"): the start of a report; the dialog asks what is broken.
                return replace(d, intent="repair", confidence=0.8)
        return d

    def _residue(self, masked: str, terms: Sequence[_Hit]) -> str:
        """Return what a message says besides places, lexicon words, numbers and filler."""
        rest = _mask(masked, [(h.start, h.end) for h in terms]).replace(_MASK, "")
        rest = _DIGITS_RE.sub("", _FLOOR_RE.sub("", rest))
        if self._filler is not None:
            rest = self._filler.sub("", rest)
        return _PUNCT_RE.sub("", rest)

    # -- category ---------------------------------------------------------------

    def _category(self, place: _Place, group: str | None) -> str | None:
        """Route through the register's scope rules; only when both place and group are known."""
        if group is None or place.campus is None:
            return None
        if place.building is not None:
            cat = self.register.category_for(place.campus, place.building.kind, group)
            return cat.name if cat else None
        return self._campus_category.get((place.campus, group))

    def _campus_categories(self) -> dict[tuple[str, str], str]:
        """Find, for a campus named without a building, the groups whose category does not depend on it."""
        out: dict[tuple[str, str], str] = {}
        for c in self.register.campuses:
            kinds = {b.kind for b in c.buildings}
            for g in self.register.groups:
                cats = {self.register.category_for(c.name, k, g.name) for k in kinds}
                only = cats.pop() if len(cats) == 1 else None
                if only is not None:
                    out[(c.name, g.name)] = only.name
        return out


# -- helpers ----------------------------------------------------------------------

_MASK = "\x00"


def normalise(text: str) -> str:
    """Bring a message to the form it is scanned in: half-width, lower case, no spaces, bounded."""
    return _DROP_RE.sub("", to_halfwidth(text[: MAX_CHARS * 2]).lower())[:MAX_CHARS]


def _alternation(words: Sequence[str]) -> re.Pattern[str] | None:
    """Compile words into one regex, longest first, or None for no words."""
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


def _mask(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Blank out spans (places, words already read) so nothing inside them is read again."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = [_MASK] * (end - start)
    return "".join(chars)


def _word_ok(start: int, end: int, seg: _Segments) -> bool:
    """Tell whether a lexicon word found at text[start:end] is a word there, not part of a longer one.

    One character must be a whole segment ("门" yes in "门坏了", no in "门口").
    A longer word is refused only inside a longer segment that does not end
    with it: "卫生" is not in "卫生纸", but "门" may end "大门".
    """
    if start in seg.boundaries and end in seg.boundaries:
        return True
    if end - start == 1:
        return False
    a, b = seg.word_at(start)
    if a <= start and end <= b:
        return b == end
    return True


def _room_numbers(masked: str) -> list[str]:
    """List the room-like numbers of a message, Arabic first, then Chinese digit readings."""
    out = []
    for m in _ROOM_RE.finditer(masked):
        if not _NOT_ROOM_AFTER_RE.match(masked, m.end()):
            out.append(m.group(1))
    for m in _CN_ROOM_RE.finditer(masked):
        value = cn_to_int(m.group(0))
        if value is not None and not _NOT_ROOM_AFTER_RE.match(masked, m.end()):
            out.append(str(value))
    return out


def _room_of(b: Building, room: str) -> str | None:
    """Return the room as the building's pattern spells it ("l203" → "L203"), or None if it has no such room."""
    for r in (room, room.upper()):
        if b.floor_of_room(r) is not None:
            return r
    return None


def _first_room(b: Building, rooms: Sequence[str]) -> str | None:
    return next((r for r in (_room_of(b, x) for x in rooms) if r is not None), None)


def _in_building(b: Building, rooms: Sequence[str], alternatives: tuple[Place, ...],
                 from_context: bool = False) -> _Place:
    """Place a message in a building, with its first room number the building has (and that room's floor)."""
    room = _first_room(b, rooms)
    return _Place(b.campus, b, alternatives, room, b.floor_of_room(room) if room else None,
                  from_context=from_context)


def _choose(cands: Sequence[Place], named: str | None, preferred: Sequence[str]) -> tuple[Place | None,
                                                                                         tuple[Place, ...]]:
    """Choose among the buildings a string may name: the one of the named campus, else the one of the first
    preferred campus that has exactly one; when unsure, every candidate, the preferred campuses' first."""
    order = list(dict.fromkeys(preferred))
    rank = {c: k for k, c in enumerate(order)}
    cands = sorted(dict.fromkeys(cands), key=lambda p: rank.get(p[0], len(order)))
    if named is not None:
        inside = [p for p in cands if p[0] == named]
        if len(inside) == 1:
            return inside[0], ()
        return None, tuple(inside or cands)
    for campus in order:
        inside = [p for p in cands if p[0] == campus]
        if len(inside) == 1:
            return inside[0], tuple(p for p in cands if p != inside[0])
        if inside:
            return None, tuple(cands)  # 食堂 where the campus has three: ask, its own first
    if len(cands) == 1:
        return cands[0], ()
    return None, tuple(cands)


def _loses_meaning(term: Term, inside: Sequence[_Hit]) -> bool:
    """Tell whether a fuzzy word would swallow exact words that say more than it does (a thing for a spot).

    A word of one character may be swallowed whatever it is: "掉扇" is 吊扇, not 掉.
    """
    longer = [h for h in inside if h.end - h.start > 1]
    return (any(h.term.thing is not None or h.term.unknown for h in longer) and term.thing is None
            ) or (any(h.term.fault is not None for h in longer) and term.fault is None)


def _attach_parts(text: str, hits: Sequence[_Hit]) -> list[_Hit]:
    """Give a part named right after a thing to that thing: "电梯的门关不上" is the lift's door."""
    out: list[_Hit] = []
    for h in hits:
        prev = out[-1] if out else None
        if (h.term.part and prev is not None and (prev.term.unknown or (prev.term.thing and not prev.term.weak))
                and _PART_JOIN_RE.fullmatch(text, prev.end, h.start)):
            out[-1] = _Hit(prev.start, h.end, prev.word, prev.term, prev.confidence)
        else:
            out.append(h)
    return out


def _hint_spans(hints: Sequence[Hint], hits: Sequence[PlaceHit], n: int) -> list[tuple[int, int]]:
    """Return the text each hint owns: the hint and what follows it, up to the next place."""
    out = []
    for h in hints:
        nxt = next((x.start for x in hits[h.index + 1:]), n)
        out.append((hits[h.index].start, nxt))
    return out


def _supported(m: FuzzyMatch[Any], hits: Sequence[_Hit]) -> bool:
    """Tell whether the words next to a fuzzy match back it: a thing just before a fault, a fault just after a thing."""
    term: Term = m.value
    if term.fault is not None and any(
            h.term.thing is not None and 0 <= m.start - h.end <= _SUPPORT_GAP for h in hits):
        return True
    return term.thing is not None and any(
        h.term.fault is not None and 0 <= h.start - m.end <= _SUPPORT_GAP for h in hits)


def _distinct(groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(groups))


def _many(groups: tuple[str, ...]) -> tuple[str, ...]:
    return groups if len(groups) > 1 else ()


def _place_conf(p: _Place) -> float:
    if p.building is not None:
        if p.from_context:
            return 0.9
        return 0.85 if p.alternatives else 1.0
    if p.ambiguous:
        return 0.6
    return 0.8 if p.campus is not None else 0.7


def _thing_conf(t: _Thing) -> float:
    base = {"thing": 1.0, "fault": 0.85, "weak": 0.7, "unknown": 0.6}.get(t.source, 0.5)
    return base * (0.9 if t.candidates else 1.0)


# -- one parser per register, per process -------------------------------------------

_CACHE_SIZE = 4
_cache: OrderedDict[tuple[str, int], Parser] = OrderedDict()
_cache_lock = threading.Lock()


def get_parser(register: Register) -> Parser:
    """Return this process's parser for a register, building it on first use.

    A stored register (version > 0) is keyed by its version, so a reloaded copy
    of the same version reuses the parser; an unstored one (version 0) by identity.
    """
    key = ("v", register.version) if register.version else ("id", id(register))
    with _cache_lock:
        parser = _cache.get(key)
        if parser is not None and (key[0] == "v" or parser.register is register):
            _cache.move_to_end(key)
            return parser
        parser = Parser(register)
        _cache[key] = parser
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return parser


def clear_parsers() -> None:
    """Forget every cached parser (for tests)."""
    with _cache_lock:
        _cache.clear()


def _fits(thing: _Hit, fault: _Hit) -> bool:
    """Tell whether a fault can be a thing's own: it names no group, or the thing's among them."""
    target, fc = thing.term.thing, fault.term.fault
    if target is None or fc is None or not fc.groups or fc.override:
        return True
    return target.group in fc.groups
