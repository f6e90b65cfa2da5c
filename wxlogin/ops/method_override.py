"""``POST`` with ``X-HTTP-Method-Override: PATCH`` is a ``PATCH``.

A Mini Program's ``wx.request`` cannot send PATCH (it knows GET, POST, PUT, DELETE and a few
others), yet API.md's ``PATCH /wx/me`` and ``PATCH /wx/notes/<id>`` are PATCH routes. Only
POST can be overridden, and only to PATCH: a GET never turns into a change.
"""


class MethodOverrideMiddleware:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        override = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").strip().upper()
        if environ.get("REQUEST_METHOD") == "POST" and override == "PATCH":
            environ["REQUEST_METHOD"] = "PATCH"
        return self.wsgi_app(environ, start_response)
