"""The service's own processes: SIGTERM to the master with a request in flight and an idle
keep-alive connection, kill -9 of a worker mid-login, HUP under load, and two instances on
one host (one stopped, the other unharmed)."""

import os
import signal
import socket
import threading
import time

import pytest

from .conftest import control_sockets, log_problems
from .fake_wechat import SlowWeChat
from .load import Load, call
from .report import Report

pytestmark = pytest.mark.faults


def test_sigterm_finishes_the_request_in_flight_and_exits_promptly(make_service):
    wechat = SlowWeChat(delay=1.5)
    try:
        service = make_service(workers=2, wx=wechat.url, WX_TIMEOUT="5")
        report = Report("SIGTERM to the master (one request in flight, one idle keep-alive connection)")
        idle = socket.create_connection(("127.0.0.1", service.port), timeout=40)
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
        first = idle.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:100]
        result = {}
        flight = threading.Thread(target=lambda: result.setdefault(
            "login", report.add("login", call(service.url, "POST", "/wx/login", {"code": "term:1"}, timeout=40))))
        flight.start()
        deadline = time.monotonic() + 5
        while wechat.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert wechat.in_flight == 1, "the login never reached WeChat"
        report.fault()
        service.signal(signal.SIGTERM)
        try:
            service.process.wait(40)
        except Exception:
            pass
        exited_after = time.monotonic() - report.fault_started
        report.ended()
        flight.join(40)
        idle.settimeout(1)
        try:
            idle_after = idle.recv(65536)
            idle_state = "closed" if idle_after == b"" else f"got {idle_after[:60]!r}"
        except socket.timeout:
            idle_state = "still open after the master exited"
        except OSError as exc:
            idle_state = f"closed ({type(exc).__name__})"
        idle.close()
        login = result.get("login")
        report.notes.update(master_exited_after_s=round(exited_after, 2), exit_code=service.process.returncode,
                            idle_keepalive=idle_state, in_flight_login=repr(login))
        report.finish()
    finally:
        wechat.close()
    problems = {
        "the request in flight did not complete with 200": None if login is not None and login.status == 200 else (login, login and login.body),
        "the master took over 5 s to exit": exited_after if exited_after > 5 else None,
        "the master exited with an error": service.process.returncode not in (0,) and service.process.returncode,
        "control socket under HOME": control_sockets(service),
        "log lines with secrets or tracebacks": log_problems(service)[:5],
    }
    assert not {k: v for k, v in problems.items() if v}


def test_kill_9_of_a_worker_mid_login_leaves_no_half_written_user(make_service, pg):
    wechat = SlowWeChat(delay=1.0)
    report = Report("kill -9 of a worker mid-login")
    names = set()
    lock = threading.Lock()
    stopping = threading.Event()
    try:
        service = make_service(workers=2, wx=wechat.url, WX_TIMEOUT="5")
        workers_before = service.worker_pids()

        def run(i):
            n = 0
            while not stopping.is_set():
                n += 1
                # Half the logins are of ten shared users (concurrent upserts of one openid),
                # half of users never seen before.
                name = f"k9-{i % 10}" if n % 2 else f"k9-new-{i}-{n}"
                with lock:
                    names.add(name)
                report.add("login", call(service.url, "POST", "/wx/login", {"code": f"{name}:{n}"}, timeout=15))

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(20)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while wechat.in_flight < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim = workers_before[0]
        in_flight_at_kill = wechat.in_flight
        report.fault()
        os.kill(victim, signal.SIGKILL)
        report.ended()
        time.sleep(8)
        stopping.set()
        for thread in threads:
            thread.join(20)
        workers_after = service.worker_pids()
        after = report.add("me", call(service.url, "GET", "/healthz"))
    finally:
        stopping.set()
        wechat.close()
    openids = [f"o-{name}" for name in names]
    counts = dict(pg.query("SELECT openid, count(*) FROM identities WHERE openid = ANY(%s) GROUP BY openid", (openids,)))
    users = pg.query("SELECT count(DISTINCT user_id) FROM identities WHERE openid = ANY(%s)", (openids,))[0][0]
    orphans = pg.query("SELECT u.id FROM users u LEFT JOIN identities i ON i.user_id = u.id WHERE i.id IS NULL")
    logged_in = {a.body["user"]["openid"] for _, a in report.answers if a.status == 200 and "user" in (a.body or {})}
    # Only requests the killed worker held (sent before the kill) may go unanswered; every
    # request sent more than 3 s after the kill (the worker is restarted by then) succeeds.
    late = [(a, a.body) for _, a in report.answers if a.started > report.fault_ended + 3 and a.status != 200 and a is not after]
    lost = [(a, a.body) for _, a in report.answers if a.status != 200 and a is not after]
    report.lost = [repr(a) for a, _ in lost]
    report.notes.update(in_flight_at_kill=in_flight_at_kill, users=len(counts), workers_before=workers_before,
                        workers_after=workers_after)
    report.finish()
    problems = {
        "openids with more than one identity row": {o: c for o, c in counts.items() if c != 1},
        "logged-in openids with no identity row": sorted(logged_in - set(counts))[:5],
        "identities and users differ in number (one user per openid here)": None if users == len(counts) else (users, len(counts)),
        "users without an identity (half-written)": orphans,
        "failures more than 3 s after the kill": late[:5],
        "failures other than the killed worker's requests in flight (no answer)": [x for x in lost if x[0].status is not None][:5],
        "requests lost that were sent after the kill": [x for x in lost if x[0].started >= report.fault_started][:5],
        "the killed worker was not replaced": None if len(workers_after) == 2 and victim not in workers_after else workers_after,
        "not serving after the kill": None if after.status == 200 else after,
        "log lines with secrets or tracebacks": log_problems(service)[:5],
    }
    assert not {k: v for k, v in problems.items() if v}


def test_hup_under_load_fails_no_request(make_service):
    service = make_service(workers=2)
    report = Report("HUP to the master under load")
    workers_before = set(service.worker_pids())
    # Clients retry a request only when its keep-alive connection was found closed before
    # any byte of an answer (see load.Client): the old worker closes its idle connections as
    # it goes, which is allowed by HTTP, and such a request was never read by the server.
    with Load(service.url, report, seconds=14, prefix="hup-", retry_closed_keepalive=True) as load:
        time.sleep(4)
        report.fault()
        service.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (set(service.worker_pids()) & workers_before or len(service.worker_pids()) < 2):
            time.sleep(0.1)
        report.ended()
    workers_after = set(service.worker_pids())
    retried = sum(1 for _, a in report.answers if a.retried)
    failed = [(w, a, a.body) for w, a in report.answers if a.status is None or a.status >= 400]
    report.lost = [repr(x[:2]) for x in failed]
    report.notes.update(retried_closed_keepalive=retried, workers_before=sorted(workers_before), workers_after=sorted(workers_after),
                        notes_created=len(load.created))
    report.finish()
    problems = {
        "failed requests": failed[:8],
        "workers not replaced by the HUP": None if workers_after and not workers_after & workers_before else (workers_before, workers_after),
        **report.common_problems(),
        "log lines with secrets or tracebacks": log_problems(service)[:5],
    }
    assert not {k: v for k, v in problems.items() if v}


def test_two_instances_on_one_host_stopping_one_leaves_the_other_whole(make_service, tmp_path):
    home = tmp_path / "shared-home"  # one user running both, as on a host
    one = make_service(workers=2, home=home, name="one")
    two = make_service(workers=2, home=home, name="two")
    sockets_running = control_sockets(one)
    report = Report("two instances on one host, one stopped")
    with Load(two.url, report, seconds=10, threads=10, prefix="two-"):
        time.sleep(2)
        report.fault()
        one.stop(timeout=35)
        report.ended()
        stopped_after = time.monotonic() - report.fault_started
        time.sleep(3)
        sockets_after = control_sockets(two)
        still = [report.add("me", call(two.url, "GET", "/healthz")) for _ in range(20)]
    failed = [(w, a, a.body) for w, a in report.answers if a.status is None or a.status >= 400]
    report.notes.update(control_sockets_while_both_ran=sockets_running, control_sockets_after=sockets_after,
                        first_stopped_after_s=round(stopped_after, 2), first_exit_code=one.process.returncode)
    report.finish()
    problems = {
        "the other instance failed requests": failed[:5],
        "the other instance stopped serving": [a for a in still if a.status != 200],
        "a control socket was made under HOME (should be disabled)": sockets_running + sockets_after,
        "the stopped instance exited with an error": one.process.returncode,
        "log lines with secrets or tracebacks": (log_problems(one) + log_problems(two))[:5],
    }
    assert not {k: v for k, v in problems.items() if v}
