"""wxlogin.ops.gunicorn_worker under gunicorn (as deployed): a client that stops sending is
dropped after GUNICORN_CLIENT_TIMEOUT, and SIGTERM lets a request in flight finish but does
not wait for idle keep-alive connections (nor for a next request on a kept one) nor for
waiting web login polls."""

import signal
import socket
import threading
import time

import pytest
import requests

from ..conftest import free_port
from ..processes import BIN, flask, production_env, start, start_gunicorn, stop

LATENCY = 1.5  # seconds the simulator takes to answer: a login stays in flight that long


@pytest.fixture
def service(tmp_path, request):
    """gunicorn and a slow simulator; the test's ``client_timeout`` mark sets
    GUNICORN_CLIENT_TIMEOUT (a short one would also end idle connections on its own)."""
    client_timeout = request.node.get_closest_marker("client_timeout").args[0]
    env = production_env(f"sqlite:///{tmp_path}/db.sqlite", GUNICORN_CLIENT_TIMEOUT=str(client_timeout),
                         WX_TIMEOUT="5", HOME=str(tmp_path))
    flask(env, "db", "upgrade", cwd=tmp_path)
    port = free_port()
    env["WX_API_BASE"] = f"http://127.0.0.1:{port}"
    command = [BIN / "flask", "--app", "wxlogin", "--debug", "simulator", "--port", str(port),
               "--latency-ms", str(int(LATENCY * 1000))]
    simulator = start(command, f"{env['WX_API_BASE']}/sns/jscode2session", env, tmp_path)
    gunicorn, url = start_gunicorn(env)
    yield gunicorn, url
    if gunicorn.poll() is None:
        stop(gunicorn)
    stop(simulator)


def connect(url):
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_answer(sock):
    """One whole HTTP answer (headers and Content-Length body) from a kept connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"<closed>"
        assert not data.endswith(b"<closed>"), data
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head


@pytest.mark.client_timeout(2)
def test_a_client_that_stops_sending_is_dropped(service):
    _, url = service
    stalled = connect(url)
    stalled.sendall(b"POST /wx/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100\r\n\r\n{\"code\":")
    started = time.monotonic()
    answer = stalled.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]  # the body never came whole
    assert time.monotonic() - started < 4


@pytest.mark.client_timeout(20)
def test_sigterm_finishes_requests_in_flight_and_closes_idle_connections(service):
    gunicorn, url = service
    idle = connect(url)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_answer(idle).startswith(b"HTTP/1.1 200")
    busy = connect(url)  # a keep-alive connection whose login is in flight at SIGTERM
    body = b'{"code": "sim:inflight:1"}'
    busy.sendall(b"POST /wx/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    time.sleep(LATENCY / 3)
    answers = []
    reader = threading.Thread(target=lambda: answers.append(read_answer(busy)))
    reader.start()
    started = time.monotonic()
    gunicorn.send_signal(signal.SIGTERM)
    gunicorn.wait(30)
    stopped_after = time.monotonic() - started
    reader.join(5)
    assert answers and answers[0].startswith(b"HTTP/1.1 200"), answers
    assert stopped_after < 5, f"stopped after {stopped_after:.1f}s (the grace period is 30 s)"
    assert idle.recv(100) == b""  # closed by the service, not left to time out


@pytest.mark.client_timeout(20)
def test_sigterm_answers_waiting_web_login_polls_at_once(service):
    """A web login poll may wait 30 s: at SIGTERM it answers the status it has (the browser
    polls again, on another instance) rather than hold the stop for the grace period."""
    gunicorn, url = service
    code = requests.post(f"{url}/wx/qr-login", timeout=20).json()
    answers = []
    poller = threading.Thread(target=lambda: answers.append(
        requests.get(f"{url}/wx/qr-login/{code['ticket']}?wait=30", timeout=40)))
    poller.start()
    time.sleep(0.5)
    started = time.monotonic()
    gunicorn.send_signal(signal.SIGTERM)
    gunicorn.wait(30)
    stopped_after = time.monotonic() - started
    poller.join(5)
    assert answers and (answers[0].status_code, answers[0].json()) == (200, {"status": "pending"})
    assert stopped_after < 5, f"stopped after {stopped_after:.1f}s (the grace period is 30 s)"
