"""The fault suite's private Redis (``redis-server`` on a free port of 127.0.0.1). Nothing
here touches the machine's shared Redis."""

import os
import shutil
import signal
from pathlib import Path

from .servers import ChildServer, cmdlines, free_port


def missing_redis():
    return None if shutil.which("redis-server") else "no redis-server on PATH"


class PrivateRedis(ChildServer):
    """``redis-server`` on a free port of 127.0.0.1. Without persistence unless a snapshot
    is taken with ``snapshot()``: then the next ``start`` loads it (stale data)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.logfile = self.folder / "redis.log"
        self.port = free_port()
        self.process = None
        self.frozen = False

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, timeout=2):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout)

    def start(self, keep_data=False, timeout=15):
        """Start (again, on the same port). ``keep_data``: load the last snapshot, if any;
        else the snapshot is deleted first and Redis comes up empty."""
        assert not self.running, "already running"
        if not keep_data:
            (self.folder / "dump.rdb").unlink(missing_ok=True)
        self.spawn(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--dbfilename", "dump.rdb",
             "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"],
            self.logfile,
        )
        return self.wait_until(
            self._pong, timeout, 0.05,
            exited=lambda: f"redis-server exited: {self.logfile.read_text()[-2000:]}",
            gave_up=lambda: "private redis did not come up",
        )

    def _pong(self):
        try:
            return self.client(0.5).ping()
        except Exception:
            return False

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
        self.signal_until_exit(((signal.SIGTERM, 10), (signal.SIGKILL, 5)))

    def leftovers(self):
        return [pid for pid, cmd in cmdlines() if cmd.startswith("redis-server") and f":{self.port}" in cmd]
