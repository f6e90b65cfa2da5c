"""Waiting polls woken by a change made on another host: through Redis when there is one,
through the database always (Redis away included), and all of them at SIGTERM."""

import threading
import time

import pytest
import redis

from wxlogin.qr_login import wakeups

from ..conftest import REDIS_URL, free_port
from .conftest import Background, code_row


def scanned_elsewhere(waiting_app, other_app, phone_headers_of):
    """A poll waiting on one app while the code is scanned through another: the seconds from
    the scan's answer to the poll's."""
    browser, other = waiting_app.test_client(), other_app.test_client()
    code = browser.post("/wx/qr-login").get_json()
    headers = phone_headers_of(other)
    waiting = Background(lambda: browser.get(f"/wx/qr-login/{code['ticket']}?wait=20"))
    time.sleep(0.3)
    assert other.post("/wx/qr-login/scan", json={"scene": code["scene"]}, headers=headers).status_code == 200
    scanned = time.monotonic()
    assert waiting.result().get_json() == {"status": "scanned"}
    return time.monotonic() - scanned


def login_through(client):
    from ..conftest import fresh_code

    token = client.post("/wx/login", json={"code": fresh_code("alice")}).get_json()["access_token"]
    return {"Authentication": token}


def test_a_change_on_another_host_wakes_the_poll(app, make_app):
    # Two apps on one database (and one Redis, when the run has one): two hosts.
    seconds = scanned_elsewhere(app, make_app(), login_through)
    assert seconds < 2  # API.md: within a second (with room for a loaded machine)


def test_without_redis_the_database_wakes_it(make_app):
    one, two = make_app(REDIS_URL=None), make_app(REDIS_URL=None)
    assert scanned_elsewhere(one, two, login_through) < 2


def test_with_redis_away_the_database_wakes_it(make_app):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    one, two = make_app(REDIS_URL=dead), make_app(REDIS_URL=dead)
    assert scanned_elsewhere(one, two, login_through) < 2


@pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL")
def test_with_redis_the_change_is_published(app, new_code, phone):
    code = new_code()
    listener = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(wakeups.CHANNEL)
    listener.get_message(timeout=1)  # the subscription's own answer
    phone("alice").scan(code["scene"])
    message = listener.get_message(timeout=2)
    assert message is not None and int(message["data"]) == code_row(app, code["scene"]).id
    listener.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL")
def test_with_redis_a_poll_is_woken_at_once_without_the_database_watcher(app, make_app, monkeypatch):
    monkeypatch.setattr(wakeups.Wakeups, "_watch_database", lambda self: None)  # Redis alone
    assert scanned_elsewhere(app, make_app(), login_through) < 0.5


def test_at_sigterm_waiting_polls_answer_at_once(app, new_code):
    code = new_code()
    waiting = Background(lambda: app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=20"))
    time.sleep(0.3)
    wakeups.wake_everything()  # what the gunicorn worker calls on SIGTERM
    assert waiting.result().get_json() == {"status": "pending"}
    assert waiting.seconds < 5
    # And polls that arrive while the process stops do not wait at all.
    assert app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=20").get_json() == {"status": "pending"}


def test_the_watchers_stop_when_nothing_waits(app, new_code, monkeypatch):
    monkeypatch.setattr(wakeups, "IDLE_SECONDS", 0.3)
    code = new_code()
    assert app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=1").status_code == 200
    names = {"wxlogin-qr-database", "wxlogin-qr-redis"}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and names & {t.name for t in threading.enumerate()}:
        time.sleep(0.1)
    assert not names & {t.name for t in threading.enumerate()}
