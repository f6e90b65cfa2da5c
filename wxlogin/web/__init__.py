"""The browser side of web login by scanning the mini program code (扫码登录, docs/API.md).

- ``GET /web/qr-login.js``: the ES module a product's web page imports to show the code,
  follow it and receive the web session's tokens. Served in every mode, production too, so
  that a page on another origin can import it straight from the service: a module script is
  fetched with CORS, hence ``Access-Control-Allow-Origin: *`` here. That is safe: the file is
  public code, sent without cookies, and the API routes it calls keep their own CORS policy
  (``CORS_ORIGINS``).
- ``GET /_demo/qr-login``: a demo page using the module against this service. Only in
  development and tests (``app.debug`` or ``app.testing``); in production the route is not
  registered at all, so it is the usual JSON 404.

A plain Flask blueprint, not flask-smorest's: these are files, not operations of the API,
and stay out of the OpenAPI document.
"""

from pathlib import Path

from flask import Blueprint, send_from_directory

HERE = Path(__file__).parent
MODULE = "qr-login.js"
DEMO_PAGE = "qr-login.html"
# Five minutes: a deploy's new module reaches every browser soon, yet a page that imports it
# on each load does not fetch it each time (and ETag makes a revalidation cheap).
CACHE_SECONDS = 300

bp = Blueprint("web", __name__)
demo_bp = Blueprint("web_demo", __name__)


@bp.get("/web/qr-login.js")
def qr_login_module():
    response = send_from_directory(HERE, MODULE, mimetype="text/javascript", max_age=CACHE_SECONDS)
    response.headers["Access-Control-Allow-Origin"] = "*"  # see the module docstring
    response.headers["X-Content-Type-Options"] = "nosniff"  # a module only as JavaScript
    return response


@demo_bp.get("/_demo/qr-login")
def qr_login_demo():
    # no-cache: whoever edits the page sees the edit on the next reload.
    response = send_from_directory(HERE / "demo", DEMO_PAGE, mimetype="text/html", max_age=0)
    response.cache_control.no_cache = True
    return response


def init_app(app):
    app.register_blueprint(bp)
    # Decided once, when the app is built: flipping app.debug later does not expose it.
    if app.debug or app.testing:
        app.register_blueprint(demo_bp)
