"""gunicorn settings for ``gunicorn wsgi:app``; each can be overridden on the command line.

A login spends most of its time waiting for WeChat (50-300 ms), so workers are threaded:
a worker keeps serving other requests while some wait on the network.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# One process per core, each with threads; a request holds at most one database connection,
# so a host opens at most workers x threads of them (8 per core here: mind the database's
# max_connections when adding hosts).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = 5
timeout = 30  # a worker silent this long is restarted; WeChat calls time out well before
graceful_timeout = 30
max_requests = 10000  # recycle workers now and then, staggered by the jitter
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
# gunicorn trusts X-Forwarded-Proto (https behind a TLS-terminating proxy) only from these.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The app's own log lines (wxlogin.*, INFO and up) go to stderr in gunicorn's format, next to
# gunicorn's; without a root handler Python would print only warnings, bare.
logconfig_dict = {
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "alembic": {"level": "WARNING"},  # its plugin set-up chatter, once per worker
    },
}
