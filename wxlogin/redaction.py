"""Keep the app secret out of other libraries' log lines.

WeChat takes the secret in the query string, and urllib3 (at DEBUG) and werkzeug's access
log (the embedded simulator) print request lines whole. This filter rewrites such records
before any handler sees them.
"""

import logging
import re

_SECRET_IN_QUERY = re.compile(r"(?i)\b(secret|session_key|access_token|refresh_token)=[^&\s\"']*")
LOGGERS = ("urllib3.connectionpool", "werkzeug")


def redact(text):
    return _SECRET_IN_QUERY.sub(r"\1=[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_FILTER = RedactSecrets()


def install():
    """Attach the filter to the loggers that print URLs (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
