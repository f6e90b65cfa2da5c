"""Auth blueprint: trade a ``wx.login()`` code for our tokens."""

from .blueprint import Blueprint
from .schemas import LoginResultSchema, LoginSchema
from .tokens import issue_tokens
from .users import login_with_code

blp = Blueprint("auth", __name__, url_prefix="/wx", description="Log in with a wx.login() code.")

NO_STORE = {"Cache-Control": "no-store"}  # tokens must not sit in any cache


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(401, response="UNAUTHORIZED", description="invalid_code or code_used")
@blp.alt_response(403, response="FORBIDDEN")
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
    return {**issue_tokens(user), "is_new_user": is_new_user}, 200, NO_STORE
