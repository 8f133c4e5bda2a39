"""Load the lexicon (how people name things and faults) and check it against a register."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from dialogs.nlu import emergency
from dialogs.nlu.emergency import Emergency
from dialogs.nlu.intent import EVIDENCE_GROUPS, INTENTS, CueGroup
from dialogs.nlu.landmarks import PlaceGrammar
from dialogs.nlu.numbers import to_halfwidth
from models.errors import RegisterError
from models.register import OTHER, Register

DEFAULT_LEXICON = Path(__file__).with_name("lexicon.yaml")
# A plain word list as an intent's cue group weighs this much (see intent.py).
_LIST_WEIGHTS = {"strong": 3.0}
_LIST_WEIGHT = 1.0


@dataclass(frozen=True)
class Target:
    """What a thing word names in the register: a group, and an item when the word is that specific."""

    group: str
    item: str | None = None


@dataclass(frozen=True)
class FaultClass:
    """A kind of fault: its label (the answer's `fault`) and the groups it suggests, likeliest first."""

    label: str
    code: str
    groups: tuple[str, ...] = ()
    override: bool = False
    supply: bool = False  # a fault of the supply, not of an appliance that shows it ("跳闸")
    outage: bool = False  # what a cut of the supply looks like (没水, 不亮): a 停水/停电 notice may explain it


@dataclass(frozen=True)
class Term:
    """Everything one word means to the parser; a word may be, say, both a spot and a weak thing."""

    thing: Target | None = None
    weak: bool = False
    unknown: bool = False
    fault: FaultClass | None = None
    spot: bool = False
    generic_spot: bool = False
    part: bool = False  # said right after a thing, it is that thing's part ("电梯的门")


@dataclass(frozen=True)
class Lexicon:
    """The checked lexicon: words to terms, intent cues and place helpers."""

    terms: Mapping[str, Term]
    building_suffixes: tuple[str, ...]
    place_filler: tuple[str, ...]
    cues: tuple[CueGroup, ...]
    question_words: tuple[str, ...]
    question_patterns: tuple[str, ...] = ()
    place_locatives: tuple[str, ...] = ()
    # Characters that carry no meaning of their own (了, 的): a fuzzy match whose
    # only right characters are these is thin evidence.
    function_chars: frozenset[str] = frozenset()
    place_grammar: PlaceGrammar = field(default_factory=PlaceGrammar)
    # What counts as an emergency (电梯困人, 冒烟 …) and what to do now, in the order tried.
    emergencies: tuple[Emergency, ...] = ()
    # Things with no floor to ask (a lift, a street lamp): a group's target has no item.
    floorless: tuple[Target, ...] = ()

    @cached_property
    def outage_labels(self) -> frozenset[str]:
        """The fault labels a cut of the supply shows as (没水, 不亮 …)."""
        return frozenset(t.fault.label for t in self.terms.values() if t.fault is not None and t.fault.outage)

    def has_no_floor(self, group: str | None, item: str | None) -> bool:
        """Whether a fault of this group and item has no floor to ask (the lexicon's `floorless`)."""
        return any(t.group == group and t.item in (None, item) for t in self.floorless)

    @classmethod
    def load(cls, register: Register, path: str | Path | None = None) -> Lexicon:
        """Read a lexicon file and check it against the register; raise RegisterError on any fault."""
        p = Path(path) if path is not None else DEFAULT_LEXICON
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise RegisterError(f"lexicon {p}: cannot read it: {exc}") from exc
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RegisterError(f"lexicon {p}: not valid YAML: {exc}") from exc
        return cls.from_dict(register, doc, source=str(p))

    @classmethod
    def from_dict(cls, register: Register, doc: Any, source: str = "lexicon") -> Lexicon:
        """Build a lexicon from its document, resolving every target against the register."""
        if not isinstance(doc, Mapping):
            raise RegisterError(f"{source}: must be a mapping with things, faults, spots and intents")
        b = _Builder(register, source)
        for target, words in _mapping(doc, "things", source).items():
            b.things(str(target), words, weak=False, where="things")
        for target, words in _mapping(doc, "weak_things", source).items():
            b.things(str(target), words, weak=True, where="weak_things")
        # The register's own names: items are strong words for themselves, group
        # names are weak words ("保洁不到位" names a service, not a broken thing).
        for g in register.groups:
            for item in g.items:
                b.default(item, Term(thing=Target(g.name, item)))
            if g.name != OTHER:  # "其他问题" names no broken thing
                b.default(g.name, Term(thing=Target(g.name, only_item(register, g.name)), weak=True))
        for word in _words(doc.get("unknown_things"), "unknown_things", source):
            b.merge(word, Term(unknown=True), "unknown_things")
        for word in _words(doc.get("plain_words"), "plain_words", source):
            b.merge(word, Term(), "plain_words")
        for i, node in enumerate(_list(doc, "faults", source)):
            b.fault(node, i)
        for word in _words(doc.get("spots"), "spots", source):
            b.merge(word, Term(spot=True), "spots")
        for word in _words(doc.get("generic_spots"), "generic_spots", source):
            b.merge(word, Term(spot=True, generic_spot=True), "generic_spots")
        for word in _words(doc.get("parts"), "parts", source):
            b.merge(word, Term(part=True), "parts")
        return cls(
            terms=b.terms,
            building_suffixes=tuple(_words(doc.get("building_number_suffixes"), "building_number_suffixes",
                                           source)),
            place_filler=tuple(_words(doc.get("place_filler"), "place_filler", source)),
            cues=_cue_groups(_mapping(doc, "intents", source), source),
            question_words=tuple(_words(doc.get("question_words"), "question_words", source)),
            question_patterns=_patterns(doc.get("question_patterns"), "question_patterns", source),
            place_locatives=tuple(_words(doc.get("place_locatives"), "place_locatives", source)),
            function_chars=frozenset("".join(_words(doc.get("function_chars"), "function_chars", source))),
            place_grammar=_place_grammar(_mapping(doc, "place_grammar", source), source),
            emergencies=emergency.load(register, doc.get("emergencies"), source),
            floorless=tuple(b.group_or_item(w, "floorless") for w in _words(doc.get("floorless"), "floorless",
                                                                               source)),
        )


class _Builder:
    """Collect terms from the sections of a lexicon document, refusing contradictions."""

    def __init__(self, register: Register, source: str) -> None:
        self.register = register
        self.source = source
        self.terms: dict[str, Term] = {}

    def target(self, name: str, where: str) -> Target:
        group = self.register.group_of_item(name)
        if group is not None:
            return Target(group, name)
        if self.register.group(name) is not None:
            return Target(name, only_item(self.register, name))
        raise RegisterError(f"{self.source}: {where}: {name!r} is neither an item nor a group of the register "
                            f"(items: {', '.join(i for g in self.register.groups for i in g.items)})")

    def group_or_item(self, name: str, where: str) -> Target:
        """A register group named (the target has no item) or an item (with its group)."""
        return Target(name) if self.register.group(name) is not None else self.target(name, where)

    def things(self, target: str, words: Any, *, weak: bool, where: str) -> None:
        t = self.target(target, where)
        for word in _words(words, f"{where}.{target}", self.source):
            self.merge(word, Term(thing=t, weak=weak), f"{where}.{target}")

    def default(self, word: str, term: Term) -> None:
        """Add a word from the register's own names unless the lexicon already says what it is."""
        w = _norm(word)
        old = self.terms.get(w)
        if old is None:
            self.terms[w] = term
        elif old.thing is None and not old.unknown:
            self.terms[w] = replace(old, thing=term.thing, weak=term.weak)

    def merge(self, word: str, term: Term, where: str) -> None:
        w = _norm(word)
        old = self.terms.get(w)
        if old is None:
            self.terms[w] = term
            return
        if term.thing is not None and old.thing is not None and (term.thing, term.weak) != (old.thing, old.weak):
            raise RegisterError(f"{self.source}: {where}: {word!r} already names {old.thing.item or old.thing.group}")
        if (term.unknown and old.thing is not None) or (term.thing is not None and old.unknown):
            raise RegisterError(f"{self.source}: {where}: {word!r} is both a known and an unknown thing")
        if term.fault is not None and old.fault is not None and term.fault != old.fault:
            raise RegisterError(f"{self.source}: {where}: {word!r} is in two fault classes")
        # A word listed as a specific spot anywhere is a specific spot.
        specific = (term.spot and not term.generic_spot) or (old.spot and not old.generic_spot)
        self.terms[w] = Term(
            thing=term.thing or old.thing,
            weak=term.weak if term.thing is not None else old.weak,
            unknown=term.unknown or old.unknown,
            fault=term.fault or old.fault,
            spot=term.spot or old.spot,
            generic_spot=(term.spot or old.spot) and not specific,
            part=term.part or old.part,
        )

    def fault(self, node: Any, index: int) -> None:
        where = f"faults[{index}]"
        if not isinstance(node, Mapping) or not node.get("label"):
            raise RegisterError(f"{self.source}: {where}: a fault class needs a label and words")
        groups = tuple(_words(node.get("groups"), f"{where}.groups", self.source))
        for g in groups:
            if self.register.group(g) is None:
                raise RegisterError(f"{self.source}: {where} ({node['label']}): group {g!r} is not in the register")
        fc = FaultClass(str(node["label"]), str(node.get("code") or node["label"]), groups,
                        bool(node.get("override", False)), bool(node.get("supply", False)),
                        bool(node.get("outage", False)))
        words = list(_words(node.get("words"), f"{where}.words", self.source))
        if not words:
            raise RegisterError(f"{self.source}: {where} ({fc.label}): no words")
        for word in words:
            self.merge(word, Term(fault=fc), f"{where}.words")


def _cue_groups(intents: Mapping[str, Any], source: str) -> tuple[CueGroup, ...]:
    """Read the intent cue groups: a word list, or a mapping with weight, words, patterns, needs, unless, otherwise."""
    groups: list[CueGroup] = []
    for intent, node in intents.items():
        if intent not in INTENTS:
            raise RegisterError(f"{source}: intents: unknown intent {intent!r} (one of {', '.join(INTENTS)})")
        if not isinstance(node, Mapping):
            raise RegisterError(f"{source}: intents.{intent} must map cue group names to words or groups")
        for name, spec in node.items():
            where = f"intents.{intent}.{name}"
            if isinstance(spec, list):
                groups.append(CueGroup(str(intent), str(name), _LIST_WEIGHTS.get(str(name), _LIST_WEIGHT),
                                       tuple(_words(spec, where, source))))
                continue
            if not isinstance(spec, Mapping):
                raise RegisterError(f"{source}: {where} must be a word list or a mapping with weight and words")
            try:
                weight, otherwise = float(spec.get("weight", _LIST_WEIGHT)), float(spec.get("otherwise", 0))
            except (TypeError, ValueError) as exc:
                raise RegisterError(f"{source}: {where}: weight and otherwise must be numbers") from exc
            groups.append(CueGroup(
                str(intent), str(name), weight, tuple(_words(spec.get("words"), f"{where}.words", source)),
                _patterns(spec.get("patterns"), f"{where}.patterns", source),
                tuple(str(n) for n in spec.get("needs") or ()), tuple(str(n) for n in spec.get("unless") or ()),
                otherwise))
    names = {g.name for g in groups} | set(EVIDENCE_GROUPS)
    for g in groups:
        for n in (*g.needs, *g.unless):
            if n not in names:
                raise RegisterError(f"{source}: intents.{g.intent}.{g.name}: no cue group {n!r} to depend on")
    return tuple(groups)


def _patterns(value: Any, where: str, source: str) -> tuple[str, ...]:
    """Check a list of regular expressions (kept as written: they are not normalised like words)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RegisterError(f"{source}: {where} must be a list of regular expressions")
    for p in value:
        try:
            re.compile(str(p))
        except re.error as exc:
            raise RegisterError(f"{source}: {where}: {p!r} is not a regular expression: {exc}") from exc
    return tuple(str(p) for p in value)


def _place_grammar(node: Mapping[str, Any], source: str) -> PlaceGrammar:
    joiners = node.get("joiners") or ""
    if not isinstance(joiners, str):
        raise RegisterError(f"{source}: place_grammar.joiners must be a string of characters")
    return PlaceGrammar(
        relations=tuple(_words(node.get("relations"), "place_grammar.relations", source)),
        joiners=_norm(joiners),
        home=tuple(_words(node.get("home"), "place_grammar.home", source)),
        retract=tuple(_words(node.get("retract"), "place_grammar.retract", source)),
        outside=tuple(_words(node.get("outside"), "place_grammar.outside", source)),
    )


def only_item(register: Register, group: str) -> str | None:
    """Name the item of a group that has exactly one (电梯 → 电梯), else None."""
    g = register.group(group)
    return g.items[0] if g is not None and len(g.items) == 1 else None


def _norm(word: str) -> str:
    # Lexicon words are matched against normalised text: half-width, lower case.
    return to_halfwidth(word).strip().lower()


def _mapping(doc: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = doc.get(key) or {}
    if not isinstance(value, Mapping):
        raise RegisterError(f"{source}: {key} must be a mapping")
    return value


def _list(doc: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise RegisterError(f"{source}: {key} must be a list")
    return value


def _words(value: Any, where: str, source: str) -> Iterable[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RegisterError(f"{source}: {where} must be a list of words")
    out = []
    for w in value:
        if not isinstance(w, str | int) or not _norm(str(w)):
            raise RegisterError(f"{source}: {where}: {w!r} is not a word")
        out.append(_norm(str(w)))
    return out
