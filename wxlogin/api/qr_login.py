"""Web login blueprint: a product's web page logs its user in by the mini program code.

The browser creates a code and polls it with its ticket (no token); the mini program, with
the user's token, scans it and confirms or denies it. The logic is ``qr_login``.
"""

from flask import request
from flask_jwt_extended import current_user
from werkzeug.exceptions import MethodNotAllowed

from ..extensions import limiter
from ..qr_login import codes, collect, phone_side
from ..security.ratelimit import MESSAGE, client_address, qr_limit, qr_limit_off
from .auth import NO_STORE
from .blueprint import Blueprint
from .qr_schemas import (
    QrCodeSchema,
    QrCreateSchema,
    QrDecisionSchema,
    QrPollArgsSchema,
    QrScannedSchema,
    QrSceneSchema,
    QrStatusSchema,
)

# Polls per client IP: a browser makes two or three a minute (long polls), or one a second
# (wait=0); several hundred browsers may share an office's address. Off with
# QR_LOGIN_RATE_LIMIT=off, as the codes' own limit is.
POLL_LIMIT = "1200/minute"

blp = Blueprint("qr_login", __name__, url_prefix="/wx/qr-login",
                description="Web login by scanning the mini program code (扫码登录).")



def scene_errors(view):
    """The answers of a scene the caller cannot act on (docs/API.md)."""
    for status, name, slug in ((404, "NOT_FOUND", "qr_not_found"), (409, "CONFLICT", "qr_used"), (410, "GONE", "qr_expired")):
        view = blp.alt_response(status, response=name, description=slug)(view)
    return view


@blp.post("")
@limiter.limit(qr_limit, key_func=client_address, exempt_when=qr_limit_off, error_message=MESSAGE)
@blp.arguments(QrCreateSchema, required=False)
@blp.response(201, QrCodeSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
@blp.alt_response(502, response="BAD_GATEWAY")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@blp.alt_response(504, response="GATEWAY_TIMEOUT")
def create(args):
    """A mini program code for this browser to show, and the ticket to poll it with
    (`wxa/getwxacodeunlimit`, opening `QR_LOGIN_PAGE`). No token; limited per client IP."""
    return codes.create_code((args or {}).get("appid")), 201, NO_STORE


@blp.get("/<ticket>")
@limiter.limit(lambda: POLL_LIMIT, key_func=client_address, exempt_when=qr_limit_off, error_message=MESSAGE)
@blp.arguments(QrPollArgsSchema, location="query")
@blp.response(200, QrStatusSchema)
@blp.alt_response(403, response="FORBIDDEN", description="user_disabled")
@blp.alt_response(404, response="NOT_FOUND", description="not_found: unknown ticket")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def status(args, ticket):
    """The code's status, as soon as it differs from the one last answered, or after `wait`
    seconds. The first `confirmed` answer carries the web session's tokens; later ones say
    `used`. Limited per client IP."""
    if request.method == "HEAD":  # it would take the tokens and throw them away
        raise MethodNotAllowed(valid_methods=["GET"])
    return collect.poll(ticket, args["wait"]), 200, NO_STORE


@blp.post("/scan")
@blp.token_required
@blp.arguments(QrSceneSchema)
@blp.response(200, QrScannedSchema)
@scene_errors
def scan(args):
    """The mini program opened the code: it is now the caller's to confirm or deny. Show
    `requester` (who asked) before asking the user to confirm."""
    return phone_side.scan(args["scene"], current_user)


@blp.post("/confirm")
@blp.token_required
@blp.arguments(QrSceneSchema)
@blp.response(200, QrDecisionSchema)
@scene_errors
def confirm(args):
    """Log the browser in as the caller; only the user who scanned the code may."""
    return phone_side.confirm(args["scene"], current_user)


@blp.post("/deny")
@blp.token_required
@blp.arguments(QrSceneSchema)
@blp.response(200, QrDecisionSchema)
@scene_errors
def deny(args):
    """Refuse the browser's login; only the user who scanned the code may."""
    return phone_side.deny(args["scene"], current_user)
