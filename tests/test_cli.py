"""Operators' commands: flask users disable|enable."""

def slug(response):
    return response.status_code, response.get_json()["error"]


def test_a_disabled_user_cannot_log_in_and_their_tokens_stop(client, login, runner):
    tokens = login("mallory")
    result = runner.invoke(args=["users", "disable", str(tokens["user"]["id"])])
    assert result.exit_code == 0 and "disabled user" in result.output
    headers = {"Authentication": tokens["access_token"]}
    assert slug(client.get("/wx/me", headers=headers)) == (403, "user_disabled")
    assert slug(client.post("/wx/refresh", headers={"Authentication": tokens["refresh_token"]})) == (
        403, "user_disabled",
    )
    assert slug(client.post("/wx/login", json={"code": "sim:mallory:again"})) == (403, "user_disabled")
    result = runner.invoke(args=["users", "enable", tokens["user"]["openid"]])
    assert result.exit_code == 0 and "enabled user" in result.output
    # the tokens held when disabled stay dead (one may be why); a new login works
    assert slug(client.get("/wx/me", headers=headers)) == (401, "token_revoked")
    fresh = client.post("/wx/login", json={"code": "sim:mallory:later"})
    assert fresh.status_code == 200
    assert client.get("/wx/me", headers={"Authentication": fresh.get_json()["access_token"]}).status_code == 200


def test_disabling_one_user_leaves_others(client, login, runner):
    mallory, alice = login("mallory"), login("alice")
    runner.invoke(args=["users", "disable", mallory["user"]["openid"]])
    assert client.get("/wx/me", headers={"Authentication": alice["access_token"]}).status_code == 200


def test_an_unknown_user_is_an_error(runner):
    result = runner.invoke(args=["users", "disable", "nobody"])
    assert result.exit_code != 0 and "No user" in result.output
    assert runner.invoke(args=["users", "enable", "99999999999999"]).exit_code != 0
