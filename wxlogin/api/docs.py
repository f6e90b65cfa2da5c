"""Swagger UI at ``/docs``, from a packaged copy: no CDN, so it renders offline and from
networks that cannot reach one (jsdelivr is unreliable from mainland China).

The assets are Swagger UI's own distribution as the ``swagger-ui-bundle`` package ships it,
served under ``/docs/assets/``; flask-smorest renders the page around them.
"""

from flask import Blueprint, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs/assets/"
# A day: the files change only with the package (a new release is a new deploy).
CACHE_SECONDS = 86400

# What flask-smorest's page loads, and nothing else of the package's folder (its own
# index.html would fetch the petstore example from the internet; source maps are not needed).
FILES = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}

bp = Blueprint("docs_assets", __name__)


@bp.get(ASSETS_URL + "<filename>")
def asset(filename):
    if filename not in FILES:
        abort(404)
    return send_from_directory(swagger_ui_path, filename, max_age=CACHE_SECONDS)
