"""The simulator's rules for WeChat's login API, ``sns/jscode2session``, its routes and its
memory.

``sns/jscode2session`` codes it understands (anything else is ``40029 invalid code``, like
WeChat); the server APIs (access tokens, phone numbers, the session check): ``server_apis``;
mini program codes (``wxa/getwxacodeunlimit``): ``wxacode``.

- ``sim:<name>`` or ``sim:<name>:<anything>``: logs in as the stable user ``<name>`` (the
  same openid every time, per appid; the same unionid across apps). Each code works once;
  reuse answers ``40163``, so use ``sim:alice:2``, ``sim:alice:3``... to log in again.
- ``sim-flaky:<name>[:...]``: ``-1`` (busy) the first time it is seen, then like ``sim:``.
- ``sim-nounion:<name>[:...]``: like ``sim:`` but without a unionid.
- ``sim-fail:<errcode>``: always that errcode, e.g. ``sim-fail:-1``, ``sim-fail:40163``,
  ``sim-fail:45011``, ``sim-fail:40226``.
- ``sim-fail:timeout``: answers only after the caller gave up (``WX_TIMEOUT`` + 1 s).
- ``sim-fail:nonjson``: an HTML error page instead of JSON.
- a code shaped like a real one, exactly 32 ASCII letters and digits (what ``wx.login()``
  gives in WeChat DevTools, e.g. ``0c3Xa1000rNbKQ1vLk200Xq0Cx3Xa10v``): the stable user
  ``devtools``, the same as ``sim:devtools``; each such code works once (then ``40163``).

Every path is routed with its method (``ROUTES``): another method answers ``43001 require
GET method`` or ``43002 require POST method``, an unknown path ``40066 invalid url``, and a
POST body is read as JSON whatever its Content-Type (``44002`` empty, ``47001`` not a JSON
object), as WeChat does. Like WeChat, it answers HTTP 200 with JSON labelled ``text/plain``;
how it answers and how it is reached (over HTTP, or in-process): ``wire``.
"""

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections import Counter

from .server_apis import ServerApis, same_secret
from .wire import NO_ANSWER, error
from .wxacode import WxaCodes

SINGLE_USE_SECONDS = 300  # WeChat codes expire after five minutes: forget older ones
# What wx.login() gives in DevTools and on phones: 32 letters and digits. No sim code has that
# shape (they all hold a ":" or a "-"), so the scripted codes keep their meaning.
DEVTOOLS_CODE = re.compile(r"[0-9A-Za-z]{32}")
DEVTOOLS_USER = "devtools"

# path -> (the one method WeChat accepts, the method of Simulator answering it)
ROUTES = {
    "/sns/jscode2session": ("GET", "code2session"),
    "/cgi-bin/token": ("GET", "access_token"),
    "/cgi-bin/stable_token": ("POST", "stable_token"),
    "/wxa/business/getuserphonenumber": ("POST", "phone_number"),
    "/wxa/checksession": ("GET", "check_session"),
    "/wxa/getwxacodeunlimit": ("POST", "wxa_code_unlimited"),
    "/simulator/calls": ("GET", "call_counts"),  # for tests across processes
    "/simulator/userinfo": ("GET", "user_info"),
    "/simulator/fail": ("POST", "script_failures"),
}


class Simulator(ServerApis, WxaCodes):
    """The simulator's rules and memory (which codes were used), shared by its threads."""

    def __init__(self, apps=None, timeout_sleep=6.0, latency=0.0):
        self.apps = dict(apps or {})  # when given, appid and secret are checked like WeChat
        self.timeout_sleep = timeout_sleep
        self.latency = latency
        self._seen = {}
        self._lock = threading.Lock()
        self.calls = Counter()  # js_code (or API name) -> how many calls (for tests)
        self._access_tokens = {}
        self._issued_tokens = {}
        self._session_keys = {}
        self._scripted = {}

    def handle(self, method, path, args, raw_body=b""):
        """WeChat's answer to ``method path`` with query ``args`` and the request body as
        sent (bytes): a dict (JSON), bytes (a PNG), a str (not JSON) or ``NO_ANSWER``."""
        route = ROUTES.get(path)
        if route is None:
            return error(40066, "invalid url")
        expected, name = route
        if (method if method != "HEAD" else "GET") != expected:
            return error(43001 if expected == "GET" else 43002, f"require {expected} method")
        body = {}
        if expected == "POST":
            body, refusal = _json_object(raw_body)
            if refusal is not None:
                return refusal
        if self.latency:
            time.sleep(self.latency)
        return getattr(self, name)(args, body)

    def call_counts(self, _args, _body):
        with self._lock:
            return dict(self.calls)

    def code2session(self, args, _body):
        appid, code = args.get("appid", ""), args.get("js_code", "")
        with self._lock:
            self.calls[code] += 1
        if args.get("grant_type") != "authorization_code":
            return error(40002, "invalid grant_type")
        if self.apps and appid not in self.apps:
            return error(40013, "invalid appid")
        if self.apps and not same_secret(args.get("secret", ""), self.apps[appid]):
            return error(40125, "invalid appsecret")
        if not code:
            return error(41008, "missing code")
        kind, _, rest = code.partition(":")
        if kind == "sim-fail":
            return self._scripted_failure(rest)
        name = rest.split(":", 1)[0]
        if DEVTOOLS_CODE.fullmatch(code):
            kind, name = "sim", DEVTOOLS_USER
        if kind not in ("sim", "sim-flaky", "sim-nounion") or not name:
            return error(40029, "invalid code")
        if kind == "sim-flaky" and self._first_use(f"busy-once:{appid}:{code}"):
            return error(-1, "system error")  # the busy answer does not spend the code
        if not self._first_use(f"{appid}:{code}"):  # a code belongs to one mini program
            return error(40163, "code been used")
        openid = _stable_id("o", f"{appid}:{name}")
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        with self._lock:
            self._session_keys[(appid, openid)] = session_key
        answer = {"openid": openid, "session_key": session_key}
        if kind != "sim-nounion":  # a mini program not (yet) bound to an open-platform account
            answer["unionid"] = _stable_id("o", f"union:{name}")
        return answer

    def _scripted_failure(self, what):
        if what == "timeout":
            return NO_ANSWER
        if what == "nonjson":
            return "<html><body><h1>502 Bad Gateway</h1></body></html>"
        try:
            return error(int(what), "scripted failure")
        except ValueError:
            return error(40029, "invalid code")

    def _first_use(self, code):
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10000:
                self._seen = {c: t for c, t in self._seen.items() if now - t < SINGLE_USE_SECONDS}
            seen_at = self._seen.get(code)
            if seen_at is not None and now - seen_at < SINGLE_USE_SECONDS:
                return False
            self._seen[code] = now
            return True


def _stable_id(prefix, seed):
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode()[:27]


def _json_object(raw):
    """A POST body as WeChat reads it, JSON whatever the Content-Type (wechatpy sends none):
    ``(body, None)``, or ``(None, errcode answer)`` when it is empty or not a JSON object."""
    if not raw or not raw.strip():
        return None, error(44002, "empty post data")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return None, error(47001, "data format error")
    return body, None
