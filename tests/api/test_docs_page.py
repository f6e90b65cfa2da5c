"""GET /docs renders Swagger UI in a real browser (Debian's headless Chromium, driven by
Playwright) with every request to another host refused: the page needs no CDN."""

import os
import shutil
from urllib.parse import urlsplit

import pytest

from ..conftest import LiveServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

if not shutil.which(CHROMIUM):
    reason = f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI"):  # CI installs it: there a missing browser is a failure
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture
def page(app):
    server = LiveServer(app)
    refused = []

    def only_this_server(route):
        if urlsplit(route.request.url).netloc == urlsplit(server.url).netloc:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.route("**/*", only_this_server)
                page.base_url, page.refused = server.url, refused
                yield page
            finally:
                browser.close()
    finally:
        server.stop()  # also when the browser could not start


def test_swagger_ui_lists_every_operation_offline(page, client):
    operations = sum(
        1 for methods in client.get("/openapi.json").get_json()["paths"].values()
        for method in methods if method in ("get", "post", "put", "patch", "delete")
    )
    page.goto(f"{page.base_url}/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() == operations
    login = page.locator(".opblock-post", has_text="/wx/login")
    assert login.count() == 1 and "Exchange the code with WeChat" in login.inner_text()
    assert page.refused == []  # nothing was asked of another host
