"""Figure 2: ``GET /wx/me`` with a valid token against a bare Flask JSON route.

Both are served at once by ``gunicorn -c gunicorn.conf.py``; wrk runs against each in turn,
interleaved, and the ratio of the medians is printed.
"""

import argparse
import json

import harness


def measure(rounds=3, seconds=8, connections=64):
    harness.reset_database()
    with harness.service() as (url, master), harness.gunicorn("bare_app:app") as (bare_url, bare_master):
        token = harness.login_tokens(url, "bench")["access_token"]
        results = harness.alternate(rounds, {
            "bare": lambda: harness.wrk(f"{bare_url}/bare", connections=connections, seconds=seconds),
            "me": lambda: harness.wrk(f"{url}/wx/me", script="token.lua", connections=connections,
                                      seconds=seconds, env={"TOKEN": token}),
        })
        results["bare"]["memory_mib"] = harness.peak_memory_mib(bare_master)
        results["me"]["memory_mib"] = harness.peak_memory_mib(master)
    results["ratio"] = results["me"]["rps"] / results["bare"]["rps"]
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(measure(args.rounds, args.seconds), indent=2))
