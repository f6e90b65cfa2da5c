"""Hostile connections on raw sockets: a malformed chunked body is 400 invalid_request
(JSON), and a client that announces a body and stops sending is cut off after
GUNICORN_CLIENT_TIMEOUT (3 s here) while every other request is served."""

import json
import socket
import threading
import time

import pytest

from .conftest import CLIENT_TIMEOUT_SETTING, log_problems
from .load import call, login
from .report import Report

pytestmark = pytest.mark.faults

CLOSE_BOUND = CLIENT_TIMEOUT_SETTING + 2  # the setting, and slack


def raw(port, data, timeout=10):
    """Send ``data`` on a new connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except socket.timeout:
            pass
    return b"".join(chunks)


def _complete(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def parse(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body[:200]


BAD_CHUNKS = {
    "size not hex": b"zz\r\n{}\r\n0\r\n\r\n",
    "size with junk": b"2;\x00\r\n{}\r\n0\r\n\r\n",
    "data longer than its size": b"1\r\n{}\r\n0\r\n\r\n",
    "no CRLF after the data": b"2\r\n{}XX0\r\n\r\n",
}


@pytest.mark.parametrize("path", ["/wx/login", "/wx/notes"])
def test_a_malformed_chunked_body_is_400_invalid_request(path, make_service):
    service = make_service(workers=1)
    token = login(service.url, "chunky")["access_token"]
    report = Report(f"malformed chunked body to {path}")
    seen = {}
    for what, body in BAD_CHUNKS.items():
        request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   f"Authentication: {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + body
        started = time.monotonic()
        status, parsed = parse(raw(service.port, request))
        seen[what] = (status, parsed, round(time.monotonic() - started, 2))
    report.sent = len(seen)
    report.statuses.update(f"{v[0]} {v[1].get('error') if isinstance(v[1], dict) else 'non-JSON'}" for v in seen.values())
    report.notes["answers"] = {k: [v[0], v[1].get("error") if isinstance(v[1], dict) else str(v[1])[:80]] for k, v in seen.items()}
    report.finish()
    wrong = {what: answer for what, answer in seen.items()
             if answer[0] != 400 or not isinstance(answer[1], dict) or answer[1].get("error") != "invalid_request"}
    assert not wrong, wrong
    assert call(service.url, "GET", "/healthz").status == 200
    assert not log_problems(service), log_problems(service)[:5]


def test_a_stalled_body_is_cut_off_and_others_are_served(make_service):
    service = make_service(workers=2)
    report = Report("client stalls mid-body (Content-Length 100, 10 bytes sent)")
    stalled = []
    for _ in range(5):  # a few, so each worker has one
        s = socket.create_connection(("127.0.0.1", service.port), timeout=CLOSE_BOUND + 10)
        s.sendall(b"POST /wx/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"code\": \"")
        stalled.append(s)
    report.fault()
    started = time.monotonic()
    closed_after, answers = [None] * len(stalled), [b""] * len(stalled)

    def wait_close(i):
        data = b""
        try:
            while chunk := stalled[i].recv(65536):
                data += chunk
        except OSError:
            pass
        closed_after[i] = time.monotonic() - started
        answers[i] = data

    waiters = [threading.Thread(target=wait_close, args=(i,), daemon=True) for i in range(len(stalled))]
    for waiter in waiters:
        waiter.start()
    others = []
    while any(w.is_alive() for w in waiters) and time.monotonic() - started < CLOSE_BOUND + 8:
        others.append(report.add("healthz", call(service.url, "GET", "/healthz", timeout=5)))
        others.append(report.add("login", call(service.url, "POST", "/wx/login", {"code": f"sim:stall-other:{len(others)}"}, timeout=5)))
        time.sleep(0.1)
    for waiter in waiters:
        waiter.join(1)
    for s in stalled:
        s.close()
    report.ended()
    statuses = [parse(a)[0] if a else None for a in answers]
    report.notes.update(closed_after_s=[round(c, 2) if c else None for c in closed_after], answered_before_close=statuses)
    report.finish()
    problems = {
        f"stalled connections not closed within {CLOSE_BOUND}s": [c for c in closed_after if c is None or c > CLOSE_BOUND],
        "a 5xx to a stalled client": [s for s in statuses if s and s >= 500],
        "other requests failing meanwhile": [(a, a.body) for a in others if a.status != 200][:5],
        "other requests slow meanwhile (> 1 s)": [a for a in others if a.seconds > 1][:5],
        "log lines with secrets or tracebacks": log_problems(service)[:5],
    }
    assert not {k: v for k, v in problems.items() if v}
