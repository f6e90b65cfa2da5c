"""The demo page (/_demo/qr-login) and /web/qr-login.js in a real browser, against the real
routes: the test plays the phone, reading the scene from the code the page shows, then
scanning, confirming or denying it over HTTP as the mini program does."""

import io
import time

import requests
from PIL import Image

from ..conftest import read_qr_code
from .conftest import QR_LOGIN_PAGE, MiniProgram

DEMO = "/_demo/qr-login"
AVATAR = "https://thirdwx.qlogo.cn/mmopen/vi_32/test/132"  # where WeChat's avatars are
POLL = "/wx/qr-login/"  # the page's polls: /wx/qr-login/<ticket>?wait=...


def png(size):
    out = io.BytesIO()
    Image.new("RGB", (size, size), "#07c160").save(out, "PNG")
    return out.getvalue()


def wait_for_state(page, state, timeout=5_000):
    page.wait_for_selector(f'#qr-login[data-state="{state}"]', timeout=timeout)


def text(page, selector):
    return page.locator(selector).inner_text().strip()


def shown_scene(page, previous=None):
    """Once the page shows a code: the scene in it (a new one, if ``previous`` is given)."""
    wait_for_state(page, "pending")
    page.wait_for_function("() => { const img = document.getElementById('qr-image');"
                           " return img.complete && img.naturalWidth > 0; }")
    assert page.locator("#qr-image").is_visible()
    code = read_qr_code(page.locator("#qr-image").get_attribute("src"))
    assert code["page"] == QR_LOGIN_PAGE
    assert code["scene"] != previous
    return code["scene"]


def scan_and_see_it(page, phone, scene):
    """The phone scans; the page says so within a second of the scan request's answer."""
    phone.scan(scene)
    scanned = time.monotonic()
    wait_for_state(page, "scanned")
    assert time.monotonic() - scanned < 1.0


def test_scan_confirm_then_sign_out(app, serve, page):
    server = serve(app)
    phone = MiniProgram(server.url, "carol")
    phone.set_profile(nickname="小明", avatar_url=AVATAR)
    polls = []
    page.on("request", lambda request: POLL in request.url and polls.append(request.url))
    page.route(AVATAR, lambda route: route.fulfill(content_type="image/png", body=png(72)))

    page.goto(server.url + DEMO)
    scene = shown_scene(page)
    assert text(page, "#qr-status") == "请使用微信扫一扫，扫描二维码登录"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"

    scan_and_see_it(page, phone, scene)
    assert text(page, "#qr-status") == "已扫码，请在手机上确认"

    with page.expect_response(lambda r: POLL in r.url) as answered, \
            page.expect_request(lambda r: r.url.endswith("/wx/me")) as asked_me:
        phone.confirm(scene)
    tokens = answered.value.json()
    assert tokens["status"] == "confirmed" and tokens["user"]["id"] == phone.user["id"]
    polls_until_confirmed = len(polls)
    wait_for_state(page, "signed-in")
    assert text(page, "#user-name") == "小明"
    page.wait_for_function("() => document.getElementById('user-avatar').naturalWidth === 72")
    assert page.locator("#user-avatar").is_visible()
    assert asked_me.value.headers["authentication"] == tokens["access_token"]

    # The page's tokens are ordinary tokens of the user; it keeps them in memory only.
    access = {"Authentication": tokens["access_token"]}
    me = requests.get(server.url + "/wx/me", headers=access, timeout=5)
    assert me.status_code == 200 and me.json()["id"] == phone.user["id"]
    assert page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]

    page.click("#logout")
    wait_for_state(page, "signed-out")
    assert text(page, "#qr-status") == "已退出登录"
    assert page.locator("#qr-refresh").is_visible()
    for path, headers in (("/wx/me", access), ("/wx/refresh", {"Authentication": tokens["refresh_token"]})):
        method = requests.get if path == "/wx/me" else requests.post
        refused = method(server.url + path, headers=headers, timeout=5)
        assert refused.status_code == 401 and refused.json()["error"] == "token_revoked", path

    assert len(polls) == polls_until_confirmed  # no poll after the final state
    assert not [line for line in page.console if tokens["access_token"] in line or tokens["refresh_token"] in line]
    assert page.errors == []


def test_denial_then_refresh(app, serve, page):
    server = serve(app)
    phone = MiniProgram(server.url, "dave")
    page.goto(server.url + DEMO)
    scene = shown_scene(page)
    scan_and_see_it(page, phone, scene)

    phone.deny(scene)
    wait_for_state(page, "denied")
    assert text(page, "#qr-status") == "已在手机上取消"
    assert text(page, "#qr-refresh") == "刷新"

    page.click("#qr-refresh")
    scan_and_see_it(page, phone, shown_scene(page, previous=scene))
    assert page.errors == []


def test_expiry_then_refresh(make_app, serve, page):
    server = serve(make_app(QR_LOGIN_TTL=2))
    phone = MiniProgram(server.url, "erin")
    page.goto(server.url + DEMO)
    scene = shown_scene(page)
    shown = time.monotonic()

    wait_for_state(page, "expired", timeout=4_000)
    assert time.monotonic() - shown < 3.5  # the waiting poll answers when the code expires
    assert text(page, "#qr-status") == "二维码已过期"
    assert page.locator("#qr-refresh").is_visible()
    expired = requests.post(f"{server.url}/wx/qr-login/scan", json={"scene": scene},
                            headers={"Authentication": phone.token}, timeout=5)
    assert expired.status_code == 410

    page.click("#qr-refresh")
    new_scene = shown_scene(page, previous=scene)
    scan_and_see_it(page, phone, new_scene)  # the new code works
    phone.deny(new_scene)
    wait_for_state(page, "denied")
    assert page.errors == []


def test_english(app, serve, page):
    server = serve(app)
    phone = MiniProgram(server.url, "frank")  # no nickname: the page names the user by id
    page.goto(server.url + DEMO + "?lang=en")
    scene = shown_scene(page)
    assert text(page, "#qr-status") == "Scan the code with WeChat to sign in"
    assert page.evaluate("[document.documentElement.lang, document.title]") == ["en", "Sign in with WeChat"]

    page.click("#lang-toggle")  # the visible switch, both ways
    assert text(page, "#qr-status") == "请使用微信扫一扫，扫描二维码登录"
    assert text(page, "#lang-toggle") == "English"
    assert "lang=" not in page.url
    page.click("#lang-toggle")
    assert text(page, "#lang-toggle") == "中文"
    assert page.url.endswith("?lang=en")
    assert text(page, "#title") == "Sign in with WeChat"

    scan_and_see_it(page, phone, scene)
    assert text(page, "#qr-status") == "Scanned. Please confirm on your phone"
    phone.confirm(scene)
    wait_for_state(page, "signed-in")
    assert text(page, "#user-name") == f"User #{phone.user['id']}"
    assert not page.locator("#user-avatar").is_visible()  # none set
    assert text(page, "#logout") == "Sign out"
    page.click("#logout")
    wait_for_state(page, "signed-out")
    assert (text(page, "#qr-status"), text(page, "#qr-refresh")) == ("Signed out", "Sign in again")
    page.click("#lang-toggle")
    assert (text(page, "#qr-status"), text(page, "#qr-refresh")) == ("已退出登录", "重新登录")
    assert page.errors == []


# A product's own page on another origin, importing the module from the service's.
PRODUCT_PAGE = b"""<!doctype html>
<meta charset="utf-8">
<title>product</title>
<img id="code" alt="">
<p id="state">loading</p>
<script type="module">
  const api = new URLSearchParams(location.search).get("api");
  import(api + "/web/qr-login.js").then(({ QrLogin }) => {
    const state = document.getElementById("state");
    new QrLogin({ baseUrl: api, wait: 5 })
      .on("code", ({ image }) => { document.getElementById("code").src = image; state.textContent = "pending"; })
      .on("scanned", () => { state.textContent = "scanned"; })
      .on("confirmed", ({ tokens }) => { window.tokens = tokens; state.textContent = "confirmed"; })
      .on("error", ({ error }) => { state.textContent = "error: " + error.code; })
      .start();
  }, () => { document.getElementById("state").textContent = "import failed"; });
</script>
"""


def product_site(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [PRODUCT_PAGE]


def test_cross_origin_page_with_cors_origins(make_app, serve, page):
    site = serve(product_site)
    api = serve(make_app(CORS_ORIGINS=[site.url]))
    phone = MiniProgram(api.url, "grace")
    page.goto(f"{site.url}/?api={api.url}")
    page.wait_for_selector("#state:text-is('pending')")
    scene = read_qr_code(page.locator("#code").get_attribute("src"))["scene"]
    phone.scan(scene)
    page.wait_for_selector("#state:text-is('scanned')")
    phone.confirm(scene)
    page.wait_for_selector("#state:text-is('confirmed')")
    access_token = page.evaluate("window.tokens.access_token")
    me = requests.get(api.url + "/wx/me", headers={"Authentication": access_token}, timeout=5)
    assert me.status_code == 200 and me.json()["id"] == phone.user["id"]


def test_cross_origin_page_refused_without_cors_origins(make_app, serve, page):
    site = serve(product_site)
    api = serve(make_app())  # CORS_ORIGINS unset
    page.goto(f"{site.url}/?api={api.url}")
    # The module loads (it is public code), but the browser keeps the API's answers from the page.
    page.wait_for_selector("#state:text-is('error: network_error')")
    assert page.locator("#code").get_attribute("src") is None
    assert any("CORS" in line for line in page.console), page.console
