"""Secrets, session keys and tokens never reach a log line, whoever logs it.

Every log record of the process passes through ``redact`` as it is made (a record factory,
so no handler or logger can be missed): JWTs, ``secret=``/``session_key=``/token query
values and JSON fields, web login tickets in paths, and the literal values of the
configured secrets are replaced.
urllib3 (at DEBUG) and werkzeug's access log print WeChat's URL, secret included; error
messages may quote anything.
"""

import logging
import re
import threading

MASK = "[redacted]"
# Linear time on any input (log lines carry client-chosen User-Agents): a match starts only
# at the beginning of a run of token characters, and the possessive runs never backtrack.
_JWT = re.compile(r"(?<![\w-])eyJ[\w-]{4,}+\.[\w-]{4,}+\.[\w-]*+")
_FIELDS = r"secret|session_key|access_token|refresh_token|js_code|encrypted_data|signature|password"
_QUERY = re.compile(rf"(?i)\b({_FIELDS})=[^&\s\"']*")
_JSON = re.compile(rf"(?i)([\"']({_FIELDS})[\"']\s*:\s*[\"'])[^\"']*")
# A web login's ticket, in the path of the browser's polls (werkzeug's access log prints it).
_TICKET = re.compile(r"(/wx/qr-login/)[\w-]{20,}+")

_literals = set()
_lock = threading.Lock()
_installed = False


def redact(text):
    text = _JWT.sub(MASK, text)
    text = _QUERY.sub(rf"\1={MASK}", text)
    text = _JSON.sub(rf"\1{MASK}", text)
    text = _TICKET.sub(rf"\1{MASK}", text)
    for literal in _literals:
        if literal in text:
            text = text.replace(literal, MASK)
    return text


def add_secrets(*values):
    """Also redact these exact strings (configured secrets), from now on."""
    with _lock:
        _literals.update(v for v in values if v and len(v) >= 6)


def install():
    """Route every log record of the process through ``redact`` (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def redacting_factory(*args, **kwargs):
            record = make_record(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: let logging report it as usual
                return record
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, ()
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            return record

        logging.setLogRecordFactory(redacting_factory)
        _installed = True


def init_app(app):
    """Redact every record of the process, and the configured secrets' values in it."""
    install()
    config = app.config
    add_secrets(
        *config["WX_APPS"].values(),
        config.get("JWT_SECRET_KEY"),
        *config["JWT_PREVIOUS_SECRET_KEYS"],
        *config["INTROSPECTION_CLIENTS"].values(),
        # The private key whole and line by line, as given and as normalized, however a
        # traceback cuts it.
        *_pem_parts(config.get("JWT_PRIVATE_KEY")),
        *_pem_parts(config.get("JWT_PRIVATE_KEY_AS_GIVEN")),
        *config["SESSION_KEY_ENCRYPTION_KEYS"],
    )


def _pem_parts(value):
    if not value:
        return []
    text = value.replace("\\n", "\n")
    return [value, text, *(line for line in text.splitlines() if "-----" not in line)]
