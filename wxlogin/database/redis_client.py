"""The one Redis client of the app (``REDIS_URL``), shared by the token store and readiness.

Redis is optional: without ``REDIS_URL`` revocations and user checks go to the database and
rate-limit counters stay in each process. ``REDIS_URL`` names one Redis
(``redis://host:6379/0``) or a Sentinel set that fails over
(``redis+sentinel://[:password@]host:26379,host2:26379/service-name``, the form
Flask-Limiter reads too): the client then asks the sentinels for the master, and again
after a failover. A promoted replica is not believed before it is reloaded: its run id is
new (``security.redis_trust``).
"""

from urllib.parse import unquote, urlsplit

from flask import current_app

from ..config import ConfigError

# Short: a hung Redis must not hang requests (checks fall back to the database).
REDIS_TIMEOUTS = {"socket_timeout": 1, "socket_connect_timeout": 1}
SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_FORM = "'redis+sentinel://host:26379,host2:26379/service-name'"

try:
    import redis
    import redis.sentinel
    from redis.exceptions import RedisError
except ImportError:  # an extra: without it nothing Redis is ever built
    redis = None
    RedisError = OSError


def is_sentinel(redis_url):
    return (redis_url or "").startswith(f"{SENTINEL_SCHEME}://")


def sentinel_settings(redis_url):
    """``(sentinels, service name, auth)`` of a ``redis+sentinel://`` URL; the password, if
    any, is given to the sentinels and to Redis alike (as Flask-Limiter does)."""
    parts = urlsplit(redis_url)
    sentinels = []
    for number, location in enumerate(parts.netloc.rpartition("@")[2].split(","), 1):
        host, _, port = location.strip().rpartition(":")
        if not host or not port.isdigit():  # the location is not quoted: it may hold a password
            raise ConfigError(f"REDIS_URL names a Sentinel set as {SENTINEL_FORM}: sentinel {number} is not host:port.")
        sentinels.append((host.strip("[]"), int(port)))
    service = parts.path.strip("/")
    if not service or "/" in service:
        raise ConfigError(f"REDIS_URL names a Sentinel set as {SENTINEL_FORM}: the service name is missing.")
    auth = {name: unquote(value) for name, value in (("username", parts.username), ("password", parts.password)) if value}
    return sentinels, service, auth


def connect(redis_url):
    """A client for ``redis_url`` (None when it is not set)."""
    if not redis_url:
        return None
    if redis is None:
        raise ConfigError("REDIS_URL is set but redis is not installed: pip install '.[redis]'")
    if not is_sentinel(redis_url):
        return redis.Redis.from_url(redis_url, **REDIS_TIMEOUTS)
    sentinels, service, auth = sentinel_settings(redis_url)
    sentinel = redis.sentinel.Sentinel(sentinels, sentinel_kwargs={**REDIS_TIMEOUTS, **auth}, **REDIS_TIMEOUTS, **auth)
    return sentinel.master_for(service)


def limiter_storage_options(redis_url):
    """Flask-Limiter's options for the same Redis: the same bounds, and with Sentinel the
    master for every count (a replica may lag behind it)."""
    if is_sentinel(redis_url):
        _, _, auth = sentinel_settings(redis_url)  # decoded: the limiter would not decode them
        return {**REDIS_TIMEOUTS, **auth, "sentinel_kwargs": REDIS_TIMEOUTS, "use_replicas": False}
    return REDIS_TIMEOUTS


def redis_client():
    return current_app.extensions["redis"]


def init_app(app):
    app.extensions["redis"] = connect(app.config["REDIS_URL"])
