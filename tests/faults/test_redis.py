"""Redis frozen (SIGSTOP), or stopped and restarted empty, or restarted with its old data (a
snapshot taken before the revocations): protected routes keep working meanwhile (the
database decides), and a logout, a log-out-everywhere, a replayed refresh token (theft), a
disabled user or a deleted account, whatever the action answered, is refused by every worker of both instances
at all times after it answered: while Redis is away, and from at most 2 s after Redis
answers again. Run with FAULTS_REDIS=1."""

import random
import threading
import time
from collections import Counter

import pytest

from .conftest import REDIS, cli_env, log_problems
from .gunicorn import flask
from .load import LATENCY_BOUND, Load, call, code, login
from .report import Report
from .servers import cpu_ticks

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not REDIS, reason="the Redis faults run with FAULTS_REDIS=1"),
]

FAULT_SECONDS = 9
GRACE = 2.0  # after Redis answers again, anything goes for this long (the contract's 2 s)
CHECK_SECONDS = 6
PROBE_THREADS = 16


class Subject:
    """A user whose tokens an action revokes, and what each token must answer afterwards."""

    def __init__(self, urls, name, action):
        self.name, self.action = name, action
        self.urls = urls
        self.first = login(urls[0], name)
        self.openid = self.first["user"]["openid"]
        self.probes = []  # (method, path, token, expected status, expected slug)
        self.done_at = None  # when the action answered (monotonic)
        self.answer = None
        if action == "replay":  # a normal refresh first: the first refresh token is spent
            second = call(urls[1], "POST", "/wx/refresh", token=self.first["refresh_token"])
            assert second.status == 200, (second, second.body)
            self.second = second.body
        if action == "logout_all":
            self.second = login(urls[1], name)
        for url in urls:  # each instance has seen the user (caches warm)
            assert call(url, "GET", "/wx/me", token=self.first["access_token"] if action != "replay" else self.second["access_token"]).status == 200

    def act(self, service_env, cwd):
        """Do the action; remember what it answered and when."""
        url = random.choice(self.urls)
        started = time.monotonic()
        if self.action == "logout":
            answer = call(url, "POST", "/wx/logout", token=self.first["access_token"])
            self.answer = (answer.status, answer.slug)
            self._expect_revoked(self.first)
        elif self.action == "logout_all":
            answer = call(url, "POST", "/wx/logout?all=true", token=self.first["access_token"])
            self.answer = (answer.status, answer.slug)
            self._expect_revoked(self.first)
            self._expect_revoked(self.second)
        elif self.action == "replay":
            answer = call(url, "POST", "/wx/refresh", token=self.first["refresh_token"])
            self.answer = (answer.status, answer.slug)
            self._expect_revoked(self.first, access=False)
            self._expect_revoked(self.second)
        elif self.action == "delete":  # DELETE /wx/me: the disabling's path, for a deletion
            answer = call(url, "DELETE", "/wx/me", token=self.first["access_token"])
            self.answer = (answer.status, answer.slug)
            self._expect_revoked(self.first)
        elif self.action == "disable":
            try:
                done = flask(service_env, "users", "disable", self.openid, cwd=cwd, check=False)
                self.answer = ("exit", done.returncode, done.stderr.strip()[-200:])
            except Exception as exc:  # a hung command is an answer too (a failure below)
                self.answer = ("cli failed", repr(exc)[:200])
            for path in ("/wx/me", "/wx/notes"):
                self.probes.append(("GET", path, self.first["access_token"], 403, "user_disabled"))
            self.probes.append(("POST", "/wx/refresh", self.first["refresh_token"], 403, "user_disabled"))
        self.took = time.monotonic() - started
        self.done_at = time.monotonic()

    def _expect_revoked(self, pair, access=True):
        if access:
            self.probes.append(("GET", "/wx/me", pair["access_token"], 401, "token_revoked"))
            self.probes.append(("GET", "/wx/notes", pair["access_token"], 401, "token_revoked"))
        self.probes.append(("POST", "/wx/refresh", pair["refresh_token"], 401, "token_revoked"))


class Prober:
    """Threads sending every revoked token again and again, each on a new connection to a
    random instance (so every worker gets its share), recording what came back."""

    def __init__(self, urls, subjects, report):
        self.urls, self.subjects, self.report = urls, subjects, report
        self.results = []  # (sent at, subject, probe, answer)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(PROBE_THREADS)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)

    def _run(self, i):
        rng = random.Random(i)
        while not self.stopping.is_set():
            ready = [s for s in self.subjects if s.done_at is not None and s.probes]
            if not ready:
                time.sleep(0.05)
                continue
            subject = rng.choice(ready)
            probe = rng.choice(subject.probes)
            method, path, token, *_ = probe
            answer = call(rng.choice(self.urls), method, path, token=token)
            self.report.add(f"probe {subject.action}", answer)
            with self.lock:
                self.results.append((answer.started, subject, probe, answer))


@pytest.mark.parametrize("fault", ["frozen", "restarted_empty", "restarted_stale"])
def test_revocations_hold_through_a_redis_fault(fault, make_service, redis_server, tmp_path):
    one, two = make_service(start=False), make_service(start=False)
    for instance in (one, two):
        instance.launch()
    for instance in (one, two):
        instance.wait_ready()
    urls = [one.url, two.url]
    report = Report(f"redis {fault}")

    # Users acted upon before the fault (Redis answering; after the snapshot, so a restart
    # with the old data has forgotten them) and during it.
    actions = ("logout", "logout_all", "replay", "disable", "delete")
    before = [Subject(urls, f"r-{fault}-pre-{a}", a) for a in actions]
    during = [Subject(urls, f"r-{fault}-in-{a}", a) for a in actions]
    steady = login(urls[0], f"r-{fault}-steady")

    total = 3 + FAULT_SECONDS + GRACE + CHECK_SECONDS + 3
    with Load(urls, report, seconds=total, prefix=f"r-{fault}-load-"), \
            Prober(urls, before + during, report) as prober:
        time.sleep(2)  # the load has made Redis hold revocations-loaded and users' versions
        redis_server.snapshot()
        for subject in before:
            subject.act(cli_env(one), tmp_path)
        time.sleep(1)
        report.fault()
        if fault == "frozen":
            redis_server.freeze()
        else:
            redis_server.stop()
        actors = [threading.Thread(target=s.act, args=(cli_env(two), tmp_path), daemon=True) for s in during]
        for actor in actors:
            actor.start()
        time.sleep(FAULT_SECONDS)
        if fault == "frozen":
            redis_server.thaw()
        else:
            redis_server.start(keep_data=fault == "restarted_stale")
        report.ended()
        back = report.fault_ended
        for actor in actors:
            actor.join(30)
        time.sleep(GRACE)
        ticks = {pid: cpu_ticks(pid) for instance in (one, two) for pid in instance.worker_pids()}
        time.sleep(CHECK_SECONDS)
        busy = {pid: cpu_ticks(pid) - before_ticks for pid, before_ticks in ticks.items()}
        disabled_login = call(urls[1], "POST", "/wx/login", {"code": code(f"r-{fault}-in-disable")})
        steady_me = [call(url, "GET", "/wx/me", token=steady["access_token"]) for url in urls]

    # A probe must be refused unless it was sent before its action answered, or in the 2 s
    # after Redis answered again.
    honoured, broken = Counter(), []
    for sent, subject, probe, answer in prober.results:
        if sent < subject.done_at or back <= sent < back + GRACE:
            continue
        if (answer.status, answer.slug) == probe[3:]:
            honoured[subject.action] += 1
        else:
            broken.append((f"{subject.action} ({subject.name}) {probe[0]} {probe[1]}", f"sent {sent - back:+.1f}s from Redis answering again",
                           answer, answer.body))
    after_check = [r for r in prober.results if r[0] >= back + GRACE]
    in_fault = [(w, a) for w, a in report.answers if not w.startswith("probe") and w != "login"
                and report.fault_started + 0.2 < a.started < back]
    fault_failures = [(w, a, a.body) for w, a in in_fault if a.status not in (200, 201)]
    report.lost = [str(b[:3]) for b in broken]
    report.notes.update(
        actions={s.name: {"answered": s.answer, "took_s": round(s.took, 2)} for s in before + during},
        probes_honoured=dict(honoured), probes_after_grace=len(after_check),
        worker_cpu_ticks_in_check=busy,
    )
    report.finish()

    problems = {
        "revoked tokens not refused as the contract says, after the action answered (outside the 2 s grace)": broken[:8],
        "protected routes failing while Redis was away": fault_failures[:5],
        "no protected request answered while Redis was away": not in_fault,
        **report.common_problems(LATENCY_BOUND),
        "an action did not finish": [s.name for s in before + during if s.done_at is None],
        "too few probes after the grace (want > 100)": len(after_check) if len(after_check) <= 100 else None,
        "a worker served nothing in the check phase": [pid for pid, t in busy.items() if t <= 0],
        "disabled user's login (want 403 user_disabled)": None if (disabled_login.status, disabled_login.slug) == (403, "user_disabled") else (disabled_login, disabled_login.body),
        "an untouched user's token stopped working": [a for a in steady_me if a.status != 200],
        "log lines with secrets or tracebacks": (log_problems(one) + log_problems(two))[:5],
    }
    assert not {k: v for k, v in problems.items() if v}
