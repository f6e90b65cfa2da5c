"""Issue 17: the CPU one login costs, in the gunicorn worker (and in WeChat's simulator and
PostgreSQL beside it), with WeChat answering at once.

One gevent worker of the service as deployed, and one of a bare Flask route, both run at
once; wrk logs in against the first and GETs the second in turn, interleaved. The CPU
figures come from ``/proc/<pid>/stat`` (user + system time) read before and after each
run, so a noisy neighbour on the cores does not change them; throughput does, hence the
ratio of two throughputs measured side by side.

    python bench/login_cpu.py [--rounds 3] [--seconds 8]
"""

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import harness
import requests
import sqlalchemy as sa

USERS = 1000  # login.lua's pool of returning users (its USERS)



def spent(before, after):
    """CPU ms spent between two readings; a process new since ``before`` counts in full."""
    return sum(ms - before.get(pid, 0.0) for pid, ms in after.items())


class Logins:
    """Counts successful logins from the audit trail (exact, unlike wrk's rate × time), and
    lists the PostgreSQL backends serving the benchmark's database (a lower bound: a
    backend that closes during a run takes its CPU time with it)."""

    def __init__(self, url=harness.DATABASE_URL):
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.postgres = url.startswith("postgresql")

    def count(self):
        with self.engine.connect() as connection:
            return connection.scalar(sa.text("SELECT count(*) FROM login_attempts WHERE outcome = 'ok'"))

    def backends(self):
        if not self.postgres:
            return []
        with self.engine.connect() as connection:
            return list(connection.scalars(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )))


def log_everyone_in(url, tag="warm-up"):
    """One first login for each of login.lua's users, so that every measured login is a
    returning user's (a first login does more: the unionid looked up, the user created)."""
    with requests.Session() as http, ThreadPoolExecutor(8) as pool:
        def login(n):
            http.post(f"{url}/wx/login", json={"code": f"sim:user{n}:{tag}"}, timeout=30).raise_for_status()
        list(pool.map(login, range(1, USERS + 1)))


def login_run(url, worker, simulator, logins, seconds, connections):
    """One wrk run of logins, with the CPU each process spent on them."""
    backends = logins.backends()
    count, pg_ms = logins.count(), harness.cpu_ms(backends)
    worker_ms, sim_ms = harness.cpu_ms([worker]), harness.cpu_ms([simulator])
    result = harness.wrk(f"{url}/wx/login", script="login.lua", connections=connections, seconds=seconds)
    done = logins.count() - count
    after_pg = harness.cpu_ms(set(backends) | set(logins.backends()))
    per_login = lambda ms: ms / done if done else float("nan")  # noqa: E731
    return {**result, "logins": done,
            "worker_cpu_ms": per_login(spent(worker_ms, harness.cpu_ms([worker]))),
            "simulator_cpu_ms": per_login(spent(sim_ms, harness.cpu_ms([simulator]))),
            "postgres_cpu_ms": per_login(spent(pg_ms, after_pg))}


def bare_run(url, worker, seconds, connections):
    before = harness.cpu_ms([worker])
    result = harness.wrk(f"{url}/bare", connections=connections, seconds=seconds)
    answered = result["rps"] * seconds  # near enough for the yardstick
    return {**result, "worker_cpu_ms": spent(before, harness.cpu_ms([worker])) / answered}


def measure(rounds=3, seconds=8, connections=64):
    """CPU ms per login (worker, simulator, PostgreSQL), logins/s, and logins/s ÷ the bare
    route's req/s; each figure the median of ``rounds`` interleaved runs."""
    harness.reset_database()
    logins = Logins()
    with ExitStack() as stack:  # harness.service(0), with the simulator process kept
        simulator_url, simulator_process = stack.enter_context(harness.simulator_process(0))
        url, master = stack.enter_context(harness.gunicorn(WX_API_BASE=simulator_url, WEB_CONCURRENCY="1"))
        bare_url, bare_master = stack.enter_context(harness.gunicorn("bare_app:app", WEB_CONCURRENCY="1"))
        worker, bare_worker = harness.worker_pids(master)[0], harness.worker_pids(bare_master)[0]
        simulator = simulator_process.pid
        runs = {
            "login": lambda: login_run(url, worker, simulator, logins, seconds, connections),
            "bare": lambda: bare_run(bare_url, bare_worker, seconds, connections),
        }
        log_everyone_in(url)
        harness.alternate(1, runs)  # warm-up: caches, pools and prepared statements filled
        results = harness.alternate(rounds, runs)
    logins.engine.dispose()
    results["ratio"] = results["login"]["rps"] / results["bare"]["rps"]
    results["worker_cpu_ms_per_login"] = results["login"]["worker_cpu_ms"]
    return results


def summary(results):
    login, bare = results["login"], results["bare"]
    return "\n".join([
        f"worker CPU per login    {login['worker_cpu_ms']:6.2f} ms  (target <= 3)",
        f"  simulator per login   {login['simulator_cpu_ms']:6.2f} ms",
        f"  PostgreSQL per login  {login['postgres_cpu_ms']:6.2f} ms",
        f"  bare route per req    {bare['worker_cpu_ms']:6.2f} ms",
        f"logins/s                {login['rps']:8.0f}  (errors {login['errors']})",
        f"bare req/s              {bare['rps']:8.0f}",
        f"login / bare            {results['ratio']:8.3f}",
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print every figure as JSON too")
    args = parser.parse_args()
    measured = measure(args.rounds, args.seconds)
    if args.json:
        print(json.dumps(measured, indent=2))
    print(summary(measured))
