"""Template messages that fit the account's own templates: the mapping, and one formatter per keyword kind.

A school cannot write its own template: it picks one from WeChat's library for its account category, and
each library template has keyword ids of its own (工单编号 ``character_string2``, 处理进度 ``phrase5``,
处理时间 ``time6``...).  The mapping (``REPAIRBOT_TEMPLATES_FILE``, default ``core/data/templates.yaml``)
says, for each kind of push, which template it uses and which of the product's fields fills each keyword.

A push row keeps the product's fields (``{"template": <push kind>, "fields": {...}}``: the note in full, the
time as ``YYYY-MM-DD HH:MM`` on China's clock); the worker renders them through the mapping when it sends,
each value formatted for its keyword's kind (the prefix of the keyword id: ``thing3`` is a thing) so that
WeChat never refuses it for its length or its characters.  ``valid`` says what WeChat accepts, kind by kind;
the formatters never produce anything else (tests/test_templates.py checks it on arbitrary text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from models.errors import ConfigError

DEFAULT_FILE = Path(__file__).with_name("data") / "templates.yaml"
TIME_FORMAT = "%Y-%m-%d %H:%M"  # how a time field is stored on a push row (China's clock)

# -- the product's side: which fields each kind of push has -------------------------------------------

# Fields holding a time (``YYYY-MM-DD HH:MM``): the only ones a time or date keyword may show.
TIME_FIELDS = frozenset({"time", "created"})

# Push kind → {field → what it is}.  The descriptions are what `repairbot templates check` shows.
FIELDS: dict[str, dict[str, str]] = {
    "ticket_status": {
        "ticket_no": "ticket number (R20261201-0001)",
        "status": "the new status as a phrase (维修单受理, 指派维修, 维修中, 维修完成...)",
        "note": "what today's push shows: the staff's note, the worker and phone when assigned, "
                "the rating hint when completed, else place and fault",
        "place": "where (campus, building, room)",
        "fault": "what is broken (group/item)",
        "worker": "the assigned worker's name",
        "worker_phone": "the assigned worker's phone",
        "category": "the repair category",
        "time": "when the status changed",
        "created": "when the ticket was filed",
    },
    "worker_job": {
        "ticket_no": "ticket number",
        "status": "新派单 or 返修",
        "note": "what today's push shows: place and fault (a rework: the reporter's words)",
        "place": "where (campus, building, room)",
        "fault": "what is broken (group/item)",
        "description": "the reporter's description",
        "reporter_phone": "the reporter's phone",
        "category": "the repair category",
        "time": "when it was assigned or sent back",
        "created": "when the ticket was filed",
    },
    "urgent": {
        "ticket_no": "ticket number",
        "status": "紧急报修",
        "note": "what today's push shows: place and what the reporter said (else the fault)",
        "place": "where (campus, building, room)",
        "fault": "what is broken (group/item)",
        "description": "the reporter's description",
        "reporter_phone": "the reporter's phone",
        "category": "the repair category",
        "time": "when it was filed",
        "created": "when the ticket was filed",
    },
    "ticket_reply": {
        "ticket_no": "ticket number",
        "reply": "the staff's reply",
        "status": "the ticket's status as a phrase",
        "place": "where (campus, building, room)",
        "fault": "what is broken (group/item)",
        "time": "when the reply was written",
    },
    "complaint_reply": {
        "complaint_no": "the complaint's or suggestion's number",
        "complaint_title": "its title",
        "reply": "the reply (or the note of its 办结)",
        "status": "已回复 or 已办结",
        "department": "the department it went to",
        "time": "when the reply was written",
    },
    "sla_overdue": {
        "ticket_no": "ticket number",
        "status": "受理超时, 指派超时 or 完成超时 (to the dispatchers), 超时督办 (to the admins, a limit later)",
        "note": "what today's push shows: place, fault, the late stage and who held it",
        "place": "where (campus, building, room)",
        "fault": "what is broken (group/item)",
        "category": "the repair category",
        "stage": "the late stage: 受理, 指派 or 完成",
        "holder": "who held the ticket in that stage (the dispatchers, or the worker)",
        "limit": "the stage's time limit (2 小时)",
        "time": "when the stage was found late",
        "created": "when the ticket was filed",
    },
    "notice": {
        "notice_no": "N and the notice's number",
        "notice_title": "the notice's title",
        "place": "where it applies (a campus, or 全校)",
        "time": "when it starts",
    },
}

# Which push rows (Push.kind) each mapped kind covers.
PUSH_KINDS = {
    "ticket_status": ("status", "rate_remind"),
    "worker_job": ("assign", "rework"),
    "urgent": ("urgent",),
    "ticket_reply": ("reply",),
    "complaint_reply": ("reply", "closed"),
    "sla_overdue": ("overdue", "escalate"),
    "notice": ("notice",),
}

# A kind left out of a mapping file takes the entry of this one (same fields), when that one is there.
STANDS_IN = {"urgent": "worker_job"}
assert all(set(FIELDS[k]) <= set(FIELDS[v]) for k, v in STANDS_IN.items())

# What `repairbot templates check` fills each push with, to show a sample as it would be sent (long and
# awkward on purpose: a note too long for a thing, a phone with a prefix, emoji from a reporter).
SAMPLE_FIELDS: dict[str, dict[str, str]] = {
    "ticket_status": {
        "ticket_no": "R20261201-0001", "status": "指派维修",
        "note": "张师傅 13700000002，今天下午两点左右上门，请宿舍留人开门",
        "place": "东环校区 学生公寓12栋 502", "fault": "给水/水龙头", "worker": "张师傅", "worker_phone": "13700000002",
        "category": "东环校区宿舍维修", "time": "2026-12-01 14:05", "created": "2026-12-01 09:30",
    },
    "worker_job": {
        "ticket_no": "R20261201-0001", "status": "新派单", "note": "学生公寓12栋 502 给水/水龙头",
        "place": "东环校区 学生公寓12栋 502", "fault": "给水/水龙头", "description": "水龙头一直滴水😭关不紧",
        "reporter_phone": "+86 138-0013-8000", "category": "东环校区宿舍维修",
        "time": "2026-12-01 14:05", "created": "2026-12-01 09:30",
    },
    "urgent": {
        "ticket_no": "R20261201-0002", "status": "紧急报修", "note": "第二教学楼 电梯困人，3楼和4楼之间",
        "place": "东环校区 第二教学楼", "fault": "电梯/电梯困人", "description": "电梯困人，3楼和4楼之间‼️",
        "reporter_phone": "13800138000", "category": "东环校区电梯维修",
        "time": "2026-12-01 14:05", "created": "2026-12-01 14:05",
    },
    "ticket_reply": {
        "ticket_no": "R20261201-0001", "reply": "师傅明天上午到，请留人开门；如不方便请回复另约时间",
        "status": "维修单受理", "place": "东环校区 学生公寓12栋 502", "fault": "给水/水龙头",
        "time": "2026-12-01 10:12",
    },
    "complaint_reply": {
        "complaint_no": "C20261201-0001", "complaint_title": "二食堂的菜太咸", "reply": "已通知二食堂减盐，谢谢反馈",
        "status": "已回复", "department": "饮食服务中心", "time": "2026-12-01 16:40",
    },
    "sla_overdue": {
        "ticket_no": "R20261201-0001", "status": "完成超时",
        "note": "学生公寓12栋 502 给水/水龙头，完成超48 小时，责任人刘师傅",
        "place": "东环校区 学生公寓12栋 502", "fault": "给水/水龙头", "category": "东环校区宿舍维修", "stage": "完成",
        "holder": "刘师傅", "limit": "48 小时", "time": "2026-12-03 14:05", "created": "2026-12-01 09:30",
    },
    "notice": {
        "notice_no": "N12", "notice_title": "12栋停水检修（12月3日8:00–12:00）", "place": "东环校区",
        "time": "2026-12-03 08:00",
    },
}
assert all(set(SAMPLE_FIELDS[k]) == set(FIELDS[k]) for k in FIELDS), "every field needs a sample"

# -- the keyword kinds WeChat defines -----------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ASCII_VISIBLE = re.compile(r"[!-~]")
_ZH_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_CURRENCY = "¥$€£"


# Text made only of these (printable ASCII but ^ and `, CJK ideographs and punctuation, full-width forms, a few
# dashes and quotes) has nothing `_clean` drops: its whitespace is only folded (a push's usual text, without
# looking at each character; tests/test_templates.py checks the two ways agree).
_PLAIN = re.compile(r"[\t\n\r\x20-\x5d\x5f\x61-\x7e\u00b7\u2013\u2014\u2018\u2019\u201c\u201d\u2026"
                    r"\u3000-\u3003\u3005-\u3011\u3014-\u301f\u4e00-\u9fff\uff01-\uff3d\uff3f\uff41-\uff5e]*")


def _clean(text: Any) -> str:
    """One line of text without what no keyword takes: control and format characters, emoji and other
    pictographs (outside the Basic Multilingual Plane, or symbols such as ☀ and ✅), private-use code points."""
    text = str(text if text is not None else "")
    if _PLAIN.fullmatch(text):
        return " ".join(text.split())
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t" or cat == "Zs":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk", "Mn", "Me") or ord(ch) > 0xFFFF:
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _cut(text: str, limit: int, mark: str = "…") -> str:
    """Cut to `limit` characters, marking the cut (when the kind allows the mark)."""
    if len(text) <= limit:
        return text
    return text[: limit - len(mark)] + mark


def fmt_thing(value: Any) -> str:
    """thing: 20 characters or fewer — Chinese, letters, digits, symbols."""
    return _cut(_clean(value), 20) or "无"


def fmt_phrase(value: Any) -> str:
    """phrase: 5 Chinese characters or fewer, Chinese only (digits become Chinese numerals, the rest goes)."""
    text = _clean(unicodedata.normalize("NFKC", _clean(value))).translate(_ZH_DIGITS)
    return "".join(_CJK.findall(text))[:5] or "已更新"


def fmt_character_string(value: Any) -> str:
    """character_string: 32 or fewer letters, digits and symbols (ASCII: full-width forms are folded)."""
    text = unicodedata.normalize("NFKC", _clean(value))
    return "".join(_ASCII_VISIBLE.findall(text))[:32] or "-"


def fmt_letter(value: Any) -> str:
    """letter: 32 or fewer letters."""
    text = unicodedata.normalize("NFKC", _clean(value))
    return "".join(re.findall(r"[A-Za-z]", text))[:32] or "NA"


def fmt_symbol(value: Any) -> str:
    """symbol: 5 or fewer symbols."""
    text = unicodedata.normalize("NFKC", _clean(value))
    return "".join(re.findall(r"[!-/:-@\[-`{-~]", text))[:5] or "-"


def _number_in(value: Any) -> str:
    text = unicodedata.normalize("NFKC", _clean(value)).replace(",", "")
    found = re.search(r"-?\d+(?:\.\d+)?", text)
    return found.group(0) if found else "0"


def fmt_number(value: Any) -> str:
    """number: 32 or fewer digits, with a decimal point allowed."""
    number = _number_in(value)
    whole, _, frac = number.lstrip("-").partition(".")
    whole = whole[:32]
    frac = frac[: max(0, 31 - len(whole))]
    return (whole + ("." + frac if frac else "")) or "0"


def fmt_amount(value: Any) -> str:
    """amount: one currency symbol and 10 or fewer digits (a decimal point allowed), 元 at the end allowed."""
    text = unicodedata.normalize("NFKC", _clean(value))
    symbol = next((c for c in text if c in _CURRENCY), "¥")
    whole, _, frac = _number_in(text).lstrip("-").partition(".")
    whole = whole[:10]
    frac = frac[: max(0, 10 - len(whole))]
    return symbol + whole + ("." + frac if frac else "")


def fmt_name(value: Any) -> str:
    """name: 10 or fewer Chinese characters (a name with any Chinese counts as Chinese), else 20 or fewer
    letters and symbols; no digits."""
    text = unicodedata.normalize("NFKC", _clean(value))
    if _CJK.search(text):
        return "".join(c for c in text if _CJK.match(c) or (c.isascii() and c.isalpha()) or c == "·")[:10] or "无"
    return "".join(c for c in text if c.isascii() and (c.isalpha() or c in " .·-'")).strip()[:20] or "无"


def fmt_phone_number(value: Any) -> str:
    """phone_number: 17 or fewer digits and symbols (+, -, parentheses, spaces folded away)."""
    text = unicodedata.normalize("NFKC", _clean(value))
    return "".join(re.findall(r"[0-9+\-()]", text))[:17] or "-"


def fmt_car_number(value: Any) -> str:
    """car_number: 8 or fewer; letters and digits, a Chinese character allowed first and last only."""
    text = unicodedata.normalize("NFKC", _clean(value)).upper()
    chars = [c for c in text if _CJK.match(c) or (c.isascii() and c.isalnum())]
    if not chars:
        return "-"
    head = chars[0] if _CJK.match(chars[0]) else ""
    body = [c for c in chars[1 if head else 0:] if not _CJK.match(c)]
    tail = chars[-1] if len(chars) > 1 and _CJK.match(chars[-1]) else ""
    room = 8 - len(head) - len(tail)
    return (head + "".join(body[:room]) + tail) or "-"


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    for pattern in (TIME_FORMAT, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def fmt_time(value: Any) -> str:
    """time: a 24-hour time, with its date (2026-12-01 14:05)."""
    at = _as_time(value)
    return at.strftime(TIME_FORMAT) if at else "-"


def fmt_date(value: Any) -> str:
    """date: a date (2026年12月1日)."""
    at = _as_time(value)
    return f"{at.year}年{at.month}月{at.day}日" if at else "-"


def fmt_keyword(value: Any) -> str:
    """first, remark, keywordN of the older templates: free text (WeChat takes about 200 characters)."""
    return _cut(_clean(value), 200) or "-"


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "thing": fmt_thing, "phrase": fmt_phrase, "character_string": fmt_character_string, "letter": fmt_letter,
    "symbol": fmt_symbol, "number": fmt_number, "amount": fmt_amount, "name": fmt_name,
    "phone_number": fmt_phone_number, "car_number": fmt_car_number, "time": fmt_time, "date": fmt_date,
    "keyword": fmt_keyword,
}
# The kinds whose value must be a time or a date.
TIMED_KINDS = frozenset({"time", "date"})

_KEYWORD_ID = re.compile(r"^(thing|phrase|character_string|letter|symbol|number|amount|name|phone_number|car_number"
                         r"|time|date|keyword)(\d+)$|^(first|remark)$")


def keyword_kind(keyword: str) -> str | None:
    """The kind of a keyword id (``thing3`` → thing, ``remark`` → keyword); None for an id WeChat has not."""
    m = _KEYWORD_ID.match(keyword)
    if m is None:
        return None
    return "keyword" if m.group(3) else m.group(1)


def format_value(keyword: str, value: Any) -> str:
    kind = keyword_kind(keyword)
    if kind is None:
        raise ConfigError(f"{keyword!r} is not a WeChat keyword id")
    return FORMATTERS[kind](value)


_VALID: dict[str, re.Pattern[str]] = {
    "thing": re.compile(r"^[^\x00-\x1f\x7f]{1,20}$"),
    "phrase": re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,5}$"),
    "character_string": re.compile(r"^[!-~]{1,32}$"),
    "letter": re.compile(r"^[A-Za-z]{1,32}$"),
    "symbol": re.compile(r"^[!-/:-@\[-`{-~]{1,5}$"),
    "number": re.compile(r"^(?=[\d.]{1,33}$)\d+(\.\d+)?$"),
    "amount": re.compile(r"^[¥$€£](?=[\d.]{1,11}$)\d+(\.\d+)?元?$"),
    "phone_number": re.compile(r"^[0-9+\-()]{1,17}$"),
    "time": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"),
    "date": re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$"),
    "keyword": re.compile(r"^[^\x00-\x1f\x7f]{1,200}$"),
}


def valid(keyword: str, value: str) -> bool:
    """Whether WeChat takes `value` for a keyword of that id's kind (as its rules for each kind say)."""
    kind = keyword_kind(keyword)
    if kind is None or not isinstance(value, str):
        return False
    if any(ord(c) > 0xFFFF or unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "So") for c in value):
        return False
    if kind == "name":
        if _CJK.search(value):
            return 1 <= len(value) <= 10 and not re.search(r"\d", value)
        return 1 <= len(value) <= 20 and not re.search(r"\d", value)
    if kind == "car_number":
        last = len(value) - 1
        return value == "-" or (1 <= len(value) <= 8 and all(
            (c.isascii() and c.isalnum()) or (i in (0, last) and bool(_CJK.match(c))) for i, c in enumerate(value)))
    return bool(_VALID[kind].match(value))


# -- the mapping ------------------------------------------------------------------------------------------

# `template:` may name a setting instead of an id; these two are read through the configuration (so the
# default mapping follows WECHAT_TEMPLATE_TICKET and WECHAT_TEMPLATE_REPLY as before).
SETTING_REFS = {"WECHAT_TEMPLATE_TICKET": "template_ticket", "WECHAT_TEMPLATE_REPLY": "template_reply"}
_REF = re.compile(r"^\$\{([A-Z][A-Z0-9_]*)\}$")


@dataclass(frozen=True)
class PushTemplate:
    """One push kind's template: its id (or the setting holding it) and what fills each keyword."""

    kind: str
    template: str  # a template id, or "" (no template: a customer-service text only)
    setting: str | None  # a Config attribute holding the id (template_ticket, template_reply), else None
    keywords: tuple[tuple[str, str], ...]  # (keyword id, field) in the file's order; "=text" is literal text
    # Not in the mapping file (a kind added by a later version): no template, and the check says so.
    left_out: bool = False

    def template_id(self, config: Any) -> str:
        return str(getattr(config, self.setting, "") or "") if self.setting else self.template

    def render(self, fields: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """The `data` of a template message: each keyword's field, formatted for the keyword's kind."""
        return {kw: {"value": format_value(kw, source[1:] if source.startswith("=") else fields.get(source, ""))}
                for kw, source in self.keywords}

    def field_of(self, keyword: str) -> str | None:
        return next((f for kw, f in self.keywords if kw == keyword), None)


@dataclass(frozen=True)
class Templates:
    """The whole mapping, push kind by push kind."""

    source: str
    kinds: Mapping[str, PushTemplate]

    def __getitem__(self, kind: str) -> PushTemplate:
        return self.kinds[kind]

    def template_id(self, kind: str, config: Any) -> str:
        return self.kinds[kind].template_id(config)


def load_templates(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Templates:
    """Read and check a mapping file; a ConfigError says what is wrong, where, and what would be right."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"REPAIRBOT_TEMPLATES_FILE: cannot read {path} ({exc.strerror or exc})") from exc
    return parse_templates(text, str(path), env or {})


def parse_templates(text: str, source: str, env: Mapping[str, str]) -> Templates:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of push kinds ({', '.join(FIELDS)})")
    errors: list[str] = []
    unknown = [str(k) for k in data if k not in FIELDS]
    if unknown:
        errors.append(f"unknown push kind(s) {', '.join(unknown)}; the kinds are {', '.join(FIELDS)}")
    kinds: dict[str, PushTemplate] = {}
    for kind in FIELDS:
        if kind not in data:
            # A mapping written before this kind existed still loads (an upgrade must not stop the service):
            # the kind borrows the entry of the kind it stands in for (an emergency, the worker's job), or
            # goes as a customer-service text only; `repairbot templates check` reports it either way.
            like = kinds.get(STANDS_IN.get(kind, ""))
            if like is None or like.left_out:
                kinds[kind] = PushTemplate(kind, "", None, (), left_out=True)
            else:
                kinds[kind] = PushTemplate(kind, like.template, like.setting, like.keywords, left_out=True)
            continue
        entry = _parse_kind(kind, data[kind], env, errors)
        if entry is not None:
            kinds[kind] = entry
    if errors:
        raise ConfigError(f"{source}: " + "; ".join(errors))
    return Templates(source, kinds)


def _parse_kind(kind: str, raw: Any, env: Mapping[str, str], errors: list[str]) -> PushTemplate | None:
    if not isinstance(raw, dict):
        errors.append(f"{kind}: expected `template:` and `keywords:`")
        return None
    extra = sorted(str(k) for k in raw if k not in ("template", "keywords"))
    if extra:
        errors.append(f"{kind}: unknown key(s) {', '.join(extra)} (only template and keywords)")
    template = raw.get("template") or ""
    if not isinstance(template, str):
        errors.append(f"{kind}.template: expected a template id or ${{WECHAT_TEMPLATE_TICKET}}, not {template!r}")
        template = ""
    setting = None
    ref = _REF.match(template.strip())
    if ref:
        name = ref.group(1)
        setting = SETTING_REFS.get(name)
        if setting is None and not name.startswith("WECHAT_TEMPLATE_"):
            errors.append(f"{kind}.template: only settings named WECHAT_TEMPLATE_… may be referred to, not {name}")
        template = "" if setting else env.get(name, "")
    keywords_raw = raw.get("keywords") or {}
    if not isinstance(keywords_raw, dict):
        errors.append(f"{kind}.keywords: expected keyword id: field pairs, like `thing3: note`")
        return None
    if (template or setting) and not keywords_raw:
        errors.append(f"{kind}: a template needs its keywords (keyword id: field)")
    keywords: list[tuple[str, str]] = []
    for kw, field_name in keywords_raw.items():
        kw, where = str(kw), f"{kind}.keywords.{kw}"
        kw_kind = keyword_kind(kw)
        if kw_kind is None:
            errors.append(f"{where}: not a WeChat keyword id (a kind and a number, as in the template's "
                          f"{{{{thing3.DATA}}}}; kinds: {', '.join(k for k in FORMATTERS if k != 'keyword')})")
            continue
        if not isinstance(field_name, str) or not field_name.strip():
            errors.append(f"{where}: expected a field name, not {field_name!r}")
            continue
        field_name = field_name.strip()
        if field_name.startswith("="):
            if kw_kind in TIMED_KINDS:
                errors.append(f"{where}: a {kw_kind} keyword needs a time field ({_times(kind)}), not text")
            keywords.append((kw, field_name))
            continue
        if field_name not in FIELDS[kind]:
            errors.append(f"{where}: {kind} pushes have no field {field_name!r}; they have {', '.join(FIELDS[kind])}"
                          " (or =text for a fixed text)")
            continue
        if kw_kind in TIMED_KINDS and field_name not in TIME_FIELDS:
            errors.append(f"{where}: a {kw_kind} keyword needs a time field ({_times(kind)}), not {field_name}")
            continue
        keywords.append((kw, field_name))
    return PushTemplate(kind, template.strip(), setting, tuple(keywords))


def _times(kind: str) -> str:
    return ", ".join(f for f in FIELDS[kind] if f in TIME_FIELDS)


@lru_cache(maxsize=16)
def _cached(path: str, mtime: float, env_items: tuple[tuple[str, str], ...]) -> Templates:
    return load_templates(path, dict(env_items))


def templates_from(path: Path, env: Mapping[str, str]) -> Templates:
    """The mapping of a file, read once per file version (every process builds its settings often)."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    refs = tuple(sorted((k, v) for k, v in env.items() if k.startswith("WECHAT_TEMPLATE_")))
    return _cached(str(path), mtime, refs)


# -- the account's side: what a template's content says ---------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]+\d*)\.DATA\s*\}\}")


def template_keywords(content: str) -> list[tuple[str, str]]:
    """The keyword ids of a template's content, with the label before each
    ("工单编号:{{character_string2.DATA}}" → ("character_string2", "工单编号")), in order."""
    found = []
    for line in content.splitlines():
        pos = 0
        for m in _PLACEHOLDER.finditer(line):
            label = line[pos:m.start()].strip().rstrip(":：").strip()
            found.append((m.group(1), label))
            pos = m.end()
    return found


def render_payload(templates: Templates, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The `data` a push row is sent with: its fields through the mapping, or, for a row written before the
    mapping (already keyed by WeChat's keyword ids), the row's payload as it is."""
    kind, fields = payload.get("template"), payload.get("fields")
    if isinstance(fields, Mapping) and isinstance(kind, str) and kind in templates.kinds:
        return templates[kind].render(fields)
    return dict(payload)


# The errors with which WeChat refuses a template itself (not the user, not the moment): a bad template id,
# a bad keyword value.  The push falls back to a customer-service text, and the console shows the reason.
TEMPLATE_REFUSED = frozenset({40037, 47003})
_REFUSED_KEYWORD = re.compile(r"data\.([A-Za-z_]+\d*)")
_NOTED_FIELD = re.compile(r"\[([A-Za-z_]+\d*) ← (=?[^\]]*)\]")


def refused_keyword(errmsg: str | None) -> str | None:
    """The keyword WeChat named when it refused a value ("argument invalid! data.thing3.value invalid")."""
    m = _REFUSED_KEYWORD.search(errmsg or "")
    return m.group(1) if m else None


def explain_refusal(templates: Templates, payload: Mapping[str, Any], errmsg: str) -> str:
    """WeChat's errmsg, with the field that filled the keyword it names ("… [thing3 ← note]")."""
    keyword = refused_keyword(errmsg)
    kind = payload.get("template")
    if keyword is None or not isinstance(kind, str) or kind not in templates.kinds:
        return errmsg
    field_name = templates[kind].field_of(keyword)
    return f"{errmsg} [{keyword} ← {field_name}]" if field_name else f"{errmsg} [{keyword} ← ]"


def noted_field(error: str | None) -> tuple[str, str] | None:
    """The (keyword, field) a recorded error names (see explain_refusal); the field is "" when the mapping
    filled nothing there."""
    m = _NOTED_FIELD.search(error or "")
    if m:
        return m.group(1), m.group(2)
    keyword = refused_keyword(error)
    return (keyword, "") if keyword else None


# -- `repairbot templates check` ----------------------------------------------------------------------------

# Keywords an older template may leave empty (WeChat no longer shows them since 2023).
OPTIONAL_KEYWORDS = frozenset({"first", "remark"})


@dataclass(frozen=True)
class Report:
    lines: list[str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def describe_account(account: Sequence[Mapping[str, Any]]) -> list[str]:
    """What `repairbot templates list` prints: each template's id, title and keywords."""
    if not account:
        return ["the account has no templates (公众号后台 → 广告与服务 → 模板消息 → 从模板库中添加)"]
    lines = []
    for t in account:
        lines.append(f"{t.get('template_id', '?')}  {t.get('title', '')}"
                     + (f"  ({t.get('primary_industry')}/{t.get('deputy_industry')})" if t.get("primary_industry")
                        else ""))
        for kw, label in template_keywords(str(t.get("content", ""))):
            lines.append(f"    {kw:<22} {label}")
    return lines


def check_templates(templates: Templates, config: Any, account: Sequence[Mapping[str, Any]]) -> Report:
    """Check the mapping against the account's templates: every mapped template on the account, every mapped
    keyword in its template, every keyword of the template filled; with a sample of each push as sent."""
    by_id = {str(t.get("template_id", "")): t for t in account}
    lines: list[str] = [f"mapping: {templates.source}"]
    problems: list[str] = []
    for kind, spec in templates.kinds.items():
        template_id = spec.template_id(config)
        origin = f" (from {_setting_name(spec.setting)})" if spec.setting else ""
        if spec.left_out and not spec.keywords:
            problems.append(f"{kind}: not in the mapping file; sent as a customer-service text only (add it: "
                            "`repairbot templates fields` lists its fields)")
            lines.append(f"{kind}: NOT IN THE MAPPING FILE — sent as a customer-service text only")
            continue
        if spec.left_out:
            lines.append(f"{kind}: not in the mapping file — uses {STANDS_IN[kind]}'s entry (add it to choose)")
        if not template_id:
            lines.append(f"{kind}: no template{origin} — sent as a customer-service text, only within WeChat's "
                         "48 hours after the user last wrote")
            continue
        found = by_id.get(template_id)
        if found is None:
            problems.append(f"{kind}: template {template_id}{origin} is not on the account")
            lines.append(f"{kind}: template {template_id}{origin} — NOT ON THE ACCOUNT (`repairbot templates list`)")
            continue
        keywords = template_keywords(str(found.get("content", "")))
        labels = dict(keywords)
        lines.append(f"{kind}: template {template_id}{origin} 「{found.get('title', '')}」")
        lines.append("  keywords: " + ", ".join(f"{label or '-'} {kw}" for kw, label in keywords))
        data = spec.render(SAMPLE_FIELDS[kind])
        for kw, source in spec.keywords:
            value = data[kw]["value"]
            shown = f"  {kw:<20} ← {source:<16} {labels.get(kw, '?')}: {value}"
            if kw not in labels:
                problems.append(f"{kind}: {kw} is mapped but template {template_id} has no such keyword")
                shown += "   MISSING: the template has no such keyword"
            elif not valid(kw, value):
                problems.append(f"{kind}: the sample value of {kw} would be refused: {value!r}")
                shown += "   WOULD BE REFUSED"
            lines.append(shown)
        mapped = {kw for kw, _ in spec.keywords}
        for kw, label in keywords:
            if kw in mapped:
                continue
            if kw in OPTIONAL_KEYWORDS:
                lines.append(f"  {kw:<20}   (not filled; WeChat no longer shows it)")
                continue
            problems.append(f"{kind}: keyword {kw} ({label}) of template {template_id} is left unfilled")
            lines.append(f"  {kw:<20} ← NOTHING          {label}   UNFILLED: map a field to it (or =text)")
    lines.append("")
    lines.extend(["ok: every mapped template and keyword is on the account, and every keyword is filled"]
                 if not problems else [f"{len(problems)} problem(s):", *(f"  - {p}" for p in problems)])
    return Report(lines, problems)


def _setting_name(setting: str | None) -> str:
    return next((name for name, attr in SETTING_REFS.items() if attr == setting), str(setting))


def describe_fields() -> list[str]:
    """The fields each push kind offers a mapping (for the operator writing one)."""
    lines = []
    for kind, fields in FIELDS.items():
        lines.append(f"{kind} ({', '.join(PUSH_KINDS[kind])}):")
        lines.extend(f"    {name:<16} {what}" + ("  [a time]" if name in TIME_FIELDS else "")
                     for name, what in fields.items())
    return lines
