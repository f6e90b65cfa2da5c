"""The fault suite's private MariaDB, on a free port of 127.0.0.1. Nothing here touches the
machine's shared MariaDB."""

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from .servers import ChildServer, cmdlines, free_port


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


class PrivateMariaDB(ChildServer):
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

    def start(self, timeout=30):
        """Start (or start again, on the same data and port; after ``kill``, InnoDB
        recovers)."""
        assert not self.running, "already running"
        self.spawn(
            [self.server, "--no-defaults", f"--datadir={self.data}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--user={self.user}",
             "--skip-grant-tables", "--skip-name-resolve", f"--pid-file={self.pidfile}",
             f"--log-error={self.logfile}", f"--tmpdir={self.tmpdir}", "--max-connections=300",
             "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"],
            self.logfile,
        )
        self.wait_until(
            self._answers, timeout, 0.05,
            exited=lambda: f"mariadbd exited with {self.process.returncode}: {self.logfile.read_text(errors='replace')[-2000:]}",
            gave_up=lambda: f"private mariadb did not come up: {self.logfile.read_text(errors='replace')[-2000:]}",
        )
        if not self._created:
            self.query(f"CREATE DATABASE IF NOT EXISTS `{self.DATABASE}`", database=None)
            self._created = True
        return self

    def _answers(self):
        try:
            self.query("SELECT 1", timeout=1, database=None)
            return True
        except Exception:
            return False

    def stop(self, timeout=30):
        """SIGTERM (a normal shutdown), SIGKILL if it lingers."""
        self.signal_until_exit(((signal.SIGTERM, timeout), (signal.SIGKILL, 5)))

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
        return [pid for pid, cmd in cmdlines() if "mariadbd" in cmd and f"--datadir={self.data} " in f"{cmd} "]

    def cleanup(self):
        """Stop, and remove the folder (unless FAULTS_KEEP is set)."""
        self.stop()
        if not os.environ.get("FAULTS_KEEP"):
            shutil.rmtree(self.folder, ignore_errors=True)
