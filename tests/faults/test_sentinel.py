"""Redis as a Sentinel set (a master, a replica, three sentinels) failing over under load:
the master is killed (SIGKILL), the sentinels promote the replica, and logins, tokens,
logouts (honoured by every worker of both instances) and the shared login limit go on,
with no answer outside the documented ones. Run with FAULTS_REDIS=1."""

import time

import pytest

from .conftest import REDIS, log_problems
from .load import LATENCY_BOUND, Load, call, code, login
from .redis_server import PrivateSentinelSet
from .report import Report

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not REDIS, reason="the Redis faults run with FAULTS_REDIS=1"),
]

WARM, AFTER = 4, 8  # seconds of load before the master dies, and after the promotion
PER_USER = 3  # LOGIN_RATE_LIMIT_PER_USER per minute, counted in Redis for both instances


@pytest.fixture
def sentinel_set(tmp_path):
    servers = PrivateSentinelSet(tmp_path / "sentinel").start()
    try:
        deadline = time.monotonic() + 20
        while not (servers.replica_in_sync() and servers.master_port() == servers.master.port):
            assert time.monotonic() < deadline, "the sentinel set did not settle"
            time.sleep(0.1)
        yield servers
    finally:
        servers.stop()


def refused_everywhere(urls, token):
    return [(url, answer) for url in urls for answer in [call(url, "GET", "/wx/me", token=token)]
            if (answer.status, answer.slug) != (401, "token_revoked")]


def test_a_failover_under_load_keeps_logins_tokens_logouts_and_limits(sentinel_set, make_service, pg):
    settings = {"redis": sentinel_set, "LOGIN_RATE_LIMIT_PER_USER": f"{PER_USER}/minute"}
    one, two = make_service(start=False, **settings), make_service(start=False, **settings)
    for instance in (one, two):
        instance.launch()
    for instance in (one, two):
        instance.wait_ready()
    urls = [one.url, two.url]
    report = Report("redis sentinel failover")
    before, during = login(urls[0], "sen-before"), login(urls[1], "sen-during")

    with Load(urls, report, seconds=WARM + 30, prefix="sen-load-", logins=False) as load:
        time.sleep(WARM)
        logout_before = call(urls[0], "POST", "/wx/logout", token=before["access_token"])
        report.fault()
        sentinel_set.master.kill()
        logout_during = call(urls[1], "POST", "/wx/logout", token=during["access_token"])
        deadline = time.monotonic() + 20
        while sentinel_set.master_port() != sentinel_set.replica.port and time.monotonic() < deadline:
            time.sleep(0.05)
        report.ended()  # the sentinels name the new master
        promoted = sentinel_set.master_port() == sentinel_set.replica.port
        time.sleep(AFTER)
        load.stop()

    without_master = report.fault_ended - report.fault_started
    name = "sen-limit"
    limit_answers = [call(urls[n % 2], "POST", "/wx/login", {"code": code(name)}) for n in range(PER_USER + 1)]
    new_login = [login(url, "sen-after") for url in urls]
    failures = [(w, a, a.body) for w, a in report.answers if a.status is None or a.status >= 500]
    undocumented = [(w, a, a.body) for w, a in failures if (a.status, a.slug) != (503, "database_unavailable")]
    ids = list(load.created)
    found = {row[0] for row in pg.query("SELECT id FROM notes WHERE id = ANY(%s)", (ids,))} if ids else set()
    report.lost = [f"note {n}" for n in sorted(set(ids) - found)]
    report.notes.update(seconds_without_master=round(without_master, 2), notes_created=len(load.created),
                        logouts={"before": logout_before.status, "during": logout_during.status})
    report.finish()

    problems = {
        "the sentinels promoted no replica": not promoted,
        "logouts not answered 200": [a for a in (logout_before, logout_during) if a.status != 200],
        "a logged-out token still works somewhere": refused_everywhere(urls, before["access_token"])
        + refused_everywhere(urls, during["access_token"]),
        "answers outside the documented ones": undocumented[:5],
        "notes answered 201 missing from the database": report.lost[:5],
        "the shared per-user limit (want 200 x3 across both instances, then 429)":
            None if [a.status for a in limit_answers] == [200] * PER_USER + [429] else limit_answers,
        "logins after the failover": [a for a in new_login if not a.get("access_token")],
        **report.common_problems(LATENCY_BOUND),
        "log lines with secrets or tracebacks": (log_problems(one) + log_problems(two))[:5],
    }
    assert not {k: v for k, v in problems.items() if v}
