"""GET /wx/me/export: everything held about the caller, and nothing of anyone else."""

from datetime import datetime

from ..conftest import OTHER_APPID, fresh_code


def test_the_export_holds_everything_about_the_caller(client, login):
    alice = login("alice")
    headers = {"Authentication": alice["access_token"]}
    client.patch("/wx/me", json={"nickname": "Alice"}, headers=headers)
    client.post("/wx/phone", json={"code": f"sim-phone:13800138000:{fresh_code('x')}"}, headers=headers)
    for title in ("first", "second"):
        client.post("/wx/notes", json={"title": title, "content": "text"}, headers=headers)
    client.post("/wx/login", json={"code": fresh_code("alice"), "appid": OTHER_APPID})  # the same person, app two
    code = client.post("/wx/qr-login").get_json()
    client.post("/wx/qr-login/scan", json={"scene": code["scene"]}, headers=headers)
    login("bob")  # someone else: nothing of his may appear
    response = client.get("/wx/me/export", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == f'attachment; filename="wxlogin-export-{alice["user"]["id"]}.json"'
    export = response.get_json()
    assert set(export) == {"exported_at", "profile", "identities", "notes", "login_attempts", "web_logins"}
    datetime.fromisoformat(export["exported_at"])
    profile = export["profile"]
    assert (profile["id"], profile["nickname"], profile["phone_number"], profile["login_count"]) == (
        alice["user"]["id"], "Alice", "13800138000", 2)
    assert [(i["appid"], i["openid"]) for i in export["identities"]][0] == ("wxtest00000000001", alice["user"]["openid"])
    assert [i["appid"] for i in export["identities"]] == ["wxtest00000000001", OTHER_APPID]
    assert all(set(i) == {"appid", "openid", "unionid", "created_at", "last_login_at"} for i in export["identities"])
    assert [n["title"] for n in export["notes"]] == ["first", "second"]
    assert [(a["appid"], a["method"], a["outcome"]) for a in export["login_attempts"]] == [
        ("wxtest00000000001", "code", "ok"), (OTHER_APPID, "code", "ok")]
    assert [w["status"] for w in export["web_logins"]] == ["scanned"]
    text = response.get_data(as_text=True)
    assert "session_key" not in text and "bob" not in text


def test_the_export_needs_a_token(client):
    response = client.get("/wx/me/export")
    assert (response.status_code, response.get_json()["error"]) == (401, "token_missing")


def test_exports_are_limited_per_user(client, login):
    headers = {"Authentication": login("alice")["access_token"]}
    assert [client.get("/wx/me/export", headers=headers).status_code for _ in range(10)] == [200] * 10
    limited = client.get("/wx/me/export", headers=headers)
    assert (limited.status_code, limited.get_json()["error"]) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    other = {"Authentication": login("bob")["access_token"]}
    assert client.get("/wx/me/export", headers=other).status_code == 200
