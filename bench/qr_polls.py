"""1,000 waiting web login polls on one host: their memory and CPU, and how fast a scan
wakes them. Absolute figures, plus the workers' CPU with 1,000 waiting vs none, side by side.

wxlogin runs as deployed (``harness``: 2 gevent workers) on a PostgreSQL database of its own
(BENCH_DATABASE_URL + ``_qr``, dropped after). A second process holds 1,000 polls
``GET /wx/qr-login/<ticket>?wait=30`` (gevent, a socket each: wrk cannot) from SOURCES
addresses, polling again after a timeout as a browser does. Read from /proc and PostgreSQL,
with none waiting and with 1,000: RSS, worker CPU over WINDOW (and over a whole 30 s cycle,
the re-polls included), connections held, the database's transactions. Then simulated users
scan every code at SCAN_RATE; a poll's wake latency runs from its own scan's answer to its
own answer, split by whether it waited in the worker that served the scan (woken in process)
or in the other (woken through Redis, or by that worker's database watcher, every 0.5 s).

    python bench/qr_polls.py                                            # ~2 minutes
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 python bench/qr_polls.py  # and with Redis: ~4
"""

import sys

if __name__ == "__main__" and sys.argv[1:2] == ["--poller"]:
    from gevent import monkey  # the poll client: patched before anything opens a socket

    monkey.patch_all()

import argparse
import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import harness
import redis
import requests
import sqlalchemy as sa

POLLS, WAIT = 1000, 30
WINDOW = 10.0  # seconds of worker CPU time, with the polls waiting and with none
STATS_LAG = 11.0  # PostgreSQL may show an idle backend's counts only 10 s later: wait this long
USERS, SCANNERS, SCAN_RATE = 4, 8, 100  # phones: 4 users on 8 connections; scans a second in all
SETTLE = 3.0  # seconds after the last poll is accepted, for the workers to have read them all
DATABASE_URL = harness.database_named("qr")
DATABASE = sa.make_url(DATABASE_URL).database
ADMIN = sa.create_engine(sa.make_url(DATABASE_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
TICK = os.sysconf("SC_CLK_TCK")
REDIS_PORT = urlsplit(harness.REDIS_URL).port or 6379
# wxlogin limits polls per client IP (600/minute, not switched off by QR_LOGIN_RATE_LIMIT):
# the polls come from this many loopback addresses, 127.0.0.2 on, as browsers would.
SOURCES = 100


def poller(base, tickets_file, out_file):
    """The client process: one connection per ticket, polling until the code is not pending;
    prints "sent" once every first poll is sent; writes each poll's local address (which says
    which worker it reached), answers (when, status, when asked) and errors (when, what).
    Times are time.monotonic(): CLOCK_MONOTONIC, one clock for every process of the host, so
    they compare with the scans' times taken in the other process."""
    import gevent
    import gevent.pool

    address, tickets, records = urlsplit(base), json.loads(Path(tickets_file).read_text()), {}
    first_polls, until = gevent.pool.Group(), time.monotonic() + 150

    def poll(ticket, source):
        record = records[ticket] = {"address": None, "answers": [], "errors": []}
        connection = None
        while time.monotonic() < until:
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=WAIT + 20,
                                                            source_address=(source, 0))
                    connection.connect()
                    record["address"] = "{}:{}".format(*connection.sock.getsockname())
                asked = time.monotonic()
                connection.request("GET", f"/wx/qr-login/{ticket}?wait={WAIT}")
                first_polls.discard(gevent.getcurrent())
                response = connection.getresponse()
                body, status = response.read(), response.status
            except (OSError, http.client.HTTPException) as exc:
                connection, status = None, type(exc).__name__
            if status != 200:  # the error's slug too, when the service answered one
                slug = json.loads(body).get("error", "") if isinstance(status, int) and body[:1] == b"{" else ""
                record["errors"].append([time.monotonic(), f"{status} {slug}".strip()])
                gevent.sleep(1)  # poll_interval: a browser's pause after a failed poll
                continue
            record["answers"].append([time.monotonic(), json.loads(body)["status"], asked])
            if record["answers"][-1][1] != "pending":
                break

    polls = [gevent.spawn(poll, ticket, f"127.0.0.{2 + n % SOURCES}") for n, ticket in enumerate(tickets)]
    for greenlet in polls:
        first_polls.add(greenlet)
    first_polls.join()  # a greenlet leaves the group once its first poll is sent (or it ends)
    print("sent", flush=True)
    gevent.joinall(polls)
    Path(out_file).write_text(json.dumps(records))


def cpu_seconds(pids):
    """utime + stime of the processes (all their threads) in all, from /proc/<pid>/stat."""
    fields = [Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() for pid in pids]
    return sum(int(f[11]) + int(f[12]) for f in fields) / TICK


def rss_mb(pid):
    return int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


def sockets(pids):
    """{pid: [(local port, "remote ip:port")]}: the established TCP connections each process
    holds, its socket inodes (/proc/<pid>/fd) looked up in /proc/net/tcp (IPv4: everything
    here is on 127.0.0.0/8)."""
    by_inode = {}
    for f in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]):
        if f[3] == "01":  # ESTABLISHED; addresses are hex, the IPv4 one little-endian
            (_, local), (ip, remote) = (a.split(":") for a in f[1:3])
            remote_ip = socket.inet_ntoa(bytes.fromhex(ip)[::-1])
            by_inode[f"socket:[{f[9]}]"] = int(local, 16), f"{remote_ip}:{int(remote, 16)}"
    held = {pid: [] for pid in pids}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError, KeyError):  # closed meanwhile; not TCP
                held[pid].append(by_inode[os.readlink(fd)])
    return held


def database(query):
    with ADMIN.connect() as connection:  # from the database "postgres": these do not count
        return tuple(connection.execute(sa.text(query), {"d": DATABASE}).one())


def snapshot(url, master, workers, redis_client):
    held, port = sockets(workers), urlsplit(url).port
    return {
        "rss_mb": {"master": rss_mb(master.pid), "workers": [rss_mb(pid) for pid in workers]},
        "clients per worker": [sum(local == port for local, _ in held[pid]) for pid in workers],
        "pg connections, busy": database("SELECT count(*), count(*) FILTER (WHERE state <> 'idle') "
                                         "FROM pg_stat_activity WHERE datname = :d"),
        "redis connections of workers": sum(far.endswith(f":{REDIS_PORT}") for c in held.values() for _, far in c),
        "redis connected_clients": redis_client.info("clients")["connected_clients"] if redis_client else 0,
    }


def window(workers):
    """Over WINDOW: the workers' CPU, % of one core; the database's commits and rollbacks a
    second (a watcher's query makes one of each: the pool checkout's pre-ping, in
    autocommit, then the SELECT, rolled back when its session ends)."""
    query = "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = :d"
    (commits, rollbacks), cpu, start = database(query), cpu_seconds(workers), time.monotonic()
    time.sleep(WINDOW)
    (commits_after, rollbacks_after), seconds = database(query), time.monotonic() - start
    return {"workers cpu %": 100 * (cpu_seconds(workers) - cpu) / seconds,
            "db commits/s": (commits_after - commits) / seconds,
            "db rollbacks/s": (rollbacks_after - rollbacks) / seconds}


def create_codes(url, count):
    def one(_):
        response = requests.post(f"{url}/wx/qr-login", json={}, timeout=30)
        response.raise_for_status()
        return response.json()["ticket"], response.json()["scene"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def scan_all(url, tokens, scenes):
    """Scan every scene once, SCAN_RATE a second in all, from SCANNERS connections; returns
    {scene: (when its scan was answered, HTTP status, its connection's local address)} and the
    connections, still open: which worker served each is read while they are."""
    address, done, lock, start = urlsplit(url), {}, threading.Lock(), time.monotonic()
    pending = list(enumerate(scenes))[::-1]
    connections = [http.client.HTTPConnection(address.hostname, address.port, timeout=30) for _ in range(SCANNERS)]

    def scanner(token, connection):
        while True:
            with lock:
                if not pending:
                    return
                i, scene = pending.pop()
            time.sleep(max(0.0, start + i / SCAN_RATE - time.monotonic()))
            try:
                if connection.sock is None:
                    connection.connect()
                local = "{}:{}".format(*connection.sock.getsockname())
                connection.request("POST", "/wx/qr-login/scan", json.dumps({"scene": scene}),
                                   {"Authentication": token, "Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                done[scene] = (time.monotonic(), response.status, local)
            except (OSError, http.client.HTTPException) as exc:
                done[scene] = (time.monotonic(), type(exc).__name__, None)
                connection.close()  # the next scan reconnects

    threads = [threading.Thread(target=scanner, args=(tokens[n % len(tokens)], c)) for n, c in enumerate(connections)]
    [thread.start() for thread in threads], [thread.join() for thread in threads]
    return done, connections


def worker_of(workers, port):
    """{client's "ip:port": the worker holding that connection}, for connections to ``port``."""
    return {remote: pid for pid, held in sockets(workers).items() for local, remote in held if local == port}


@contextlib.contextmanager
def polls_waiting(url, workers, codes):
    """A client process holding a poll on every code; yields once the workers have
    accepted them all and SETTLE has passed: (client pid, when all were sent, the polls'
    records once they have all ended)."""
    scratch = harness.scratch_dir()
    (scratch / "tickets.json").write_text(json.dumps([ticket for ticket, _ in codes]))
    client = subprocess.Popen([sys.executable, __file__, "--poller", url, scratch / "tickets.json",
                               scratch / "polls.json"], stdout=subprocess.PIPE, text=True)

    def records():
        client.wait(WAIT + 60)
        return json.loads((scratch / "polls.json").read_text())

    try:
        if client.stdout.readline().strip() != "sent":
            raise RuntimeError("the poll client failed")
        sent_at = time.monotonic()
        while len(worker_of(workers, urlsplit(url).port)) < len(codes):
            if time.monotonic() > sent_at + 20:
                raise RuntimeError("the workers did not accept every poll")
            time.sleep(0.2)
        time.sleep(SETTLE)
        yield client.pid, sent_at, records
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        shutil.rmtree(scratch)


def wake(url, workers, tokens, codes, records, sent_at):
    """Scan every code while its poll waits: the wake latencies, errors (by when: the
    polls' opening, their waiting and re-polls, the scans), and worker CPU."""
    poll_worker, cpu, scan_start = worker_of(workers, urlsplit(url).port), cpu_seconds(workers), time.monotonic()
    scans, connections = scan_all(url, tokens, [scene for _, scene in codes])
    scan_worker = worker_of(workers, urlsplit(url).port)
    [connection.close() for connection in connections]
    polls, cpu = records(), cpu_seconds(workers) - cpu
    latencies, errors, early, timeouts = {"same worker": [], "other worker": [], "all": []}, [], 0, []
    phase = lambda at: "opening" if at < sent_at + SETTLE else "waiting" if at < scan_start else "scanning"
    for ticket, scene in codes:
        record, (scanned_at, scan_status, scan_address) = polls[ticket], scans.get(scene, (0, None, None))
        errors += [f"{status} while {phase(at)}" for at, status in record["errors"]]
        early += sum(at < scan_start and status != "pending" for at, status, _ in record["answers"])
        timeouts += [at - asked for at, status, asked in record["answers"] if status == "pending"]
        woken = [at for at, status, _ in record["answers"] if status != "pending"]
        if scan_status == 200 and woken:
            latencies["all"].append((woken[0] - scanned_at) * 1000)
            if record["address"] in poll_worker and scan_address in scan_worker:
                same = poll_worker[record["address"]] == scan_worker[scan_address]
                latencies["same worker" if same else "other worker"].append(latencies["all"][-1])
    return {"woken": len(latencies["all"]), "scan errors": sum(s[1] != 200 for s in scans.values()),
            "poll errors": {e: errors.count(e) for e in set(errors)}, "answered before the scans": early,
            "scans/s": len(scans) / (max(s[0] for s in scans.values()) - scan_start),
            "worker cpu ms per scan and wake": 1000 * cpu / len(scans),
            "timed-out polls answered after s": summary(timeouts),  # wait=30: 30 s when on time
            "latency ms": {group: summary(values) for group, values in latencies.items()}}


def summary(values):
    ordered = sorted(values) or [float("nan")]
    return {"n": len(values), "p50": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))],
            "max": ordered[-1]}


def measure(redis_url, polls=POLLS):
    harness.reset_database(DATABASE_URL)
    redis_client = redis.Redis.from_url(redis_url) if redis_url else None
    with harness.service(0, DATABASE_URL=DATABASE_URL, REDIS_URL=redis_url, QR_LOGIN_RATE_LIMIT="off",
                         LOGIN_RATE_LIMIT="off", QR_LOGIN_TTL="900") as (url, master):
        workers = harness.worker_pids(master)
        tokens = [harness.login_tokens(url, f"scanner{i}")["access_token"] for i in range(USERS)]
        codes = create_codes(url, 40)
        with polls_waiting(url, workers, codes) as (_, sent_at, records):  # warm-up: every route, both watchers
            wake(url, workers, tokens, codes, records, sent_at)
        codes = create_codes(url, polls)
        time.sleep(STATS_LAG)  # the warm-up's watchers stop (after 5 s) and its counts show
        result = {"before": snapshot(url, master, workers, redis_client), "idle": window(workers)}
        with polls_waiting(url, workers, codes) as (client, sent_at, records):
            time.sleep(max(0.0, sent_at + STATS_LAG - time.monotonic()))  # the first polls' queries show
            cpu, client_cpu, start = cpu_seconds(workers), cpu_seconds([client]), time.monotonic()
            result["waiting"], result["waiting window"] = snapshot(url, master, workers, redis_client), window(workers)
            time.sleep(max(0.0, start + WAIT - time.monotonic()))  # a whole cycle: each poll times out once
            seconds = time.monotonic() - start
            result["cycle cpu %"] = 100 * (cpu_seconds(workers) - cpu) / seconds
            result["client cpu %"] = 100 * (cpu_seconds([client]) - client_cpu) / seconds
            result.update(wake(url, workers, tokens, codes, records, sent_at))
        result["after"] = snapshot(url, master, workers, redis_client)
    return result


def report(results):
    print(f"# {harness.machine()}; polls ?wait={WAIT}, CPU over {WINDOW:.0f} s, scans at {SCAN_RATE:.0f}/s")
    for name, r in results.items():
        b, w, i, ww, floor = r["before"], r["waiting"], r["idle"], r["waiting window"], 100 / TICK / WINDOW
        print(f"\n## {name}: {r['woken']} woken; polls per worker {w['clients per worker']}; scan errors "
              f"{r['scan errors']}, poll errors {r['poll errors']}, answered early {r['answered before the scans']}")
        print(f"{'':36s} {'no polls':>9s} {'polls wait':>10s}")
        for label, first, second in (
                ("worker RSS MB (sum of 2)", sum(b["rss_mb"]["workers"]), sum(w["rss_mb"]["workers"])),
                ("master RSS MB", b["rss_mb"]["master"], w["rss_mb"]["master"]),
                (f"worker CPU % of a core ({WINDOW:.0f} s)", i["workers cpu %"], ww["workers cpu %"]),
                ("database commits/s", i["db commits/s"], ww["db commits/s"]),
                ("database rollbacks/s", i["db rollbacks/s"], ww["db rollbacks/s"]),
                ("PostgreSQL connections", b["pg connections, busy"][0], w["pg connections, busy"][0]),
                ("  of them busy", b["pg connections, busy"][1], w["pg connections, busy"][1]),
                ("Redis connections of the workers", *(x["redis connections of workers"] for x in (b, w))),
                ("Redis connected_clients (server)", *(x["redis connected_clients"] for x in (b, w)))):
            print(f"{label:36s} {first:9.2f} {second:10.2f}")
        grown = [after - first for after, first in zip(w["rss_mb"]["workers"], b["rss_mb"]["workers"])]
        print(f"memory of the polls: {sum(grown):.1f} MB ({' + '.join(f'{g:.1f}' for g in grown)}); worker RSS "
              f"after the wake {sum(r['after']['rss_mb']['workers']):.1f} MB; client CPU {r['client cpu %']:.1f}%")
        print(f"worker CPU waiting / idle: {'>= ' * (i['workers cpu %'] < floor)}"  # floor: /proc's one tick
              f"{ww['workers cpu %'] / max(i['workers cpu %'], floor):.1f}; over a whole {WAIT} s cycle "
              f"(re-polls included): {r['cycle cpu %']:.2f}% of a core")
        print(f"scans {r['scans/s']:.0f}/s; worker CPU {r['worker cpu ms per scan and wake']:.1f} ms per scan "
              f"and its wake\n{'wake latency ms':30s} {'n':>5s} {'p50':>7s} {'p95':>7s} {'max':>7s}")
        for group, s in [*r["latency ms"].items(), ("timed-out polls, s", r["timed-out polls answered after s"])]:
            print(f"  {group:28s} {s['n']:5d} {s['p50']:7.1f} {s['p95']:7.1f} {s['max']:7.1f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--poller"]:
        sys.exit(poller(*sys.argv[2:5]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--polls", type=int, default=POLLS, help="at most 1,000 per worker (worker_connections)")
    parser.add_argument("--scan-rate", type=float, default=SCAN_RATE, help="scans a second")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    SCAN_RATE = args.scan_rate
    try:
        measured = {"no Redis (database watchers)": measure("", args.polls)}
        if harness.REDIS_URL:
            measured["Redis"] = measure(harness.REDIS_URL, args.polls)
    finally:
        with ADMIN.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    print(json.dumps(measured, indent=2)) if args.json else report(measured)
