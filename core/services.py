"""The process's connections: database, Redis, queues and the register, built from one Config."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel
from rq import Queue

from core.config import Config, SentinelTarget, sentinel_target
from core.embedded import embedded_redis
from core.who import forget
from models.db import Database
from models.notices import NOTICES_VERSION_KEY, NoticeFacts, unfinished_notices, watch_notices
from models.people import watch_profiles
from models.register import Register, current_register, current_version

# How often a process looks whether a newer register was loaded.
REGISTER_CHECK_S = 30.0
# The longest a process trusts its copy of the notices without a change announced in Redis.
NOTICES_CHECK_S = 60.0

log = logging.getLogger(__name__)


def connect_redis(config: Config) -> redis.Redis:
    """Connect to REPAIRBOT_REDIS_URL, or join (starting it if need be) the instance folder's embedded Redis."""
    # One quick retry (a connection the server dropped), never a back-off of seconds: a message must be
    # answered within WeChat's 5 s, and /healthz at once, whatever Redis does.
    timeouts = {"socket_timeout": config.redis_timeout_s, "socket_connect_timeout": config.redis_timeout_s,
                "retry": Retry(NoBackoff(), 1)}
    target = sentinel_target(config.redis_url)
    if target is not None:
        return sentinel_master(target, timeouts)
    if config.redis_url:
        return redis.Redis.from_url(config.redis_url, **timeouts)
    return embedded_redis(config.instance_path, **timeouts)


def sentinel_master(target: SentinelTarget, timeouts: dict[str, Any]) -> redis.Redis:
    """A client of the primary Sentinel names: asked again of the sentinels whenever a connection to it fails,
    so that after a failover the next command reaches the new primary (redis-py's Sentinel, as RQ uses it)."""
    asking = {k: v for k, v in timeouts.items() if k.startswith("socket_")}
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=asking, **asking)
    return sentinel.master_for(target.service, db=target.db, password=target.password, **timeouts)


class Services:
    """Everything a request or a job needs to reach the outside world."""

    def __init__(self, config: Config, redis_conn: redis.Redis | None = None) -> None:
        self.config = config
        self.db = Database(config.database_url)
        self.redis = redis_conn if redis_conn is not None else connect_redis(config)
        # Whatever commits a change to a user's profile, the dialogs' copy in Redis is dropped.
        watch_profiles(self.db.sessionmaker, lambda openids: forget(self.redis, openids))
        self._notices: tuple[Any, float, list[NoticeFacts]] | None = None
        watch_notices(self.db.sessionmaker, self._notices_changed)
        self._register: Register | None = None
        self._register_checked = 0.0
        self._lock = threading.Lock()

    def queue(self, name: str = "default") -> Queue:
        return Queue(name, connection=self.redis)

    def register(self) -> Register | None:
        """Return the register in force, re-reading it when a newer one was loaded."""
        now = time.monotonic()
        if self._register is not None and now - self._register_checked < REGISTER_CHECK_S:
            return self._register
        with self._lock, self.db.session() as session:
            version = current_version(session)
            if self._register is None or self._register.version != version:
                self._register = current_register(session)
            self._register_checked = now
        return self._register

    def notices(self, version: Any) -> list[NoticeFacts]:
        """Return the notices not yet ended, re-read when Redis's version of them moved or a minute passed."""
        now = time.monotonic()
        cached = self._notices
        if cached is not None and cached[0] == version and now - cached[1] < NOTICES_CHECK_S:
            return cached[2]
        with self.db.session() as session:
            facts = unfinished_notices(session)
        self._notices = (version, now, facts)
        return facts

    def _notices_changed(self) -> None:
        self._notices = None
        try:
            self.redis.incr(NOTICES_VERSION_KEY)
        except redis.RedisError as exc:
            # The other processes see the change within NOTICES_CHECK_S.
            log.warning("could not announce a notice change: %s", type(exc).__name__)

    def forget_register(self) -> None:
        self._register = None

    def close(self) -> None:
        self.db.dispose()


_process_services: dict[str, Any] = {}


def process_services() -> Services:
    """Return this process's Services (used by RQ jobs, which get only ids)."""
    svc = _process_services.get("svc")
    if svc is None:
        svc = Services(Config.from_env())
        _process_services["svc"] = svc
    return svc


def use_services(svc: Services) -> None:
    """Make a Services the process-wide one (the app and the tests' in-process workers)."""
    _process_services["svc"] = svc
