"""``POST /oauth/introspect`` (RFC 7662): the product's other services ask whether a token
is one the data routes would accept now, authenticated as one of INTROSPECTION_CLIENTS."""

from flask import g

from .. import messages
from ..errors import error_response
from ..security.introspection import calling_client, introspect
from ..security.ratelimit import check_client_limit, count_refused_client
from .blueprint import Blueprint
from .schemas import IntrospectArgsSchema, IntrospectionSchema

blp = Blueprint("oauth", __name__, url_prefix="/oauth", description="Token introspection.")


@blp.before_request
def _authenticate():
    """Before the body is read: an unknown service learns nothing, not even field errors.
    Refusals are counted per client address (``ratelimit.REFUSED_CLIENT_LIMIT``)."""
    g.introspection_client = calling_client()
    if g.introspection_client is None:
        count_refused_client()
        return error_response(messages.INVALID_CLIENT, headers={"WWW-Authenticate": 'Basic realm="wxlogin"'})
    return None


@blp.after_request
def _not_stored(response):
    # Whether a token is active is true now, not in a cache's copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.post("/introspect")
@blp.arguments(IntrospectArgsSchema, location="form")
@blp.response(200, IntrospectionSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
@blp.doc(security=[{"IntrospectionClient": []}])
def introspect_token(args):
    """``{"active": true, ...claims}`` for a token the data routes would accept now;
    ``{"active": false}`` for any other (expired, revoked, logged out, disabled or deleted
    user, forged, malformed). Form body ``token=<jwt>``; HTTP Basic as a client of
    INTROSPECTION_CLIENTS. Counted per client (INTROSPECTION_RATE_LIMIT)."""
    check_client_limit(g.introspection_client)
    return introspect(args["token"])
