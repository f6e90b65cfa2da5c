"""deploy/Dockerfile and deploy/compose.yaml, built and run as the README's "In containers"
says, with Debian's podman and podman-compose in docker compose's place; then the README's
curl walkthrough against the stack.

Nothing comes from a registry: the Debian base is made with ``debootstrap`` and imported
under the official name, and PostgreSQL and Redis are stand-ins built on it from Debian's
packages (``images/``, named as the official images the compose file asks for). All of it
lives in a private podman storage and configuration under /tmp, removed at the end, so the
machine's own podman is untouched. WeChat is the simulator, added by
``compose.simulator.yaml``. Left out of the plain run (``-m container``): it needs root and
takes two minutes; ``.ci/run`` runs it, and in CI a missing tool fails it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jwt as pyjwt
import pytest
import requests

from wxlogin.security import keys

from ..conftest import free_port
from ..test_readme import run_walkthrough

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COMPOSE = shutil.which("podman-compose") or str(Path(sys.executable).parent / "podman-compose")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def compose_commands():
    text = (ROOT / "README.md").read_text()
    return re.search(r"<!-- compose-commands -->\n```bash\n(.*?)```", text, re.S).group(1)


def _missing():
    if os.geteuid() != 0:
        return "needs root (rootful podman, debootstrap)"
    for tool in ("podman", "debootstrap", "curl", "runc", "/usr/lib/podman/netavark", "/usr/lib/podman/aardvark-dns"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install -y podman debootstrap runc netavark aardvark-dns)"
    if not Path(COMPOSE).exists():
        return "needs podman-compose (the test extra)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _tools_available():
    reason = _missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"container test: {reason}")
    if reason:
        pytest.skip(f"container test: {reason}")


def _run(env, *command, timeout=600, cwd=ROOT):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command[:3]}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def podman():
    """The environment of a private podman: its own storage, networks and state in /tmp,
    the Debian base imported, the stand-ins built."""
    root = Path(tempfile.mkdtemp(prefix="wxlogin-containers-"))
    # Two settings this sandbox needs (harmless elsewhere): crun refuses its hybrid cgroups,
    # and podman's default of 1048576 open files is more than the process may grant.
    (root / "containers.conf").write_text(f"""\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
tmp_dir = "{root}/libpod"
[network]
network_config_dir = "{root}/networks"
""")
    (root / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/storage"\nrunroot = "{root}/run"\n'
    )
    env = {**os.environ, "CONTAINERS_CONF": str(root / "containers.conf"),
           "CONTAINERS_STORAGE_CONF": str(root / "storage.conf")}
    try:
        _run(env, "debootstrap", "--variant=minbase", "bookworm", str(root / "rootfs"),
             "http://deb.debian.org/debian", timeout=600)
        # As the official image is configured: its PATH, and bash as the default command.
        _run(env, "bash", "-o", "pipefail", "-c",
             f"tar -C {root / 'rootfs'} -c . | podman import"
             " --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'"
             " --change 'CMD [\"bash\"]' - docker.io/library/debian:bookworm-slim", timeout=300)
        shutil.rmtree(root / "rootfs")
        for name, tag in (("postgres", "postgres:15-bookworm"), ("redis", "redis:7-bookworm")):
            _run(env, "podman", "build", "-f", f"{name}.Dockerfile", "-t", f"docker.io/library/{tag}",
                 ".", cwd=HERE / "images")
        yield env
    finally:
        subprocess.run(["podman", "system", "reset", "--force"], env=env, capture_output=True, timeout=300)
        shutil.rmtree(root, ignore_errors=True)


class Stack:
    def __init__(self, env, env_file, port, wechat_port):
        self.env, self.env_file = env, env_file
        self.url, self.wechat = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{wechat_port}"
        # deploy/compose.yaml plus the simulator; "docker compose" is podman-compose here.
        self.compose = [COMPOSE, "-f", "deploy/compose.yaml", "-f", str(HERE / "compose.simulator.yaml"),
                        "--env-file", str(env_file)]
        # pip inside the build trusts what the host's pip trusts (this machine's registry
        # is reached through a proxy with its own certificate).
        pip_conf = env_file.parent / "pip.conf"
        pip_conf.write_text("[global]\ncert = /run/host-ca.crt\n")
        self.build_args = f"-v {pip_conf}:/etc/pip.conf:ro -v {HOST_CA}:/run/host-ca.crt:ro"

    def script(self, commands):
        """The README's commands, as this machine runs them: compose.env is the test's."""
        lines = commands.splitlines()
        assert lines[0].startswith("cp deploy/compose.env.example deploy/compose.env")
        script = "\n".join(lines[1:])
        for written in ("docker compose -f deploy/compose.yaml --env-file deploy/compose.env",
                        "http://127.0.0.1:8000"):
            assert written in script, written  # else the test would run something else
        return (script
                .replace("docker compose -f deploy/compose.yaml --env-file deploy/compose.env",
                         " ".join([*self.compose[:1], f"'--podman-build-args={self.build_args}'",
                                   *self.compose[1:]]))
                .replace("http://127.0.0.1:8000", self.url))

    def container(self, service):
        ids = _run(self.env, "podman", "ps", "-a", "-q", "--filter", "label=com.docker.compose.project=wxlogin",
                   "--filter", f"label=com.docker.compose.service={service}").split()
        assert ids, f"no container of service {service}"
        return ids[0]

    def state(self, service):
        return json.loads(_run(self.env, "podman", "inspect", self.container(service)))[0]["State"]

    def logs(self):
        ids = _run(self.env, "podman", "ps", "-a", "-q", "--filter", "label=com.docker.compose.project=wxlogin")
        logs = [subprocess.run(["podman", "logs", i], env=self.env, capture_output=True, text=True)
                for i in ids.split()]
        return "".join(log.stdout + log.stderr for log in logs)

    def login(self, code):
        response = requests.post(f"{self.url}/wx/login", json={"code": code}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def stack(podman, tmp_path_factory):
    """The stack started by the README's commands, with compose.env as a reader fills it in."""
    folder = tmp_path_factory.mktemp("compose")
    values = {
        "POSTGRES_PASSWORD": "container-test-password",
        # As `flask keys generate` prints it: one line, \n written out, single-quoted.
        "JWT_PRIVATE_KEY": "'" + keys.generate()[0].strip().replace("\n", "\\n") + "'",
        "SESSION_KEY_ENCRYPTION_KEYS": "Y29udGFpbmVyLXRlc3Qtc2Vzc2lvbi1rZXkta2V5ISE=",
        "WX_APPID": "wxsimulator0000000", "WX_SECRET": "simulator-secret",
        "TRUSTED_PROXY_COUNT": "0", "WEB_CONCURRENCY": "2",
    }
    example = (ROOT / "deploy" / "compose.env.example").read_text()
    assert set(re.findall(r"(?m)^(\w+)=", example)) == set(values), "compose.env.example changed"
    port, wechat_port = free_port(), free_port()
    env_file = folder / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {
        **values, "WX_API_BASE": "http://wechat:9100", "WXLOGIN_PORT": port, "WECHAT_PORT": wechat_port,
    }.items()))
    stack = Stack(podman, env_file, port, wechat_port)
    key_lines = [line for line in values["JWT_PRIVATE_KEY"].strip("'").split("\\n") if "-----" not in line]
    stack.secrets = (values["POSTGRES_PASSWORD"], *key_lines, values["SESSION_KEY_ENCRYPTION_KEYS"])
    try:
        stack.readyz = _run(podman, "bash", "-euo", "pipefail", "-c", stack.script(compose_commands()), timeout=900)
        yield stack
    finally:
        subprocess.run([*stack.compose, "down", "-v", "-t", "10"], cwd=ROOT, env=podman,
                       capture_output=True, timeout=300)


def test_the_readme_commands_bring_up_a_ready_service(stack):
    assert json.loads(stack.readyz.strip().splitlines()[-1]) == {"database": "ok", "redis": "ok", "status": "ok"}
    # podman-compose before podman 4.6 waits for migrate to stop, not for its success.
    assert stack.state("migrate")["ExitCode"] == 0


def test_the_stack_signs_es256_with_the_key_from_compose_env(stack):
    token = stack.login("sim:erin")["access_token"]
    (published,) = requests.get(f"{stack.url}/.well-known/jwks.json", timeout=10).json()["keys"]
    assert pyjwt.get_unverified_header(token) == {"alg": "ES256", "kid": published["kid"], "typ": "JWT"}


def test_the_curl_walkthrough_works_against_the_stack(stack):
    shown = run_walkthrough("README.md", stack.url, stack.wechat)
    tokens = set(re.findall(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", shown))
    assert tokens
    logs = stack.logs()
    assert "[alembic.runtime.migration] Running upgrade 0005 -> 0006" in logs  # migrate ran
    for secret in (*stack.secrets, *tokens, "session_key\":"):
        assert secret not in logs


def test_the_compose_healthchecks_pass(stack):
    # podman runs healthchecks on systemd timers, which this machine lacks: run each once.
    for service in ("postgres", "redis", "web"):
        _run(stack.env, "podman", "healthcheck", "run", stack.container(service), timeout=60)


def test_the_service_runs_unprivileged_on_a_read_only_root(stack):
    web = stack.container("web")
    assert _run(stack.env, "podman", "exec", web, "id", "-u").strip() == "10001"
    mounts = _run(stack.env, "podman", "exec", web, "cat", "/proc/mounts").splitlines()
    (root,) = [line.split() for line in mounts if line.split()[1] == "/"]
    assert root[3].split(",")[0] == "ro"
    _run(stack.env, "podman", "exec", web, "touch", "/tmp/probe")  # gunicorn's files go there
    capabilities = _run(stack.env, "podman", "exec", web, "grep", "^CapBnd", "/proc/self/status")  # cap_drop: ALL
    assert capabilities.split()[1] == "0000000000000000"


def test_the_data_outlives_the_containers(stack):
    """down (keeping the volume) and up again: the user is still there; web stopped
    gracefully (gunicorn exits 0 on SIGTERM)."""
    assert stack.login("sim:carol")["is_new_user"] is True
    _run(stack.env, *stack.compose, "stop", "-t", "40", "web", timeout=120)
    assert stack.state("web")["ExitCode"] == 0
    _run(stack.env, *stack.compose, "down", "-t", "10", timeout=300)
    _run(stack.env, "bash", "-euo", "pipefail", "-c", stack.script(compose_commands()), timeout=600)
    assert stack.login("sim:carol:2")["is_new_user"] is False
