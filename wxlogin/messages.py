"""Every error a client can be answered with: its status, its slug (docs/API.md's error
table) and the sentence that says what to do about it.

One catalog, so that each sentence is worded once, and can be translated in one place. Code
raises ``ApiError(messages.TOKEN_REVOKED)``; ``errors`` renders it.
"""

from typing import NamedTuple


class Problem(NamedTuple):
    status: int
    slug: str
    message: str


# --- the request itself ----------------------------------------------------------------
MALFORMED = Problem(400, "invalid_request", "The request is malformed: send a JSON body with the documented fields.")
NOT_JSON = Problem(400, "invalid_request", "Send the body as JSON, with Content-Type: application/json.")
INVALID_JSON = Problem(400, "invalid_request", "The body is not valid JSON.")
BODY_UNREADABLE = Problem(400, "invalid_request", "The body could not be read: send it whole, as JSON.")
FIELDS_INVALID = Problem(422, "invalid_request", "Some fields are missing or invalid: see details.")
NOT_FOUND = Problem(404, "not_found", "There is nothing at this URL: check the route and the id.")
METHOD_NOT_ALLOWED = Problem(405, "method_not_allowed", "This route does not accept {method}.")
PAYLOAD_TOO_LARGE = Problem(413, "payload_too_large", "The body is larger than 64 KiB.")
TOO_MANY_REQUESTS = Problem(429, "rate_limited", "Too many requests: wait a moment and try again.")

# --- tokens ----------------------------------------------------------------------------
TOKEN_MISSING = Problem(401, "token_missing", "Send your access token in the Authentication header.")
TOKEN_INVALID = Problem(401, "token_invalid", "The token is not valid here: log in again.")
# Only our key signs tokens: a token whose user is gone names a deleted account.
TOKEN_USER_GONE = Problem(401, "token_revoked", "This account was deleted: log in again to start a new one.")
TOKEN_EXPIRED = Problem(401, "token_expired", "The token has expired: refresh it or log in again.")
TOKEN_REVOKED = Problem(401, "token_revoked", "The token was revoked: log in again.")
USER_DISABLED = Problem(403, "user_disabled", "This account was disabled by an operator.")

# --- the product's other services (POST /oauth/introspect) ----------------------------
INVALID_CLIENT = Problem(401, "invalid_client", "Authenticate the service with HTTP Basic, as one of INTROSPECTION_CLIENTS.")

# --- logging in ------------------------------------------------------------------------
UNKNOWN_APPID = Problem(400, "invalid_request", "This service is not configured for that appid.")
TOO_MANY_LOGINS = Problem(429, "rate_limited", "Too many logins: wait a moment and try again.")

# --- WeChat ----------------------------------------------------------------------------
WECHAT_BUSY = Problem(503, "upstream_unavailable", "WeChat is busy: try again in a moment.")
LOGIN_CODE_INVALID = Problem(401, "invalid_code", "The login code is invalid: call wx.login() for a new one.")
LOGIN_CODE_USED = Problem(401, "code_used", "The login code was already used: call wx.login() for a new one.")
WECHAT_RATE_LIMITED = Problem(429, "rate_limited", "WeChat is limiting logins for this user: wait a minute.")
WECHAT_QUOTA = Problem(429, "rate_limited", "WeChat is limiting this mini program's calls: try again later.")
USER_BLOCKED = Problem(403, "user_blocked", "WeChat has blocked this user from logging in.")
WECHAT_UNEXPECTED = Problem(502, "upstream_error", "WeChat answered something unexpected: try again later.")
WECHAT_UNREACHABLE = Problem(502, "upstream_error", "WeChat could not be reached: try again later.")
WECHAT_TIMEOUT = Problem(504, "upstream_timeout", "WeChat did not answer in time: call wx.login() and try again.")

# --- phone numbers: a bad code is the caller's problem, not their session's (400, not 401)
PHONE_CODE_INVALID = Problem(400, "invalid_code", "The phone number code is invalid: ask the user to tap the button again.")
PHONE_CODE_USED = Problem(400, "code_used", "The phone number code was already used: ask the user to tap the button again.")
PHONE_OTHER_APP = Problem(502, "upstream_error", "WeChat answered for another mini program.")
PHONE_MISSING = Problem(502, "upstream_error", "WeChat answered without a phone number.")

# --- encrypted user data (wx.getUserInfo) ----------------------------------------------
SESSION_KEY_STALE = Problem(409, "session_key_stale", "The data does not match your WeChat session: log in again.")
SIGNATURE_MISMATCH = Problem(400, "invalid_signature", "The signature does not match the data.")
USER_DATA_OTHER_APP = Problem(400, "invalid_request", "The data was made for another mini program.")
USER_DATA_NOT_BASE64 = Problem(400, "invalid_request", "encrypted_data and iv must be base64.")
USER_DATA_WRONG_LENGTH = Problem(400, "invalid_request", "encrypted_data or iv has the wrong length.")

# --- notes -----------------------------------------------------------------------------
NOTE_NOT_FOUND = Problem(404, "not_found", "There is no note with that id.")

# --- web login by scanning the mini program code (qr_login) ----------------------------
QR_TICKET_UNKNOWN = Problem(404, "not_found", "There is no web login with that ticket: ask for a new code.")
QR_NOT_FOUND = Problem(404, "qr_not_found", "This code is not a login code of this mini program.")
QR_EXPIRED = Problem(410, "qr_expired", "This code has expired: refresh it on the computer and scan again.")
QR_USED = Problem(409, "qr_used", "This code was already used: refresh it on the computer and scan again.")
QR_NOT_SCANNED = Problem(409, "qr_used", "This code was not scanned by you: scan it before you confirm or cancel.")
QR_WEB_SESSION = Problem(401, "token_invalid", "Scan the code with the mini program: a web login's token cannot confirm another.")

# --- the service -----------------------------------------------------------------------
DATABASE_UNAVAILABLE = Problem(503, "database_unavailable", "The database does not answer: try again in a moment.")
REDIS_UNAVAILABLE = Problem(503, "redis_unavailable", "Redis does not answer.")
INTERNAL_ERROR = Problem(500, "internal_error", "Something went wrong on our side; quote request id {request_id} if you report it.")
