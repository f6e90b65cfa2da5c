"""The web login's two sides in tests: a browser that asks for a code and polls it, and a
mini program user who scans it, both over the HTTP API."""

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from wxlogin.extensions import db
from wxlogin.models import QrLogin, utcnow

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"


@pytest.fixture
def new_code(client):
    """Ask for a code as a browser; returns the 201 answer's JSON."""

    def new_code(**body):
        response = client.post("/wx/qr-login", json=body, headers={"User-Agent": BROWSER})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return new_code


@pytest.fixture
def phone(client, auth):
    """A logged-in mini program user's steps on a scene: ``phone("alice").scan(scene)``."""

    class Phone:
        def __init__(self, name):
            self.headers = auth(name)

        def step(self, step, scene):
            return client.post(f"/wx/qr-login/{step}", json={"scene": scene}, headers=self.headers)

        def scan(self, scene):
            return self.step("scan", scene)

        def confirm(self, scene):
            return self.step("confirm", scene)

        def deny(self, scene):
            return self.step("deny", scene)

    return Phone


def poll(client, ticket, wait=0):
    return client.get(f"/wx/qr-login/{ticket}?wait={wait}")


def error(response):
    return response.status_code, response.get_json()["error"]


class Background:
    """A request run in a thread of its own (a poll that waits), with its duration."""

    def __init__(self, call):
        self.response, self.seconds = None, None

        def run():
            started = time.monotonic()
            self.response = call()
            self.seconds = time.monotonic() - started

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def result(self, timeout=40):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the request did not end"
        return self.response


def code_row(app, scene):
    with app.app_context():
        return db.session.scalar(sa.select(QrLogin).where(QrLogin.scene == scene))


def expire(app, scene, **shift):
    """Move the code's expiry (and its confirmation) into the past."""
    past = utcnow() - timedelta(seconds=1)
    with app.app_context():
        db.session.execute(sa.update(QrLogin).where(QrLogin.scene == scene).values(expires_at=past, **shift))
        db.session.commit()
