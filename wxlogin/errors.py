"""Every error is JSON ``{"error": slug, "message": sentence[, "details": ...]}``
(docs/API.md), the sentence in the request's language (``languages``).

Code raises ``ApiError`` with a ``messages.Problem``; Flask's and werkzeug's own errors (404,
405, 413, webargs' 422) and anything unexpected are turned into the same shape here.
"""

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from . import messages
from .database.errors import is_unavailable
from .languages import translate
from .ops.request_log import request_id as current_request_id

log = logging.getLogger(__name__)

# Parser locations webargs puts above field errors; clients only need the field names.
_ARG_LOCATIONS = {"json", "query", "view_args", "form", "headers"}

_HTTP_ERRORS = {
    400: messages.MALFORMED,
    404: messages.NOT_FOUND,
    405: messages.METHOD_NOT_ALLOWED,
    413: messages.PAYLOAD_TOO_LARGE,
    422: messages.FIELDS_INVALID,
    429: messages.TOO_MANY_REQUESTS,
}

RETRY_AFTER = "2"  # seconds: a database restart or failover takes about this long


class ApiError(Exception):
    """An error the client can act on: one of ``messages``' problems, rendered as
    docs/API.md's JSON error body."""

    def __init__(self, problem, *, details=None, headers=None):
        super().__init__(problem.message)
        self.status, self.slug, self.message = problem
        self.details = details
        self.headers = headers or {}


def error_response(problem, details=None, headers=None, **placeholders):
    status, slug, message = problem
    body = {"error": slug, "message": translate(message, **placeholders)}
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    response.vary.add("Accept-Language")  # the message is in the request's language
    return response


def handle_api_error(error):
    return error_response((error.status, error.slug, error.message), error.details, error.headers)


def handle_http_exception(error):
    """Flask's own errors and webargs' validation errors, in our shape."""
    if error.code is None or error.code >= 500:
        return handle_unexpected_error(error)
    problem = _HTTP_ERRORS.get(error.code)
    if problem is None:  # a status we never answer on purpose: werkzeug's own words
        problem = messages.Problem(error.code, _slug(error.name), error.description)
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    allow = error.get_headers() if error.code == 405 else []
    headers.update((k, v) for k, v in allow if k == "Allow")
    placeholders = {"method": request.method} if problem is messages.METHOD_NOT_ALLOWED else {}
    return error_response(problem, _field_errors(data.get("messages")), headers, **placeholders)


def handle_unexpected_error(error):
    """500 with a request id: the traceback goes to the log, nothing of it to the client.
    An unreachable, frozen or restarting database is 503 instead (safe to retry)."""
    original = getattr(error, "original_exception", None) or error
    if is_unavailable(original):
        return _database_unavailable(original)
    request_id = current_request_id()
    log.error(
        "unhandled %s on %s %s [request_id=%s]",
        type(original).__name__,
        request.method,
        _route(),
        request_id,
        exc_info=original,
    )
    return error_response(messages.INTERNAL_ERROR, headers={"X-Request-ID": request_id}, request_id=request_id)


def database_unavailable():
    return error_response(messages.DATABASE_UNAVAILABLE, headers={"Retry-After": RETRY_AFTER})


def _database_unavailable(error):
    # One line, no traceback: an outage makes one per request, and they are all alike.
    log.warning(
        "database unavailable (%s) on %s %s", type(getattr(error, "orig", None) or error).__name__,
        request.method, _route(),
    )
    return database_unavailable()


def _route():
    """The route's template, never the path: a path may hold a secret (a web login ticket)."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _field_errors(messages_by_location):
    if not messages_by_location:
        return None
    if set(messages_by_location) <= _ARG_LOCATIONS:
        merged = {}
        for location_errors in messages_by_location.values():
            if isinstance(location_errors, dict):
                merged.update(location_errors)
            else:  # e.g. webargs' {"json": ["Invalid JSON body."]}
                merged.setdefault("_body", []).extend(location_errors)
        return merged
    return messages_by_location


def _slug(name):
    return name.lower().replace(" ", "_").replace("-", "_")


def init_app(app):
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected_error)
