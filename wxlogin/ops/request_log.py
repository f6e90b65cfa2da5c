"""One structured log line per request, and the request id that ties a request together.

The id is the caller's ``X-Request-ID`` when it is a sane token (a load balancer's or the
mini program's own), else a new one; it is echoed in the response, put on every log record
made while the request runs (``logs.REQUEST_ID``), and quoted in 500 answers. The line holds
the method, the route *template* (never the path or the query), status, duration and user
id: no token, no secret and no body ever goes in.
"""

import logging
import re
import secrets
import time

from flask import g, request

from . import metrics
from .logs import REQUEST_ID

log = logging.getLogger("wxlogin.request")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def request_id():
    """This request's id (made on first use)."""
    if "request_id" not in g:
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        g.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)
        g.request_id_token = REQUEST_ID.set(g.request_id)
    return g.request_id


def _start():
    g.request_started = time.perf_counter()
    request_id()  # now, so that every record the request logs carries it


def _finish(response):
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    method = request.method if request.method in METHODS else "other"  # a client picks it
    response.headers["X-Request-ID"] = request_id()
    metrics.observe_request(method, route, response.status_code, seconds)
    if log.isEnabledFor(logging.INFO):
        log.handle(_line(method, route, response.status_code, seconds))
    return response


def _line(method, route, status, seconds):
    """The request's record, made directly rather than through the record factory: its
    fields are the route template, a known method, numbers and the request id (matched
    against ``_REQUEST_ID`` above), none of which can hold a secret, so redaction, the
    factory's costliest step on a line this frequent, has nothing to do."""
    record = logging.LogRecord(log.name, logging.INFO, __file__, 0, "request", None, None)
    record.__dict__.update(request_id=g.request_id, method=method, route=route, status=status,
                           duration_ms=round(seconds * 1000, 2), user_id=g.get("user_id"),
                           _json_fields=LINE_FIELDS)
    return record


LINE_FIELDS = ("method", "route", "status", "duration_ms", "user_id")  # after the request id


def _forget(_exc):
    """Records made after the request carry no id (or the id of the request around it)."""
    token = g.pop("request_id_token", None)
    if token is not None:
        REQUEST_ID.reset(token)


def init_app(app):
    # First in, so that the duration covers the other hooks; after_request hooks run in
    # reverse order, so this one runs last and logs the final status.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)
    # Teardown functions run last-registered first: first in the list, this one runs last,
    # so that every other teardown still logs with the request's id.
    app.teardown_request_funcs.setdefault(None, []).insert(0, _forget)
