"""The fault suite's private PostgreSQL cluster, on a free port of 127.0.0.1, run as the
postgres OS user. Nothing here touches the machine's shared PostgreSQL.

PostgreSQL's backends call setsid() when the postmaster forks them (each is a process group
of its own), so one ``killpg`` of the postmaster's group does not reach them: ``freeze``
stops the postmaster first (it can fork no new backend while stopped), then every process
whose parent is the postmaster, read from /proc, and ``thaw`` does the reverse.
"""

import glob
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

from .servers import ChildServer, alive, children, cmdlines, free_port, send_signal


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


class PrivatePostgres(ChildServer):
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
        self.spawn(
            [self.bin / "postgres", "-D", self.data, "-p", str(self.port), "-k", self.sockets,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB",
             "-c", "log_min_messages=warning"],
            self.logfile, user=self._uid, group=self._gid,
        )
        return self.wait_until(
            self._ready, timeout, 0.1,
            exited=lambda: f"postgres exited: {self.logfile.read_text()[-2000:]}",
            gave_up=lambda: "private postgres did not become ready",
        )

    def _ready(self):
        ready = subprocess.run(
            [self.bin / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
            capture_output=True,
        )
        return ready.returncode == 0

    def freeze(self):
        """SIGSTOP the postmaster, then every child of it (backends, background workers)."""
        pid = self.process.pid
        send_signal(pid, signal.SIGSTOP)
        self.frozen = [pid]
        for _ in range(3):  # a backend forked just before the postmaster stopped
            for child in children(pid):
                if child not in self.frozen:
                    send_signal(child, signal.SIGSTOP)
                    self.frozen.append(child)
            time.sleep(0.02)

    def thaw(self):
        for pid in reversed(self.frozen):
            send_signal(pid, signal.SIGCONT)
        self.frozen = []

    def stop(self, timeout=20):
        """Fast shutdown (SIGINT to the postmaster); immediate, then SIGKILL, if it lingers."""
        if not self.signal_until_exit(((signal.SIGINT, timeout), (signal.SIGQUIT, 5), (signal.SIGKILL, 5))):
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(c) for c in children(self.process.pid)):
            time.sleep(0.05)

    def kill(self):
        """The cluster dies at once (no shutdown): a crash. ``start`` recovers it."""
        if self.frozen:
            self.thaw()
        if self.running:
            pids = children(self.process.pid)
            send_signal(self.process.pid, signal.SIGKILL)
            for child in pids:
                send_signal(child, signal.SIGKILL)
            self.process.wait(5)

    def query(self, sql, params=None, timeout=10):
        import psycopg

        with psycopg.connect(self.dsn, connect_timeout=timeout, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def leftovers(self):
        """Processes still running from this cluster's data folder."""
        return [pid for pid, cmd in cmdlines() if str(self.data) in cmd and "postgres" in cmd]
