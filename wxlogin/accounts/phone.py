"""The user's phone number, from a getPhoneNumber button code, stored sealed.

The number is encrypted at rest like the session key (``security.crypto``), bound to its
user: a sealed number copied to another row does not open there.
"""

import logging

import sqlalchemy as sa

from .. import messages
from ..database.upkeep import Every
from ..errors import ApiError
from ..extensions import db
from ..models import User
from ..security.crypto import cipher
from ..wechat.app_token import call_with_app_token
from ..wechat.client import wechat_client
from ..wechat.errors import WeChatError

# Codes are the caller's problem, not their session's: 400, so that a client that logs in
# again on every 401 does not do so here (docs/API.md).
CODE_ERRORS = {"invalid_code": messages.PHONE_CODE_INVALID, "code_used": messages.PHONE_CODE_USED}

log = logging.getLogger(__name__)
_complain = Every(60)


def owner_of(user_id):
    """What a stored number is bound to (AES-GCM associated data)."""
    return f"phone:{user_id}"


def seal(user_id, number):
    return cipher().encrypt(number, owner_of(user_id))


def reveal(user_id, sealed):
    """The clear number of a stored one (None when there is none, or it cannot be read)."""
    if sealed is None:
        return None
    number = cipher().decrypt(sealed, owner_of(user_id))
    if number is None and _complain.due():  # once a minute: every token check reads it
        log.warning("the stored phone number of user %s cannot be read (keys changed?)", user_id)
    return number


def store_phone_number(user, code):
    """Ask WeChat for the number behind ``code`` and keep it on the user. The caller's openid
    goes with the code, so that WeChat answers only for a code of that user."""
    appid, openid = user.identity.appid, user.identity.openid
    try:
        info = call_with_app_token(appid, lambda token: wechat_client().phone_number(token, code, openid))
    except WeChatError as error:
        if error.slug in CODE_ERRORS:
            raise ApiError(CODE_ERRORS[error.slug]) from None
        raise
    if info["watermark"].get("appid") != appid:
        raise ApiError(messages.PHONE_OTHER_APP)
    if not isinstance(info.get("phoneNumber"), str) or not info["phoneNumber"]:
        raise ApiError(messages.PHONE_MISSING)
    number = info["phoneNumber"][:32]
    user.phone_sealed = seal(user.id, number)
    db.session.commit()
    return {
        "phone_number": number,
        "pure_phone_number": str(info.get("purePhoneNumber") or ""),
        "country_code": str(info.get("countryCode") or ""),
    }


def reencrypt_all():
    """Re-encrypt every stored number under the newest key: ``(moved, unreadable)``."""
    moved = unreadable = 0
    for user in db.session.scalars(sa.select(User).where(User.phone_sealed.is_not(None))):
        if cipher().is_current(user.phone_sealed):
            continue
        clear = reveal(user.id, user.phone_sealed)
        if clear is None:
            unreadable += 1
            continue
        user.phone_sealed = seal(user.id, clear)
        moved += 1
    db.session.commit()
    return moved, unreadable
