"""How repairbot logs: plain text, or one JSON object per line (REPAIRBOT_LOG_FORMAT=json) for a log shipper.

Every line carries what is known of the message being handled (core.logs.context): the request id, the
sender's openid *hashed* (``openid_tag``: the same person gives the same tag, and the tag does not give the
openid back), the dialog and its step, and how long the answer took.  Nothing else is added: message bodies,
secrets and query strings are never put in a log line by the code, and the JSON lines carry only the fields
named here.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from core.config import Config

# What is known of the message being handled, for every line logged while it is.
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("repairbot_log", default=None)
# The key of openid_tag: the instance's secret key (set by setup_logging), so a tag cannot be recomputed from
# an openid by someone who only has the logs.
_salt = {"key": b""}
# The sender's openid itself, kept in the context only to be replaced where a message names it; never shown.
_RAW_OPENID = "_openid"
CONTEXT_FIELDS = ("request_id", "openid", "dialog", "step", "duration_ms")
# A request id a proxy sent (nginx's $request_id is 32 hex digits); anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
HANDLER_NAME = "repairbot"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def openid_tag(openid: str) -> str:
    """The openid as logs show it: 12 hex digits of a keyed hash."""
    return hmac.new(_salt["key"] or b"repairbot", b"log-openid\x1f" + openid.encode(), hashlib.sha256).hexdigest()[:12]


def request_id(given: str | None) -> str:
    """The proxy's request id when it looks like one, else a new one."""
    return given if given and REQUEST_ID.fullmatch(given) else secrets.token_hex(8)


def bind(**fields: Any) -> None:
    """Add fields to the current context (an ``openid`` is hashed here; where the message of a line names it in
    clear, as a message key does, the formatters put the hash in its place)."""
    current = dict(_context.get() or {})
    if "openid" in fields and fields["openid"] is not None:
        current[_RAW_OPENID] = str(fields["openid"])
        fields["openid"] = openid_tag(str(fields["openid"]))
    current.update({k: v for k, v in fields.items() if v is not None})
    _context.set(current)


def _message(record: logging.LogRecord, fields: dict[str, Any]) -> str:
    """The record's message, with the current sender's openid replaced by its tag."""
    text = record.getMessage()
    raw = fields.get(_RAW_OPENID)
    return text.replace(raw, f"openid#{fields['openid']}") if raw and raw in text else text


def begin(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Start a fresh context (a request, a job) with these fields; give the token to ``end``."""
    token = _context.set({})
    bind(**fields)
    return token


def end(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _context.reset(token)


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Log with these fields (on top of the current ones) until the block ends."""
    token = _context.set(dict(_context.get() or {}))
    bind(**fields)
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, Any]:
    """The context's fields, as a line shows them."""
    return {k: v for k, v in (_context.get() or {}).items() if k != _RAW_OPENID}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context's fields, and an error's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _context.get() or {}
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": _message(record, fields),
        }
        line.update(current())
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The plain text lines, with the context's fields after the message."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _message(record, _context.get() or {})
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = current()
        if not fields:
            return text
        extra = " ".join(f"{k}={fields[k]}" for k in CONTEXT_FIELDS if k in fields)
        head, sep, rest = text.partition("\n")
        return f"{head} [{extra}]{sep}{rest}"


def setup_logging(config: Config) -> None:
    """Log to stderr in the configured format and level (the web and the workers call this once)."""
    _salt["key"] = config.secret_key.encode()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if config.log_format == "json" else PlainFormatter(PLAIN_FORMAT))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    # As logging.basicConfig did: a handler someone else installed (a test's) is left to do the logging.
    if not root.handlers or config.log_format == "json":
        root.addHandler(handler)
    root.setLevel(config.log_level)
