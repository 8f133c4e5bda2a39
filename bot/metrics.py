"""GET /metrics for Prometheus, answered only to the addresses of REPAIRBOT_METRICS_ALLOW (default: this machine).

The address judged is the request's: the peer's own, or — only when the app is told it stands behind
proxies (REPAIRBOT_TRUSTED_PROXIES) — the one they forwarded.  A request that carries X-Forwarded-For to an
app not told of any proxy came through a proxy nobody vouched for (nginx on this machine would make every
client look local): it is refused.
"""

from __future__ import annotations

import ipaddress

from flask import Flask, Response, request

from core.config import Config
from core.metrics import exposition
from core.services import Services


def allowed(config: Config, remote_addr: str | None, forwarded: bool) -> bool:
    """Whether a request from `remote_addr` may read the metrics."""
    if forwarded and not config.trusted_proxies:
        return False
    try:
        addr = ipaddress.ip_address((remote_addr or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in net for net in config.metrics_allow)


def init_metrics(app: Flask, services: Services) -> None:
    @app.get("/metrics")
    def metrics() -> Response:
        if not allowed(services.config, request.remote_addr, "X-Forwarded-For" in request.headers):
            return Response("forbidden\n", status=403, mimetype="text/plain")
        body, content_type = exposition(services)
        return Response(body, content_type=content_type)
