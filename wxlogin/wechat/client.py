"""The WeChat server API client: ``auth.code2Session``, access tokens, phone numbers and the
session check.

WeChat answers errors with HTTP 200 and a JSON body carrying ``errcode``/``errmsg``, and
serves JSON as ``text/plain``; a successful answer carries no ``errcode`` at all. Each failure
becomes a ``WeChatError`` whose status and slug are those of docs/API.md's error
table.

The app secret travels in the query string, so requests' and urllib3's exception texts
(which quote the URL) are never logged, chained or shown: only their class name is.
"""

import hashlib
import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass

import requests
from flask import current_app
from requests.adapters import HTTPAdapter

from .. import messages
from ..ops import metrics
from .call_deadline import CallTimeout, whole_call_deadline
from .errors import SESSION_INVALID, WeChatError
from .simulator import Simulator, SimulatorAdapter, init_simulator

POOL_SIZE = 100  # pooled keep-alive connections per worker: one per login waiting on WeChat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeChatSession:
    """What ``code2Session`` gives for one login. ``session_key`` stays on the server."""

    openid: str
    session_key: str
    unionid: str | None = None

    def __repr__(self):  # keep session_key out of logs and tracebacks
        return f"WeChatSession(openid={self.openid!r}, unionid={self.unionid!r})"


class WeChatClient:
    """Calls WeChat for the configured mini programs (``apps``: appid -> secret).

    ``adapter``, when given, is a requests transport adapter mounted for ``base_url``: the
    development app uses it to reach its built-in simulator in-process.
    """

    def __init__(self, apps, base_url, timeout=5.0, retries=2, backoff=0.1, adapter=None):
        self.apps = dict(apps)
        self.base_url = base_url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.adapter = adapter
        self._http = None
        self._pid = None
        self._lock = threading.Lock()

    def code2session(self, code, appid):
        params = {
            "appid": appid,
            "secret": self.apps[appid],
            "js_code": code,
            "grant_type": "authorization_code",
        }
        payload = self._call("GET", "/sns/jscode2session", params)
        openid, session_key = payload.get("openid"), payload.get("session_key")
        if not (isinstance(openid, str) and openid and isinstance(session_key, str) and session_key):
            log.error("WeChat code2Session answer lacks openid/session_key (appid=%s)", appid)
            raise WeChatError(messages.WECHAT_UNEXPECTED)
        unionid = payload.get("unionid")
        return WeChatSession(openid, session_key, unionid if isinstance(unionid, str) and unionid else None)

    def stable_token(self, appid, force_refresh=False):
        """The app's WeChat access token (``cgi-bin/stable_token``): ``(token, expires_in)``.
        Not to be confused with our own access tokens (JWTs): ``app_token``."""
        body = {
            "grant_type": "client_credential",
            "appid": appid,
            "secret": self.apps[appid],
            "force_refresh": force_refresh,
        }
        payload = self._call("POST", "/cgi-bin/stable_token", {}, body)
        token, expires_in = payload.get("access_token"), payload.get("expires_in")
        if not (isinstance(token, str) and token and isinstance(expires_in, int) and expires_in > 0):
            log.error("WeChat stable_token answer lacks access_token/expires_in (appid=%s)", appid)
            raise WeChatError(messages.WECHAT_UNEXPECTED)
        return token, expires_in

    def phone_number(self, app_token, code, openid):
        """``phone_info`` of a getPhoneNumber button code (``wxa/business/getuserphonenumber``),
        which WeChat gives only if the code is that ``openid``'s."""
        payload = self._call(
            "POST", "/wxa/business/getuserphonenumber", {"access_token": app_token},
            {"code": code, "openid": openid},
        )
        info = payload.get("phone_info")
        if not isinstance(info, dict) or not isinstance(info.get("watermark"), dict):
            log.error("WeChat getuserphonenumber answer lacks phone_info")
            raise WeChatError(messages.WECHAT_UNEXPECTED)
        return info

    def wxa_code_unlimited(self, app_token, scene, page, env_version="release"):
        """The image of a mini program code opening ``page`` with ``scene``
        (``wxa/getwxacodeunlimit``): the bytes WeChat sends (a PNG or JPEG).

        ``check_path`` is WeChat's check that ``page`` exists in the released version: a trial
        or development version's page is not there yet.
        """
        body = {"scene": scene, "page": page, "env_version": env_version,
                "check_path": env_version == "release", "width": 430}
        answer = self._call("POST", "/wxa/getwxacodeunlimit", {"access_token": app_token}, body, image=True)
        if not isinstance(answer, bytes):
            log.error("WeChat getwxacodeunlimit answered JSON without an error, not an image")
            raise WeChatError(messages.WECHAT_UNEXPECTED)
        return answer

    def check_session(self, app_token, openid, session_key):
        """Whether WeChat still holds ``session_key`` as the user's (``wxa/checksession``)."""
        signature = hmac.new(session_key.encode(), b"", hashlib.sha256).hexdigest()
        params = {"access_token": app_token, "openid": openid, "signature": signature,
                  "sig_method": "hmac_sha256"}
        try:
            self._call("GET", "/wxa/checksession", params)
        except WeChatError as error:
            if error.errcode == SESSION_INVALID:
                return False
            raise
        return True

    def _call(self, method, path, params, body=None, image=False):
        """One API call, timed and counted (``metrics``), with its retries. ``image``: the
        answer is an image (bytes) on success, and JSON only for an error."""
        started = time.perf_counter()
        try:
            return self._call_with_retries(method, path, params, body, image)
        except WeChatError as error:
            metrics.WECHAT_ERRORS.labels(path, error.slug).inc()
            raise
        finally:
            metrics.WECHAT_SECONDS.labels(path).observe(time.perf_counter() - started)

    def _call_with_retries(self, method, path, params, body, image):
        """Retried on errcode -1 (busy); a timeout is final: a code may be spent."""
        for attempt in range(self.retries + 1):
            payload = self._call_once(method, path, params, body, image)
            if isinstance(payload, bytes):
                return payload
            errcode = _errcode(payload)
            if errcode == 0:
                return payload
            log.warning(
                "WeChat %s errcode=%s errmsg=%r (attempt %d)",
                path, errcode, str(payload.get("errmsg", ""))[:200], attempt + 1,
            )
            if errcode != -1 or attempt == self.retries:
                raise WeChatError.from_errcode(errcode)
            time.sleep(self.backoff * 2**attempt)

    def _call_once(self, method, path, params, body, image=False):
        failure = None
        try:
            with whole_call_deadline(self.timeout):
                response = self.http.request(
                    method, self.base_url + path, params=params, json=body, timeout=self.timeout
                )
        except requests.ConnectTimeout:  # never reached: the code is not spent
            failure = messages.WECHAT_UNREACHABLE
            log.error("WeChat %s unreachable: connection timed out", path)
        except (requests.Timeout, CallTimeout):
            failure = messages.WECHAT_TIMEOUT
        except requests.RequestException as exc:
            failure = messages.WECHAT_UNREACHABLE
            log.error("WeChat %s unreachable: %s", path, type(exc).__name__)
        if failure:  # raised outside the except block, so the URL-quoting exception is not chained
            if failure is messages.WECHAT_TIMEOUT:
                log.error("WeChat %s timed out after %ss", path, self.timeout)
            raise WeChatError(failure)
        if response.status_code != 200:
            log.error("WeChat %s answered HTTP %s", path, response.status_code)
            raise WeChatError(messages.WECHAT_UNEXPECTED)
        if image and response.headers.get("Content-Type", "").startswith("image/") and response.content:
            return response.content
        try:
            payload = response.json()  # whatever the content type: WeChat says text/plain
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            log.error("WeChat %s answered a body that is not a JSON object", path)
            raise WeChatError(messages.WECHAT_UNEXPECTED)
        return payload

    @property
    def http(self):
        """One pooled ``requests.Session`` per process, made anew after a fork."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    session = requests.Session()
                    # Proxy settings read once, not from the environment on every call
                    # (requests would scan all of os.environ and look for ~/.netrc each time).
                    session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
                    session.trust_env = False
                    # As many pooled keep-alive connections as a worker has threads.
                    session.mount("https://", HTTPAdapter(pool_maxsize=POOL_SIZE))
                    session.mount("http://", HTTPAdapter(pool_maxsize=POOL_SIZE))
                    if self.adapter is not None:
                        session.mount(self.base_url, self.adapter)
                    self._http = session
                    self._pid = os.getpid()
        return self._http


def _errcode(payload):
    """0 for success (no errcode, or 0); None for an errcode that is not a number."""
    raw = payload.get("errcode")
    if raw in (None, "", 0):
        return 0
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError):  # e.g. a string, or Infinity
        return None


def wechat_client():
    return current_app.extensions["wechat"]


def init_app(app):
    """The app's WeChat client; in development without ``WX_APPID``, one that reaches the
    built-in simulator in-process (also served at ``/_simulator`` for curl)."""
    wechat = {"base_url": app.config["WX_API_BASE"]}
    if app.config.get("WX_SIMULATOR_EMBEDDED"):
        log.warning(
            "WX_APPID is not set: logging in through the built-in WeChat simulator, also "
            "served at /_simulator (codes like sim:alice). Development only."
        )
        simulator = Simulator(app.config["WX_APPS"], timeout_sleep=app.config["WX_TIMEOUT"] + 1)
        init_simulator(app, simulator, url_prefix="/_simulator")
        wechat = {"base_url": "http://simulator.wxlogin.invalid", "adapter": SimulatorAdapter(simulator)}
    app.extensions["wechat"] = WeChatClient(app.config["WX_APPS"], timeout=app.config["WX_TIMEOUT"], **wechat)
