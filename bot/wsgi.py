"""The WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py bot.wsgi:app`."""

from bot import create_app

app = create_app()
