"""WeChat's HTTP API: one access_token shared by every process, kept in Redis under a lock."""

from __future__ import annotations

import json
import logging
from typing import Any

import requests
from redis import Redis

from bot.config import Config
from models.errors import ConfigError, WeChatError

log = logging.getLogger(__name__)

TOKEN_KEY = "wechat:access_token"
LOCK_KEY = "wechat:access_token:lock"
# Codes that mean "this token is no good": refresh once, retry once, then give up.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# Refresh this long before WeChat says the token expires.
EARLY_S = 300
TIMEOUT_S = 10


class WeChatAPI:
    """A small, explicit client: no hidden retries, no recursion."""

    def __init__(self, config: Config, redis: Redis, http: requests.Session | None = None) -> None:
        self.config = config
        self.redis = redis
        self.http = http or requests.Session()
        self.base = config.wechat_api_base_url

    # -- token -------------------------------------------------------------------

    def token(self) -> str:
        """Return the shared access_token, fetching it (once, under a lock) when there is none."""
        cached = self._cached()
        if cached:
            return cached
        with self.redis.lock(LOCK_KEY, timeout=30, blocking_timeout=30):
            return self._cached() or self._fetch_token()

    def _cached(self) -> str | None:
        value = self.redis.get(TOKEN_KEY)
        return value.decode() if isinstance(value, bytes) else value

    def _fetch_token(self) -> str:
        if not self.config.wechat_ready:
            raise ConfigError("WECHAT_APPID and WECHAT_SECRET are needed to call WeChat")
        # The token comes from the same base as every other call (wechatpy hard-codes its own URL).
        params = {"grant_type": "client_credential", "appid": self.config.wechat_appid,
                  "secret": self.config.wechat_secret}
        body = self._json(self.http.get(self.base + "token", params=params, timeout=TIMEOUT_S))
        token, expires = str(body["access_token"]), int(body.get("expires_in", 7200))
        self.redis.set(TOKEN_KEY, token, ex=max(60, expires - EARLY_S))
        log.info("fetched a new WeChat access_token (valid %ss)", expires)
        return token

    def _drop_token(self, bad: str) -> None:
        """Forget a token WeChat refused, unless another process already replaced it."""
        with self.redis.lock(LOCK_KEY, timeout=30, blocking_timeout=30):
            if self._cached() == bad:
                self.redis.delete(TOKEN_KEY)

    # -- calls ------------------------------------------------------------------------

    def call(self, path: str, payload: dict[str, Any] | None = None, params: dict[str, str] | None = None,
             raw: bool = False) -> Any:
        """Call an API path with the token; on a token error refresh once and retry once."""
        for attempt in (1, 2):
            token = self.token()
            q = {**(params or {}), "access_token": token}
            try:
                if payload is None:
                    resp = self.http.get(self.base + path, params=q, timeout=TIMEOUT_S)
                else:
                    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                    resp = self.http.post(self.base + path, params=q, data=data, timeout=TIMEOUT_S,
                                          headers={"Content-Type": "application/json; charset=utf-8"})
            except requests.RequestException as exc:
                raise WeChatError(-2, f"network: {type(exc).__name__}") from exc
            if raw and "json" not in resp.headers.get("Content-Type", "") and resp.status_code == 200:
                return resp.content
            try:
                return self._json(resp)
            except WeChatError as err:
                if err.errcode in TOKEN_ERRORS and attempt == 1:
                    log.warning("WeChat refused the access_token (%s); refreshing once", err.errcode)
                    self._drop_token(token)
                    continue
                raise
        raise AssertionError("unreachable")

    def _json(self, resp: requests.Response) -> dict[str, Any]:
        if resp.status_code >= 500:
            raise WeChatError(-3, f"HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise WeChatError(-4, f"not JSON (HTTP {resp.status_code})") from exc
        code = int(body.get("errcode", 0) or 0)
        if code != 0:
            raise WeChatError(code, str(body.get("errmsg", "")))
        return dict(body)

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str = "") -> str:
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            payload["url"] = url
        return str(self.call("message/template/send", payload).get("msgid", ""))

    def send_text(self, openid: str, content: str) -> None:
        self.call("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": content}})

    def download_media(self, media_id: str) -> bytes:
        result = self.call("media/get", params={"media_id": media_id}, raw=True)
        if not isinstance(result, bytes):
            raise WeChatError(-4, "media/get answered JSON without an error code")
        return result
