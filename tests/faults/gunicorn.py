"""The service as the fault suite runs it: gunicorn instances, the standalone WeChat
simulator and the ``flask`` CLI, all children of this process on 127.0.0.1."""

import json
import os
import signal
import subprocess
from pathlib import Path

import requests

from .servers import (
    BIN,
    ROOT,
    ChildServer,
    alive,
    children,
    cmdlines,
    free_port,
    wait_port,
)


class Gunicorn(ChildServer):
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
        return self.spawn(
            [BIN / "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
            self.logfile, cwd=ROOT, env=self.env,
        )

    def wait_ready(self, timeout=60):
        self.wait_until(
            self._serving, timeout, 0.1,
            exited=lambda: f"gunicorn exited: {self.log()[-3000:]}",
            gave_up=lambda: f"gunicorn did not come up: {self.log()[-3000:]}",
        )

    def _serving(self):
        try:
            requests.get(f"{self.url}/healthz", timeout=5)
            return len(self.worker_pids()) >= self.workers
        except requests.RequestException:
            return False

    def worker_pids(self):
        return [pid for pid in children(self.process.pid) if alive(pid)] if self.running else []

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
        for pid, _ in cmdlines():
            try:
                if os.getpgid(pid) == self.process.pid:
                    found.append(pid)
            except ProcessLookupError:
                pass
        return found


def flask(env, *args, cwd, check=True):
    return subprocess.run([BIN / "flask", "--app", "wxlogin", *args], cwd=cwd, env=env, check=check,
                          capture_output=True, text=True, timeout=60)


class Simulator(ChildServer):
    """The standalone WeChat simulator (``flask --app wxlogin --debug simulator``), its
    request log written to a file (a pipe nobody reads would fill up and block it)."""

    def __init__(self, env, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.spawn(
            [BIN / "flask", "--app", "wxlogin", "--debug", "simulator", "--port", str(self.port)],
            self.folder / "simulator.log", env={**env, "HOME": str(self.folder)},
        )
        wait_port(self.port, 60, self.process, "simulator")

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
