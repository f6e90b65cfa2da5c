"""The simulator's server-to-server WeChat APIs: access tokens and phone numbers.

- ``POST /cgi-bin/stable_token``: an access token per app, the same one until it expires
  (``token_seconds``) or ``force_refresh``; every call is counted in ``calls["stable_token"]``.
- ``POST /simulator/fail {"api", "errcode", "times"}``: script the next calls of an API
  above to fail (an errcode, ``"timeout"`` or ``"nonjson"``).
- ``GET /simulator/userinfo?appid=&openid=``: what ``wx.getUserInfo`` would give the client
  (encrypted with the user's session key), to try ``POST /wx/userinfo`` offline.
- ``GET /wxa/checksession?access_token=&openid=&signature=``: ``0`` when the signature is
  ``hmac_sha256(session_key, "")`` of the session key last given to that user, else ``87009``.
- ``POST /wxa/business/getuserphonenumber?access_token=``: ``40001`` unless the token is the
  app's current one. Codes: ``sim-phone:<digits>`` gives that number (once per code, then
  ``40163``); ``sim-phone-other-app:<digits>`` gives it with another app's watermark;
  ``sim-fail:<errcode>`` that errcode; anything else ``40029``.
"""

import hashlib
import hmac
import secrets
import time

from ..user_data import seal_user_data
from .wire import error

SCRIPTABLE = {"stable_token", "checksession", "getuserphonenumber"}


class ServerApis:
    """Mixed into ``Simulator`` (``rules``), which provides ``apps``, ``calls``, ``_lock``, ``_first_use``,
    ``_scripted_failure``, ``_access_tokens`` (appid -> (token, expiry on the monotonic
    clock)), ``_session_keys`` ((appid, openid) -> the session key last given) and
    ``_scripted`` (api -> failures to answer next)."""

    token_seconds = 7200

    def script_failures(self, _args, body):
        """``POST /simulator/fail {"api": "stable_token", "errcode": -1, "times": 2}``: the next
        ``times`` calls of that API (``stable_token``, ``checksession``,
        ``getuserphonenumber``) answer that errcode, or ``"timeout"`` / ``"nonjson"``."""
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

    def stable_token(self, args, body):
        appid, secret = body.get("appid", ""), body.get("secret", "")
        scripted = self._scripted_answer("stable_token")
        if scripted is not None:
            return scripted
        if body.get("grant_type") != "client_credential":
            return error(40002, "invalid grant_type")
        if self.apps and appid not in self.apps:
            return error(40013, "invalid appid")
        if self.apps and not secrets.compare_digest(secret, self.apps[appid]):
            return error(40125, "invalid appsecret")
        now = time.monotonic()
        with self._lock:
            token, expires = self._access_tokens.get(appid, (None, 0))
            if body.get("force_refresh") or token is None or expires <= now:
                token, expires = f"sim-at-{secrets.token_hex(16)}", now + self.token_seconds
                self._access_tokens[appid] = (token, expires)
        return {"access_token": token, "expires_in": int(expires - now)}

    def phone_number(self, args, body):
        appid, refusal = self._app_calling("getuserphonenumber", args)
        if refusal is not None:
            return refusal
        code = body.get("code") or ""
        kind, _, rest = code.partition(":")
        if kind == "sim-fail":
            try:
                return error(int(rest), "scripted failure")
            except ValueError:
                return error(40029, "invalid code")
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
        signature = str(args.get("signature", ""))
        if session_key is None or not hmac.compare_digest(expected.encode(), signature.encode()):
            return error(87009, "invalid signature")
        return {"errcode": 0, "errmsg": "ok"}

    def _app_calling(self, api, args):
        """``(appid, None)`` for a call made with an app's current token; ``(None, answer)``
        when the call is refused: a scripted failure of ``api``, or ``40001``."""
        scripted = self._scripted_answer(api)
        if scripted is not None:
            return None, scripted
        appid = self._app_of_token(args.get("access_token", ""))
        if appid is None:
            return None, error(40001, "invalid credential, access_token is invalid or not latest")
        return appid, None

    def _app_of_token(self, token):
        now = time.monotonic()
        with self._lock:
            for appid, (current, expires) in self._access_tokens.items():
                if secrets.compare_digest(token, current) and expires > now:
                    return appid
        return None
