"""Starting what a benchmark measures, and measuring it with wrk from a second process.

Everything runs as deployed: ``flask db upgrade``, the standalone WeChat simulator (with an
upstream latency) and ``gunicorn -c gunicorn.conf.py``, each a process of its own. wrk
(``apt install wrk``) drives the load: it is C, so on a small machine it leaves the cores
to the server far more than a Python load generator would.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/wxlogin_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
APPID = "wxbench000000001"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(**extra):
    """A production environment: real secrets, limits off (the load comes from one IP).
    Redis is BENCH_REDIS_URL unless ``REDIS_URL`` is given ("" for none)."""
    redis_url = extra.pop("REDIS_URL", REDIS_URL)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WX_", "JWT_", "FLASK_", "LOGIN_"))}
    env = {
        **clean,
        "DATABASE_URL": DATABASE_URL,
        "JWT_SECRET_KEY": "bench-signing-key-" + "b" * 40,
        "WX_APPID": APPID,
        "WX_SECRET": "bench-secret",
        "LOGIN_RATE_LIMIT": "off",
        "LOGIN_RATE_LIMIT_PER_USER": "off",
        **extra,
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def reset_database(url=DATABASE_URL):
    """Drop and re-create one of the benchmark's own PostgreSQL databases (never a shared
    one: the name comes from BENCH_DATABASE_URL), then migrate it."""
    if url.startswith("postgresql"):
        database = sa.make_url(url).database
        admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
    subprocess.run([BIN / "flask", "--app", "wxlogin", "db", "upgrade"], cwd=ROOT,
                   env=environment(DATABASE_URL=url), check=True, capture_output=True)


def database_named(suffix):
    """BENCH_DATABASE_URL with ``_<suffix>`` added to the database name."""
    url = sa.make_url(DATABASE_URL)
    return url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)


def start(command, url, env):
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited with {process.returncode}")
        try:
            requests.get(url, timeout=5)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def running(command, url, env):
    process = start(command, url, env)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def simulator_process(latency_ms):
    """The standalone simulator answering every WeChat call after ``latency_ms``; yields
    (base URL, its process)."""
    port = free_port()
    command = [BIN / "flask", "--app", "wxlogin", "--debug", "simulator", "--port", str(port),
               "--latency-ms", str(latency_ms)]
    with running(command, f"http://127.0.0.1:{port}/sns/jscode2session", environment()) as process:
        yield f"http://127.0.0.1:{port}", process


@contextmanager
def simulator(latency_ms):
    """As ``simulator_process``; yields the base URL."""
    with simulator_process(latency_ms) as (url, _process):
        yield url


@contextmanager
def gunicorn(app="wsgi:app", **env):
    """``gunicorn -c gunicorn.conf.py <app>``; yields (base URL, master process)."""
    port = free_port()
    command = [BIN / "gunicorn", "-c", ROOT / "gunicorn.conf.py", "--pythonpath", BENCH,
               "-b", f"127.0.0.1:{port}", app]
    url = f"http://127.0.0.1:{port}"
    probe = {"bare_app:app": "/bare", "floor_app:app": "/floor"}.get(app, "/healthz")
    with running(command, url + probe, environment(**env)) as process:
        yield url, process


@contextmanager
def service(latency_ms=0, **env):
    """The simulator plus the app in front of it; yields (base URL, gunicorn master)."""
    with ExitStack() as stack:
        simulator_url = stack.enter_context(simulator(latency_ms))
        yield stack.enter_context(gunicorn(WX_API_BASE=simulator_url, **env))


def worker_pids(master):
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_memory_mib(master):
    """The largest peak resident set (VmHWM) among the master's workers, in MiB."""
    peaks = []
    for pid in worker_pids(master):
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
    return max(peaks)


def cpu_ms(pids):
    """User + system CPU time of each live process of ``pids``, in ms: {pid: ms}."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue  # gone since it was listed
        times[pid] = (int(fields[11]) + int(fields[12])) * tick_ms  # utime, stime
    return times


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, *, script=None, connections=64, seconds=10, env=None):
    """Run wrk; returns {"rps", "p50", "p99", "errors"} (latencies in ms)."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt install wrk")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(BENCH / script)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if done.returncode:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    output = done.stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(number) * UNITS[unit]


def alternate(rounds, runs):
    """Run each named measurement ``rounds`` times, interleaved (A B A B ...), so that a
    noisy neighbour hits both sides alike; returns {name: median of each figure}."""
    results = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return {
        name: {key: statistics.median(r[key] for r in rs) if key != "socket_errors" else rs[-1][key]
               for key in rs[0]}
        for name, rs in results.items()
    }


def login_tokens(url, name):
    response = requests.post(f"{url}/wx/login", json={"code": f"sim:{name}:{time.time_ns()}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def machine():
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"


def scratch_dir():
    return Path(tempfile.mkdtemp(prefix="wxlogin-bench-"))
