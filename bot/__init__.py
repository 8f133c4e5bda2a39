"""The Flask application: webhook, health check, the staff console and the reporter's pages."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import Config
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
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

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
        status: dict[str, str] = {}
        try:
            with services.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            status["db"] = "ok"
        except Exception as exc:  # any failure means "down"; the name of it is enough here
            status["db"] = f"down: {type(exc).__name__}"
        try:
            services.redis.ping()
            status["redis"] = "ok"
        except Exception as exc:
            status["redis"] = f"down: {type(exc).__name__}"
        ok = all(v == "ok" for v in status.values())
        return jsonify(status), 200 if ok else 503

    return app
