"""The pieces of the short commands people type anywhere — a reporter's 「评价 5」「没修好 …」, a worker's
「完成 R… 换了灯管」: one ticket-number pattern, one set of separators, one way to read them."""

from __future__ import annotations

import re

from dialogs.state import fold

# White space, the ideographic space included.
W = r"[\s\u3000]"
# A ticket number as typed: R or r (full-width too) and 9 to 12 digits.
TICKET_NO = r"[RrＲｒ][0-9０-９]{9,12}"
# What people put between a command and their words.
SEP = r"[\s\u3000,，.。:：;；!！、~～\-—]*"
_LEADING_SEP = re.compile(rf"^{SEP}")


def ticket_no(text: str | None) -> str | None:
    """A typed ticket number as stored (R and ASCII digits); None when none was typed."""
    return fold(text).upper() if text else None


def clean(text: str) -> str:
    """Drop the separators between a command and the user's words; keep the words as typed."""
    return _LEADING_SEP.sub("", text).strip()


_ALONE = re.compile(rf"^{W}*{TICKET_NO}{W}*$")


def is_ticket_no(text: str) -> bool:
    """Tell whether a message is a ticket number and nothing else."""
    return bool(_ALONE.match(text or ""))
