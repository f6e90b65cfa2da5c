"""The deployment as documented: ``flask db upgrade``, then ``gunicorn -w 2 wsgi:app`` with
production settings, against the standalone simulator in a process of its own."""

import json
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from .processes import (
    APPID,
    JWT_KEY,
    SECRET,
    flask,
    production_env,
    sign_as_service,
    start_gunicorn,
    start_simulator,
    stop,
)


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("metrics")


@pytest.fixture(scope="module")
def deployed(database_url, tmp_path_factory, metrics_dir):
    """A gunicorn-served wxlogin in production mode: its base URL, and the file its log
    (gunicorn's stderr) goes to."""
    cwd = tmp_path_factory.mktemp("deploy")
    env = production_env(database_url, LOGIN_RATE_LIMIT="off", LOGIN_RATE_LIMIT_PER_USER="off",
                         PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    flask(env, "db", "upgrade", cwd=cwd)
    simulator, _ = start_simulator(env, cwd)
    gunicorn, url = start_gunicorn(env, workers=2, log=cwd / "gunicorn.log")
    try:
        yield url, cwd / "gunicorn.log"
    finally:
        log = stop(gunicorn, simulator)
    assert SECRET not in log and JWT_KEY not in log


@pytest.fixture(scope="module")
def service(deployed):
    """Base URL of a gunicorn-served wxlogin in production mode."""
    return deployed[0]


counter = iter(range(10**6))


def login(service, name="alice"):
    response = requests.post(f"{service}/wx/login", json={"code": f"sim:{name}:{next(counter)}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_login_and_data_routes(service):
    body = login(service)
    token = body["access_token"]
    for headers in (
        {"Authentication": token},
        {"Authentication": f"Bearer {token}"},
        {"Authorization": f"Bearer {token}"},
    ):
        assert requests.get(f"{service}/wx/me", headers=headers, timeout=5).json()["id"] == body["user"]["id"]
    headers = {"Authentication": token}
    note = requests.post(f"{service}/wx/notes", json={"title": "hi"}, headers=headers, timeout=5)
    assert note.status_code == 201
    url = f"{service}/wx/notes/{note.json()['id']}"
    assert requests.patch(url, json={"content": "x"}, headers=headers, timeout=5).json()["content"] == "x"
    listing = requests.get(f"{service}/wx/notes", headers=headers, timeout=5).json()
    assert listing["total"] >= 1
    assert requests.get(f"{service}/wx/findsome", headers=headers, timeout=5).json()["notes"]
    assert requests.delete(url, headers=headers, timeout=5).json() == {"deleted": True}
    other = {"Authentication": login(service, "bob")["access_token"]}
    assert requests.get(url, headers=other, timeout=5).status_code == 404


@pytest.mark.parametrize(
    "code, status, slug",
    [
        ("nonsense", 401, "invalid_code"),
        ("sim-fail:40163", 401, "code_used"),
        ("sim-fail:45011", 429, "rate_limited"),
        ("sim-fail:40226", 403, "user_blocked"),
        ("sim-fail:-1", 503, "upstream_unavailable"),
        ("sim-fail:nonjson", 502, "upstream_error"),
        ("sim-fail:timeout", 504, "upstream_timeout"),
    ],
)
def test_wechat_error_rows(service, code, status, slug):
    response = requests.post(f"{service}/wx/login", json={"code": code}, timeout=10)
    assert (response.status_code, response.json()["error"]) == (status, slug)


def forged(**claims):
    """A token signed with the service's key, as it would issue one, with ``claims`` changed."""
    now = int(time.time())
    payload = {
        "sub": "1", "type": "access", "jti": "x", "sid": "s", "gen": 0, "iat": now, "nbf": now,
        "exp": now + 60, "iss": "wxlogin", "aud": APPID, **claims,
    }
    return sign_as_service(payload)


@pytest.mark.parametrize(
    "make_headers, slug",
    [
        (lambda: {}, "token_missing"),
        (lambda: {"Authentication": "not.a.token"}, "token_invalid"),
        (lambda: {"Authentication": forged(exp=int(time.time()) - 3600)}, "token_expired"),
        (lambda: {"Authentication": forged(type="refresh")}, "token_invalid"),
    ],
)
def test_token_error_rows(service, make_headers, slug):
    response = requests.get(f"{service}/wx/me", headers=make_headers(), timeout=5)
    assert (response.status_code, response.json()["error"]) == (401, slug)


def test_flask_error_rows(service):
    assert requests.get(f"{service}/nope", timeout=5).json()["error"] == "not_found"
    assert requests.get(f"{service}/wx/login", timeout=5).json()["error"] == "method_not_allowed"
    big = requests.post(f"{service}/wx/login", data=b"{" + b" " * 70000 + b"}",
                        headers={"Content-Type": "application/json"}, timeout=5)
    assert (big.status_code, big.json()["error"]) == (413, "payload_too_large")
    bad = requests.post(f"{service}/wx/login", json={}, timeout=5)
    assert bad.json()["error"] == "invalid_request"


def test_operations(service):
    assert requests.get(f"{service}/healthz", timeout=5).json() == {"status": "ok"}
    assert "/wx/login" in requests.get(f"{service}/openapi.json", timeout=5).json()["paths"]


def healthz_count(service):
    page = requests.get(f"{service}/metrics", timeout=5).text
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == "wxlogin_http_requests_total" and sample.labels["route"] == "/healthz":
                return sample.value
    return 0


def test_metrics_add_up_over_every_worker(service, metrics_dir):
    before = healthz_count(service)
    for _ in range(30):  # a new connection each: both workers take some
        assert requests.get(f"{service}/healthz", timeout=5).status_code == 200
    assert {healthz_count(service) - before for _ in range(6)} == {30}
    workers_counted = {path.stem.rpartition("_")[2] for path in metrics_dir.glob("counter_*.db")}
    assert len(workers_counted) == 2  # the sum is over both workers' files


def test_logs_are_json_lines_with_request_ids(deployed):
    """On the module's service (its log read as it runs): the login's line carries the
    request id it was sent with, the next request's line its user."""
    url, log_file = deployed
    body = requests.post(f"{url}/wx/login", json={"code": "sim:jason:1"},
                         headers={"X-Request-ID": "trace-1"}, timeout=10).json()
    requests.get(f"{url}/wx/me", headers={"Authentication": body["access_token"]}, timeout=10)

    def jasons_lines():  # the requests' lines (whole lines: each is written as its request ends)
        log = log_file.read_text()
        log = log[: log.rfind("\n") + 1]
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        return log, [line for line in lines if line["logger"] == "wxlogin.request"
                     and (line.get("request_id") == "trace-1" or line.get("user_id") == body["user"]["id"])]

    deadline = time.monotonic() + 10
    while len(jasons_lines()[1]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    log, requests_logged = jasons_lines()
    gunicorn_lines = [line for line in log.splitlines() if "gunicorn" in line]
    assert gunicorn_lines and all(line.startswith("{") for line in gunicorn_lines)
    assert len(requests_logged) == 2, requests_logged  # (two workers: in either order)
    login_line, me_line = sorted(requests_logged, key=lambda line: line["route"] != "/wx/login")
    assert login_line["request_id"] == "trace-1"
    assert (login_line["route"], login_line["status"], login_line["user_id"]) == ("/wx/login", 200, body["user"]["id"])
    assert (me_line["route"], me_line["status"], me_line["user_id"]) == ("/wx/me", 200, body["user"]["id"])
    assert body["access_token"] not in log and body["refresh_token"] not in log and SECRET not in log


def exactly(size, code):
    skeleton = len(json.dumps({"code": code, "pad": ""}).encode())
    body = json.dumps({"code": code, "pad": "x" * (size - skeleton)}).encode()
    assert len(body) == size
    return body


@pytest.mark.parametrize("chunked", [False, True])
def test_under_gunicorn_64_kib_is_the_largest_body(service, chunked):
    """Exactly 64 KiB is read, one byte more is 413, announced or sent in chunks (gunicorn
    terminates the input: a read at the limit must not be taken for a byte too many)."""
    headers = {"Content-Type": "application/json"}
    for size, status in ((64 * 1024, 200), (64 * 1024 + 1, 413)):
        body = exactly(size, f"sim:bodies:{next(counter)}")
        data = iter([body[:1000], body[1000:]]) if chunked else body
        response = requests.post(f"{service}/wx/login", data=data, headers=headers, timeout=10)
        assert response.status_code == status, response.text
