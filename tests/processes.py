"""Starting the service as it is deployed: the standalone simulator and gunicorn, each a
process of its own, in production mode."""

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt as pyjwt
import requests

from wxlogin.security import keys, signing

from .conftest import ES256, PRIVATE_KEY, free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
APPID, SECRET = "wxprod0000000001", "production-secret-for-tests"
JWT_KEY = "production-signing-key-" + "p" * 32
ENCRYPTION_KEY = "cHJvZHVjdGlvbi1lbmNyeXB0aW9uLWtleS0zMmJ5dGU="  # base64 of 32 bytes


def sign_as_service(payload):
    """``payload`` signed as the service under test signs: its key, algorithm and kid."""
    if ES256:
        private = keys.load_private_key(PRIVATE_KEY)
        return pyjwt.encode(payload, private, "ES256", headers={"kid": keys.key_id(private.public_key())})
    return pyjwt.encode(payload, JWT_KEY, "HS256", headers={"kid": signing.secret_key_id(JWT_KEY)})


def production_env(database_url, redis_url=None, **extra):
    """The environment of a production deployment on this machine (nothing inherited that
    the app reads, so a developer's own settings cannot leak in)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WX_", "JWT_", "FLASK_", "LOGIN_"))}
    # ES256 in production also needs its own session-key encryption keys (config.py).
    signing = ({"JWT_PRIVATE_KEY": PRIVATE_KEY, "SESSION_KEY_ENCRYPTION_KEYS": ENCRYPTION_KEY} if ES256
               else {"JWT_SECRET_KEY": JWT_KEY})
    env = {
        **clean,
        "DATABASE_URL": database_url,
        **signing,
        "WX_APPID": APPID,
        "WX_SECRET": SECRET,
        "WX_TIMEOUT": "1",
        **extra,
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def flask(env, *args, cwd):
    subprocess.run([BIN / "flask", "--app", "wxlogin", *args], cwd=cwd, env=env, check=True)


def start(command, url, env, cwd, log=None):
    """Start ``command`` and wait until ``url`` answers; returns the process. Its stderr (its
    log) is kept for ``stop``, or written to the file ``log``, to be read while it runs."""
    def popen(stderr):
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)

    if log:
        with open(log, "w") as stderr:  # the process has its own copy
            process = popen(stderr)
    else:
        process = popen(subprocess.PIPE)
    process.log = log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited: {read_log(process)[-2000:]}")
        try:
            requests.get(url, timeout=5)
            return process
        except requests.RequestException:  # not listening yet, or workers still booting
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"{url} did not come up")


def start_simulator(env, cwd):
    """The standalone simulator; returns (process, its URL) and points ``env`` at it."""
    port = free_port()
    env["WX_API_BASE"] = f"http://127.0.0.1:{port}"
    command = [BIN / "flask", "--app", "wxlogin", "--debug", "simulator", "--port", str(port)]
    return start(command, f"{env['WX_API_BASE']}/sns/jscode2session", env, cwd), env["WX_API_BASE"]


def start_gunicorn(env, workers=2, app="wsgi:app", log=None):
    """``gunicorn -w N wsgi:app`` from the repository, as the README deploys it."""
    url = f"http://127.0.0.1:{free_port()}"
    command = [BIN / "gunicorn", "-w", str(workers), "-b", url.removeprefix("http://"), app]
    return start(command, f"{url}/healthz", env, ROOT, log=log), url


def read_log(process):
    """What the process has written to stderr (all of it, once it has exited)."""
    return Path(process.log).read_text() if process.log else process.stderr.read()


def stop(*processes):
    """Stop the processes; returns what they wrote to stderr (their logs)."""
    logs = []
    for process in processes:
        process.terminate()
        process.wait(15)
        logs.append(read_log(process))
    return "".join(logs)
