"""Fixtures of the browser-side tests: Debian's headless Chromium driven by Playwright (one
browser per test module, never a downloaded one), apps built like conftest's ``app``, and the
mini program's part played over HTTP."""

import os
import shutil

import pytest
import requests

from ..conftest import LiveServer, fresh_code

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
QR_LOGIN_PAGE = "pages/qr-login/index"  # QR_LOGIN_PAGE's default


@pytest.fixture(scope="module")
def browser():
    # As tests/api/test_docs_page.py, in a fixture: the tests here that need no browser run anyway.
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        reason = f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):  # CI installs it: there a missing browser is a failure
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh page (its own cookies and storage), with its console and uncaught errors kept."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(5_000)
    page.console, page.errors = [], []
    page.on("console", lambda message: page.console.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def serve():
    """Serve WSGI apps over real HTTP for the test: ``serve(app).url``."""
    servers = []

    def serve(wsgi_app):
        servers.append(LiveServer(wsgi_app))
        return servers[-1]

    yield serve
    for server in servers:
        server.stop()


class MiniProgram:
    """The mini program's part, over HTTP: a simulated user, logged in, scanning codes."""

    def __init__(self, base_url, name):
        self.base_url = base_url
        body = self._call("POST", "/wx/login", {"code": fresh_code(name)})
        self.token, self.user = body["access_token"], body["user"]

    def _call(self, method, path, body, expect=200):
        headers = {"Authentication": self.token} if hasattr(self, "token") else {}
        response = requests.request(method, self.base_url + path, json=body, headers=headers, timeout=10)
        assert response.status_code == expect, response.text
        return response.json()

    def set_profile(self, **fields):
        self.user = self._call("PATCH", "/wx/me", fields)

    def scan(self, scene):
        return self._call("POST", "/wx/qr-login/scan", {"scene": scene})

    def confirm(self, scene):
        return self._call("POST", "/wx/qr-login/confirm", {"scene": scene})

    def deny(self, scene):
        return self._call("POST", "/wx/qr-login/deny", {"scene": scene})
