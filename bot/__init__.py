"""The Flask application: webhook, health check, the staff console and the reporter's pages."""

from __future__ import annotations

from flask import Flask, Response, g, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from core import logs, vitals
from core.config import Config
from core.logs import setup_logging
from core.services import Services, use_services


def create_app(config: Config | None = None, services: Services | None = None) -> Flask:
    """Build the app from a Config (default: the environment)."""
    config = config or (services.config if services else Config.from_env())
    services = services or Services(config)
    use_services(services)
    app = Flask(__name__, instance_path=str(config.instance_path))
    app.config["SECRET_KEY"] = config.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    if config.trusted_proxies:
        # Behind nginx: the client's address and scheme are the ones it forwarded (login limits count by address).
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    from bot.ids import CONVERTERS  # row ids in routes: <id:…>, bounded to what the database holds

    app.url_map.converters.update(CONVERTERS)
    app.extensions["repairbot.services"] = services
    # Imported here: jobs import core.services, and must not pull in the whole dialog stack with it.
    from bot.conversations import Conversations

    conversations = Conversations.create(services)
    conversations.warm_up()
    app.extensions["repairbot.conversations"] = conversations
    setup_logging(config)
    init_request_log(app)

    from bot.webhook import NoSessionForWeChat
    from bot.webhook import bp as webhook_bp

    app.session_interface = NoSessionForWeChat()
    app.register_blueprint(webhook_bp)
    from bot.pages import bp as pages_bp  # the reporter's /t/<token> page (checks its own CSRF tokens)

    app.register_blueprint(pages_bp)
    from bot.pages.consult import bp as consult_page_bp  # /c/<token>: a complaint's page for its sender
    from bot.pages.notices import bp as notices_pages_bp  # /notices, /notices/<id>: public notices

    app.register_blueprint(notices_pages_bp)
    app.register_blueprint(consult_page_bp)
    from bot.console import init_console  # the staff console, with Flask-Login and CSRF (webhook exempt)

    init_console(app)
    from bot.errors import init_errors
    from bot.headers import init_headers  # CSP, framing, HSTS and Secure cookies, on every answer

    init_errors(app)
    init_headers(app, config)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        status = {"db": vitals.db_health(services.db), "redis": vitals.redis_health(services.redis)}
        ok = all(v == "ok" for v in status.values())
        return jsonify(status), 200 if ok else 503

    from bot.metrics import init_metrics  # /metrics, for the addresses of REPAIRBOT_METRICS_ALLOW

    init_metrics(app, services)
    return app


def init_request_log(app: Flask) -> None:
    """Every line logged during a request carries its id (nginx's X-Request-Id when it sends one)."""

    @app.before_request
    def _begin() -> None:
        g.log_token = logs.begin(request_id=logs.request_id(request.headers.get("X-Request-Id")))

    @app.teardown_request
    def _end(exc: BaseException | None) -> None:
        token = g.pop("log_token", None)
        if token is not None:
            logs.end(token)
