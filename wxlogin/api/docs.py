"""Swagger UI at ``/docs``, from a packaged copy: no CDN, so it renders offline and from
networks that cannot reach one (jsdelivr is unreliable from mainland China).

The assets are Swagger UI's own distribution as the ``swagger-ui-bundle`` package ships it,
served under ``/docs/assets/``; flask-smorest renders the page around them.
"""

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs/assets/"
# A day: the files change only with the package (a new release is a new deploy).
CACHE_SECONDS = 86400

bp = Blueprint("docs_assets", __name__)


@bp.get(ASSETS_URL + "<path:filename>")
def asset(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=CACHE_SECONDS)
