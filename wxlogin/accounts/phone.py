"""The user's phone number, from a getPhoneNumber button code."""

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..wechat.app_token import call_with_app_token
from ..wechat.client import wechat_client
from ..wechat.errors import WeChatError

# Codes are the caller's problem, not their session's: 400, so that a client that logs in
# again on every 401 does not do so here (docs/API.md).
CODE_ERRORS = {"invalid_code": messages.PHONE_CODE_INVALID, "code_used": messages.PHONE_CODE_USED}


def store_phone_number(user, code):
    """Ask WeChat for the number behind ``code`` and keep it on the user."""
    appid = user.identity.appid
    try:
        info = call_with_app_token(appid, lambda token: wechat_client().phone_number(token, code))
    except WeChatError as error:
        if error.slug in CODE_ERRORS:
            raise ApiError(CODE_ERRORS[error.slug]) from None
        raise
    if info["watermark"].get("appid") != appid:
        raise ApiError(messages.PHONE_OTHER_APP)
    if not isinstance(info.get("phoneNumber"), str) or not info["phoneNumber"]:
        raise ApiError(messages.PHONE_MISSING)
    user.phone_number = info["phoneNumber"][:32]
    db.session.commit()
    return {
        "phone_number": user.phone_number,
        "pure_phone_number": str(info.get("purePhoneNumber") or ""),
        "country_code": str(info.get("countryCode") or ""),
    }
