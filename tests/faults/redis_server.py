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

    def start(self, keep_data=False, timeout=15, replica_of=None):
        """Start (again, on the same port). ``keep_data``: load the last snapshot, if any;
        else the snapshot is deleted first and Redis comes up empty. ``replica_of``: the
        port of a master to replicate."""
        assert not self.running, "already running"
        if not keep_data:
            (self.folder / "dump.rdb").unlink(missing_ok=True)
        replication = ["--replicaof", "127.0.0.1", str(replica_of)] if replica_of else []
        self.spawn(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--dbfilename", "dump.rdb",
             "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning", *replication],
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


class PrivateSentinelSet:
    """A master, a replica and three sentinels (``redis-server --sentinel``), each on a free
    port of 127.0.0.1: the service reaches them as ``redis+sentinel://.../wxlogin``. The
    sentinels call the master down after ``DOWN_AFTER_MS`` without an answer."""

    SERVICE = "wxlogin"
    DOWN_AFTER_MS = 1000

    def __init__(self, folder):
        self.folder = Path(folder)
        self.master = PrivateRedis(self.folder / "master")
        self.replica = PrivateRedis(self.folder / "replica")
        self.sentinels = [PrivateSentinel(self.folder / f"sentinel{i}") for i in range(3)]

    @property
    def url(self):
        locations = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{locations}/{self.SERVICE}"

    def start(self):
        self.master.start()
        self.replica.start(replica_of=self.master.port)
        for sentinel in self.sentinels:
            sentinel.start(self.master.port, self.SERVICE, self.DOWN_AFTER_MS)
        return self

    def master_port(self):
        """The master's port as the sentinels now say it (None while they know none)."""
        try:
            address = self.sentinels[0].client(1).execute_command("SENTINEL", "get-master-addr-by-name", self.SERVICE)
        except Exception:
            return None
        return int(address[1]) if address else None

    def replica_in_sync(self):
        try:
            info = self.replica.client(1).info("replication")
        except Exception:
            return False
        return info.get("master_link_status") == "up"

    def stop(self):
        for server in (*self.sentinels, self.replica, self.master):
            if server.running:
                server.stop()


class PrivateSentinel(PrivateRedis):
    def start(self, master_port, service, down_after_ms, timeout=15):
        conf = self.folder / "sentinel.conf"  # sentinels rewrite their file: one each
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndaemonize no\ndir {self.folder}\nloglevel warning\n"
            f"sentinel monitor {service} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
            f"sentinel failover-timeout {service} 10000\nsentinel parallel-syncs {service} 1\n"
        )
        self.spawn(["redis-server", str(conf), "--sentinel"], self.logfile)
        return self.wait_until(
            self._pong, timeout, 0.05,
            exited=lambda: f"redis sentinel exited: {self.logfile.read_text()[-2000:]}",
            gave_up=lambda: "private sentinel did not come up",
        )
