"""Private services for the fault suite: a PostgreSQL cluster, a MariaDB, a Redis, gunicorn
instances and fake WeChat servers, all on 127.0.0.1, all children of this process, all ours
to stop, freeze and thaw. Nothing here touches the machine's shared PostgreSQL, MariaDB or Redis.

PostgreSQL's backends call setsid() when the postmaster forks them (each is a process group
of its own), so one ``killpg`` of the postmaster's group does not reach them: ``freeze``
stops the postmaster first (it can fork no new backend while stopped), then every process
whose parent is the postmaster, read from /proc, and ``thaw`` does the reverse.
"""

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Every server this module started, so the session's last hook can check none outlived it.
STARTED = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin():
    """The folder of ``initdb`` and ``postgres`` (the newest version installed), or None."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0, reverse=True):
        if os.access(f"{folder}/initdb", os.X_OK) and os.access(f"{folder}/postgres", os.X_OK):
            return Path(folder)
    return None


def missing_postgres():
    """Why a private cluster cannot be made here, or None."""
    if postgres_bin() is None:
        return "no initdb/postgres in /usr/lib/postgresql/*/bin"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no 'postgres' OS user to run a private cluster as"
    if os.geteuid() != 0:
        return "the private cluster is run as the postgres user: the suite must run as root"
    return None


def missing_redis():
    return None if shutil.which("redis-server") else "no redis-server on PATH"


def mariadb_bin():
    """(mariadb-install-db, mariadbd) paths, or None when either is missing."""
    install = shutil.which("mariadb-install-db")
    server = shutil.which("mariadbd") or next(
        (p for p in ("/usr/sbin/mariadbd", "/usr/libexec/mariadbd") if os.access(p, os.X_OK)), None)
    return (install, server) if install and server else None


def missing_mariadb():
    """Why a private MariaDB cannot be made here, or None."""
    if mariadb_bin() is None:
        return "no mariadb-install-db/mariadbd installed"
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return "PyMySQL is not installed"
    return None


def _children(pid):
    """Pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _state(pid):
    """The one-letter state of a process (R, S, T, Z...), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_port(port, timeout, process=None, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


class PrivatePostgres:
    """A throwaway cluster (trust auth, fsync off) in ``folder``, owned by the postgres user.

    ``synchronous_commit`` stays on: a commit is in the kernel's page cache before it is
    acknowledged, so a crash of the cluster (``kill``) loses nothing committed, as on a real
    server (fsync off only risks data if the machine itself goes down)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.sockets = self.folder / "sock"
        self.logfile = self.folder / "postgres.log"
        self.bin = postgres_bin()
        self.port = free_port()
        self.process = None
        self.frozen = []
        user = pwd.getpwnam("postgres")
        self._uid, self._gid = user.pw_uid, user.pw_gid
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        # The postgres user must reach the folder: every parent needs search permission.
        for parent in [self.folder, *self.folder.parents]:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
        for path in (self.folder, self.sockets):
            os.chown(path, self._uid, self._gid)
        subprocess.run(
            [self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            user=self._uid, group=self._gid, check=True, capture_output=True, cwd=self.folder,
        )

    @property
    def url(self):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout=30):
        """Start (or start again, on the same data and port)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        log = open(self.logfile, "ab")
        self.process = subprocess.Popen(
            [self.bin / "postgres", "-D", self.data, "-p", str(self.port), "-k", self.sockets,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB",
             "-c", "log_min_messages=warning"],
            user=self._uid, group=self._gid, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, cwd=self.folder,
        )
        log.close()
        STARTED.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.logfile.read_text()[-2000:]}")
            ready = subprocess.run(
                [self.bin / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
                capture_output=True,
            )
            if ready.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("private postgres did not become ready")

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def freeze(self):
        """SIGSTOP the postmaster, then every child of it (backends, background workers)."""
        pid = self.process.pid
        _signal(pid, signal.SIGSTOP)
        self.frozen = [pid]
        for _ in range(3):  # a backend forked just before the postmaster stopped
            for child in _children(pid):
                if child not in self.frozen:
                    _signal(child, signal.SIGSTOP)
                    self.frozen.append(child)
            time.sleep(0.02)

    def thaw(self):
        for pid in reversed(self.frozen):
            _signal(pid, signal.SIGCONT)
        self.frozen = []

    def stop(self, timeout=20):
        """Fast shutdown (SIGINT to the postmaster); immediate, then SIGKILL, if it lingers."""
        if self.frozen:
            self.thaw()
        if not self.running:
            return
        pid = self.process.pid
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
            _signal(pid, sig)
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(c) for c in _children(pid)):
            time.sleep(0.05)

    def kill(self):
        """The cluster dies at once (no shutdown): a crash. ``start`` recovers it."""
        if self.frozen:
            self.thaw()
        if self.running:
            children = _children(self.process.pid)
            _signal(self.process.pid, signal.SIGKILL)
            for child in children:
                _signal(child, signal.SIGKILL)
            self.process.wait(5)

    def query(self, sql, params=None, timeout=10):
        import psycopg

        with psycopg.connect(self.dsn, connect_timeout=timeout, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def leftovers(self):
        """Processes still running from this cluster's data folder."""
        return [pid for pid, cmd in _cmdlines() if str(self.data) in cmd and "postgres" in cmd]


class PrivateRedis:
    """``redis-server`` on a free port of 127.0.0.1. Without persistence unless a snapshot
    is taken with ``snapshot()``: then the next ``start`` loads it (stale data)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = None
        self.frozen = False

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def client(self, timeout=2):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout)

    def start(self, keep_data=False, timeout=15):
        """Start (again, on the same port). ``keep_data``: load the last snapshot, if any;
        else the snapshot is deleted first and Redis comes up empty."""
        assert not self.running, "already running"
        if not keep_data:
            (self.folder / "dump.rdb").unlink(missing_ok=True)
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--dbfilename", "dump.rdb",
             "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=self.folder,
        )
        log.close()
        STARTED.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.folder / 'redis.log').read_text()[-2000:]}")
            try:
                if self.client(0.5).ping():
                    return self
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("private redis did not come up")

    def snapshot(self):
        """SAVE: what Redis holds now is what a ``start(keep_data=True)`` comes back with."""
        self.client().save()

    def freeze(self):
        os.killpg(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if self.frozen:
            os.killpg(self.process.pid, signal.SIGCONT)
            self.frozen = False

    def stop(self):
        """SIGTERM (with ``--save ""`` nothing is written on the way out), SIGKILL if slow."""
        self.thaw()
        if not self.running:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            _signal(self.process.pid, sig)
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue

    def leftovers(self):
        return [pid for pid, cmd in _cmdlines() if cmd.startswith("redis-server") and f":{self.port}" in cmd]


class PrivateMariaDB:
    """A throwaway MariaDB (``mariadb-install-db`` + ``mariadbd``) in ``folder``, on a free
    port of 127.0.0.1, with its own socket, pid file and log: the machine's MariaDB (3306)
    and its option files (``--no-defaults``) are never read nor touched.

    ``--skip-grant-tables``: root without a password over TCP (``mysql+pymysql://root@...``).
    Durability stays at the defaults (``innodb_flush_log_at_trx_commit=1``, no ``nosync``):
    a commit is written to InnoDB's redo log before it is acknowledged, so a crash of the
    server (``kill``) loses nothing committed; ``start`` runs InnoDB's crash recovery.

    mariadbd is one process (threads): ``freeze`` is SIGSTOP of its pid, ``thaw`` SIGCONT.
    The database ``test`` is created on the first start."""

    DATABASE = "test"

    def __init__(self, folder):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.socket = self.folder / "mysqld.sock"
        self.pidfile = self.folder / "mariadbd.pid"
        self.logfile = self.folder / "mariadb.log"
        self.tmpdir = self.folder / "tmp"
        self.install, self.server = mariadb_bin()
        self.port = free_port()
        self.process = None
        self.frozen = False
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(exist_ok=True)
        done = subprocess.run(
            [self.install, "--no-defaults", f"--datadir={self.data}", f"--user={self.user}",
             "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
             "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", f"--tmpdir={self.tmpdir}"],
            capture_output=True, text=True, cwd=self.folder, stdin=subprocess.DEVNULL, timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
        self._created = False

    @property
    def url(self):
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{self.DATABASE}"

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self, timeout=30):
        """Start (or start again, on the same data and port; after ``kill``, InnoDB
        recovers)."""
        assert not self.running, "already running"
        log = open(self.logfile, "ab")
        self.process = subprocess.Popen(
            [self.server, "--no-defaults", f"--datadir={self.data}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--user={self.user}",
             "--skip-grant-tables", "--skip-name-resolve", f"--pid-file={self.pidfile}",
             f"--log-error={self.logfile}", f"--tmpdir={self.tmpdir}", "--max-connections=300",
             "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=self.folder,
        )
        log.close()
        STARTED.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}: {self.logfile.read_text(errors='replace')[-2000:]}")
            try:
                self.query("SELECT 1", timeout=1, database=None)
                break
            except Exception:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"private mariadb did not come up: {self.logfile.read_text(errors='replace')[-2000:]}")
        if not self._created:
            self.query(f"CREATE DATABASE IF NOT EXISTS `{self.DATABASE}`", database=None)
            self._created = True
        return self

    def freeze(self):
        """SIGSTOP mariadbd (all its threads): the kernel still accepts connections, no
        answer comes."""
        _signal(self.process.pid, signal.SIGSTOP)
        self.frozen = True
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and _state(self.process.pid) not in ("T", "t", None):
            time.sleep(0.01)

    def thaw(self):
        if self.frozen:
            _signal(self.process.pid, signal.SIGCONT)
            self.frozen = False

    def stop(self, timeout=30):
        """SIGTERM (a normal shutdown), SIGKILL if it lingers."""
        self.thaw()
        if not self.running:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            _signal(self.process.pid, sig)
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue

    def kill(self):
        """mariadbd dies at once (no shutdown): a crash. ``start`` recovers it."""
        self.thaw()
        if self.running:
            _signal(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def query(self, sql, params=None, timeout=10, database=DATABASE):
        """Rows of one statement (autocommit), as tuples; %s placeholders."""
        import pymysql

        # read_timeout too: connect_timeout alone bounds the TCP connect, not the handshake
        # (a frozen server accepts the connection and never greets).
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", database=database,
                               connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
                               autocommit=True, charset="utf8mb4")
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return [tuple(row) for row in cursor.fetchall()]
        finally:
            conn.close()

    def leftovers(self):
        """mariadbd processes still running on this data folder (never the machine's own)."""
        return [pid for pid, cmd in _cmdlines() if "mariadbd" in cmd and f"--datadir={self.data} " in f"{cmd} "]

    def cleanup(self):
        """Stop, and remove the folder (unless FAULTS_KEEP is set)."""
        self.stop()
        if not os.environ.get("FAULTS_KEEP"):
            shutil.rmtree(self.folder, ignore_errors=True)


def _cmdlines():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if cmd and _alive(int(entry)):
                yield int(entry), cmd


class Gunicorn:
    """``gunicorn -w N -b 127.0.0.1:PORT wsgi:app`` from the repository (its gunicorn.conf.py),
    as the README deploys it, with stderr (its JSON log lines) written to a file, and a HOME
    of its own (to see what it leaves there)."""

    def __init__(self, env, folder, workers=2, name="gunicorn"):
        self.folder = Path(folder)
        self.home = self.folder / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.logfile = self.folder / f"{name}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**env, "HOME": str(self.home)}
        self.env.pop("XDG_RUNTIME_DIR", None)  # else gunicorn's control socket would go there
        self.process = None

    def start(self, timeout=60):
        self.launch()
        self.wait_ready(timeout)
        return self

    def launch(self):
        """Start the master without waiting for it (``wait_ready`` does)."""
        log = open(self.logfile, "ab")
        self.process = subprocess.Popen(
            [BIN / "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        STARTED.append(self)
        return self

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log()[-3000:]}")
            try:
                requests.get(f"{self.url}/healthz", timeout=5)
                if len(self.worker_pids()) >= self.workers:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not come up: {self.log()[-3000:]}")

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def worker_pids(self):
        return [pid for pid in _children(self.process.pid) if _alive(pid)] if self.running else []

    def signal(self, sig):
        os.kill(self.process.pid, sig)

    def stop(self, timeout=40):
        """SIGTERM to the master (graceful); SIGKILL to its group if it outlives ``timeout``."""
        if not self.running:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def kill_group(self):
        """Leave nothing behind (after a test that may have left workers orphaned)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def log(self):
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def log_records(self):
        records = []
        for line in self.log().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"unparsed": line})
        return records

    def leftovers(self):
        if self.process is None:
            return []
        found = []
        for pid, _ in _cmdlines():
            try:
                if os.getpgid(pid) == self.process.pid:
                    found.append(pid)
            except ProcessLookupError:
                pass
        return found


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


def flask(env, *args, cwd, check=True):
    return subprocess.run([BIN / "flask", "--app", "wxlogin", *args], cwd=cwd, env=env, check=check,
                          capture_output=True, text=True, timeout=60)


# --- fake WeChat servers ------------------------------------------------------------------


class _SocketServer:
    """A TCP server on 127.0.0.1 handing each accepted connection to ``handle`` in a thread."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closed = threading.Event()
        self.connections = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.handle(conn)
        except OSError:
            pass

    def handle(self, conn):
        raise NotImplementedError

    def close(self):
        self.closed.set()
        self.listener.close()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass


class SilentWeChat(_SocketServer):
    """Accepts, reads the request, and never answers."""

    def handle(self, conn):
        while not self.closed.is_set():
            if not conn.recv(4096):
                return


class TricklingWeChat(_SocketServer):
    """Answers a valid code2session reply, one byte every ``interval`` seconds: each read
    gets a byte well within any per-read timeout, the whole answer takes minutes."""

    def __init__(self, interval=0.5):
        self.interval = interval
        super().__init__()

    def handle(self, conn):
        conn.recv(65536)
        body = json.dumps({"openid": "o-trickle", "session_key": "c2Vzc2lvbmtleTEyMzQ1Ng=="}).encode()
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        for i in range(len(answer)):
            if self.closed.wait(self.interval):
                return
            conn.sendall(answer[i:i + 1])


class SlowWeChat:
    """A valid ``/sns/jscode2session`` answering after ``delay`` seconds; the openid is
    ``o-<name>`` for the code ``<name>:<anything>``. Counts calls in flight."""

    def __init__(self, delay=1.5):
        self.delay = delay
        self.in_flight = 0
        self.calls = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                code = query.get("js_code", [""])[0]
                with outer.lock:
                    outer.in_flight += 1
                    outer.calls += 1
                try:
                    time.sleep(outer.delay)
                    name = code.split(":", 1)[0] or "nobody"
                    body = json.dumps({"openid": f"o-{name}"[:64], "session_key": "c2Vzc2lvbmtleTEyMzQ1Ng=="}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a caller gone (a killed worker, a timed-out client) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Simulator:
    """The standalone WeChat simulator (``flask --app wxlogin --debug simulator``), its
    request log written to a file (a pipe nobody reads would fill up and block it)."""

    def __init__(self, env, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = open(self.folder / "simulator.log", "ab")
        self.process = subprocess.Popen(
            [BIN / "flask", "--app", "wxlogin", "--debug", "simulator", "--port", str(self.port)],
            cwd=self.folder, env={**env, "HOME": str(self.folder)}, stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        STARTED.append(self)
        _wait_port(self.port, 60, self.process, "simulator")

    @property
    def running(self):
        return self.process.poll() is None

    def stop(self):
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def leftovers(self):
        return [self.process.pid] if self.running else []
