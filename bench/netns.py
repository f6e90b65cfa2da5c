"""Issue 17, item 5: the figures of protected_route.py and login_latency.py with each part
on a host of its own, simulated: the app (gunicorn + simulator), PostgreSQL, Redis and wrk
each in a network namespace, a veth pair each into a bridge in the root namespace, and
0.5 ms added to every packet a namespace sends (a 1 ms round trip per hop); beside it, the
same deployment on loopback, runs alternating, to show what the round trips cost. Run as
root; needs iproute2, ping, and iptables plus gcc when netem is missing (the fallback below).

    .venv/bin/python bench/netns.py [--rounds 3 --seconds 8 --no-loopback]
"""

import argparse
import atexit
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import harness
import redis

PG_BIN = next(Path("/usr/lib/postgresql").glob("*/bin"))
BRIDGE, GATEWAY = "wxn-br0", "10.77.0.1"
HOSTS = {"client": "10.77.0.2", "app": "10.77.0.3", "db": "10.77.0.4", "redis": "10.77.0.5"}
DELAY_MS = 0.5

# Fallback when the kernel has no sch_netem (nor fq/etf, so no EDT pacing either): each
# namespace's iptables OUTPUT sends its packets to an NFQUEUE, and this program, in that
# namespace, accepts each one DELAY_NS after it was queued. The packet itself waits in the
# kernel (no proxy: TCP runs end to end, as over a slow link); the wait is timed from user
# space (SCHED_FIFO, 1 ns timer slack), so it adds the jitter of a wake-up, and some CPU.
DELAY_LINE = Path(__file__).with_name("delay_line.c")  # compiled at start-up


def sh(*command, check=True):
    return subprocess.run([str(c) for c in command], check=check, capture_output=True, text=True)


def ns(name):
    return ["ip", "netns", "exec", f"wxn-{name}"]


def teardown():
    """Remove what a run (this one or one cut short) made: every wxn- name is ours."""
    for name in HOSTS:  # the pair goes with its root end, at once (a namespace whose last
        sh("ip", "link", "del", f"wxn-{name}-br", check=False)  # sockets linger dies later)
        sh("ip", "netns", "del", f"wxn-{name}", check=False)
    sh("ip", "link", "del", BRIDGE, check=False)


def spawn(stack, command, stop_signal=signal.SIGTERM, **kwargs):
    """Popen, stopped by its own pid when the stack closes (also on error or Ctrl-C)."""
    process = subprocess.Popen([str(c) for c in command], **kwargs)
    stack.callback(lambda: process.poll() is None and (process.send_signal(stop_signal), process.wait(30)))
    return process


def topology(stack, scratch):
    """Namespaces, veths, bridge, delay; returns how the delay was made and ping RTTs."""
    teardown()
    stack.callback(teardown)
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for name, address in HOSTS.items():
        veth = f"wxn-{name}"
        sh("ip", "netns", "add", veth)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", f"{veth}-br")
        sh("ip", "link", "set", f"{veth}-br", "master", BRIDGE, "up")
        sh("ip", "link", "set", veth, "netns", veth)
        sh(*ns(name), "ip", "addr", "add", f"{address}/24", "dev", veth)
        sh(*ns(name), "ip", "link", "set", veth, "up")
        sh(*ns(name), "ip", "link", "set", "lo", "up")
    netem = [sh(*ns(name), "tc", "qdisc", "add", "dev", f"wxn-{name}", "root", "netem", "delay",
                f"{DELAY_MS}ms", check=False) for name in HOSTS]
    method, lines = f"tc netem delay {DELAY_MS}ms on each namespace's veth", []
    if any(done.returncode for done in netem):
        method = f"NFQUEUE delay line, {DELAY_MS} ms on each namespace's egress (netem: {netem[0].stderr.strip()})"
        (scratch / "delay.c").write_text(DELAY_LINE.read_text())
        sh("gcc", "-O2", "-o", scratch / "delay", scratch / "delay.c")
        for name in HOSTS:
            sh(*ns(name), "iptables", "-A", "OUTPUT", "-o", f"wxn-{name}", "-j", "NFQUEUE", "--queue-num", "0")
            lines.append(spawn(stack, [*ns(name), scratch / "delay", int(DELAY_MS * 1e6)], stdout=subprocess.PIPE))
            assert lines[-1].stdout.readline() == b"ready\n"
    rtt = {}
    for source, target in (("client", "app"), ("app", "db"), ("app", "redis")):
        out = sh(*ns(source), "ping", "-q", "-c", 20, "-i", 0.05, HOSTS[target], check=False).stdout
        found = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", out)
        rtt[f"{source}->{target}"] = {"min": float(found[1]), "avg": float(found[2])} if found else out
    return {"delay": method, "hosts": {f"wxn-{k}": v for k, v in HOSTS.items()}, "bridge": f"{BRIDGE} {GATEWAY}",
            "ping_rtt_ms": rtt}, lines


def cpu_seconds(pids):
    return sum(harness.cpu_ms(pids).values()) / 1000


def backends(stack, scratch, host, pre):
    """Our own PostgreSQL cluster and Redis (never the machine's); returns their URLs."""
    data = scratch / f"pg-{host['db']}"
    data.mkdir()
    os.chown(data, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
    sh("runuser", "-u", "postgres", "--", PG_BIN / "initdb", "-D", data, "-A", "trust")
    with open(data / "pg_hba.conf", "a") as hba:  # -A trust covers only loopback
        hba.write("host all all 10.77.0.0/24 trust\n")
    pg_port, redis_port = harness.free_port(), harness.free_port()
    spawn(stack, [*pre["db"], "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                  PG_BIN / "postgres", "-D", data, "-c", f"listen_addresses={host['db']}", "-p", pg_port,
                  "-k", data, "-c", "max_connections=200"], signal.SIGINT, stderr=subprocess.DEVNULL)  # fast stop
    spawn(stack, [*pre["redis"], "redis-server", "--port", redis_port, "--bind", host["redis"], "--save", "",
                  "--appendonly", "no", "--protected-mode", "no"], stdout=subprocess.DEVNULL)
    redis_url = f"redis://{host['redis']}:{redis_port}/0"
    for _ in range(100):  # wait for both (from the root namespace, across the bridge)
        try:
            if sh(PG_BIN / "pg_isready", "-q", "-h", data, "-p", pg_port, check=False).returncode == 0:
                redis.Redis.from_url(redis_url).ping()
                break
        except redis.RedisError:
            pass
        time.sleep(0.2)
    return f"postgresql+psycopg://postgres@{host['db']}:{pg_port}/wxlogin_bench", redis_url


def deploy(stack, scratch, isolated, connections):
    """One whole deployment (own PostgreSQL and Redis, the apps), left running on ``stack``;
    returns its topology, its delay lines, and its wrk runs for a given length."""
    host = {name: HOSTS[name] if isolated else "127.0.0.1" for name in HOSTS}
    pre = {name: ns(name) if isolated else [] for name in HOSTS}
    info, lines = topology(stack, scratch) if isolated else ({"delay": "none (loopback)"}, [])
    database, redis_url = backends(stack, scratch, host, pre)
    harness.reset_database(database)  # CREATE DATABASE, then flask db upgrade
    simulator = f"http://{host['app']}:{harness.free_port()}"  # on the app's host: WeChat is far anyway
    env = {"DATABASE_URL": database, "WX_API_BASE": simulator}

    def serve(command, probe, redis_url=""):
        command = [str(c) for c in [*pre["app"], *command]]  # ip netns exec execs: its pid is the app's
        process = harness.start(command, probe, harness.environment(**env, REDIS_URL=redis_url))
        stack.callback(lambda: (process.terminate(), process.wait(30)))

    serve([harness.BIN / "flask", "--app", "wxlogin", "--debug", "simulator", "--host", host["app"],
           "--port", simulator.rsplit(":", 1)[1], "--latency-ms", 0], f"{simulator}/sns/jscode2session")
    url = {}
    for name, target, probe, app_redis in (("me", "wsgi:app", "/healthz", redis_url),
                                            ("db", "wsgi:app", "/healthz", ""),
                                            ("bare", "bare_app:app", "/bare", ""),
                                            ("floor", "floor_app:app", "/floor", "")):
        url[name] = f"http://{host['app']}:{harness.free_port()}"
        serve([harness.BIN / "gunicorn", "-c", harness.ROOT / "gunicorn.conf.py", "--pythonpath", harness.BENCH,
               "-b", url[name][7:], target], url[name] + probe, app_redis)
    tokens = {name: harness.login_tokens(url[name], "bench")["access_token"] for name in ("me", "db")}
    # wrk in a namespace of its own: requests cross a link as from a load balancer, and
    # bare pays that hop as /wx/me does. harness.wrk runs "wrk" from PATH: this shim.
    shim = scratch / f"bin-{host['client']}"
    shim.mkdir()
    (shim / "wrk").write_text(f'#!/bin/sh\nexec {" ".join(pre["client"])} /usr/bin/wrk "$@"\n')
    (shim / "wrk").chmod(0o755)

    def runs(length):
        def run(path, script=None, token=""):
            return lambda: harness.wrk(path, script=script, connections=connections, seconds=length,
                                       env={"PATH": f"{shim}:{os.environ['PATH']}", "TOKEN": token})
        return {"bare": run(f"{url['bare']}/bare"), "floor": run(f"{url['floor']}/floor"),
                "me redis": run(f"{url['me']}/wx/me", "token.lua", tokens["me"]),
                "me db": run(f"{url['db']}/wx/me", "token.lua", tokens["db"]),
                "login": run(f"{url['me']}/wx/login", "login.lua")}  # 1,000 returning users
    return info, lines, runs


def measure(rounds=3, seconds=8, connections=64, loopback=True):
    """{"namespaces": {...}, "loopback": {...}}, each with its topology, ratios and rows.
    Both deployments run at once and their runs alternate, so that the load of the shared
    machine hits them alike."""
    scratch = harness.scratch_dir()
    os.chmod(scratch, 0o755)  # postgres reaches its data folder inside
    with ExitStack() as stack:
        atexit.register(stack.close)  # also on an unexpected exit; closing twice is a no-op
        stack.callback(sh, "rm", "-rf", scratch)
        made = {"namespaces": deploy(stack, scratch, True, connections)}
        if loopback:
            made["loopback"] = deploy(stack, scratch, False, connections)

        def runs(length):
            return {(where, name): run for where, (_, _, r) in made.items() for name, run in r(length).items()}
        harness.alternate(1, runs(3))  # warm-up (and the login users made)
        lines = made["namespaces"][1]
        before, started = cpu_seconds(line.pid for line in lines), time.monotonic()
        rows = harness.alternate(rounds, runs(seconds))
        if lines:  # the delay lines' CPU, in cores, over the namespaced runs (runs are equally long)
            made["namespaces"][0]["delay_line_cpu"] = (cpu_seconds(line.pid for line in lines) - before) / (
                (time.monotonic() - started) / len(made))
    results = {"machine": harness.machine()}
    for where, (info, _, _) in made.items():
        mine = {name: row for (w, name), row in rows.items() if w == where}
        results[where] = {"topology": info, "rows": mine, "ratios": {
            f"{name} / bare": mine[name]["rps"] / mine["bare"]["rps"] for name in ("me redis", "floor", "me db", "login")}}
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--no-loopback", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind, so that everything is stopped
    print(json.dumps(measure(args.rounds, args.seconds, loopback=not args.no_loopback), indent=2))
