"""Numbers and days read from URLs and query strings, bounded to what the database can hold.

Two traps made such numbers 500s rather than "not found":

- range: PostgreSQL's INTEGER ends at 2^31 - 1 and SQLite's at 2^63 - 1; a larger id (or an OFFSET computed
  from a huge page number) is a database error, not a missing row;
- digits: ``str.isdigit()`` is true for '²', which ``int()`` refuses, and ``int()`` and the regex ``\\d`` read
  Arabic-Indic or full-width digits as numbers, so one row would have many URLs.

So an id is 1-10 ASCII digits with a value from 1 to MAX_ID, and anything else names nothing.  Routes take
ids with the ``<id:…>`` converter (no match is a 404); query strings and path parts read as text go through
``parse_id`` and ``parse_page``.  A day in a filter (``parse_day``) is one from FIRST_DAY to LAST_DAY: the
day after 9999-12-31, or the start of 0001-01-01 in UTC, cannot be computed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from werkzeug.routing import BaseConverter, ValidationError

# Every id column is a PostgreSQL INTEGER (models/): the largest value it holds.
MAX_ID = 2**31 - 1
# The queue and the consult list show 50 a page: 10,000 pages is more than any office will have.
MAX_PAGE = 10_000
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def parse_id(text: str | None) -> int | None:
    """The id written in `text` (ASCII digits, 1..MAX_ID), or None."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def parse_page(text: str | None) -> int:
    """A page number from a query string: 1 when missing or unreadable, at most MAX_PAGE."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text) > len(str(MAX_PAGE)):  # int() of thousands of digits is refused, and slow before that
        return MAX_PAGE
    return min(max(1, int(text)), MAX_PAGE)


def parse_day(text: str | None) -> date | None:
    """A day written 2026-11-28, within FIRST_DAY..LAST_DAY; None otherwise."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: a row id as ``parse_id`` reads it; anything else does not match (404)."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        found = parse_id(value)
        if found is None:
            raise ValidationError()
        return found

    def to_url(self, value: Any) -> str:
        return str(int(value))


CONVERTERS = {"id": IdConverter}
