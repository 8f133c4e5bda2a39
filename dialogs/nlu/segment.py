"""jieba, privately: a tokenizer of our own whose words do not leak into the global one.

jieba's default start-up unmarshals a 350,000-word prefix dictionary (about a
second on a slow core).  A repair desk needs everyday words only: the rare
ones (seen fewer than 20 times) never decide how a short message
about a tap or a lamp is cut, so the main dictionary is built from jieba's own
dict.txt less those, once per process, in memory (no cache file is written).
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterable

import jieba

# jieba logs "Building prefix dict…" at DEBUG on its own logger; keep it quiet.
logging.getLogger("jieba").setLevel(logging.WARNING)

# Words jieba has seen fewer than 20 times are left out of the main dictionary.
# The lines are picked by one regex over the file (a Python loop over 350,000
# lines would cost more than the loading saves): a frequency of 20..99 is two
# digits starting 2-9, 100 and more is three digits or more.
_FREQUENT_LINE = re.compile(rb"^[^ \n]+ (?:[2-9][0-9]|[1-9][0-9]{2,})(?: [^\n]*)?$", re.MULTILINE)
# Frequency given to our own words (places, things, faults, spots): high
# enough that jieba keeps "楼梯扶手" or "关不上" whole, far below the commonest
# characters so it does not split ordinary words around them.
USER_FREQ = 30_000

_base_lock = threading.Lock()
_base: tuple[dict[str, int], int] | None = None


def _main_dictionary() -> tuple[dict[str, int], int]:
    """Build (once per process) jieba's prefix dictionary from its dict.txt, without the rarest words."""
    global _base
    with _base_lock:
        if _base is None:
            with jieba.Tokenizer().get_dict_file() as f:
                lines = _FREQUENT_LINE.findall(f.read())
            # gen_pfdict reads (and closes) a binary file of "word freq tag" lines.
            freq, total = jieba.Tokenizer.gen_pfdict(io.BytesIO(b"\n".join(lines)))
            _base = (freq, total)
        return _base


class PrivateTokenizer(jieba.Tokenizer):
    """A jieba tokenizer whose dictionary is the trimmed main one plus the words given."""

    initialized: bool
    FREQ: dict[str, int]
    total: int

    def __init__(self, words: Iterable[str] = ()) -> None:
        super().__init__()
        self._words = tuple(words)
        self.initialize()

    def initialize(self, dictionary: str | None = None) -> None:
        """Load the dictionary now, so the first message does not pay for it."""
        with self.lock:
            if self.initialized:
                return
            freq, total = _main_dictionary()
            # A copy: add_word below writes into it.
            self.FREQ, self.total = dict(freq), total
            self.initialized = True
            for w in self._words:
                self._add(w)

    def _add(self, word: str) -> None:
        old = self.FREQ.get(word, 0)
        if len(word) == 1:
            # Single characters keep jieba's own weight: boosting "门" would cut "门口" apart.
            if not old:
                self.add_word(word, 100)
        elif old < USER_FREQ:
            self.add_word(word, USER_FREQ)

    def tokens(self, text: str) -> list[str]:
        """Cut a text into words, dictionary only (no HMM guessing of unknown words)."""
        return list(self.cut(text, HMM=False))
