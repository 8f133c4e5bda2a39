"""WeChat's HTTP API: one access_token shared by every process, kept in Redis under a lock.

Rules (see DESIGN.md, "Known traps"):

- The token lives in Redis under ``TOKEN_KEY`` and expires there ``EARLY_S`` seconds before WeChat
  would expire it, so it is replaced before WeChat refuses it.  Whoever finds no token fetches one
  under ``LOCK_KEY``; everyone else waits for the lock and then reads what was fetched.  Four worker
  processes and a thousand pushes make one call to the token endpoint.
- A token error (40001, 40014, 42001) replaces the token once (unless another process already did)
  and retries the call once; a second token error is raised to the caller.  No recursion, no
  wechatpy ``auto_retry``.
- The token is fetched from ``WECHAT_API_BASE_URL`` like every other call.
- Secrets stay out of logs: request errors are reported by type only (their text holds the URL,
  which carries the access_token or the app secret), and urllib3's debug lines are scrubbed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from typing import Any

import requests
from redis import Redis

from core.config import Config
from models.errors import ConfigError, WeChatError

log = logging.getLogger(__name__)

TOKEN_KEY = "wechat:access_token"
# When the token in TOKEN_KEY was fetched (epoch seconds; the status page and /metrics show its age).
TOKEN_FETCHED_KEY = "wechat:access_token:fetched_at"
LOCK_KEY = "wechat:access_token:lock"
# Codes that mean "this token is no good": refresh once, retry once, then give up.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# Refresh this long before WeChat says the token expires.
EARLY_S = 300
# Seconds to connect and to wait for an answer.
TIMEOUT_S: tuple[float, float] = (5.0, 10.0)
# How long the token lock may be held, and how long a caller waits for it.
LOCK_TIMEOUT_S = 30
LOCK_WAIT_S = 30

# Codes of our own for failures that are not WeChat's answer (all worth a later retry).
NETWORK = -2  # not sent: the connection could not be made
NO_ANSWER = -5  # sent, but no answer came: WeChat may or may not have accepted it
HTTP_5XX = -3
NOT_JSON = -4


class _Scrub(logging.Filter):
    """Blank the access_token and the app secret out of urllib3's debug lines (they log whole URLs)."""

    PATTERN = re.compile(r"((?:access_token|secret)=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = self.PATTERN.sub(r"\1***", str(record.msg))
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_Scrub())

_sessions: dict[int, requests.Session] = {}
# Connections kept alive per host (at least REPAIRBOT_PUSH_THREADS).
POOL_CONNECTIONS = 128
_sessions_lock = threading.Lock()


def shared_session() -> requests.Session:
    """One HTTP session (kept-alive connections) per process; a forked child gets its own.

    The environment's proxy and CA settings are read once here, not on every request (requests
    scans the whole environment for each call when ``trust_env`` is on).
    """
    pid = os.getpid()
    session = _sessions.get(pid)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(pid)
            if session is None:
                _sessions.clear()  # a parent's sessions are not ours to use after a fork
                session = _sessions[pid] = _new_session()
    return session


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # proxies: WeChatAPI passes them per base URL (see _proxies_for)
    # A bulk sender's threads share the session: a kept-alive connection for each (urllib3 keeps 10 by default
    # and opens, then drops, one more for every call beyond them).
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=POOL_CONNECTIONS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
_proxy_cache: dict[str, dict[str, str]] = {}


def _proxies_for(base: str) -> dict[str, str]:
    """The proxies for a base URL as the environment sets them (none when NO_PROXY covers it)."""
    proxies = _proxy_cache.get(base)
    if proxies is None:
        proxies = _proxy_cache[base] = dict(requests.utils.get_environ_proxies(base))
    return proxies


class WeChatAPI:
    """A small, explicit client: no hidden retries, no recursion."""

    def __init__(self, config: Config, redis: Redis, http: requests.Session | None = None,
                 token: str | None = None) -> None:
        """`token`: the shared token as the caller just read it from Redis (a push reads it with its place in the
        pace, core/pacing.py), so the first call needs no round trip for it."""
        self.config = config
        self.known = token
        self.redis = redis
        self.http = http or shared_session()
        self.base = config.wechat_api_base_url
        # NO_PROXY is honoured per base URL (every call of this client goes to the same host).
        self.proxies = _proxies_for(self.base) if not self.http.trust_env else None

    # -- token -------------------------------------------------------------------

    def token(self) -> str:
        """Return the shared access_token, fetching it (once, under a lock) when there is none."""
        return self.known or self._cached() or self._renew(None)

    def _cached(self) -> str | None:
        value: Any = self.redis.get(TOKEN_KEY)
        return value.decode() if isinstance(value, bytes) else value

    def _renew(self, bad: str | None) -> str:
        """Under the lock: fetch a token unless another process already put a usable one in Redis.

        `bad` is the token WeChat just refused (None when there was none): a cached token other than
        it was fetched by someone else meanwhile and is used as it is.
        """
        with self.redis.lock(LOCK_KEY, timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_WAIT_S):
            cached = self._cached()
            if cached and cached != bad:
                return cached
            return self._fetch_token()

    def _fetch_token(self) -> str:
        if not self.config.wechat_ready:
            raise ConfigError("WECHAT_APPID and WECHAT_SECRET are needed to call WeChat")
        # The token comes from the same base as every other call (wechatpy hard-codes its own URL).
        params = {"grant_type": "client_credential", "appid": self.config.wechat_appid,
                  "secret": self.config.wechat_secret}
        try:
            resp = self.http.get(self.base + "token", params=params, timeout=TIMEOUT_S, proxies=self.proxies)
        except requests.RequestException as exc:
            # Not `from exc`: its text holds the URL, and the URL holds the app secret.
            raise WeChatError(NETWORK, f"network: {type(exc).__name__} fetching the access_token") from None
        body = self._json(resp)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatError(NOT_JSON, "the token endpoint answered without an access_token")
        expires = int(body.get("expires_in", 7200) or 7200)
        keep_s = max(60, expires - EARLY_S)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(TOKEN_KEY, token, ex=keep_s)
            pipe.set(TOKEN_FETCHED_KEY, f"{time.time():.3f}", ex=keep_s)
            pipe.execute()
        log.info("fetched a new WeChat access_token (valid %ss)", expires)
        return token

    # -- calls ------------------------------------------------------------------------

    def call(self, path: str, payload: dict[str, Any] | None = None, params: dict[str, str] | None = None,
             raw: bool = False) -> Any:
        """Call an API path with the token; on a token error refresh once and retry once."""
        data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        token = self.token()
        for attempt in (1, 2):
            q = {**(params or {}), "access_token": token}
            try:
                if data is None:
                    resp = self.http.get(self.base + path, params=q, timeout=TIMEOUT_S, proxies=self.proxies)
                else:
                    resp = self.http.post(self.base + path, params=q, data=data, timeout=TIMEOUT_S,
                                          proxies=self.proxies, headers=JSON_HEADERS)
            except requests.RequestException as exc:
                # Not `from exc`: its text holds the URL, and the URL holds the access_token.
                raise WeChatError(_network_code(exc, sent=data is not None), f"network: {type(exc).__name__}") from None
            if raw and "json" not in resp.headers.get("Content-Type", "") and resp.status_code == 200:
                return resp.content
            try:
                return self._json(resp)
            except WeChatError as err:
                if err.errcode in TOKEN_ERRORS and attempt == 1:
                    log.warning("WeChat refused the access_token (%s); refreshing once", err.errcode)
                    token = self.known = self._renew(token)
                    continue
                raise
        raise AssertionError("unreachable")

    @staticmethod
    def _json(resp: requests.Response) -> dict[str, Any]:
        if resp.status_code >= 500:
            raise WeChatError(HTTP_5XX, f"HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            raise WeChatError(NOT_JSON, f"not JSON (HTTP {resp.status_code})") from None
        if not isinstance(body, dict):
            raise WeChatError(NOT_JSON, f"not a JSON object (HTTP {resp.status_code})")
        code = int(body.get("errcode", 0) or 0)
        if code != 0:
            raise WeChatError(code, str(body.get("errmsg", "")))
        return body

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str = "") -> str:
        """Send a template message; return WeChat's msgid (TEMPLATESENDJOBFINISH reports on it)."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            payload["url"] = url
        return str(self.call("message/template/send", payload).get("msgid", ""))

    def private_templates(self) -> list[dict[str, Any]]:
        """The account's templates (模板消息 → 我的模板): id, title, industries, content with its {{kw.DATA}}."""
        return list(self.call("template/get_all_private_template").get("template_list") or [])

    def send_text(self, openid: str, content: str) -> None:
        """Send a customer-service text message (only within 48 hours of the user's last message)."""
        self.call("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": content}})

    def create_qrcode(self, scene: str) -> dict[str, Any]:
        """Create a permanent QR code with a string scene; WeChat answers its ticket and the link it holds."""
        return dict(self.call("qrcode/create", {"action_name": "QR_LIMIT_STR_SCENE",
                                                "action_info": {"scene": {"scene_str": scene}}}))

    def download_media(self, media_id: str) -> bytes:
        result = self.call("media/get", params={"media_id": media_id}, raw=True)
        if not isinstance(result, bytes):
            raise WeChatError(NOT_JSON, "media/get answered JSON without an error code")
        return result


def _network_code(exc: requests.RequestException, *, sent: bool) -> int:
    """NO_ANSWER when a message went out and its answer did not come back (it may have been accepted), else
    NETWORK (nothing was sent, or it was a read that can safely be repeated)."""
    unanswered = isinstance(exc, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError)
    return NO_ANSWER if sent and unanswered else NETWORK
