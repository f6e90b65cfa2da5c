"""gunicorn's logger, minus the access log it would build for nothing.

The app writes one JSON line per request itself (``request_log``), so ``gunicorn.conf.py``
sets no ``accesslog``. Yet with a ``logconfig_dict`` gunicorn counts its access log as on,
and formats every request's atoms (headers, times, the request line) for a logger that
has no handler: a seventh of a bare request's time under load (bench/). An operator who
asks for gunicorn's own access log (``--access-logfile``, or syslog) still gets it.

A ``logger_class`` of our own means gunicorn no longer switches to its statsd logger by
itself when ``--statsd-host`` is given: metrics are Prometheus's (``/metrics``).

Flask-free: the gunicorn master loads it.
"""

from gunicorn import glogging


class Logger(glogging.Logger):
    @property
    def access_log_enabled(self):
        """What gunicorn's own test is, but for ``logconfig_dict``, which configures the
        JSON lines of the error log here, never an access log."""
        cfg = self.cfg
        return bool(cfg.accesslog or (cfg.syslog and not cfg.disable_redirect_access_to_syslog))
