"""The overrides of libraries' private methods, in one module, and every pin.

Each override, and the two library methods other modules replace (psycopg's
``Connection.wait`` in ``database/deadline.py``, gunicorn's ``GeventWorker.handle`` in
``ops/gunicorn_worker.py``), is pinned: ``PINS`` holds a hash of the library source it was
written against, and
``tests/test_overrides.py`` fails when an upgrade changes that source, so that whoever
upgrades reads the new code and checks the override still holds before updating the pin.
"""

from flask import current_app
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config as jwt_config
from flask_limiter import Limiter
from flask_smorest import Api
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

# The module, not ApiError: errors imports languages, which imports extensions, which
# imports this module, whichever of them is imported first.
from . import errors, messages
from .security.verified_tokens import VerifiedTokens

try:  # what gunicorn raises while the app reads a malformed (e.g. chunked) body
    from gunicorn.http.errors import ParseException

    _SERVER_PARSE_ERRORS = (ParseException,)
except ImportError:
    _SERVER_PARSE_ERRORS = ()

# "module:qualified name" -> sha256 of its source as read when the override was written.
PINS = {
    # Below: a cache in front of the library's decoding.
    "flask_jwt_extended.jwt_manager:JWTManager._decode_jwt_from_config":
        "f72f79921e45f5bc3dd0e4f7dfa3e023d83ae6e5090f2db9e9ec71b08cdd2ed3",
    # Below: switched off, our error handlers render every error.
    "flask_smorest:Api._register_error_handlers":
        "bcbaa7a1c939c434f19621ac4b3126c131e8561b1d91b7d217a953a4ed6346dd",
    # Below: strict about the body before the library parses it.
    "webargs.flaskparser:FlaskParser._raw_load_json":
        "8a2e43a844505c40162edbaef765c8b6f300cb6e012ba6dad1f616160ade288c",
    # Below: the before-request hook it names, removed.
    "flask_limiter:Limiter._check_request_limit":
        "cc6f2b2c1b5c1ff77bd1426cab649d6e2edb28760d95ba7ae596f7867c6440b9",
    # database/deadline.py: every wait on PostgreSQL passes the request's remaining budget.
    "psycopg:Connection.wait":
        "602ce5e47fca2ec9e9f6e536e994c9cd1c2cbe7d79c9cb52fe910c25ccd56726",
    # ops/gunicorn_worker.py: its handle() is this one with a socket timeout.
    "gunicorn.workers.ggevent:GeventWorker.handle":
        "0ea41a12296421e4a2421fe6ddd591f755e32d71ce92774b6df5f7b2752f7eff",
}


class CachingJWTManager(JWTManager):
    """Remembers verified tokens per app (apps in one process may hold different keys):
    ``security.verified_tokens``."""

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        app.extensions["verified_tokens"] = VerifiedTokens()

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        verified = current_app.extensions["verified_tokens"]
        plain = not allow_expired and csrf_value is None
        claims = verified.get(encoded_token) if plain else None
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            if plain and isinstance(claims.get("exp"), (int, float)):
                verified.add(encoded_token, claims, claims["exp"] + jwt_config.leeway)
        return claims


class OwnErrorsApi(Api):
    """flask-smorest's Api leaving errors to ours (``api/routes.py`` gives it our error
    body to document)."""

    def _register_error_handlers(self):
        """Errors are rendered by ``wxlogin.errors``; smorest must not register its own."""


class StrictJsonParser(FlaskParser):
    """webargs' JSON loading, made strict about what it is given.

    - a body sent as, say, text/plain is an error, not "no body at all";
    - JSON that Python cannot load (nesting deeper than the recursion limit, integers of
      thousands of digits) is a 400, not a 500;
    - a chunked body is cut at MAX_CONTENT_LENGTH by werkzeug without a word: one byte
      more makes it raise 413, as a body announced too long does;
    - a body that cannot be read (bad chunked encoding, a client that stopped sending and
      timed out, or went away) is a 400, not a 500.
    """

    def _raw_load_json(self, req):
        data = _read_body(req)
        if data and not is_json_request(req):
            raise errors.ApiError(messages.NOT_JSON)
        try:
            return super()._raw_load_json(req)
        except (ValueError, RecursionError):
            raise errors.ApiError(messages.INVALID_JSON) from None


def _read_body(req):
    try:
        data = req.get_data(cache=True)
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        # A body announced too long was refused already; one sent in chunks is cut at the
        # limit: one byte more of it, read past the cut, is a body too large. (Not read
        # through req.stream: where the server terminates the input, as gunicorn does, that
        # refuses any read at the limit, and a body of exactly 64 KiB would be refused.)
        if limit and req.content_length is None and len(data) >= limit and req.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
        return data
    except (OSError, *_SERVER_PARSE_ERRORS):
        raise errors.ApiError(messages.BODY_UNREADABLE) from None


def drop_request_hooks(app, limiter):
    """Remove the hooks Flask-Limiter adds to every request, for features we use none of:
    app-wide and blueprint limits (before; absent when RATELIMIT_ENABLED is off), rate-limit
    headers and ``deduct_when`` (after), and the reset of its per-request state (teardown:
    that state lives on the request context, which goes anyway). Limited routes check in
    their own decorator, which needs none of them."""
    before = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in before:
        before.remove(limiter._check_request_limit)
    if not app.config.get("RATELIMIT_HEADERS_ENABLED"):
        after = app.after_request_funcs.get(None, [])
        after[:] = [f for f in after if getattr(f, "func", None) is not _LIMITER_INJECT_HEADERS]
    teardown = app.teardown_request_funcs.get(None, [])
    if limiter._Limiter__release_context in teardown:
        teardown.remove(limiter._Limiter__release_context)


_LIMITER_INJECT_HEADERS = Limiter._Limiter__inject_headers
