"""Where a protected request's time goes: py-spy samples one gunicorn worker while wrk
drives ``GET /wx/me``, and the share of samples under each of our frames is printed.

    python bench/profile_route.py [--seconds 8] [--route /wx/me]

py-spy needs ptrace rights (root, or CAP_SYS_PTRACE).
"""

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import harness

# Frames worth naming: where the time of a protected request goes, outermost first.
FRAMES = {
    "gunicorn worker (HTTP parsing, writing)": "handle (gunicorn/workers/",
    "Flask request dispatch": "wsgi_app (flask/app.py",
    "request log + metrics": "_finish (wxlogin/ops/request_log.py",
    "flask-jwt-extended verification": "verify_jwt_in_request (flask_jwt_extended",
    "  token signature/claims (PyJWT, uncached)": "decode (jwt/api_jwt.py",
    "  unverified header (PyJWT)": "get_unverified_header (jwt/api_jws.py",
    "  revocation + user check": "check (wxlogin/security/",
    "    Redis MGET": "mget (redis/commands/core.py",
    "    database query": "read_once (wxlogin/database/statements.py",
    "response schema (marshmallow)": "dump (marshmallow/schema.py",
}


def profile(route, seconds):
    harness.reset_database()
    with harness.service() as (url, master):
        token = harness.login_tokens(url, "profiled")["access_token"]
        worker = harness.worker_pids(master)[0]
        load = subprocess.Popen(
            ["wrk", "-t2", "-c64", f"-d{seconds + 2}s", "-s", str(harness.BENCH / "token.lua"), url + route],
            env={"TOKEN": token}, stdout=subprocess.DEVNULL)
        time.sleep(1)
        with tempfile.TemporaryDirectory() as scratch:
            raw = Path(scratch) / "samples.txt"
            subprocess.run([Path(sys.executable).parent / "py-spy", "record", "-p", str(worker),
                            "-d", str(seconds), "-r", "250", "-f", "raw", "-o", raw],
                           check=True, capture_output=True)
            stacks = raw.read_text().splitlines()
        load.wait()
    return share_by_frame(stacks)


def share_by_frame(stacks):
    total, shares = 0, Counter()
    for line in stacks:
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for name, marker in FRAMES.items():
            if marker in stack:
                shares[name] += int(count)
    return {name: shares[name] / total for name in FRAMES}, total


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--route", default="/wx/me")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    shares, samples = profile(args.route, args.seconds)
    print(f"{samples} samples of one worker under GET {args.route}, share of samples under:")
    for name, share in shares.items():
        print(f"  {share:6.1%}  {name}")
