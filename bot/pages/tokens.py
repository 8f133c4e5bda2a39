"""Signed links to a ticket's page: the token names one ticket, and expires.

``workers.push.ticket_link`` signs the bare ticket number (salt ``ticket-page``): such a link is the
reporter's, and lets them act.  ``make_token(..., view_only=True)`` signs ``{"no": …, "view": 1}`` for
anyone else a push goes to (a follower, a worker): the page then only shows the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

SALT = "ticket-page"
LINK_MAX_AGE_S = 30 * 24 * 3600


class LinkInvalid(Exception):
    """The token is malformed, tampered with, or signed with another key."""


class LinkExpired(Exception):
    """The token is genuine but older than LINK_MAX_AGE_S."""


@dataclass(frozen=True)
class PageLink:
    no: str
    reporter: bool  # False: a view-only link


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def make_token(secret_key: str, no: str, *, view_only: bool = False) -> str:
    return _serializer(secret_key).dumps({"no": no, "view": 1} if view_only else no)


def read_token(secret_key: str, token: str, max_age: int = LINK_MAX_AGE_S) -> PageLink:
    """Check a token's signature and age; raise LinkInvalid or LinkExpired."""
    try:
        payload = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkExpired(str(exc)) from exc
    except BadData as exc:
        raise LinkInvalid(str(exc)) from exc
    if isinstance(payload, str) and payload:
        return PageLink(payload, reporter=True)
    if isinstance(payload, dict) and isinstance(payload.get("no"), str) and payload["no"]:
        return PageLink(payload["no"], reporter=not payload.get("view"))
    raise LinkInvalid("the token names no ticket")
