"""/web/qr-login.js on its own, in the browser, with a scripted fetch (the module's `fetch`
option): what it asks, how it backs off, when it stops, that the tokens come once.

Each scenario is JavaScript run in the page after HARNESS; it returns what the test checks.
"""

import pytest
from flask import Flask

from wxlogin import web

from ..conftest import LiveServer

HARNESS = """
const { QrLogin } = await import("/web/qr-login.js");
const t0 = performance.now();
const now = () => performance.now() - t0;
const calls = [];
const events = [];
const CODE = { ticket: "tk", scene: "sc", qr_code: "data:image/png;base64,T05F", expires_in: 60,
               poll_interval: 0.2 };
const TOKENS = { status: "confirmed", access_token: "AT", refresh_token: "RT", token_type: "Bearer",
                 expires_in: 7200, user: { id: 7 } };
const reply = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
// The n-th request gets answers[n]: a Response, an Error to fail with, or (none, "hang") no
// answer until aborted.
const fakeFetch = (answers) => (url, init) => {
  const call = { url, method: init.method, headers: init.headers, body: init.body ?? null,
                 credentials: init.credentials, at: now(), aborted: false };
  calls.push(call);
  init.signal.addEventListener("abort", () => { call.aborted = true; });
  const answer = answers.shift();
  if (answer === undefined || answer === "hang") {
    return new Promise((_, reject) => init.signal.addEventListener(
      "abort", () => reject(new DOMException("aborted", "AbortError"))));
  }
  return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
};
const plain = (value) => JSON.parse(JSON.stringify(value, (key, v) => v instanceof Error
  ? { name: v.name, message: v.message, status: v.status, code: v.code, retryAfter: v.retryAfter } : v));
const record = (login) => {
  for (const type of ["code", "scanned", "confirmed", "denied", "expired", "error", "retry"]) {
    login.on(type, (detail) => events.push({ type, at: now(), state: login.state, ...plain(detail) }));
  }
  return login;
};
const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (test) => {
  for (const end = now() + 4000; !test(); await settle(5)) if (now() > end) throw new Error("timed out");
};
const types = () => events.map((event) => event.type);
"""


@pytest.fixture(scope="module")
def site():
    """Only the web blueprint, and a blank page of the same origin to import the module into."""
    app = Flask(__name__)
    web.init_app(app)
    app.add_url_rule("/", "blank", lambda: "<!doctype html><title>qr-login.js</title>")
    server = LiveServer(app)
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def tab(browser):
    """One page for the module's scenarios: each loads the blank page afresh, a new realm."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(5_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def page(tab, site):
    tab.goto(site + "/")
    tab.errors.clear()
    return tab


@pytest.fixture
def run(page):

    def run(scenario):
        return page.evaluate(f"async () => {{ {HARNESS}\n{scenario} }}")

    yield run
    assert page.errors == []


def test_failed_polls_back_off_and_the_tokens_come_once(run, page):
    result = run("""
        const login = record(new QrLogin({ fetch: fakeFetch([
          reply(201, CODE),
          new TypeError("Failed to fetch"),
          reply(503, { error: "database_unavailable", message: "down" }, { "Retry-After": "0" }),
          reply(429, { error: "rate_limited", message: "slow down" }, { "Retry-After": "1" }),
          reply(200, { status: "scanned" }),
          reply(200, TOKENS),
        ]) }));
        login.on("confirmed", () => { throw new Error("a bug of the page"); });
        login.start();
        await until(() => login.state === "confirmed");
        await settle(300);
        return { calls, events, state: login.state };
    """)
    polls = result["calls"][1:]
    assert len(polls) == 5  # none after the tokens
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(polls, polls[1:])]
    assert 190 <= gaps[0] < 600 and 190 <= gaps[1] < 600  # poll_interval after a failure
    assert 990 <= gaps[2] < 1500  # Retry-After, when longer
    assert gaps[3] < 150  # news: the next poll at once
    events = result["events"]
    assert [e["type"] for e in events] == ["code", "retry", "retry", "retry", "scanned", "confirmed"]
    assert [(e["delay"], e["error"]["code"]) for e in events if e["type"] == "retry"] == [
        (0.2, "network_error"), (0.2, "database_unavailable"), (1, "rate_limited")]
    code, confirmed = events[0], events[-1]
    assert code["image"] == "data:image/png;base64,T05F" and code["expiresIn"] == 60
    assert confirmed["tokens"] == {"access_token": "AT", "refresh_token": "RT", "token_type": "Bearer",
                                   "expires_in": 7200}
    assert confirmed["user"] == {"id": 7} and confirmed["state"] == result["state"] == "confirmed"
    assert page.errors == ["a bug of the page"]  # reported, and nothing else went wrong
    page.errors.clear()


@pytest.mark.parametrize("answer, final, code", [
    pytest.param('reply(200, { status: "denied" })', "denied", None, id="denied"),
    pytest.param('reply(200, { status: "expired" })', "expired", None, id="expired"),
    pytest.param('reply(404, { error: "not_found", message: "gone" })', "expired", None,
                 id="unknown-ticket"),  # the service forgot it: as good as expired
    pytest.param('reply(200, { status: "used" })', "error", "used", id="used"),
    pytest.param('reply(403, { error: "user_disabled", message: "disabled" })', "error", "user_disabled",
                 id="user-disabled"),
    pytest.param('reply(422, { error: "invalid_request", message: "bad wait" })', "error", "invalid_request",
                 id="refused"),
    pytest.param('reply(200, { status: "confirmed" })', "error", "bad_response", id="confirmed-without-tokens"),
    pytest.param('reply(200, "not an object")', "error", "bad_response", id="not-json-object"),
])
def test_final_answers_stop_the_polling(run, answer, final, code):
    result = run(f"""
        const login = record(new QrLogin({{ fetch: fakeFetch([reply(201, CODE), {answer}]) }}));
        login.start();
        await until(() => events.length === 2);
        await settle(300);
        return {{ calls: calls.length, events, state: login.state }};
    """)
    assert result["calls"] == 2
    assert [e["type"] for e in result["events"]] == ["code", final] and result["state"] == final
    if code:
        assert result["events"][1]["error"]["code"] == code


def test_failing_to_create_a_code_is_an_error(run):
    result = run("""
        const answers = [
          reply(429, { error: "rate_limited", message: "请求过于频繁" }, { "Retry-After": "30" }),
          new TypeError("Failed to fetch"),
        ];
        const login = record(new QrLogin({ fetch: fakeFetch(answers) }));
        await login.refresh();  // settles once the error is out
        const first = events.length;
        await login.refresh();
        await settle(300);
        return { calls: calls.length, first, events: events.map((e) => e.error), state: login.state };
    """)
    assert result["calls"] == 2 and result["first"] == 1 and result["state"] == "error"
    assert result["events"] == [
        {"name": "QrLoginError", "message": "请求过于频繁", "status": 429, "code": "rate_limited", "retryAfter": 30},
        {"name": "QrLoginError", "message": "Could not reach the service", "status": 0,
         "code": "network_error", "retryAfter": None},
    ]


def test_stop_aborts_the_request_in_flight_and_the_backoff(run):
    result = run("""
        const polling = record(new QrLogin({ fetch: fakeFetch([reply(201, CODE), "hang"]) })).start();
        await until(() => calls.length === 2);
        polling.stop();
        const backingOff = record(new QrLogin({ fetch: fakeFetch([reply(201, CODE), new TypeError("x")]) }));
        backingOff.start();
        await until(() => types().includes("retry"));
        backingOff.stop();
        await settle(400);  // twice poll_interval
        return { calls, types: types(), states: [polling.state, backingOff.state] };
    """)
    calls = result["calls"]
    assert len(calls) == 4 and calls[1]["aborted"]
    assert result["types"] == ["code", "code", "retry"] and result["states"] == ["stopped", "stopped"]


def test_refresh_abandons_the_current_code(run):
    result = run("""
        const login = record(new QrLogin({ fetch: fakeFetch([
          reply(201, CODE), "hang",
          reply(201, { ...CODE, ticket: "tk2", qr_code: "data:image/png;base64,VFdP" }),
          reply(200, { status: "denied" }),
        ]) })).start();
        await until(() => calls.length === 2);
        await login.refresh();
        const codes = events.filter((e) => e.type === "code").length;
        await until(() => login.state === "denied");
        return { calls, codes, events };
    """)
    calls = result["calls"]
    assert [c["url"] for c in calls] == ["/wx/qr-login", "/wx/qr-login/tk?wait=25", "/wx/qr-login",
                                         "/wx/qr-login/tk2?wait=25"]
    assert calls[1]["aborted"] and result["codes"] == 2
    assert [(e["type"], e.get("image")) for e in result["events"]] == [
        ("code", "data:image/png;base64,T05F"), ("code", "data:image/png;base64,VFdP"), ("denied", None)]


def test_what_it_sends(run):
    result = run("""
        const login = new QrLogin({ baseUrl: "https://api.example.com/", appid: "wxapp", wait: 99,
                                    lang: "en", fetch: fakeFetch([reply(201, { ...CODE, ticket: "a/b" }),
                                                                  reply(200, { status: "expired" })]) });
        login.start();
        await until(() => login.state === "expired");
        return calls;
    """)
    create, poll = result
    assert create["url"] == "https://api.example.com/wx/qr-login" and create["method"] == "POST"
    assert create["body"] == '{"appid":"wxapp"}' and create["credentials"] == "omit"
    assert create["headers"] == {"Accept": "application/json", "Accept-Language": "en",
                                 "Content-Type": "application/json"}
    assert poll["url"] == "https://api.example.com/wx/qr-login/a%2Fb?wait=30"  # 30 at most
    assert poll["method"] == "GET" and poll["body"] is None
    assert poll["headers"] == {"Accept": "application/json", "Accept-Language": "en"}  # no preflight


@pytest.mark.parametrize("wait", [0, 25])
def test_no_busy_loop_on_answers_without_news(run, wait):
    """wait=0 polls every poll_interval; a long poll answered early with no news pauses too."""
    result = run(f"""
        const login = record(new QrLogin({{ wait: {wait}, fetch: fakeFetch([
          reply(201, CODE), reply(200, {{ status: "pending" }}), reply(200, {{ status: "pending" }}),
          reply(200, {{ status: "denied" }}),
        ]) }}));
        login.start();
        await until(() => login.state === "denied");
        return calls.map((call) => call.at);
    """)
    polls = result[1:]
    assert all(190 <= later - earlier < 600 for earlier, later in zip(polls, polls[1:]))
