"""WeChat platform blueprint: what the mini program asks WeChat about the logged-in user."""

from ..accounts.phone import store_phone_number
from ..accounts.profile import apply_user_info, load_current_user
from ..accounts.session_keys import wechat_session_valid
from .blueprint import Blueprint
from .schemas import (
    PhoneCodeSchema,
    PhoneNumberSchema,
    SessionCheckSchema,
    UserInfoSchema,
    UserSchema,
)

blp = Blueprint("platform", __name__, url_prefix="/wx", description="WeChat platform data of the caller.")


@blp.post("/phone")
@blp.token_required
@blp.arguments(PhoneCodeSchema)
@blp.response(200, PhoneNumberSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
@blp.alt_response(502, response="BAD_GATEWAY")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@blp.alt_response(504, response="GATEWAY_TIMEOUT")
def phone(args):
    """The caller's phone number from a getPhoneNumber button code, stored on the user.
    A bad or used code is 400 `invalid_code` / `code_used` (the session is fine)."""
    return store_phone_number(load_current_user(), args["code"])


@blp.post("/userinfo")
@blp.token_required
@blp.arguments(UserInfoSchema)
@blp.response(200, UserSchema)
@blp.alt_response(409, response="CONFLICT", description="session_key_stale: log in again")
def userinfo(args):
    """Nickname and avatar from `wx.getUserInfo`'s encrypted data (older clients).
    A bad signature is 400 `invalid_signature`; data that does not decrypt with the stored
    session key is 409 `session_key_stale`."""
    return apply_user_info(load_current_user(), **args)


@blp.get("/session")
@blp.token_required
@blp.response(200, SessionCheckSchema)
@blp.alt_response(502, response="BAD_GATEWAY")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@blp.alt_response(504, response="GATEWAY_TIMEOUT")
def check_session():
    """Whether WeChat still holds the session key stored at the caller's last login
    (`wxa/checksession`). `valid: false`: call wx.login() and log in again before anything
    that needs the session key (`/wx/userinfo`)."""
    return {"valid": wechat_session_valid(load_current_user().identity)}
