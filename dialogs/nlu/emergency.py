"""Emergencies: words that say someone is in danger now (电梯困人, 冒烟, 煤气味, 水管爆裂).

What counts as one, the group it is a fault of, and what to do before help comes are data: the
`emergencies` section of lexicon.yaml.  A kind matches when one of its words or patterns is in the
normalised text and none of its `unless` words or patterns is ("漏电保护器跳了" is not 漏电; "打不着火" is
not 起火).  Kinds are tried in the order written; the first that matches wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dialogs.nlu.numbers import to_halfwidth
from models.errors import RegisterError
from models.register import Register


@dataclass(frozen=True)
class Emergency:
    """One kind of emergency: its name (said to people), the register group of its fault, what to do now."""

    kind: str
    group: str | None
    advice: str
    words: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()

    def found_in(self, text: str) -> str | None:
        """Return what in the (normalised) text says this emergency, or None."""
        if any(p.search(text) for p in self.unless):
            return None
        for w in self.words:
            if w in text:
                return w
        for p in self.patterns:
            m = p.search(text)
            if m:
                return m.group(0)
        return None


def detect(kinds: Sequence[Emergency], text: str) -> tuple[Emergency, str] | None:
    """The first kind the normalised text says, with the words that said it."""
    for kind in kinds:
        found = kind.found_in(text)
        if found is not None:
            return kind, found
    return None


def load(register: Register, nodes: Any, source: str) -> tuple[Emergency, ...]:
    """Read the `emergencies` section: a list of {kind, group, advice, words, patterns, unless}."""
    if nodes is None:
        return ()
    if not isinstance(nodes, list):
        raise RegisterError(f"{source}: emergencies must be a list of kinds")
    kinds = [_kind(register, node, i, source) for i, node in enumerate(nodes)]
    names = [k.kind for k in kinds]
    if len(set(names)) != len(names):
        raise RegisterError(f"{source}: emergencies: a kind is listed twice")
    return tuple(kinds)


def _kind(register: Register, node: Any, index: int, source: str) -> Emergency:
    where = f"{source}: emergencies[{index}]"
    if not isinstance(node, Mapping) or not node.get("kind") or not node.get("advice"):
        raise RegisterError(f"{where}: an emergency needs a kind, advice and words or patterns")
    group = node.get("group")
    if group is not None and register.group(str(group)) is None:
        group = None  # a register without this group: the place's team gets it as 其他
    words = tuple(_norm(str(w)) for w in node.get("words") or () if _norm(str(w)))
    patterns = _patterns(node.get("patterns"), where)
    if not words and not patterns:
        raise RegisterError(f"{where} ({node['kind']}): no words or patterns")
    unless = tuple(re.compile(re.escape(_norm(str(w)))) for w in node.get("unless_words") or ())
    return Emergency(str(node["kind"]), str(group) if group else None, " ".join(str(node["advice"]).split()),
                     words, patterns, (*unless, *_patterns(node.get("unless"), where)))


def _patterns(value: Any, where: str) -> tuple[re.Pattern[str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RegisterError(f"{where}: patterns must be a list of regular expressions")
    out = []
    for p in value:
        try:
            out.append(re.compile(str(p)))
        except re.error as exc:
            raise RegisterError(f"{where}: {p!r} is not a regular expression: {exc}") from exc
    return tuple(out)


def _norm(word: str) -> str:
    return to_halfwidth(word).strip().lower()
