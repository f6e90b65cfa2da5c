"""gunicorn settings for ``gunicorn wsgi:app``; each can be overridden on the command line.

A login spends most of its time waiting for WeChat (50-300 ms), so workers are gevent
workers: each serves up to ``worker_connections`` requests at once, switching whenever one
waits on the network (WeChat, the database, Redis). psycopg 3, PyMySQL, redis-py and
requests all cooperate with gevent. Measured on 2 cores (``bench/``): login throughput at
100 ms of WeChat latency equals the throughput at 0 ms, and both are ~50% above gthread's.
``GUNICORN_WORKER_CLASS=gthread`` (with ``GUNICORN_THREADS``) is the fallback; choose the
worker class with that variable, not ``-k``: gevent's patching below follows the variable.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

from dotenv import load_dotenv

load_dotenv()  # .env sets gunicorn's settings below too (the real environment wins)

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# One process per core. A request holds a database connection only while it queries, never
# while it waits on WeChat, so SQLAlchemy's pool (5 connections per worker, 10 more under
# load) serves them all: mind the database's max_connections when adding hosts.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
if worker_class == "gevent":
    # Patch before anything imports ssl or socket: workers inherit the master's modules, and
    # one imported unpatched stays unpatched. (The master itself loads only wxlogin.ops.logs
    # and the worker class, never the app: see test_gunicorn_master_imports_no_app.)
    import gevent
    from gevent import monkey

    monkey.patch_all()

    from wxlogin.ops.gunicorn_worker import BoundedGeventWorker

    # gevent's worker, but a stalled client is dropped and SIGTERM closes idle connections.
    worker_class = "wxlogin.ops.gunicorn_worker.BoundedGeventWorker"
    BoundedGeventWorker.client_timeout = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", "30"))

    def post_request(_worker, _req, _environ, _resp):
        """Let other connections go first: a client whose next request is already waiting
        would otherwise be served again and again without a switch (greenlets are not
        preempted), while others wait seconds."""
        gevent.sleep(0)
worker_connections = 1000  # gevent: requests in progress per worker
threads = int(os.environ.get("GUNICORN_THREADS", "16"))  # gthread only
keepalive = 30  # mini programs and load balancers reuse connections; idle ones close after this
timeout = 30  # a worker silent this long is restarted; WeChat calls time out well before
graceful_timeout = 30  # on SIGTERM (a deploy), requests in flight get this long to finish
# Workers are not recycled after N requests: memory is bounded (every cache has a size) and
# stays flat under load (bench/), and at thousands of requests a second a recycle every few
# seconds would show as latency spikes.
max_requests = 0
# The app logs one JSON line per request itself (wxlogin.ops.request_log): gunicorn's own access
# log would only repeat it, without the route, user or request id.
accesslog = None
logger_class = "wxlogin.ops.gunicorn_logger.Logger"  # ...and gunicorn builds no access line either
errorlog = "-"
# No control socket (gunicornc): by default every instance run by one user shares
# ~/.gunicorn/gunicorn.ctl, and stopping one instance removes the other's.
control_socket_disable = True
# gunicorn trusts X-Forwarded-Proto (https behind a TLS-terminating proxy) only from these.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus: every worker writes its samples into this folder; /metrics adds them up. One
# private folder per gunicorn instance (several may run on one host) unless
# PROMETHEUS_MULTIPROC_DIR names one; its sample files are cleared when the master starts.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="wxlogin-metrics-")
    os.environ["WXLOGIN_OWN_METRICS_DIR"] = "1"  # ours to remove (survives a config reload)
_SAMPLE_FILES = ("counter_*.db", "gauge_*.db", "histogram_*.db", "summary_*.db")


def on_starting(_server):
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for pattern in _SAMPLE_FILES:  # prometheus_client's files, nothing else
        for samples in folder.glob(pattern):
            samples.unlink()


def child_exit(_server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # its live gauges go; its counters stay


def on_exit(_server):
    if os.environ.get("WXLOGIN_OWN_METRICS_DIR"):
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# Every log line is one JSON object on stderr: the app's (with the request id of the request
# that made it) and gunicorn's own.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "wxlogin.ops.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "wxlogin.ops.logs.JsonLogFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"level": os.environ.get("LOG_LEVEL", "INFO"), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "alembic": {"level": "WARNING"},  # its plugin set-up chatter, once per worker
    },
}
