"""The one Redis client of the app (``REDIS_URL``), shared by the token store and readiness.

Redis is optional: without ``REDIS_URL`` revocations and user checks go to the database and
rate-limit counters stay in each process.
"""

from flask import current_app

from ..config import ConfigError

# Short: a hung Redis must not hang requests (checks fall back to the database).
REDIS_TIMEOUTS = {"socket_timeout": 1, "socket_connect_timeout": 1}

try:
    import redis
    from redis.exceptions import RedisError
except ImportError:  # an extra: without it nothing Redis is ever built
    redis = None
    RedisError = OSError


def connect(redis_url):
    """A client for ``redis_url`` (None when it is not set)."""
    if not redis_url:
        return None
    if redis is None:
        raise ConfigError("REDIS_URL is set but redis is not installed: pip install '.[redis]'")
    return redis.Redis.from_url(redis_url, **REDIS_TIMEOUTS)


def redis_client():
    return current_app.extensions["redis"]


def init_app(app):
    app.extensions["redis"] = connect(app.config["REDIS_URL"])
