"""Numbers as people type them: Chinese numerals, full-width digits, digit-by-digit readings.

Everything here is pure string work with no knowledge of the register, so the
place index and the parser can share it (and tests can pin it down).
"""

from __future__ import annotations

import re

# Digit characters people use when reading a number digit by digit ("五零二",
# "幺零八" as said on the phone) or counting ("两").
CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0, "洞": 0,
    "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
CN_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
_CN_WRITE = "零一二三四五六七八九"

# Characters that make up a Chinese number; "洞" is left out because outside a
# digit-by-digit reading it is the ordinary word for a hole ("破了个洞").
CN_NUMERAL_CHARS = "零〇○一幺二两三四五六七八九十百千"
# A number as it appears in a name: Arabic digits or a Chinese numeral run.
ANY_NUMBER_RE = re.compile(rf"\d+|[{CN_NUMERAL_CHARS}]+")

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, mapped to ASCII.
# A translate table is much cheaper than unicodedata.normalize on every message.
_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALF[0x3000] = 0x20
_FULL_DIGITS = {ord(str(d)): 0xFF10 + d for d in range(10)}


def to_halfwidth(text: str) -> str:
    """Turn full-width letters, digits and punctuation into their ASCII forms."""
    return text.translate(_HALF)


def to_fullwidth_digits(text: str) -> str:
    """Turn ASCII digits into full-width digits (for tests and variant lists)."""
    return text.translate(_FULL_DIGITS)


def cn_digits_to_arabic(text: str) -> str | None:
    """Read a digit-by-digit Chinese number ("五零二") as Arabic digits ("502"); None if not one."""
    if not text:
        return None
    out = []
    for ch in text:
        d = CN_DIGITS.get(ch)
        if d is None:
            return None
        out.append(str(d))
    return "".join(out)


def cn_to_int(text: str) -> int | None:
    """Parse a Chinese numeral ("十二", "二十", "一百零二", "五零二") or Arabic digits; None if not a number."""
    if not text:
        return None
    if text.isdigit() and text.isascii():
        return int(text)
    if not any(ch in CN_UNITS for ch in text):
        # No 十/百/千: a digit-by-digit reading ("五零二") or a single digit.
        digits = cn_digits_to_arabic(text)
        return int(digits) if digits is not None else None
    total = 0
    pending: int | None = None
    last_unit = 10_000
    for ch in text:
        if ch in CN_DIGITS:
            if pending is not None and CN_DIGITS[ch] != 0:
                return None  # two digits in a row inside a unit number ("二三十")
            pending = CN_DIGITS[ch] if CN_DIGITS[ch] != 0 else None
        elif ch in CN_UNITS:
            unit = CN_UNITS[ch]
            if unit >= last_unit:
                return None  # units must fall ("十百" is not a number)
            if pending is None and not (ch == "十" and total == 0):
                return None  # only a leading 十 stands bare ("十二" = 12; "百十" is not a number)
            total += (pending if pending is not None else 1) * unit
            pending = None
            last_unit = unit
        else:
            return None
    if pending is not None:
        total += pending
    return total


def int_to_cn(n: int) -> str:
    """Write 0..9999 as people write it in Chinese ("十二", "二十", "一百零二")."""
    if n < 0 or n > 9999:
        raise ValueError(f"{n} is out of range for int_to_cn")
    if n < 10:
        return _CN_WRITE[n]
    if n < 20:
        return "十" + (_CN_WRITE[n - 10] if n > 10 else "")
    out: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, value)
        if d:
            if zero and out:
                out.append("零")
            out.append(_CN_WRITE[d] + unit)
            zero = False
        elif out:
            zero = True
    return "".join(out)


def number_forms(n: int) -> tuple[str, ...]:
    """List the ways a number is written inside a name: Arabic and Chinese."""
    return (str(n), int_to_cn(n)) if 0 <= n <= 9999 else (str(n),)


def is_numeral_char(ch: str) -> bool:
    """Tell whether a character belongs to a number (Arabic digit or Chinese numeral)."""
    return ("0" <= ch <= "9") or ch in CN_NUMERAL_CHARS
