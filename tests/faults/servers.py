"""What the fault suite's private servers share: free ports, /proc, signals by pid, and
``ChildServer``, a server run as a child of this process (its own session, its output in a
log file) that this process alone starts, freezes, thaws and stops.

Every server is on 127.0.0.1 and ours: nothing here touches the machine's shared
PostgreSQL, MariaDB or Redis.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Every server the suite started, so the session's last hook can check none outlived it.
STARTED = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
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


def state(pid):
    """The one-letter state of a process (R, S, T, Z...), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def alive(pid):
    return state(pid) not in (None, "Z")


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


def send_signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def cmdlines():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if cmd and alive(int(entry)):
                yield int(entry), cmd


def wait_port(port, timeout, process=None, what="server"):
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


class ChildServer:
    """A server process of ours, ``process`` (a Popen) once started: a session of its own
    (so a signal to its group reaches nothing else), frozen by SIGSTOP, thawed by SIGCONT,
    stopped and killed by its pid. Subclasses say how to start it, when it is ready and
    what of it may be left running (``leftovers``)."""

    process = None
    frozen = False

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def spawn(self, argv, logfile, **popen):
        """Start ``argv`` (in ``self.folder`` unless ``cwd`` is given), stdout and stderr
        appended to ``logfile``, and remember it in ``STARTED``."""
        log = open(logfile, "ab")
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            **{"cwd": getattr(self, "folder", None), **popen},
        )
        log.close()
        STARTED.append(self)
        return self

    def wait_until(self, ready, timeout, pause, exited, gave_up):
        """Call ``ready()`` every ``pause`` seconds until it is true. RuntimeError with
        ``exited()`` if the process exits first, with ``gave_up()`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(exited())
            if ready():
                return self
            time.sleep(pause)
        raise RuntimeError(gave_up())

    def freeze(self):
        """SIGSTOP the process (all its threads): the kernel still accepts connections, no
        answer comes."""
        send_signal(self.process.pid, signal.SIGSTOP)
        self.frozen = True
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and state(self.process.pid) not in ("T", "t", None):
            time.sleep(0.01)

    def thaw(self):
        if self.frozen:
            send_signal(self.process.pid, signal.SIGCONT)
            self.frozen = False

    def signal_until_exit(self, steps):
        """Thaw, then send each ``(signal, seconds to wait)`` of ``steps`` in turn until the
        process has exited. False when it was not running."""
        self.thaw()
        if not self.running:
            return False
        for sig, wait in steps:
            send_signal(self.process.pid, sig)
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        return True

    def kill(self):
        """The server dies at once (no shutdown): a crash. ``start`` recovers it."""
        self.thaw()
        if self.running:
            send_signal(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
