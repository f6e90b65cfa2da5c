"""HTTP clients and bounded load of the fault suite (the per-fault report is report.py)."""

import http.client
import itertools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

# Every answer must come within this (the service is told DATABASE_TIMEOUT=2: the contract
# is DATABASE_TIMEOUT + 1 s; half a second more is slack for a loaded 2-core machine).
DATABASE_TIMEOUT = 2
LATENCY_BOUND = DATABASE_TIMEOUT + 1.5
CLIENT_TIMEOUT = 15  # a request still unanswered after this is a hang
THREADS = 20

_codes = itertools.count()


def code(name):
    """A simulator code logging in as ``name``, never used before."""
    return f"sim:{name}:{uuid.uuid4().hex[:12]}{next(_codes)}"


@dataclass
class Answer:
    status: int | None  # None: no answer (connection error, timeout)
    body: dict | None
    headers: dict
    seconds: float
    started: float  # time.monotonic() when sent
    error: str | None = None  # what went wrong when status is None
    retried: bool = False
    reused: bool = False  # sent on a connection that had served a request before

    @property
    def slug(self):
        return self.body.get("error") if isinstance(self.body, dict) else None

    def __repr__(self):
        what = f"{self.status} {self.slug or ''}".strip() if self.status else f"no answer ({self.error})"
        return f"<{what} after {self.seconds:.2f}s>"


class Client:
    """One keep-alive HTTP/1.1 connection (http.client), made anew when closed.

    ``retry_closed_keepalive``: resend a request once when a connection that had already
    served a request was found closed before any byte of the answer arrived (the server had
    closed the idle keep-alive connection as the request went out: RFC 9112 9.3.1 lets a
    client retry then, and every HTTP client library does; the server cannot have processed
    a request on a connection it had closed). A fresh connection failing, a connection
    dropped after answer bytes arrived, or a timeout, are never retried.
    """

    def __init__(self, base, timeout=CLIENT_TIMEOUT, keepalive=True, retry_closed_keepalive=False):
        url = urlparse(base)
        self.host, self.port = url.hostname, url.port
        assert self.host.startswith("127."), "the suite talks to 127.0.0.0/8 only"
        self.timeout = timeout
        self.keepalive = keepalive
        self.retry_closed_keepalive = retry_closed_keepalive
        self.conn = None
        self.used = 0  # requests served on the current connection

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.used = 0

    def request(self, method, path, body=None, token=None, headers=None):
        started = time.monotonic()
        answer = self._once(method, path, body, token, headers, started)
        if answer.error == "closed-before-answer" and answer.reused and self.retry_closed_keepalive:
            answer = self._once(method, path, body, token, headers, started)
            answer.retried = True
        return answer

    def _failed(self, error, started, reused):
        self.close()
        answer = Answer(None, None, {}, time.monotonic() - started, started, error)
        answer.reused = reused
        return answer

    def _once(self, method, path, body, token, headers, started):
        hdrs = {"Connection": "keep-alive" if self.keepalive else "close", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authentication"] = token
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.used = 0
        reused = self.used > 0
        try:
            self.conn.request(method, path, body=payload, headers=hdrs)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # Raised while sending, or before one byte of a status line was read (a partial
            # status line raises BadStatusLine instead): nothing at all was answered.
            return self._failed("closed-before-answer", started, reused)
        except (OSError, http.client.HTTPException) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}"[:120], started, reused)
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:  # answer bytes came, then it broke
            return self._failed(f"broken mid-answer: {type(exc).__name__}"[:120], started, reused)
        seconds = time.monotonic() - started
        self.used += 1
        if not self.keepalive or response.will_close:
            self.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = {"_raw": raw[:200].decode(errors="replace")}
        answer = Answer(response.status, parsed, {k.lower(): v for k, v in response.getheaders()}, seconds, started)
        answer.reused = reused
        return answer


def call(base, method, path, body=None, token=None, headers=None, timeout=CLIENT_TIMEOUT):
    """One request on a new connection (closed after)."""
    client = Client(base, timeout=timeout, keepalive=False)
    try:
        return client.request(method, path, body, token, headers)
    finally:
        client.close()


def login(base, name, retries=0):
    answer = call(base, "POST", "/wx/login", {"code": code(name)})
    for _ in range(retries):
        if answer.status == 200:
            break
        time.sleep(0.5)
        answer = call(base, "POST", "/wx/login", {"code": code(name)})
    assert answer.status == 200, f"login of {name}: {answer} {answer.body}"
    return answer.body


class Load:
    """``threads`` threads, each with its own user and keep-alive connection, looping over a
    mix of logins, /wx/me, note creation and listing until ``stop()`` or ``seconds``.

    Notes answered 201 are remembered (``created``) to be looked for in the database."""

    def __init__(self, bases, report, threads=THREADS, seconds=25, prefix="load", logins=True,
                 retry_closed_keepalive=False, pause=0.02):
        self.bases = bases if isinstance(bases, (list, tuple)) else [bases]
        self.report = report
        self.seconds = seconds
        self.prefix = prefix
        self.logins = logins
        self.retry = retry_closed_keepalive
        self.pause = pause
        self.stopping = threading.Event()
        self.created = []  # (note id, openid)
        self.openids = set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self):
        self.deadline = time.monotonic() + self.seconds
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT + 5)

    def running(self):
        return not self.stopping.is_set() and time.monotonic() < self.deadline

    def _run(self, i):
        base = self.bases[i % len(self.bases)]
        client = Client(base, retry_closed_keepalive=self.retry)
        rng = random.Random(i)
        name = f"{self.prefix}{i}"
        token = None
        try:
            while self.running():
                if token is None or (self.logins and rng.random() < 0.1):
                    answer = self.report.add("login", client.request("POST", "/wx/login", {"code": code(name)}))
                    if answer.status == 200:
                        token = answer.body["access_token"]
                        with self.lock:
                            self.openids.add(answer.body["user"]["openid"])
                    else:
                        time.sleep(0.2)
                    continue
                pick = rng.random()
                if pick < 0.4:
                    self.report.add("me", client.request("GET", "/wx/me", token=token))
                elif pick < 0.75:
                    answer = self.report.add("note", client.request(
                        "POST", "/wx/notes", {"title": f"n{i}", "content": uuid.uuid4().hex}, token=token))
                    if answer.status == 201:
                        with self.lock:
                            self.created.append(answer.body["id"])
                else:
                    self.report.add("notes", client.request("GET", "/wx/notes?per_page=5", token=token))
                if self.pause:
                    time.sleep(self.pause)
        finally:
            client.close()
