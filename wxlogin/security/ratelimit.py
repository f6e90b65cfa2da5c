"""Login rate limits: per client IP (Flask-Limiter on the route) and per WeChat user.

Counters live in Redis when ``REDIS_URL`` is set (shared by every process and host), in
process memory otherwise. ``off`` switches a limit off.
"""

import ipaddress
import logging
import math
import time

from flask import current_app
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many

from .. import messages
from ..config import set_defaults
from ..database.redis_client import limiter_storage_options
from ..errors import ApiError, handle_api_error
from ..extensions import limiter
from ..overrides import drop_request_hooks

log = logging.getLogger(__name__)

MESSAGE = messages.TOO_MANY_LOGINS.message  # Flask-Limiter's error_message for the per-IP limit

SETTINGS = {
    "RATELIMIT_KEY_PREFIX": "wxlogin",
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,  # Redis down: per-process counters meanwhile
}


def ip_limit():
    # Flask-Limiter parses the limit before it asks ``exempt_when``: "off" is given a
    # well-formed limit that is never counted, rather than an error line per login.
    return "1/second" if ip_limit_off() else current_app.config["LOGIN_RATE_LIMIT"]


def ip_limit_off():
    return current_app.config["LOGIN_RATE_LIMIT"] == "off"


def qr_limit():
    """``POST /wx/qr-login``'s limit per client IP, as ``ip_limit``."""
    return "1/second" if qr_limit_off() else current_app.config["QR_LOGIN_RATE_LIMIT"]


def qr_limit_off():
    return current_app.config["QR_LOGIN_RATE_LIMIT"] == "off"


def client_address():
    """The client's IP address; IPv6 clients are counted per /64, the block one
    subscriber usually holds, so that rotating addresses in it does not escape the limit."""
    address = get_remote_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else address


# Introspections refused for bad credentials, per client address: guessing a service's
# secret gets this many tries a minute.
REFUSED_CLIENT_LIMIT = "30/minute"


def check_user_limit(appid, openid):
    """Count one login of this WeChat user; 429 ``rate_limited`` past any of its limits."""
    limit = current_app.config["LOGIN_RATE_LIMIT_PER_USER"]
    _count(limit, ("wxlogin", "login-user", appid, openid), messages.TOO_MANY_LOGINS)


# Exports per user: the whole account is read and sent each time.
EXPORT_LIMIT = "10/hour"


def check_export_limit(user_id):
    _count(EXPORT_LIMIT, ("wxlogin", "export", str(user_id)), messages.TOO_MANY_REQUESTS)


def check_client_limit(client_id):
    """Count one introspection by this (authenticated) service: counted after the check of
    its credentials, so that nobody can spend another service's allowance."""
    limit = current_app.config["INTROSPECTION_RATE_LIMIT"]
    _count(limit, ("wxlogin", "introspect", client_id), messages.TOO_MANY_REQUESTS)


def count_refused_client():
    """Count one introspection refused for its credentials, per client address."""
    _count(REFUSED_CLIENT_LIMIT, ("wxlogin", "introspect-refused", client_address()), messages.TOO_MANY_REQUESTS)


def _count(setting, key, problem):
    if setting == "off":
        return
    for item in parse_many(setting):
        try:
            allowed = limiter.limiter.hit(item, *key)
        except Exception as exc:  # the storage (Redis) is down: let the request through
            log.warning("rate limit %s not checked: %s", key[1], type(exc).__name__)
            return
        if not allowed:
            raise rate_limited(limiter.limiter.get_window_stats(item, *key).reset_time, problem)


def rate_limited(reset_at, problem=messages.TOO_MANY_LOGINS):
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return ApiError(problem, headers={"Retry-After": str(retry_after)})


def handle_limit_exceeded(_error):
    """Flask-Limiter's 429 for the per-IP limit, in our shape and with Retry-After."""
    breached = limiter.current_limit  # the limit this request hit, with its window
    return handle_api_error(rate_limited(breached.reset_at if breached else time.time() + 60))


def init_app(app):
    set_defaults(app, SETTINGS)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    # A frozen Redis must not hold logins: the limiter's own client gets the same bounds.
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", limiter_storage_options(app.config["REDIS_URL"]))
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, handle_limit_exceeded)
    # Flask-Limiter hooks every request for app-wide limits and headers; we use neither (each
    # limited route checks its own, in its decorator): ~9% of a request, for nothing.
    drop_request_hooks(app, limiter)
