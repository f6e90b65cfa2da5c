"""Prometheus metrics at /metrics: requests by route and status, logins by outcome, and
WeChat calls. (Several gunicorn workers adding up: tests/test_production.py.)"""

from prometheus_client.parser import text_string_to_metric_families

from ..conftest import fresh_code


def samples(client):
    """{(sample name, frozenset of labels): value} of the current /metrics page."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(page, name, **labels):
    return page.get((name, frozenset(labels.items())), 0)


def test_requests_are_counted_by_route_template_and_status(client, auth):
    headers = auth()
    before = samples(client)
    for _ in range(3):
        client.get("/wx/me", headers=headers)
    client.get("/wx/notes/99", headers=headers)
    client.get("/wx/me")
    after = samples(client)
    me_ok = dict(method="GET", route="/wx/me", status="200")
    assert value(after, "wxlogin_http_requests_total", **me_ok) - value(before, "wxlogin_http_requests_total", **me_ok) == 3
    refused = dict(method="GET", route="/wx/me", status="401")
    assert value(after, "wxlogin_http_requests_total", **refused) - value(before, "wxlogin_http_requests_total", **refused) == 1
    note = dict(method="GET", route="/wx/notes/<int:note_id>", status="404")
    assert value(after, "wxlogin_http_requests_total", **note) - value(before, "wxlogin_http_requests_total", **note) == 1
    timed = dict(method="GET", route="/wx/me")
    count = "wxlogin_http_request_duration_seconds_count"
    assert value(after, count, **timed) - value(before, count, **timed) == 4


def test_logins_are_counted_by_outcome(client):
    before = samples(client)
    assert client.post("/wx/login", json={"code": fresh_code("olga")}).status_code == 200
    assert client.post("/wx/login", json={"code": "sim-fail:40029"}).status_code == 401
    assert client.post("/wx/login", json={"code": "sim-fail:40029"}).status_code == 401
    after = samples(client)
    for outcome, count in (("ok", 1), ("invalid_code", 2)):
        name = "wxlogin_logins_total"
        assert value(after, name, outcome=outcome) - value(before, name, outcome=outcome) == count


def test_wechat_calls_are_timed_and_failures_counted_by_slug(client):
    api = "/sns/jscode2session"
    before = samples(client)
    client.post("/wx/login", json={"code": fresh_code("walt")})
    client.post("/wx/login", json={"code": "sim-fail:-1"})  # busy, retried, then 503
    after = samples(client)
    count = "wxlogin_wechat_request_duration_seconds_count"
    assert value(after, count, api=api) - value(before, count, api=api) == 2
    errors = "wxlogin_wechat_errors_total"
    busy = dict(api=api, error="upstream_unavailable")
    assert value(after, errors, **busy) - value(before, errors, **busy) == 1
