"""The WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py bot.wsgi:app`."""

import gc

from bot import create_app

app = create_app()
# Everything loaded so far (the language model's dictionaries are millions of objects) lives as long as
# the process: out of the garbage collector's sight, it is not walked again at every full collection,
# and forked workers keep sharing its memory pages instead of copying them when the collector touches them.
gc.collect()
gc.freeze()
