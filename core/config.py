"""Configuration: the one place that reads the environment."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from dotenv import dotenv_values

from core.templates import DEFAULT_FILE as DEFAULT_TEMPLATES_FILE
from core.templates import Templates, templates_from
from models.durations import EXAMPLE, parse_duration
from models.errors import ConfigError

DEFAULT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"


@dataclass(frozen=True)
class Config:
    """Every setting of repairbot, read from the environment and an optional `.env` file."""

    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = field(default="", repr=False)
    # Keys the stored hash of every campus-card password; kept outside the database (never change it:
    # the stored hashes would no longer match).
    id_pepper: str = field(default="", repr=False)
    media_dir: Path = Path()
    public_url: str = "http://127.0.0.1:5000"
    # How many proxies (nginx) stand in front and set X-Forwarded-For/-Proto; 0 trusts no such header.
    trusted_proxies: int = 0
    wechat_token: str = field(default="", repr=False)
    wechat_appid: str = ""
    wechat_secret: str = field(default="", repr=False)
    wechat_aes_key: str = field(default="", repr=False)
    # During a change of EncodingAESKey: the key before it, still accepted (and answered with).
    wechat_aes_key_previous: str = field(default="", repr=False)
    wechat_api_base_url: str = DEFAULT_API_BASE
    # A signed request is believed only this many seconds either side of its timestamp.
    wechat_max_skew_s: int = 300
    # With an AES key set, plain-mode messages are refused unless this is on (and then they may not act).
    wechat_accept_plain: bool = False
    template_ticket: str = ""
    template_reply: str = ""
    # How long an unfinished dialog is kept, and after what pause we ask before continuing.
    dialog_ttl_s: int = 24 * 3600
    dialog_pause_s: int = 20 * 60
    # Binding lock-out.
    bind_max_failures: int = 5
    bind_lock_s: int = 15 * 60
    # How long the reply to a handled message is kept for WeChat's retries.
    dedupe_ttl_s: int = 300
    # How long a message waits for the same user's message before it to be answered.
    turn_wait_s: float = 3.0
    # The longest one Redis command (or connecting) may take: a frozen Redis must not hang the webhook past
    # WeChat's 5 s. (RQ workers raise it for their own blocking reads.)
    redis_timeout_s: float = 1.0
    duplicate_window_h: int = 48
    log_level: str = "INFO"
    menu_file: Path = field(default_factory=lambda: Path(__file__).with_name("data") / "menu.yaml")
    # Which template each kind of push uses and what fills its keywords (core/templates.py).
    templates_file: Path = DEFAULT_TEMPLATES_FILE
    templates: Templates = field(default_factory=lambda: templates_from(DEFAULT_TEMPLATES_FILE, {}), repr=False)
    # After 维修完成 (服务回访, 销单): when the invitation to rate goes (0: with the completion push), when an
    # unrated ticket's reporter is reminded once, and when it is closed as 已销单（未评价） (the SLA sweep).
    rate_invite_delay: timedelta = timedelta(0)
    rate_remind_after: timedelta = timedelta(days=3)
    auto_close_after: timedelta = timedelta(days=7)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env") -> Config:
        """Build the configuration from a mapping (default: the process environment and `.env`)."""
        values: dict[str, str] = {}
        if dotenv and Path(dotenv).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if env is None else env)
        # An empty value (`NAME=` in an env file) means the default, as for every other setting.
        instance = Path(values.get("REPAIRBOT_INSTANCE_PATH") or "instance").resolve()
        media = values.get("REPAIRBOT_MEDIA_DIR") or str(instance / "media")
        db_url = values.get("REPAIRBOT_DATABASE_URL") or f"sqlite:///{instance / 'repairbot.db'}"
        templates_file = Path(values.get("REPAIRBOT_TEMPLATES_FILE") or DEFAULT_TEMPLATES_FILE)
        cfg = cls(
            instance_path=instance,
            database_url=db_url,
            redis_url=_redis_url(values),
            secret_key=values.get("REPAIRBOT_SECRET_KEY", ""),
            id_pepper=values.get("REPAIRBOT_ID_PEPPER", ""),
            media_dir=Path(media).resolve(),
            public_url=(values.get("REPAIRBOT_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
            trusted_proxies=_int(values, "REPAIRBOT_TRUSTED_PROXIES", 0),
            wechat_token=values.get("WECHAT_TOKEN", ""),
            wechat_appid=values.get("WECHAT_APPID", ""),
            wechat_secret=values.get("WECHAT_SECRET", ""),
            wechat_aes_key=values.get("WECHAT_AES_KEY", ""),
            wechat_aes_key_previous=values.get("WECHAT_AES_KEY_PREVIOUS", ""),
            wechat_api_base_url=_slash(values.get("WECHAT_API_BASE_URL") or DEFAULT_API_BASE),
            wechat_max_skew_s=_int(values, "WECHAT_MAX_SKEW_S", 300),
            wechat_accept_plain=_flag(values.get("WECHAT_ACCEPT_PLAIN", "")),
            template_ticket=values.get("WECHAT_TEMPLATE_TICKET", ""),
            template_reply=values.get("WECHAT_TEMPLATE_REPLY", ""),
            log_level=values.get("REPAIRBOT_LOG_LEVEL", "INFO"),
            redis_timeout_s=_float(values, "REPAIRBOT_REDIS_TIMEOUT_S", 1.0),
            menu_file=Path(values["REPAIRBOT_MENU_FILE"]) if values.get("REPAIRBOT_MENU_FILE")
            else Path(__file__).with_name("data") / "menu.yaml",
            templates_file=templates_file,
            templates=templates_from(templates_file, values),
            rate_invite_delay=_duration(values, "REPAIRBOT_RATE_INVITE_DELAY", timedelta(0), zero=True),
            rate_remind_after=_duration(values, "REPAIRBOT_RATE_REMIND_AFTER", timedelta(days=3)),
            auto_close_after=_duration(values, "REPAIRBOT_AUTO_CLOSE_AFTER", timedelta(days=7)),
        )
        return cfg.with_secret_key()

    def __repr__(self) -> str:
        """The settings, with the passwords in the database and Redis URLs masked (secrets are left out)."""
        shown = []
        for f in fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            shown.append(f"{f.name}={mask_url(value) if f.name.endswith('_url') else repr(value)}")
        return f"Config({', '.join(shown)})"

    def with_secret_key(self) -> Config:
        """Fill in the secret key and the ID pepper, generating each into the instance folder on first run."""
        return replace(self, secret_key=self.secret_key or _instance_secret(self.instance_path / "secret_key"),
                       id_pepper=self.id_pepper or _instance_secret(self.instance_path / "id_pepper"))

    def override(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def require(self, *names: str) -> None:
        """Refuse to go on when a required setting is empty."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            env = {f.name: _env_name(f.name) for f in fields(self)}
            raise ConfigError("missing settings: " + ", ".join(env[n] for n in missing))

    def template_id(self, kind: str) -> str:
        """The template id a kind of push (core/templates.py FIELDS) is sent with; "" when none is set."""
        return self.templates.template_id(kind, self)

    @property
    def wechat_ready(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)

    @property
    def redis_embedded_path(self) -> Path:
        return self.instance_path / "redis.db"


# REPAIRBOT_REDIS_URL's form for a Redis watched by Sentinel: redis+sentinel://[:password@]host:port[,host:port…]/service/db
SENTINEL_SCHEME = "redis+sentinel"
DEFAULT_SENTINEL_SERVICE = "repairbot"


@dataclass(frozen=True)
class SentinelTarget:
    """Where Sentinel is asked for the Redis primary, and which database of it is used."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    password: str | None = field(default=None, repr=False)


def _redis_url(values: Mapping[str, str]) -> str:
    """REPAIRBOT_REDIS_URL, or the sentinel URL REPAIRBOT_REDIS_SENTINELS (+ _SENTINEL_SERVICE) stand for."""
    url = values.get("REPAIRBOT_REDIS_URL", "")
    sentinels = "".join((values.get("REPAIRBOT_REDIS_SENTINELS") or "").split())
    if url or not sentinels:
        return sentinel_checked(url)
    service = values.get("REPAIRBOT_REDIS_SENTINEL_SERVICE") or DEFAULT_SENTINEL_SERVICE
    return sentinel_checked(f"{SENTINEL_SCHEME}://{sentinels}/{service}/0")


def sentinel_checked(url: str) -> str:
    """The URL itself, once a sentinel URL is known to be readable (a typo stops the process at start)."""
    if url.startswith(SENTINEL_SCHEME + "://"):
        sentinel_target(url)
    return url


def sentinel_target(url: str) -> SentinelTarget | None:
    """Read a redis+sentinel:// URL (None for any other URL)."""
    if not url.startswith(SENTINEL_SCHEME + "://"):
        return None
    netloc, _, path = url[len(SENTINEL_SCHEME) + 3:].partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    service, _, db = path.strip("/").partition("/")
    try:
        sentinels = tuple(_host_port(h) for h in hosts.split(",") if h)
        number = int(db) if db else 0
    except ValueError as exc:
        raise ConfigError(f"REPAIRBOT_REDIS_URL: cannot read {mask_url(url)} ({exc})") from exc
    if not sentinels or not service:
        raise ConfigError("REPAIRBOT_REDIS_URL: redis+sentinel://host:port[,host:port]/service_name/db")
    password = unquote(userinfo.partition(":")[2]) or None
    return SentinelTarget(sentinels, unquote(service), number, password)


def _host_port(pair: str) -> tuple[str, int]:
    host, _, port = pair.rpartition(":")
    return (host, int(port)) if host else (pair, 26379)


def _instance_secret(path: Path) -> str:
    if not path.exists():
        _create_secret(path)
    return path.read_text().strip()


def mask_url(url: str) -> str:
    """A URL as repr() may show it: its password (in the netloc, or a `password` parameter) replaced by ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}{colon and ':***'}@{host}"
    query = "&".join(f"{name}=***" if name.lower() in SECRET_PARAMS else pair
                     for pair in parts.query.split("&") if pair for name in [pair.partition("=")[0]])
    return repr(urlunsplit(parts._replace(netloc=netloc, query=query)))


SECRET_PARAMS = frozenset({"password", "pass", "passwd", "pwd", "secret", "token", "sslpassword"})


def _create_secret(path: Path) -> None:
    """Write a new key, private from the start and complete before it appears; a key written first wins.

    Processes starting together (web, workers) must not each write their own key, nor read a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # created with mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _int(values: Mapping[str, str], name: str, default: int) -> int:
    return int(_number(values, name, default, int, "a whole number"))


def _float(values: Mapping[str, str], name: str, default: float) -> float:
    return float(_number(values, name, default, float, "a number of seconds"))


def _number(values: Mapping[str, str], name: str, default: float, kind: type, what: str) -> float:
    raw = values.get(name) or ""
    try:
        return kind(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be {what}, not {raw!r}") from exc


def _duration(values: Mapping[str, str], name: str, default: timedelta, zero: bool = False) -> timedelta:
    """A delay written as the register writes limits (90s, 15m, 2h, 3d); `zero` also takes 0 (no delay)."""
    raw = (values.get(name) or "").strip()
    if not raw:
        return default
    if zero and raw in ("0", "0s"):
        return timedelta(0)
    span = parse_duration(raw)
    if span is None:
        raise ConfigError(f"{name} must be a duration ({EXAMPLE}), not {raw!r}")
    return span


def _flag(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _env_name(attr: str) -> str:
    special = {
        "wechat_token": "WECHAT_TOKEN", "wechat_appid": "WECHAT_APPID", "wechat_secret": "WECHAT_SECRET",
        "wechat_aes_key": "WECHAT_AES_KEY", "wechat_aes_key_previous": "WECHAT_AES_KEY_PREVIOUS",
        "wechat_api_base_url": "WECHAT_API_BASE_URL",
        "wechat_max_skew_s": "WECHAT_MAX_SKEW_S", "wechat_accept_plain": "WECHAT_ACCEPT_PLAIN",
        "template_ticket": "WECHAT_TEMPLATE_TICKET", "template_reply": "WECHAT_TEMPLATE_REPLY",
    }
    return special.get(attr, "REPAIRBOT_" + attr.upper())
