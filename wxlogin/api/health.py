"""Operations blueprint: is this process alive and ready, and what has it been doing?"""

import logging

import sqlalchemy as sa
from flask import Response
from sqlalchemy.exc import SQLAlchemyError

from .. import messages
from ..database.redis_client import RedisError, redis_client
from ..errors import database_unavailable, error_response
from ..extensions import db
from ..ops import metrics
from .blueprint import Blueprint
from .schemas import HealthSchema, ReadySchema

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Operations.")


@blp.get("/healthz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def healthz():
    """200 when the database answers, 503 otherwise (API.md)."""
    if not _database_answers():
        return database_unavailable()
    return {"status": "ok"}


@blp.get("/readyz")
@blp.response(200, ReadySchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def readyz():
    """200 when everything this instance depends on answers: the database and, when
    configured, Redis. A load balancer sends traffic only to ready instances."""
    if not _database_answers():
        return database_unavailable()
    redis = redis_client()
    if redis is not None:
        try:
            redis.ping()
        except RedisError as exc:
            log.error("readiness: Redis unavailable (%s)", type(exc).__name__)
            return error_response(messages.REDIS_UNAVAILABLE)
    return {"status": "ok", "database": "ok", "redis": "ok" if redis is not None else "not configured"}


@blp.get("/metrics")
@blp.doc(responses={200: {"description": "Prometheus text format",
                          "content": {"text/plain": {"schema": {"type": "string"}}}}})
def prometheus_metrics():
    """Prometheus metrics of every worker of this instance. Scrape it from inside your
    network; keep it off the public load balancer."""
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


def _database_answers():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("health check: database unavailable (%s)", type(exc).__name__)
        db.session.rollback()
        return False
    return True
