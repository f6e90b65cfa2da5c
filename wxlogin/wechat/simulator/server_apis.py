"""The simulator's server-to-server WeChat APIs: access tokens and phone numbers.

- ``GET /cgi-bin/token?grant_type=client_credential&appid=&secret=``: a new access token
  on every call (what SDKs such as wechatpy fetch); the app's earlier ones keep working
  for five more minutes, as WeChat's do. Counted in ``calls["token"]``.
- ``POST /cgi-bin/stable_token``: an access token per app, the same one until it expires
  (``token_seconds``) or ``force_refresh``; every call is counted in ``calls["stable_token"]``.
  The two kinds are independent (neither replaces the other), as on WeChat. Both refuse
  like WeChat: ``40002`` grant_type, ``41002``/``40013`` appid missing/unknown,
  ``41004``/``40125`` secret missing/wrong (appid and secret are checked when the simulator
  was given apps).
- ``POST /simulator/fail {"api", "errcode", "times"}``: script the next calls of an API
  (``SCRIPTABLE``) to fail (an errcode, ``"timeout"`` or ``"nonjson"``).
- ``GET /simulator/userinfo?appid=&openid=``: what ``wx.getUserInfo`` would give the client
  (encrypted with the user's session key), to try ``POST /wx/userinfo`` offline.
- ``GET /wxa/checksession?access_token=&openid=&signature=``: ``0`` when the signature is
  ``hmac_sha256(session_key, "")`` of the session key last given to that user, else ``87009``.
- ``POST /wxa/business/getuserphonenumber?access_token=``: ``40001`` unless the token is one
  the app was given and still valid (``41001`` without one). Codes: ``sim-phone:<digits>``
  gives that number (once per code, then ``40163``); ``sim-phone-for:<openid>:<digits>``
  the same, but only when the call names that ``openid`` (a code is its user's, as at
  WeChat; else ``40029``); ``sim-phone-other-app:<digits>`` gives it with another app's
  watermark; ``sim-fail:<errcode>`` that errcode; anything else ``40029``.
"""

import hashlib
import hmac
import secrets
import time

from ..user_data import seal_user_data
from .wire import error

SCRIPTABLE = {"token", "stable_token", "checksession", "getuserphonenumber", "getwxacodeunlimit"}
OLD_TOKEN_SECONDS = 300  # WeChat keeps a replaced cgi-bin/token token valid five more minutes


def same_secret(given, expected):
    """A constant-time comparison that also takes what compare_digest refuses (non-ASCII)."""
    return secrets.compare_digest(str(given).encode(), str(expected).encode())


class ServerApis:
    """Mixed into ``Simulator`` (``rules``), which provides ``apps``, ``calls``, ``_lock``, ``_first_use``,
    ``_scripted_failure``, ``_access_tokens`` (appid -> the stable token, expiry on the
    monotonic clock), ``_issued_tokens`` (appid -> [(cgi-bin/token token, expiry)]),
    ``_session_keys`` ((appid, openid) -> the session key last given) and ``_scripted``
    (api -> failures to answer next)."""

    token_seconds = 7200

    def script_failures(self, _args, body):
        """``POST /simulator/fail {"api": "stable_token", "errcode": -1, "times": 2}``: the next
        ``times`` calls of that API (one of ``SCRIPTABLE``) answer that errcode, or
        ``"timeout"`` / ``"nonjson"``."""
        api, failure = body.get("api"), body.get("errcode")
        if api not in SCRIPTABLE or failure is None:
            return error(40097, f"api must be one of {sorted(SCRIPTABLE)}, with an errcode")
        with self._lock:
            self._scripted.setdefault(api, []).extend([failure] * int(body.get("times", 1)))
        return {"errcode": 0, "errmsg": "ok"}

    def _scripted_answer(self, api):
        with self._lock:
            self.calls[api] += 1
            queue = self._scripted.get(api)
            failure = queue.pop(0) if queue else None
        if failure is None:
            return None
        return self._scripted_failure(str(failure))

    def access_token(self, args, _body):
        appid = args.get("appid", "")
        refusal = self._scripted_answer("token") or self._credentials_refusal(args)
        if refusal is not None:
            return refusal
        now = time.monotonic()
        token = f"sim-at-{secrets.token_hex(16)}"
        with self._lock:
            older = [(t, min(e, now + OLD_TOKEN_SECONDS)) for t, e in self._issued_tokens.get(appid, ()) if e > now]
            self._issued_tokens[appid] = [*older[-50:], (token, now + self.token_seconds)]
        return {"access_token": token, "expires_in": self.token_seconds}

    def stable_token(self, _args, body):
        appid = body.get("appid", "")
        refusal = self._scripted_answer("stable_token") or self._credentials_refusal(body)
        if refusal is not None:
            return refusal
        now = time.monotonic()
        with self._lock:
            token, expires = self._access_tokens.get(appid, (None, 0))
            if body.get("force_refresh") or token is None or expires <= now:
                token, expires = f"sim-at-{secrets.token_hex(16)}", now + self.token_seconds
                self._access_tokens[appid] = (token, expires)
        return {"access_token": token, "expires_in": int(expires - now)}

    def _credentials_refusal(self, given):
        """WeChat's answer to bad ``grant_type``/``appid``/``secret`` of a token call, or None."""
        appid, secret = given.get("appid") or "", given.get("secret") or ""
        if given.get("grant_type") != "client_credential":
            return error(40002, "invalid grant_type")
        if not appid:
            return error(41002, "appid missing")
        if self.apps and appid not in self.apps:
            return error(40013, "invalid appid")
        if not secret:
            return error(41004, "appsecret missing")
        if self.apps and not same_secret(secret, self.apps[appid]):
            return error(40125, "invalid appsecret")
        return None

    def phone_number(self, args, body):
        appid, refusal = self._app_calling("getuserphonenumber", args)
        if refusal is not None:
            return refusal
        code = body.get("code") or ""
        kind, _, rest = str(code).partition(":")
        if kind == "sim-fail":
            try:
                return error(int(rest), "scripted failure")
            except ValueError:
                return error(40029, "invalid code")
        if kind == "sim-phone-for":  # a code of one user: given only with their openid
            owner, _, rest = rest.partition(":")
            if body.get("openid") != owner:
                return error(40029, "invalid code")
            kind = "sim-phone"
        if kind not in ("sim-phone", "sim-phone-other-app") or not rest.split(":")[0].isdigit():
            return error(40029, "invalid code")
        if not self._first_use(f"phone:{appid}:{code}"):
            return error(40163, "code been used")
        number = rest.split(":")[0]
        watermark = appid if kind == "sim-phone" else "wxsomeoneelse00000"
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": number,
                "purePhoneNumber": number,
                "countryCode": "86",
                "watermark": {"timestamp": int(time.time()), "appid": watermark},
            },
        }

    def user_info(self, args, _body):
        """``wx.getUserInfo``'s answer for a simulated user, sealed with the session key the
        simulator last gave them (``?appid=&openid=&nickname=&avatar_url=``, and
        ``watermark_appid=`` to play data made for another app); not WeChat's."""
        with self._lock:
            session_key = self._session_keys.get((args.get("appid"), args.get("openid")))
        if session_key is None:
            return error(40029, "no login of this user")
        info = {"nickName": args.get("nickname", "Sim User"), "avatarUrl": args.get("avatar_url", "")}
        return seal_user_data(session_key, args.get("watermark_appid") or args["appid"], info)

    def check_session(self, args, _body):
        appid, refusal = self._app_calling("checksession", args)
        if refusal is not None:
            return refusal
        with self._lock:
            session_key = self._session_keys.get((appid, args.get("openid")))
        expected = hmac.new((session_key or "").encode(), b"", hashlib.sha256).hexdigest()
        if session_key is None or not same_secret(args.get("signature", ""), expected):
            return error(87009, "invalid signature")
        return {"errcode": 0, "errmsg": "ok"}

    def _app_calling(self, api, args):
        """``(appid, None)`` for a call made with one of an app's valid tokens; ``(None,
        answer)`` when the call is refused: a scripted failure of ``api``, ``41001`` without
        a token, ``40001`` with one WeChat does not know (or no longer)."""
        scripted = self._scripted_answer(api)
        if scripted is not None:
            return None, scripted
        token = args.get("access_token") or ""
        if not token:
            return None, error(41001, "access_token missing")
        appid = self._app_of_token(token)
        if appid is None:
            return None, error(40001, "invalid credential, access_token is invalid or not latest")
        return appid, None

    def _app_of_token(self, token):
        now = time.monotonic()
        with self._lock:
            issued = [(appid, pair) for appid, pair in self._access_tokens.items()]
            issued += [(appid, pair) for appid, pairs in self._issued_tokens.items() for pair in pairs]
        for appid, (known, expires) in issued:
            if expires > now and same_secret(token, known):
                return appid
        return None
