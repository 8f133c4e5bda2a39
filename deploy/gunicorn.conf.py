"""gunicorn settings for repairbot (see deploy/RUNBOOK.md)."""

import multiprocessing
import os

bind = os.environ.get("REPAIRBOT_BIND", "127.0.0.1:8000")
# Sync workers: each answer is a few milliseconds of CPU plus two Redis round trips.
workers = int(os.environ.get("REPAIRBOT_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# WeChat gives up after 5 s; a request still running at 10 s is stuck.
timeout = 10
graceful_timeout = 10
keepalive = 5
# Load the app (and the language model's dictionaries) once, before forking.
preload_app = True
# nginx in front keeps the access log (deploy/nginx.conf); a second one here costs about a tenth of
# a message's CPU. REPAIRBOT_ACCESS_LOG=- turns it on (to stdout), e.g. when running without nginx.
accesslog = os.environ.get("REPAIRBOT_ACCESS_LOG") or None
errorlog = "-"
# The path only: WeChat's query string carries a signature, its timestamp and nonce, and the sender's openid.
# Bodies are never logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

# /metrics adds up the counters of every process (prometheus_client's multiprocess mode): each worker writes
# its own files into PROMETHEUS_MULTIPROC_DIR (default: the instance folder's `metrics`), which the RQ workers
# of this machine share. It must be named before the app (and prometheus_client) is loaded.
from core.config import use_metrics_dir  # noqa: E402

use_metrics_dir()


def on_starting(server):
    """Forget the files of processes that are gone (an earlier run's workers)."""
    from core.metrics import forget_dead_processes

    forget_dead_processes()


def child_exit(server, worker):
    """A worker is gone: its live gauges go with it (its counters stay in the sums)."""
    from core.metrics import process_exited

    process_exited(worker.pid)
