"""Figure 2: ``GET /wx/me`` with a valid token against a bare Flask JSON route, with
BENCH_REDIS_URL's Redis (if set) and without Redis (one database query a request).

All are served at once by ``gunicorn -c gunicorn.conf.py``; wrk runs against each in turn,
interleaved, and the ratios of the medians are printed. A third route, ``/floor`` of
``floor_app.py``, is wxlogin without authentication: ``floor / bare`` is the most that
making authentication cheaper could reach.
"""

import argparse
import json
from contextlib import ExitStack

import harness


def measure(rounds=3, seconds=8, connections=64):
    harness.reset_database()
    with ExitStack() as stack:
        url, master = stack.enter_context(harness.service())
        db_url, db_master = stack.enter_context(harness.service(REDIS_URL=""))  # a query each
        bare_url, bare_master = stack.enter_context(harness.gunicorn("bare_app:app"))
        floor_url, floor_master = stack.enter_context(harness.gunicorn("floor_app:app"))
        token = harness.login_tokens(url, "bench")["access_token"]
        db_token = harness.login_tokens(db_url, "bench-db")["access_token"]
        results = harness.alternate(rounds, {
            "bare": lambda: harness.wrk(f"{bare_url}/bare", connections=connections, seconds=seconds),
            "floor": lambda: harness.wrk(f"{floor_url}/floor", connections=connections, seconds=seconds),
            "me": lambda: harness.wrk(f"{url}/wx/me", script="token.lua", connections=connections,
                                      seconds=seconds, env={"TOKEN": token}),
            "me db": lambda: harness.wrk(f"{db_url}/wx/me", script="token.lua", connections=connections,
                                         seconds=seconds, env={"TOKEN": db_token}),
        })
        for name, process in (("bare", bare_master), ("floor", floor_master), ("me", master), ("me db", db_master)):
            results[name]["memory_mib"] = harness.peak_memory_mib(process)
    results["ratio"] = results["me"]["rps"] / results["bare"]["rps"]
    results["floor ratio"] = results["floor"]["rps"] / results["bare"]["rps"]
    results["me / floor"] = results["me"]["rps"] / results["floor"]["rps"]
    results["me db ratio"] = results["me db"]["rps"] / results["bare"]["rps"]
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(measure(args.rounds, args.seconds), indent=2))
