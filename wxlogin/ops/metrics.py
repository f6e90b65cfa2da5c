"""Prometheus metrics at ``/metrics``, added up over every gunicorn worker.

Under gunicorn each worker writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR``
(``gunicorn.conf.py`` sets it up and clears it at start) and ``/metrics``, whichever worker
answers, reads them all. Without that variable (``flask run``, tests) the numbers are the
process's own. Labels are route templates and error slugs, never paths or user data, so the
number of series stays small.
"""

import functools
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "wxlogin_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "wxlogin_http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOGINS = Counter("wxlogin_logins_total", "Login attempts by outcome: ok or the error slug.", ["outcome"])
QR_LOGINS = Counter(
    "wxlogin_qr_logins_total", "Web logins by QR code handed to the browser, by outcome.", ["outcome"]
)
WECHAT_SECONDS = Histogram(
    "wxlogin_wechat_request_duration_seconds", "Time of one WeChat API call, retries included.",
    ["api"], buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
)
WECHAT_ERRORS = Counter(
    "wxlogin_wechat_errors_total", "Failed WeChat API calls by error slug.", ["api", "error"]
)

def render():
    """The exposition text of every worker's metrics (or this process's alone)."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def observe_request(method, route, status, seconds):
    count, duration = _request_series(method, route, status)
    count.inc()
    duration.observe(seconds)


@functools.lru_cache(maxsize=4096)  # methods x route templates x statuses: a few hundred
def _request_series(method, route, status):
    """The two series of one kind of request, looked up once: ``labels()`` takes a lock and
    builds its key on every call."""
    return REQUESTS.labels(method, route, status), REQUEST_SECONDS.labels(method, route)
