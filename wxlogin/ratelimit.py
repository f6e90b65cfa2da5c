"""Login rate limits: per client IP (Flask-Limiter on the route) and per WeChat user.

Counters live in Redis when ``REDIS_URL`` is set (shared by every process and host), in
process memory otherwise. ``off`` switches a limit off.
"""

import math
import time

from flask import current_app
from flask_limiter import RateLimitExceeded
from limits import parse

from .errors import ApiError, handle_api_error
from .extensions import limiter

MESSAGE = "Too many logins: wait a moment and try again."


def ip_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def ip_limit_off():
    return ip_limit() == "off"


def check_user_limit(appid, openid):
    """Count one login of this WeChat user; 429 ``rate_limited`` past the limit."""
    setting = current_app.config["LOGIN_RATE_LIMIT_PER_USER"]
    if setting == "off":
        return
    item = parse(setting)
    if not limiter.limiter.hit(item, "login-user", appid, openid):
        reset_at = limiter.limiter.get_window_stats(item, "login-user", appid, openid).reset_time
        raise rate_limited(reset_at)


def rate_limited(reset_at):
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return ApiError(429, "rate_limited", MESSAGE, headers={"Retry-After": str(retry_after)})


def handle_limit_exceeded(_error):
    """Flask-Limiter's 429 for the per-IP limit, in our shape and with Retry-After."""
    breached = limiter.current_limit  # the limit this request hit, with its window
    return handle_api_error(rate_limited(breached.reset_at if breached else time.time() + 60))


def register(app):
    app.register_error_handler(RateLimitExceeded, handle_limit_exceeded)
