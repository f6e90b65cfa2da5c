"""WeChat's failures, as API.md's errors: errcode (or transport failure) -> status and slug."""

from ..errors import ApiError

# errcode -> (HTTP status, slug, message for the client)
ERRCODES = {
    -1: (503, "upstream_unavailable", "WeChat is busy: try again in a moment."),
    40029: (401, "invalid_code", "The login code is invalid: call wx.login() for a new one."),
    40163: (401, "code_used", "The login code was already used: call wx.login() for a new one."),
    45011: (429, "rate_limited", "WeChat is limiting logins for this user: wait a minute."),
    40226: (403, "user_blocked", "WeChat has blocked this user from logging in."),
}
UPSTREAM_ERROR = (502, "upstream_error", "WeChat answered something unexpected: try again later.")
UNREACHABLE = (502, "upstream_error", "WeChat could not be reached: try again later.")
TIMEOUT = (504, "upstream_timeout", "WeChat did not answer in time: call wx.login() and try again.")
RETRY_AFTER_SECONDS = {45011: 60}
SESSION_INVALID = 87009  # checksession: the signature does not match the current session_key


class WeChatError(ApiError):
    """A failed WeChat call, carrying WeChat's errcode (None for transport failures)."""

    def __init__(self, status, slug, message, errcode=None):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS[errcode])} if errcode in RETRY_AFTER_SECONDS else None
        super().__init__(status, slug, message, headers=headers)
        self.errcode = errcode

    @classmethod
    def from_errcode(cls, errcode):
        return cls(*ERRCODES.get(errcode, UPSTREAM_ERROR), errcode=errcode)
