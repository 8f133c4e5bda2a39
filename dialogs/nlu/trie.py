"""A character trie for longest-match scanning over short messages."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

V = TypeVar("V")

# The key under which a node keeps its value: no character is the empty string.
_END = ""


class Trie(Generic[V]):
    """Map words to values and find every word that starts at a position of a text."""

    def __init__(self) -> None:
        self._root: dict[str, Any] = {}

    def add(self, word: str, value: V) -> None:
        """Store a value under a word, replacing any previous one."""
        if not word:
            raise ValueError("a trie word must not be empty")
        node = self._root
        for ch in word:
            nxt = node.get(ch)
            if nxt is None:
                nxt = {}
                node[ch] = nxt
            node = nxt
        node[_END] = value

    def starts(self, ch: str) -> bool:
        """Tell whether some word starts with this character (cheaper than matches_at for a miss)."""
        return ch in self._root

    def matches_at(self, text: str, start: int, stop: int | None = None) -> list[tuple[int, V]]:
        """List (end, value) for every word at text[start:end], shortest first, not reading past stop."""
        out: list[tuple[int, V]] = []
        node = self._root
        end = len(text) if stop is None else stop
        i = start
        while i < end:
            nxt = node.get(text[i])
            if nxt is None:
                break
            node = nxt
            i += 1
            if _END in node:
                out.append((i, node[_END]))
        return out
