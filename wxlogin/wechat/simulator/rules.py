"""The simulator's rules for WeChat's login API, ``sns/jscode2session``, and its memory.

``sns/jscode2session`` codes it understands (anything else is ``40029 invalid code``, like
WeChat); the server APIs (access tokens, phone numbers, the session check): ``server_apis``.

- ``sim:<name>`` or ``sim:<name>:<anything>``: logs in as the stable user ``<name>`` (the
  same openid every time, per appid; the same unionid across apps). Each code works once;
  reuse answers ``40163``, so use ``sim:alice:2``, ``sim:alice:3``... to log in again.
- ``sim-flaky:<name>[:...]``: ``-1`` (busy) the first time it is seen, then like ``sim:``.
- ``sim-nounion:<name>[:...]``: like ``sim:`` but without a unionid.
- ``sim-fail:<errcode>``: always that errcode, e.g. ``sim-fail:-1``, ``sim-fail:40163``,
  ``sim-fail:45011``, ``sim-fail:40226``.
- ``sim-fail:timeout``: answers only after the caller gave up (``WX_TIMEOUT`` + 1 s).
- ``sim-fail:nonjson``: an HTML error page instead of JSON.

Like WeChat, it answers HTTP 200 with JSON labelled ``text/plain``; how it answers and how
it is reached (over HTTP, or in-process): ``wire``.
"""

import base64
import hashlib
import secrets
import threading
import time
from collections import Counter

from .server_apis import ServerApis
from .wire import NO_ANSWER, error

SINGLE_USE_SECONDS = 300  # WeChat codes expire after five minutes: forget older ones


class Simulator(ServerApis):
    """The simulator's rules and memory (which codes were used), shared by its threads."""

    def __init__(self, apps=None, timeout_sleep=6.0, latency=0.0):
        self.apps = dict(apps or {})  # when given, appid and secret are checked like WeChat
        self.timeout_sleep = timeout_sleep
        self.latency = latency
        self._seen = {}
        self._lock = threading.Lock()
        self.calls = Counter()  # js_code (or API name) -> how many calls (for tests)
        self._access_tokens = {}
        self._session_keys = {}
        self._scripted = {}

    def handle(self, path, args, body=None):
        """WeChat's answer to a call of ``path`` with query ``args`` and JSON ``body``: a dict
        (JSON), a str (not JSON), ``NO_ANSWER``, or None for a path WeChat does not have."""
        endpoint = {
            "/sns/jscode2session": self.code2session,
            "/cgi-bin/stable_token": self.stable_token,
            "/wxa/business/getuserphonenumber": self.phone_number,
            "/wxa/checksession": self.check_session,
            "/simulator/calls": lambda args, body: dict(self.calls),  # for tests across processes
            "/simulator/userinfo": self.user_info,
            "/simulator/fail": self.script_failures,
        }.get(path)
        if endpoint is None:
            return None
        if self.latency:
            time.sleep(self.latency)
        return endpoint(args, body if isinstance(body, dict) else {})

    def code2session(self, args, _body):
        appid, code = args.get("appid", ""), args.get("js_code", "")
        with self._lock:
            self.calls[code] += 1
        if args.get("grant_type") != "authorization_code":
            return error(40002, "invalid grant_type")
        if self.apps and appid not in self.apps:
            return error(40013, "invalid appid")
        if self.apps and not secrets.compare_digest(args.get("secret", ""), self.apps[appid]):
            return error(40125, "invalid appsecret")
        if not code:
            return error(41008, "missing code")
        kind, _, rest = code.partition(":")
        if kind == "sim-fail":
            return self._scripted_failure(rest)
        name = rest.split(":", 1)[0]
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
