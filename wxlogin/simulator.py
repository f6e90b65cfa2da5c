"""A WeChat simulator for development and tests: WeChat's own ``sns/jscode2session`` API.

Codes it understands (anything else is ``40029 invalid code``, like WeChat):

- ``sim:<name>`` or ``sim:<name>:<anything>``: logs in as the stable user ``<name>`` (the
  same openid every time, per appid; the same unionid across apps). Each code works once;
  reuse answers ``40163``, so use ``sim:alice:2``, ``sim:alice:3``... to log in again.
- ``sim-flaky:<name>[:...]``: ``-1`` (busy) the first time it is seen, then like ``sim:``.
- ``sim-fail:<errcode>``: always that errcode, e.g. ``sim-fail:-1``, ``sim-fail:40163``,
  ``sim-fail:45011``, ``sim-fail:40226``.
- ``sim-fail:timeout``: answers only after the caller's timeout (``WX_TIMEOUT`` + 1 s).
- ``sim-fail:nonjson``: an HTML error page instead of JSON.

Like WeChat, it answers HTTP 200 with JSON labelled ``text/plain``. It is served by the app
itself at ``/_simulator`` in development when no ``WX_APPID`` is set, and on its own port by
``flask --app wxlogin --debug simulator``; it is refused in production.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter

from flask import Blueprint, Flask, Response, current_app, request

SINGLE_USE_SECONDS = 300  # WeChat codes expire after five minutes: forget older ones

bp = Blueprint("simulator", __name__)


class Simulator:
    """The simulator's rules and memory (which codes were used), shared by its threads."""

    def __init__(self, apps=None, timeout_sleep=6.0, latency=0.0):
        self.apps = dict(apps or {})  # when given, appid and secret are checked like WeChat
        self.timeout_sleep = timeout_sleep
        self.latency = latency
        self._seen = {}
        self._lock = threading.Lock()
        self.calls = Counter()  # js_code -> how many times it was presented (for tests)

    def code2session(self, args):
        """The body WeChat would answer for these query arguments."""
        if self.latency:
            time.sleep(self.latency)
        appid, code = args.get("appid", ""), args.get("js_code", "")
        with self._lock:
            self.calls[code] += 1
        if args.get("grant_type") != "authorization_code":
            return _error(40002, "invalid grant_type")
        if self.apps and appid not in self.apps:
            return _error(40013, "invalid appid")
        if self.apps and not secrets.compare_digest(args.get("secret", ""), self.apps[appid]):
            return _error(40125, "invalid appsecret")
        if not code:
            return _error(41008, "missing code")
        kind, _, rest = code.partition(":")
        if kind == "sim-fail":
            return self._scripted_failure(rest)
        name = rest.split(":", 1)[0]
        if kind not in ("sim", "sim-flaky") or not name:
            return _error(40029, "invalid code")
        if kind == "sim-flaky" and self._first_use(f"busy-once:{appid}:{code}"):
            return _error(-1, "system error")  # the busy answer does not spend the code
        if not self._first_use(f"{appid}:{code}"):  # a code belongs to one mini program
            return _error(40163, "code been used")
        return {
            "openid": _stable_id("o", f"{appid}:{name}"),
            "unionid": _stable_id("o", f"union:{name}"),
            "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
        }

    def _scripted_failure(self, what):
        if what == "timeout":
            time.sleep(self.timeout_sleep)
            return _error(-1, "system error (answered too late)")
        if what == "nonjson":
            return "<html><body><h1>502 Bad Gateway</h1></body></html>"
        try:
            return _error(int(what), "scripted failure")
        except ValueError:
            return _error(40029, "invalid code")

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


def _error(errcode, errmsg):
    return {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(6)}"}


def _stable_id(prefix, seed):
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode()[:27]


@bp.get("/sns/jscode2session")
def jscode2session():
    body = current_app.extensions["wechat_simulator"].code2session(request.args)
    text = body if isinstance(body, str) else json.dumps(body)
    mimetype = "text/html" if isinstance(body, str) else "text/plain"  # WeChat's own label
    return Response(text, mimetype=mimetype)


def init_simulator(app, simulator, url_prefix=None):
    app.extensions["wechat_simulator"] = simulator
    app.register_blueprint(bp, url_prefix=url_prefix)


def create_simulator_app(simulator):
    """The simulator alone, for a process of its own (tests, benchmarks, a second terminal)."""
    app = Flask(__name__)
    init_simulator(app, simulator)
    return app
