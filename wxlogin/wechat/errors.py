"""WeChat's failures as docs/API.md's errors: an errcode (or a failed transport) becomes one
of ``messages``' problems."""

from .. import messages
from ..errors import ApiError

ERRCODES = {
    -1: messages.WECHAT_BUSY,
    40029: messages.LOGIN_CODE_INVALID,
    40163: messages.LOGIN_CODE_USED,
    45011: messages.WECHAT_RATE_LIMITED,
    45009: messages.WECHAT_QUOTA,  # an API's own limit for the app (mini program codes, phones)
    40226: messages.USER_BLOCKED,
}
RETRY_AFTER_SECONDS = {45011: 60, 45009: 60}
SESSION_INVALID = 87009  # checksession: the signature does not match the current session_key


class WeChatError(ApiError):
    """A failed WeChat call, carrying WeChat's errcode (None for transport failures)."""

    def __init__(self, problem, errcode=None):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS[errcode])} if errcode in RETRY_AFTER_SECONDS else None
        super().__init__(problem, headers=headers)
        self.errcode = errcode

    @classmethod
    def from_errcode(cls, errcode):
        return cls(ERRCODES.get(errcode, messages.WECHAT_UNEXPECTED), errcode=errcode)
