"""What a message is for: a repair, a complaint, a query about a report, a notice question, or other.

One keyword does not decide.  Cues come in named groups (lexicon.yaml,
`intents`): for a complaint the explicit words (投诉, 表扬), a judgement of
the service (糊弄, 太不靠谱), frustration (根本, 到底), repetition (又, 三次),
the service domains (饭菜, 热水, 保洁, 态度) and negative words about them; for
a query a reference to one's own report (报的, 单子) and progress questions;
for a notice an outage word asked about.  Each group found adds its weight to
its intent.  A group may count only with another one (`needs`: an outage
counts as a notice question only when asked about) or not with another one
(`unless`: "来修" is no new request in "上周报修的窗户怎么还没人来修"); it
then counts `otherwise` instead.  Besides the groups, `question` (a question
form), `fault` and `thing` (what the scanners found) can be needed.

Against the cues stands the repair evidence: a fault that names a group, or a
fault said of a thing (3); a fault or a thing (2); an object the register does
not know, not asked about (1); plus the repair groups (a request to repair).
The intent with the highest score wins if it beats the repair evidence and
reaches MIN_SCORE; otherwise the message is a repair if there is evidence,
else other.  Ties go to the repair (a report is never lost to a hint of a
complaint), and between other intents to query, then notice, then complaint
in a question, to complaint first in a statement.

The decision keeps the cues that made it, so `repairbot parse --explain` can
say why a message was taken as a complaint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

INTENTS = ("repair", "complaint", "query", "notice", "other")
# When two intents score the same, the first of these wins: a query is a
# question, so without a question form a complaint goes first.
_PRECEDENCE = ("query", "notice", "complaint")
_PRECEDENCE_NOT_ASKED = ("complaint", "query", "notice")
# Pseudo groups a cue group may need: found by the parser, not by words.
EVIDENCE_GROUPS = ("question", "fault", "thing")
# With no repair evidence, a score below this is too little to leave `other`
# ("今天天气不错" holds 天天, a repetition cue, and is no complaint).
MIN_SCORE = 2.0


@dataclass(frozen=True)
class CueGroup:
    """A named group of words (and regular expressions) that speaks for an intent."""

    intent: str
    name: str
    weight: float
    words: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # counts `weight` only if one of these groups is found too
    unless: tuple[str, ...] = ()  # … and none of these
    otherwise: float = 0.0  # what it counts when a condition fails


@dataclass(frozen=True)
class Cue:
    """A cue group found in a message: the words that matched and what they counted."""

    intent: str
    group: str
    found: str
    weight: float


@dataclass(frozen=True)
class Evidence:
    """What the scanners found that speaks for a repair."""

    telling_fault: bool = False  # a fault that names a group ("堵", "没电")
    fault: bool = False
    thing: bool = False  # a thing of the register, named by a strong word
    unknown: bool = False  # an object the register does not know ("空调")


@dataclass(frozen=True)
class Decision:
    """The intent, its confidence, and what decided it."""

    intent: str
    confidence: float
    cues: tuple[Cue, ...]
    scores: tuple[tuple[str, float], ...]  # every intent that scored, repair included
    asks: bool  # the message has a question form


class IntentModel:
    """Score the cue groups of a lexicon against a message."""

    def __init__(self, groups: Iterable[CueGroup], question_words: Sequence[str] = (),
                 question_patterns: Sequence[str] = ()) -> None:
        self.groups = tuple(groups)
        self._rx = [_compile(g.words, g.patterns) for g in self.groups]
        self._question = _compile(question_words, question_patterns)

    def has(self, intent: str, group: str, text: str) -> bool:
        """Tell whether one cue group is found in a text (for the parser's own questions)."""
        return any(g.intent == intent and g.name == group and rx is not None and rx.search(text)
                   for g, rx in zip(self.groups, self._rx, strict=True))

    def decide(self, text: str, evidence: Evidence) -> Decision:
        """Score every intent on a normalised text and choose one (`other` when nothing speaks)."""
        found: list[tuple[CueGroup, str]] = []
        for g, rx in zip(self.groups, self._rx, strict=True):
            m = rx.search(text) if rx is not None else None
            if m is not None:
                found.append((g, m.group(0)))
        asks = self._question is not None and self._question.search(text) is not None
        present = {g.name for g, _ in found} | {
            name for name, on in (("question", asks), ("fault", evidence.fault),
                                  ("thing", evidence.thing or evidence.unknown)) if on}
        cues = tuple(Cue(g.intent, g.name, word, w) for g, word in found if (w := _weight(g, present)) > 0)
        scores = {i: 0.0 for i in INTENTS}
        for c in cues:
            scores[c.intent] += c.weight
        scores["repair"] += _evidence_score(evidence, asks)
        return _choose(scores, cues, asks)


def _weight(g: CueGroup, present: set[str]) -> float:
    """What a found group counts, given the other groups found."""
    if g.needs and not present.intersection(g.needs):
        return g.otherwise
    if g.unless and present.intersection(g.unless):
        return g.otherwise
    return g.weight


def _evidence_score(e: Evidence, asks: bool) -> float:
    if e.telling_fault or (e.fault and e.thing):
        return 3.0
    if e.fault or e.thing:
        return 2.0
    # An unknown object asked about is a question ("怎么绑定校园卡"), not a report.
    return 1.0 if e.unknown and not asks else 0.0


def _choose(scores: dict[str, float], cues: tuple[Cue, ...], asks: bool) -> Decision:
    repair = scores["repair"]
    order = _PRECEDENCE if asks else _PRECEDENCE_NOT_ASKED
    best = max(order, key=lambda i: (scores[i], -order.index(i)))
    top = scores[best]
    table = tuple((i, s) for i, s in scores.items() if s > 0)
    if top >= MIN_SCORE and top > repair:
        runner_up = max([repair, *(scores[i] for i in order if i != best)])
        return Decision(best, _margin_confidence(top, runner_up), cues, table, asks)
    if repair > 0:
        return Decision("repair", 1.0 if top == 0 else _margin_confidence(repair, top), cues, table, asks)
    if scores["other"] > 0:
        return Decision("other", 0.9, cues, table, asks)
    return Decision("other", 0.5, cues, table, asks)


def _margin_confidence(score: float, runner_up: float) -> float:
    """Turn a winning score and the next best into a confidence: a clear lead is sure, a narrow one is not."""
    return round(min(0.95, 0.55 + 0.1 * score - 0.1 * runner_up + 0.1), 2) if score > runner_up else 0.5


def _compile(words: Sequence[str], patterns: Sequence[str]) -> re.Pattern[str] | None:
    parts = [re.escape(w) for w in sorted(set(words), key=len, reverse=True)] + list(patterns)
    return re.compile("|".join(parts)) if parts else None
