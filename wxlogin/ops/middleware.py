"""WSGI middleware: what a request looks like before Flask sees it.

- ``POST`` with ``X-HTTP-Method-Override: PATCH`` is a ``PATCH``. A Mini Program's
  ``wx.request`` cannot send PATCH (it knows GET, POST, PUT, DELETE and a few others), yet
  docs/API.md's ``PATCH /wx/me`` and ``PATCH /wx/notes/<id>`` are PATCH routes. Only POST
  can be overridden, and only to PATCH: a GET never turns into a change.
- ``X-Forwarded-For``/``-Proto`` are believed only from ``TRUSTED_PROXY_COUNT`` proxies in
  front of us (werkzeug's ProxyFix); with none, they are ignored.
"""

from werkzeug.middleware.proxy_fix import ProxyFix


class MethodOverrideMiddleware:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        override = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").strip().upper()
        if environ.get("REQUEST_METHOD") == "POST" and override == "PATCH":
            environ["REQUEST_METHOD"] = "PATCH"
        return self.wsgi_app(environ, start_response)


def init_app(app):
    app.wsgi_app = MethodOverrideMiddleware(app.wsgi_app)
    count = app.config["TRUSTED_PROXY_COUNT"]
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
