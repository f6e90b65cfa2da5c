"""deploy/nginx.conf in front of the service, as deployed: Debian's nginx terminating TLS
with a certificate made here, gunicorn behind it with TRUSTED_PROXY_COUNT=1. Clients come
from other loopback addresses (127.0.0.2...) than nginx's own, so that "the address the
service counts is the client's" can be told apart from "it is nginx's"."""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest
import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter

from ..conftest import free_port
from ..processes import (
    ROOT,
    flask,
    production_env,
    start_gunicorn,
    start_simulator,
    stop,
)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONF = ROOT / "deploy" / "nginx.conf"
LIMIT = 3  # LOGIN_RATE_LIMIT per minute, per client address

if not os.path.exists(NGINX):
    if os.environ.get("CI"):
        pytest.fail("needs nginx (apt-get install -y nginx-light)", pytrace=False)
    pytest.skip("needs nginx (apt-get install -y nginx-light)", allow_module_level=True)


def render(text, tmp, https_port, http_port, upstream):
    """deploy/nginx.conf with this test's ports, certificate and upstream; each line it
    changes must be there as shipped."""
    replacements = {
        "server 127.0.0.1:8000;": f"server {upstream};",
        "    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
        "    listen [::]:80;\n": "",
        "    listen 443 ssl http2;\n": f"    listen 127.0.0.1:{https_port} ssl http2;\n",
        "    listen [::]:443 ssl http2;\n": "",
        "/etc/ssl/wxlogin/fullchain.pem": str(tmp / "cert.pem"),
        "/etc/ssl/wxlogin/privkey.pem": str(tmp / "key.pem"),
        "/var/log/nginx/wxlogin.access.log": str(tmp / "access.log"),
    }
    for shipped, here in replacements.items():
        assert shipped in text, f"deploy/nginx.conf no longer has {shipped!r}"
        text = text.replace(shipped, here)
    return text


@pytest.fixture(scope="module")
def proxy(database_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", tmp / "key.pem", "-out", tmp / "cert.pem"],
        check=True, capture_output=True,
    )
    env = production_env(database_url, TRUSTED_PROXY_COUNT="1", LOGIN_RATE_LIMIT=f"{LIMIT}/minute",
                         LOGIN_RATE_LIMIT_PER_USER="off")
    flask(env, "db", "upgrade", cwd=tmp)
    with contextlib.ExitStack() as started:
        yield from _serve(env, tmp, database_url, started)


def _serve(env, tmp, database_url, started):
    simulator, _ = start_simulator(env, tmp)
    started.callback(stop, simulator)
    # One worker: without Redis each process counts the per-IP limit alone.
    gunicorn, upstream = start_gunicorn(env, workers=1, app="tests.deploy.probe_app:app")
    started.callback(stop, gunicorn)
    https_port, http_port = free_port(), free_port()
    (tmp / "wxlogin.conf").write_text(render(CONF.read_text(), tmp, https_port, http_port, upstream.removeprefix("http://")))
    temp_paths = "\n".join(f"  {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        f"{'user root;' if os.geteuid() == 0 else ''}\nworker_processes 1;\npid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/error.log warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  access_log off;\n{temp_paths}\n  include {tmp}/wxlogin.conf;\n}}\n"
    )
    nginx = subprocess.Popen([NGINX, "-p", tmp, "-c", tmp / "nginx.conf", "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    started.callback(_stop_nginx, nginx)
    _wait_for_port(https_port, nginx, tmp)
    yield {"https": f"https://127.0.0.1:{https_port}", "http": f"http://127.0.0.1:{http_port}",
           "port": https_port, "cert": str(tmp / "cert.pem"), "database_url": database_url,
           "access_log": tmp / "access.log"}


def _stop_nginx(nginx):
    """SIGQUIT (graceful: workers finish, then exit) to the group; SIGKILL if it lingers."""
    os.killpg(nginx.pid, signal.SIGQUIT)
    try:
        nginx.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(nginx.pid, signal.SIGKILL)
        nginx.wait(5)


def _wait_for_port(port, process, tmp):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(tmp / 'error.log').read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not listen")


class FromAddress(HTTPAdapter):
    """Connections made from a chosen loopback address (a client other than nginx)."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(proxy, address):
    session = requests.Session()
    session.mount("https://", FromAddress(address))
    session.mount("http://", FromAddress(address))
    session.verify = proxy["cert"]
    session.trust_env = False  # REQUESTS_CA_BUNDLE would win over verify, proxies over the address
    return session


codes = iter(range(10**6))


def login(session, proxy, headers=None, **body):
    return session.post(f"{proxy['https']}/wx/login", json={"code": f"sim:nginx:{next(codes)}", **body},
                        headers=headers or {}, timeout=10)


def last_login_address(proxy):
    engine = sa.create_engine(proxy["database_url"], poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT client_ip FROM login_attempts ORDER BY id DESC")).scalar()
    finally:
        engine.dispose()


def test_the_service_sees_the_client_over_https_whatever_it_claims(proxy):
    session = client(proxy, "127.0.0.2")
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http", "X-Real-IP": "203.0.113.9"}
    seen = session.get(f"{proxy['https']}/_probe", headers=spoofed, timeout=10).json()
    assert (seen["scheme"], seen["remote_addr"]) == ("https", "127.0.0.2")
    assert login(session, proxy, spoofed).status_code == 200
    assert last_login_address(proxy) == "127.0.0.2"  # the audit trail: not nginx's, not the claim


def test_the_login_limit_counts_the_real_client(proxy):
    session = client(proxy, "127.0.0.4")
    answers = [login(session, proxy, {"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(LIMIT + 1)]
    assert answers == [200] * LIMIT + [429]  # a new claimed address each time moves nothing
    assert login(client(proxy, "127.0.0.5"), proxy).status_code == 200  # another client is not held


def test_a_64_kib_body_passes_and_a_larger_one_is_413_json(proxy):
    session = client(proxy, "127.0.0.2")
    code = f"sim:nginx:{next(codes)}"
    skeleton = len(json.dumps({"code": code, "pad": ""}).encode())
    whole = json.dumps({"code": code, "pad": "x" * (64 * 1024 - skeleton)})
    headers = {"Content-Type": "application/json"}
    assert len(whole) == 64 * 1024
    response = session.post(f"{proxy['https']}/wx/login", data=whole, headers=headers, timeout=10)
    assert response.status_code == 200, (response.headers, response.text)
    for body in (whole + " ", iter([whole.encode(), b" " * 10])):  # announced, then chunked
        response = session.post(f"{proxy['https']}/wx/login", data=body, headers=headers, timeout=10)
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"


def test_plain_http_is_sent_to_https(proxy):
    response = client(proxy, "127.0.0.2").get(f"{proxy['http']}/wx/me?x=1", allow_redirects=False, timeout=10)
    assert response.status_code == 308
    assert response.headers["Location"] == "https://127.0.0.1/wx/me?x=1"


def test_keep_alive_holds_across_requests(proxy):
    """Five requests on one client connection, and on one connection from nginx to gunicorn
    (its port, as gunicorn saw it, is the same each time)."""
    context = ssl.create_default_context(cafile=proxy["cert"])
    connection = http.client.HTTPSConnection("127.0.0.1", proxy["port"], context=context, timeout=10)
    client_sockets, proxy_ports = [], set()
    for _ in range(5):
        connection.request("GET", "/_probe")
        response = connection.getresponse()
        assert response.status == 200
        proxy_ports.add(json.loads(response.read())["proxy_port"])
        client_sockets.append(connection.sock)
    connection.close()
    assert all(sock is client_sockets[0] for sock in client_sockets) and len(proxy_ports) == 1


def test_metrics_and_docs_only_from_inside(proxy):
    assert client(proxy, "127.0.0.1").get(f"{proxy['https']}/metrics", timeout=10).status_code == 200
    outside = client(proxy, "127.0.0.2")
    assert [outside.get(f"{proxy['https']}{path}", timeout=10).status_code for path in ("/metrics", "/docs")] == [403, 403]


def test_the_access_log_holds_no_web_login_ticket(proxy):
    ticket = "T" * 43
    requests.get(f"{proxy['https']}/wx/qr-login/{ticket}?wait=0", verify=proxy["cert"], timeout=10)
    requests.get(f"{proxy['https']}/healthz", verify=proxy["cert"], timeout=10)
    deadline = time.monotonic() + 5
    while "/healthz" not in proxy["access_log"].read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # nginx writes its log line after the answer
    logged = proxy["access_log"].read_text()
    assert "GET /wx/qr-login/[ticket]?wait=0 HTTP/" in logged
    assert ticket not in logged


def test_timeouts_leave_room_for_long_answers():
    """Read, not waited for: nginx must wait longer for an answer than the service may hold
    one back (the QR login's long poll, 30 s), and drop idle upstream connections before
    gunicorn does (its keepalive)."""
    text = CONF.read_text()
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", text).group(1))
    idle = int(re.search(r"keepalive_timeout (\d+)s;", text[: text.index("server {")]).group(1))
    gunicorn_keepalive = int(re.search(r"(?m)^keepalive = (\d+)", (ROOT / "gunicorn.conf.py").read_text()).group(1))
    assert read_timeout > 30 + 5 and idle < gunicorn_keepalive
