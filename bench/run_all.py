"""Every figure of issues 5 and 17 in one run, each ratio measured side by side.

    python bench/run_all.py            # about 20 minutes on 2 cores (7 of them --netns)
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 python bench/run_all.py

Prints the ratios and figures against their targets, p50/p99 latency and peak memory per
worker, the same ratios with the app, PostgreSQL and Redis on hosts of their own
(``netns.py``: network namespaces, 0.5 ms each way; needs root; ``--no-netns`` skips it),
and the ES256/HS256 costs of signing and verifying (``sign_verify.py``); writes
``bench/results.json`` and the chart ``bench/results.png``.
"""

import argparse
import json
from pathlib import Path

import harness
import login_cpu
import login_latency
import pool_churn
import protected_route
import sign_verify
import user_scale

HERE = Path(__file__).resolve().parent
RATIOS = {  # figure: (key, target, at least?): the chart's bars
    "login at 100 ms vs 0 ms of WeChat latency": ("login", 0.9, True),
    "GET /wx/me (Redis) vs a bare Flask route": ("protected", 0.6, True),
    "GET /wx/me (no Redis: a query) vs bare": ("protected db", 0.4, True),
    "no-auth route of this app vs bare (floor)": ("floor", 0.85, True),
    "login (WeChat at 0 ms) vs bare, 1 worker": ("login vs bare", 0.1, True),
    "login p50, 1M users vs 1k": ("scale login", 1.2, False),
    "GET /wx/me p50, 1M users vs 1k": ("scale me", 1.2, False),
}
FIGURES = {  # figure: (key, target, at least?)
    "worker CPU per login, ms": ("login cpu ms", 3, False),
    "DB connections opened per 10,000 requests": ("churn", 1, False),
    "peak RSS per worker, MiB (GET /wx/me)": ("memory", 80, False),
}


def run(rounds, seconds, netns=True):
    login = login_latency.measure(rounds=rounds, seconds=seconds)
    protected = protected_route.measure(rounds=rounds, seconds=seconds)
    cpu = login_cpu.measure(rounds=rounds, seconds=seconds)
    churn = pool_churn.measure(seconds=seconds)
    scale = user_scale.measure(rounds=max(rounds, 5), seconds=seconds)  # latency at low load: noisier
    results = {
        "machine": harness.machine(),
        "redis": bool(harness.REDIS_URL),
        "ratios": {
            "login": login["ratio"],
            "protected": protected["ratio"],
            "protected db": protected["me db ratio"],
            "floor": protected["floor ratio"],
            "login vs bare": cpu["ratio"],
            "scale login": scale["login ratio"],
            "scale me": scale["me ratio"],
        },
        "figures": {
            "login cpu ms": cpu["worker_cpu_ms_per_login"],
            "churn": churn["per 10,000 requests"],
            "memory": max(protected["me"]["memory_mib"], protected["me db"]["memory_mib"]),
        },
        "login": login,
        "protected": protected,
        "login cpu": cpu,
        "churn": churn,
        "scale": scale,
        "tokens": sign_verify.measure(),
    }
    if netns:
        import netns as namespaces  # root only

        results["netns"] = namespaces.measure(rounds=rounds, seconds=seconds)
    return results


def report(results):
    print(f"# {results['machine']}; Redis: {'yes' if results['redis'] else 'no'}")
    for table, values in ((RATIOS, results["ratios"]), (FIGURES, results["figures"])):
        for name, (key, target, at_least) in table.items():
            value = values[key]
            met = value >= target if at_least else value <= target
            print(f"{name:45s} {value:7.2f}  target {'>=' if at_least else '<='} {target}  {'met' if met else 'MISSED'}")
    print(f"\n{'run':28s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'MiB/worker':>10s}")
    for figure in ("login", "protected", "login cpu", "scale"):
        for name, row in results[figure].items():
            if isinstance(row, dict) and "rps" in row:
                memory = f"{row['memory_mib']:10.0f}" if "memory_mib" in row else f"{'':10s}"
                print(f"{figure + ' ' + name:28s} {row['rps']:8.0f} {row['p50']:8.1f} {row['p99']:8.1f} {memory}")
    cpu = results["login cpu"]["login"]
    print(f"\nCPU per login: worker {cpu['worker_cpu_ms']:.2f} ms, simulator {cpu['simulator_cpu_ms']:.2f} ms, "
          f"PostgreSQL {cpu['postgres_cpu_ms']:.2f} ms")
    churn = results["churn"]
    print(f"connections opened: {churn['connections opened']} over {churn['requests']} requests "
          f"({churn['backends']} backends open)")
    if "netns" in results:
        print("\nratio vs bare, app / PostgreSQL / Redis on hosts of their own (0.5 ms each way) | loopback")
        spread, local = results["netns"]["namespaces"]["ratios"], results["netns"].get("loopback", {}).get("ratios", {})
        for name, value in spread.items():
            print(f"  {name:20s} {value:6.2f} | {local.get(name, float('nan')):6.2f}")
    print()
    sign_verify.report(results["tokens"])


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = [name for name in RATIOS]
    ratios = [results["ratios"][key] for key, _, _ in RATIOS.values()]
    colours = ["tab:green" if (r >= t if up else r <= t) else "tab:red"
               for r, (_, t, up) in zip(ratios, RATIOS.values(), strict=False)]
    left.barh(names, ratios, color=colours)
    for y, (_, target, _) in enumerate(RATIOS.values()):
        left.plot([target, target], [y - 0.4, y + 0.4], color="black")
    left.set_xlabel("ratio (black line: target)")
    left.invert_yaxis()
    runs = {**{f"login {k}": v for k, v in results["login"].items() if isinstance(v, dict) and "rps" in v},
            **{f"{k}": v for k, v in results["protected"].items() if isinstance(v, dict) and "rps" in v}}
    right.bar(list(runs), [row["rps"] for row in runs.values()], color="tab:blue")
    right.set_ylabel("requests/s (64 clients)")
    right.tick_params(axis="x", rotation=30)
    figure.suptitle(f"wxlogin on {results['machine']}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--no-netns", action="store_true", help="skip the run on simulated separate hosts")
    args = parser.parse_args()
    results = run(args.rounds, args.seconds, netns=not args.no_netns)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    chart(results, HERE / "results.png")  # needs matplotlib: pip install -e '.[bench]'
