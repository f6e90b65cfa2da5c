"""``GET /wx/me`` with ES256 tokens against HS256 tokens, side by side, 64 clients.

Run as ``protected_route.py`` runs ``/wx/me``: ``flask db upgrade``, the simulator, and
``gunicorn -c gunicorn.conf.py`` for each of, all at once:

- ``HS256``: the service with ``JWT_SECRET_KEY`` only;
- ``ES256``: the service with ``JWT_PRIVATE_KEY`` (a key made for the run);
- ``HS256 uncached`` / ``ES256 uncached``: the same two with the verified-token memory off
  (``nocache_app.py``), so that every request verifies the signature again: the cost of a
  token the first time a process sees it, and a bound on what the memory hides;
- ``bare``: the bare Flask JSON route (``bare_app.py``), the yardstick of ``protected_route``.

A token is made by a login on each signing service (both uncached twins use the same keys
and so the same token); after a 1 s warm-up of each, wrk runs against each in turn, interleaved (A B C D E, then
E D C B A, ...), and each ratio is the median of its per-round ratios of req/s.

The database is SQLite in a scratch folder unless ``BENCH_DATABASE_URL`` is set, and there is
no Redis unless ``BENCH_REDIS_URL`` is set: without Redis each ``/wx/me`` makes one query
(revocations and the user, ``DatabaseTokenStore``) in both columns alike.

    .venv/bin/python bench/signing_route.py                 # ~2 minutes
    .venv/bin/python bench/signing_route.py --rounds 1 --seconds 1   # a smoke test
"""

import argparse
import atexit
import base64
import json
import os
import shutil
import statistics
import tempfile
from contextlib import ExitStack

if "BENCH_DATABASE_URL" not in os.environ:  # before harness reads it: never a shared server
    _scratch = tempfile.mkdtemp(prefix="wxlogin-bench-signing-")
    atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    os.environ["BENCH_DATABASE_URL"] = f"sqlite:///{_scratch}/bench.sqlite"

import harness  # noqa: E402  (after the environment is set)

from wxlogin.security import keys  # noqa: E402


def algorithm_of(token):
    header = token.split(".", 1)[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"]


PAIRS = {  # ratio: (numerator, denominator), each taken within one round
    "ES256 / HS256": ("ES256", "HS256"),
    "ES256 / HS256, uncached": ("ES256 uncached", "HS256 uncached"),
    "HS256 / bare": ("HS256", "bare"),
    "ES256 / bare": ("ES256", "bare"),
    "HS256 uncached / bare": ("HS256 uncached", "bare"),
    "ES256 uncached / bare": ("ES256 uncached", "bare"),
    "HS256 uncached / cached": ("HS256 uncached", "HS256"),
    "ES256 uncached / cached": ("ES256 uncached", "ES256"),
}


def interleaved(rounds, runs):
    """``harness.alternate``, keeping each round: the order reverses every round (A B C, then
    C B A, ...), so that the two sides of each ratio run next to each other and each goes
    first as often; returns the median of each figure, and each ratio of ``PAIRS`` as the
    median of its per-round ratios."""
    names = list(runs)
    samples = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            samples[name].append(runs[name]())
    medians = {name: {key: statistics.median(r[key] for r in rows) for key in ("rps", "p50", "p99", "errors")}
               for name, rows in samples.items()}
    for name, rows in samples.items():
        medians[name]["errors"] = sum(r["errors"] for r in rows)
        medians[name]["rps per round"] = [round(r["rps"]) for r in rows]
    ratios = {label: statistics.median(a["rps"] / b["rps"] for a, b in zip(samples[top], samples[bottom], strict=True))
              for label, (top, bottom) in PAIRS.items()}
    return medians, ratios


def measure(rounds=4, seconds=4, connections=64):
    harness.reset_database()
    private_pem = keys.generate()[0]
    session_keys = base64.urlsafe_b64encode(os.urandom(32)).decode()  # production needs them with ES256
    with ExitStack() as stack:
        simulator = stack.enter_context(harness.simulator(0))
        urls = {}
        for name, app, signing in (
            ("HS256", "wsgi:app", {}),
            ("ES256", "wsgi:app", {"JWT_PRIVATE_KEY": private_pem}),
            ("HS256 uncached", "nocache_app:app", {}),
            ("ES256 uncached", "nocache_app:app", {"JWT_PRIVATE_KEY": private_pem}),
        ):
            urls[name] = stack.enter_context(harness.gunicorn(
                app, WX_API_BASE=simulator, SESSION_KEY_ENCRYPTION_KEYS=session_keys, **signing))[0]
        bare_url = stack.enter_context(harness.gunicorn("bare_app:app"))[0]
        tokens = {}
        for algorithm in ("HS256", "ES256"):
            tokens[algorithm] = harness.login_tokens(urls[algorithm], f"bench-{algorithm}")["access_token"]
            if algorithm_of(tokens[algorithm]) != algorithm:
                raise RuntimeError(f"the {algorithm} service signed with {algorithm_of(tokens[algorithm])}")

        def me(name, duration):
            token = tokens[name.split()[0]]
            return lambda: harness.wrk(f"{urls[name]}/wx/me", script="token.lua", connections=connections,
                                       seconds=duration, env={"TOKEN": token})

        def bare(duration):
            return lambda: harness.wrk(f"{bare_url}/bare", connections=connections, seconds=duration)

        for warm_up in [bare(1), *(me(name, 1) for name in urls)]:  # each worker's first requests
            warm_up()
        order = ["bare", "HS256", "ES256", "ES256 uncached", "HS256 uncached"]  # each pair side by side
        results, ratios = interleaved(rounds, {name: bare(seconds) if name == "bare" else me(name, seconds)
                                               for name in order})
    failed = {name: row["errors"] for name, row in results.items() if row["errors"]}
    if failed:
        raise RuntimeError(f"non-2xx answers: {failed}")
    results["ratios"] = ratios
    results["database"] = harness.DATABASE_URL.split(":", 1)[0]
    results["redis"] = bool(harness.REDIS_URL)
    results["machine"] = harness.machine()
    results["rounds"], results["seconds"], results["connections"] = rounds, seconds, connections
    return results


def report(results):
    print(f"# {results['machine']}; database {results['database']}, Redis: {'yes' if results['redis'] else 'no'}; "
          f"{results['rounds']} rounds of {results['seconds']} s, {results['connections']} clients")
    print(f"{'run':16s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, row in results.items():
        if isinstance(row, dict) and "rps" in row:
            print(f"{name:16s} {row['rps']:8.0f} {row['p50']:8.1f} {row['p99']:8.1f}")
    for name, ratio in results["ratios"].items():
        print(f"{name:28s} {ratio:5.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    measured = measure(args.rounds, args.seconds)
    print(json.dumps(measured, indent=2)) if args.json else report(measured)
