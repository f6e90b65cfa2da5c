"""How log records are written: one JSON object per line, with the request id, redacted.

Flask-free on purpose: the gunicorn master loads this module for its log configuration
(``gunicorn.conf.py``), and must not import the app to do so. The request id reaches records
through a context variable that ``request_log`` sets for each request (greenlet or thread).
"""

import contextvars
import json
import logging
from datetime import datetime, timezone

from pythonjsonlogger.json import JsonFormatter

from ..security import redaction

REQUEST_ID = contextvars.ContextVar("wxlogin_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record):
        record.request_id = REQUEST_ID.get()
        return True


class JsonLogFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    def __init__(self, *args, **kwargs):
        self._plain = not args and not kwargs  # our own layout: the fast path below applies
        kwargs.setdefault("fmt", ["levelname", "name", "message", "request_id"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")  # ISO 8601, UTC
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def format(self, record):
        """A record that lists its extra fields (``_json_fields``, as the request line does)
        is written straight from them: the same JSON the library makes (tests/ops/
        test_logs.py compares the two), without its walk over every attribute of the
        record, a third of the request line's cost."""
        fields = record.__dict__.get("_json_fields")
        if fields is None or not self._plain or record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        attributes = record.__dict__
        line = {"level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "request_id": attributes.get("request_id")}
        line.update((name, attributes[name]) for name in fields)
        line["time"] = datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat()
        return json.dumps(line, ensure_ascii=False)

    def formatException(self, ei):
        """Tracebacks redacted too: this formatter renders them anew, not from the
        redacted text the record factory prepared."""
        return redaction.redact(super().formatException(ei))

    def formatStack(self, stack_info):
        return redaction.redact(super().formatStack(stack_info))
