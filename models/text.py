"""People's words as they are stored: without the Unicode controls that reorder text on screen.

A right-to-left override (U+202E) in a name or a description makes "报修\u202egnp.exe" read as
"报修exe.png" to a dispatcher, and an unclosed embedding or isolate reorders whatever the console shows
after it.  Nobody types these in Chinese, so they are dropped — once, when text is stored, by the column
types below (`CleanString`, `CleanText`), whatever path writes it: the chat, the /t/ pages, the console,
the roster, or the plain INSERTs of ``models.tickets.file_ticket``.

Why on the way in rather than when shown: staff read these words in more places than the console's HTML
(the pushes sent to a worker's WeChat, ``repairbot tickets show`` in a terminal, anything exported later),
and cleaning the one copy covers every reader, present and future, with one function.  Rows stored before
this were cleaned by migration 0004.
"""

from __future__ import annotations

from typing import Any, overload

from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Embeddings and overrides (LRE RLE PDF LRO RLO), isolates (LRI RLI FSI PDI), the marks LRM RLM and ALM.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_DROP = dict.fromkeys(map(ord, BIDI_CONTROLS))


@overload
def strip_bidi(text: str) -> str: ...
@overload
def strip_bidi(text: None) -> None: ...
def strip_bidi(text: str | None) -> str | None:
    """`text` without bidirectional controls (None stays None)."""
    return text.translate(_DROP) if text else text


class _Clean(TypeDecorator[str]):
    """A text column whose values lose their bidi controls before they reach the database."""

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return strip_bidi(value) if isinstance(value, str) else value


class CleanString(_Clean):
    impl = String
    cache_ok = True


class CleanText(_Clean):
    impl = Text
    cache_ok = True
