"""Every error is JSON ``{"error": slug, "message": sentence[, "details": ...]}`` (API.md).

Routes raise ``ApiError``; Flask's and werkzeug's own errors (404, 405, 413, webargs' 422)
and anything unexpected are turned into the same shape here.
"""

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from .ops import request_log

log = logging.getLogger(__name__)

# Parser locations webargs puts above field errors; clients only need the field names.
_ARG_LOCATIONS = {"json", "query", "view_args", "form", "headers"}

_HTTP_ERRORS = {
    400: ("invalid_request", "The request is malformed: send a JSON body with the documented fields."),
    404: ("not_found", "There is nothing at this URL: check the route and the id."),
    405: ("method_not_allowed", "This route does not accept {method}."),
    413: ("payload_too_large", "The body is larger than 64 KiB."),
    422: ("invalid_request", "Some fields are missing or invalid: see details."),
    429: ("rate_limited", "Too many requests: wait a moment and try again."),
}


class ApiError(Exception):
    """An error the client can act on, rendered as API.md's JSON error body."""

    def __init__(self, status, slug, message, *, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.slug = slug
        self.message = message
        self.details = details
        self.headers = headers or {}


def error_response(status, slug, message, details=None, headers=None):
    body = {"error": slug, "message": message}
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def handle_api_error(error):
    return error_response(error.status, error.slug, error.message, error.details, error.headers)


def handle_http_exception(error):
    """Flask's own errors and webargs' validation errors, in our shape."""
    if error.code is None or error.code >= 500:
        return handle_unexpected_error(error)
    if error.code in _HTTP_ERRORS:
        slug, message = _HTTP_ERRORS[error.code]
        message = message.replace("{method}", request.method)
    else:
        slug, message = _slug(error.name), error.description
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    allow = error.get_headers() if error.code == 405 else []
    headers.update((k, v) for k, v in allow if k == "Allow")
    return error_response(
        error.code,
        slug,
        message,
        details=_field_errors(data.get("messages")),
        headers=headers,
    )


def handle_unexpected_error(error):
    """500 with a request id: the traceback goes to the log, nothing of it to the client.
    An unreachable, frozen or restarting database is 503 instead (safe to retry)."""
    from .database.engine import is_unavailable

    original = getattr(error, "original_exception", None) or error
    if is_unavailable(original):
        return _database_unavailable(original)
    request_id = request_log.request_id()
    log.error(
        "unhandled %s on %s %s [request_id=%s]",
        type(original).__name__,
        request.method,
        request.path,
        request_id,
        exc_info=original,
    )
    return error_response(
        500,
        "internal_error",
        f"Something went wrong on our side; quote request id {request_id} if you report it.",
        headers={"X-Request-ID": request_id},
    )


def _field_errors(messages):
    if not messages:
        return None
    if set(messages) <= _ARG_LOCATIONS:
        merged = {}
        for location_errors in messages.values():
            if isinstance(location_errors, dict):
                merged.update(location_errors)
            else:  # e.g. webargs' {"json": ["Invalid JSON body."]}
                merged.setdefault("_body", []).extend(location_errors)
        return merged
    return messages


def _slug(name):
    return name.lower().replace(" ", "_").replace("-", "_")


RETRY_AFTER = "2"  # seconds: a database restart or failover takes about this long


def database_unavailable():
    return error_response(
        503, "database_unavailable", "The database does not answer: try again in a moment.",
        headers={"Retry-After": RETRY_AFTER},
    )


def _database_unavailable(error):
    # One line, no traceback: an outage makes one per request, and they are all alike.
    log.warning(
        "database unavailable (%s) on %s %s", type(getattr(error, "orig", None) or error).__name__,
        request.method, request.path,
    )
    return database_unavailable()


def register_errorhandlers(app):
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected_error)
