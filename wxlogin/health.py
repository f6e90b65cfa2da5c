"""Operations blueprint: is this process able to serve?"""

import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from .blueprint import Blueprint
from .errors import error_response
from .extensions import db
from .schemas import HealthSchema

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Operations.")


@blp.get("/healthz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def healthz():
    """200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("health check: database unavailable (%s)", type(exc).__name__)
        db.session.rollback()
        return error_response(503, "database_unavailable", "The database does not answer.")
    return {"status": "ok"}
