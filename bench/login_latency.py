"""Figure 1: login throughput with 100 ms of WeChat latency against 0 ms, 64 clients.

Two copies of the service run at once, each in front of its own simulator (one answering
at once, one after ``--latency-ms``), both on one database; wrk logs in against each in
turn, interleaved. Each login is a returning user of a pool of 1,000, with a fresh code.
"""

import argparse
import json
from contextlib import ExitStack

import harness


def measure(latency_ms=100, rounds=3, seconds=8, connections=64):
    harness.reset_database()
    with ExitStack() as stack:
        fast_url, fast = stack.enter_context(harness.service(0))
        slow_url, slow = stack.enter_context(harness.service(latency_ms))
        run = lambda url: lambda: harness.wrk(f"{url}/wx/login", script="login.lua",  # noqa: E731
                                              connections=connections, seconds=seconds)
        harness.alternate(1, {"warm-up 0 ms": run(fast_url), "warm-up slow": run(slow_url)})
        results = harness.alternate(rounds, {"0ms": run(fast_url), f"{latency_ms}ms": run(slow_url)})
        results["0ms"]["memory_mib"] = harness.peak_memory_mib(fast)
        results[f"{latency_ms}ms"]["memory_mib"] = harness.peak_memory_mib(slow)
    results["ratio"] = results[f"{latency_ms}ms"]["rps"] / results["0ms"]["rps"]
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(measure(args.latency_ms, args.rounds, args.seconds), indent=2))
