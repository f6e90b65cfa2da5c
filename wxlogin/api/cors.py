"""Calls from a product's web pages on other origins (``CORS_ORIGINS``), by Flask-Cors.

The web session of a QR login lives in a page on the product's own origin, which calls
this API from the browser: the browser asks first (a preflight ``OPTIONS``), then sends the
token header. Flask-Cors adds the headers to every answer; the preflight itself is answered
here, with 204, for any method a route accepts (the app has no automatic OPTIONS route,
whose answer would be an empty text/html page).
"""

from flask import current_app, request
from flask_cors import CORS
from werkzeug.exceptions import MethodNotAllowed

HEADERS = ["Authentication", "Authorization", "Content-Type", "Accept-Language"]


def init_app(app):
    origins = app.config["CORS_ORIGINS"]
    if not origins:
        return  # no header at all: browsers keep the API to pages of its own origin
    CORS(app, origins=origins, allow_headers=HEADERS, expose_headers=["Retry-After"], max_age=600,
         send_wildcard=False, supports_credentials=False)
    app.before_request(_preflight)


def _preflight():
    asked = request.headers.get("Access-Control-Request-Method", "").upper()
    if request.method != "OPTIONS" or not asked:
        return None
    if request.headers.get("Origin") not in current_app.config["CORS_ORIGINS"]:
        return None  # not ours to allow: 405 like any OPTIONS
    routed = request.routing_exception
    if isinstance(routed, MethodNotAllowed) and asked in (routed.valid_methods or ()):
        answer = current_app.response_class(status=204)
        del answer.headers["Content-Type"]
        return answer
    return None
