"""Auth blueprint: log in with a ``wx.login()`` code, refresh tokens, log out."""

from flask import g
from flask_jwt_extended import current_user, get_jwt

from ..accounts.login import login_with_code
from ..extensions import limiter
from ..security import login_sessions
from ..security.ratelimit import MESSAGE, client_address, ip_limit, ip_limit_off
from .blueprint import Blueprint
from .schemas import (
    LoginResultSchema,
    LoginSchema,
    LogoutArgsSchema,
    RevokedSchema,
    TokenSchema,
)

blp = Blueprint("auth", __name__, url_prefix="/wx", description="Log in, refresh, log out.")

NO_STORE = {"Cache-Control": "no-store"}  # tokens must not sit in any cache


@blp.post("/login")
@limiter.limit(ip_limit, key_func=client_address, exempt_when=ip_limit_off, error_message=MESSAGE)
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
@blp.alt_response(401, response="UNAUTHORIZED", description="invalid_code or code_used")
@blp.alt_response(403, response="FORBIDDEN", description="user_blocked or user_disabled")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
@blp.alt_response(502, response="BAD_GATEWAY")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@blp.alt_response(504, response="GATEWAY_TIMEOUT")
def login(args):
    """Exchange the code with WeChat (code2Session) and issue an access and a refresh token.

    `js_code` is accepted as an alias of `code`; a `secret` field is ignored: the server's
    own configured secret is the only one used.
    """
    user, is_new_user = login_with_code(args["code"], args.get("appid"))
    g.user_id = user.id  # for the request log line
    return {**login_sessions.issue_tokens(user), "is_new_user": is_new_user}, 200, NO_STORE


@blp.post("/refresh")
@blp.token_required(refresh=True)
@blp.response(200, TokenSchema)
@blp.alt_response(403, response="FORBIDDEN", description="user_disabled")
def refresh():
    """Spend the refresh token (in the Authentication header) for a new access and refresh
    token. The spent one is revoked; presenting it again revokes its whole login session."""
    return login_sessions.rotate(current_user, get_jwt()), 200, NO_STORE


@blp.post("/logout")
@blp.token_required
@blp.arguments(LogoutArgsSchema, location="query")
@blp.response(200, RevokedSchema)
def logout(args):
    """Revoke this login session: the access token and the refresh token issued with it.
    With `?all=true`, every session of the user."""
    if args["all"]:
        login_sessions.revoke_all_sessions(current_user.id)
    else:
        login_sessions.revoke_session(get_jwt())
    return {"revoked": True}
