"""Signed links to the pages a person opens from a push or a chat reply: one home for the salts, the
lifetimes and the readers, shared by the jobs that write links and the web pages that read them.

A ticket's token signs the bare number for its reporter (who may act on the page) or ``{"no": …,
"view": 1}`` for anyone else a push goes to (a follower, a worker: the page only shows). A complaint's
token signs its number. Tokens expire; a tampered one names nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

TICKET_SALT = "ticket-page"
CONSULT_SALT = "consult-page"
LINK_MAX_AGE_S = 30 * 24 * 3600
CONSULT_LINK_MAX_AGE_S = 90 * 24 * 3600


class Site(Protocol):
    """What a link needs of the configuration."""

    @property
    def public_url(self) -> str: ...

    @property
    def secret_key(self) -> str: ...


class LinkInvalid(Exception):
    """The token is malformed, tampered with, signed with another key or for another page, or names nothing."""


class LinkExpired(Exception):
    """The token is genuine but older than its lifetime."""


@dataclass(frozen=True)
class PageLink:
    no: str
    reporter: bool  # False: a view-only link


@functools.lru_cache(maxsize=16)
def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def _load(secret_key: str, salt: str, token: str, max_age: int) -> Any:
    try:
        return _serializer(secret_key, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkExpired(str(exc)) from exc
    except BadData as exc:
        raise LinkInvalid(str(exc)) from exc


def make_token(secret_key: str, no: str, *, view_only: bool = False) -> str:
    return _serializer(secret_key, TICKET_SALT).dumps({"no": no, "view": 1} if view_only else no)


def read_token(secret_key: str, token: str, max_age: int = LINK_MAX_AGE_S) -> PageLink:
    """The ticket a token names, and whether it is its reporter's; raise LinkInvalid or LinkExpired."""
    payload = _load(secret_key, TICKET_SALT, token, max_age)
    if isinstance(payload, str) and payload:
        return PageLink(payload, reporter=True)
    if isinstance(payload, dict) and isinstance(payload.get("no"), str) and payload["no"]:
        return PageLink(payload["no"], reporter=not payload.get("view"))
    raise LinkInvalid("the token names no ticket")


def make_consult_token(secret_key: str, no: str) -> str:
    return _serializer(secret_key, CONSULT_SALT).dumps(no)


def read_consult_token(secret_key: str, token: str, max_age: int = CONSULT_LINK_MAX_AGE_S) -> str:
    """The consult number a token names; raise LinkInvalid or LinkExpired."""
    no = _load(secret_key, CONSULT_SALT, token, max_age)
    if not isinstance(no, str) or not no:
        raise LinkInvalid("the token names no consult")
    return no


def ticket_link(site: Site, no: str, *, view_only: bool = False) -> str:
    """The full link to a ticket's page: its reporter's, or a view-only one."""
    return f"{site.public_url}/t/{make_token(site.secret_key, no, view_only=view_only)}"


def consult_link(site: Site, no: str) -> str:
    """The full link to a complaint's page, for its sender."""
    return f"{site.public_url}/c/{make_consult_token(site.secret_key, no)}"


def notice_link(site: Site, notice_id: int) -> str:
    return f"{site.public_url}/notices/{notice_id}"
