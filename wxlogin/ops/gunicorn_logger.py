"""gunicorn's logger, minus the access log it would build for nothing.

The app writes one JSON line per request itself (``request_log``), so ``gunicorn.conf.py``
sets no ``accesslog``. Yet with a ``logconfig_dict`` gunicorn counts its access log as on,
and formats every request's atoms (headers, times, the request line) for a logger that
has no handler: a seventh of a bare request's time under load (bench/). An operator who
asks for gunicorn's own access log (``--access-logfile``) still gets it.

Flask-free: the gunicorn master loads it.
"""

from gunicorn import glogging


class Logger(glogging.Logger):
    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)
