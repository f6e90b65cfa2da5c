"""All three figures of issue 5 in one run, each a ratio measured side by side.

    python bench/run_all.py            # about 10 minutes on 2 cores
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 python bench/run_all.py

Prints the ratios against their targets, p50/p99 latency and peak memory per worker, and
writes ``bench/results.json`` and the chart ``bench/results.png``.
"""

import argparse
import json
from pathlib import Path

import harness
import login_latency
import protected_route
import user_scale

HERE = Path(__file__).resolve().parent
TARGETS = {  # figure: (ratio key, target, at least?)
    "login at 100 ms vs 0 ms of WeChat latency": ("login", 0.9, True),
    "GET /wx/me vs a bare Flask route": ("protected", 0.8, True),
    "  (no-auth route of this app vs bare: ceiling)": ("floor", 0.8, True),
    "login p50, 1M users vs 1k": ("scale login", 1.2, False),
    "GET /wx/me p50, 1M users vs 1k": ("scale me", 1.2, False),
}


def run(rounds, seconds):
    login = login_latency.measure(rounds=rounds, seconds=seconds)
    protected = protected_route.measure(rounds=rounds, seconds=seconds)
    scale = user_scale.measure(rounds=max(rounds, 5), seconds=seconds)  # latency at low load: noisier
    return {
        "machine": harness.machine(),
        "redis": bool(harness.REDIS_URL),
        "ratios": {
            "login": login["ratio"],
            "protected": protected["ratio"],
            "floor": protected["floor ratio"],
            "scale login": scale["login ratio"],
            "scale me": scale["me ratio"],
        },
        "login": login,
        "protected": protected,
        "scale": scale,
    }


def report(results):
    print(f"# {results['machine']}; Redis: {'yes' if results['redis'] else 'no'}")
    for name, (key, target, at_least) in TARGETS.items():
        ratio = results["ratios"][key]
        met = ratio >= target if at_least else ratio <= target
        print(f"{name:45s} {ratio:5.2f}  target {'>=' if at_least else '<='} {target}  {'met' if met else 'MISSED'}")
    print(f"\n{'run':28s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'MiB/worker':>10s}")
    for figure in ("login", "protected", "scale"):
        for name, row in results[figure].items():
            if isinstance(row, dict) and "rps" in row:
                memory = f"{row['memory_mib']:10.0f}" if "memory_mib" in row else f"{'':10s}"
                print(f"{figure + ' ' + name:28s} {row['rps']:8.0f} {row['p50']:8.1f} {row['p99']:8.1f} {memory}")


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = [name for name in TARGETS]
    ratios = [results["ratios"][key] for key, _, _ in TARGETS.values()]
    colours = ["tab:green" if (r >= t if up else r <= t) else "tab:red"
               for r, (_, t, up) in zip(ratios, TARGETS.values(), strict=False)]
    left.barh(names, ratios, color=colours)
    for y, (_, target, _) in enumerate(TARGETS.values()):
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
    args = parser.parse_args()
    results = run(args.rounds, args.seconds)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    chart(results, HERE / "results.png")  # needs matplotlib: pip install -e '.[bench]'
