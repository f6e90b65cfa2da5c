"""/openapi.json documents every route of API.md that exists, with its schemas."""

EXPECTED = {
    "/wx/login": {"post"},
    "/wx/refresh": {"post"},
    "/wx/logout": {"post"},
    "/wx/findsome": {"get"},
    "/wx/me": {"get", "patch", "delete"},
    "/wx/me/export": {"get"},
    "/wx/notes": {"get", "post"},
    "/wx/notes/{note_id}": {"get", "patch", "delete"},
    "/wx/phone": {"post"},
    "/wx/userinfo": {"post"},
    "/wx/session": {"get"},
    "/wx/qr-login": {"post"},
    "/wx/qr-login/{ticket}": {"get"},
    "/wx/qr-login/scan": {"post"},
    "/wx/qr-login/confirm": {"post"},
    "/wx/qr-login/deny": {"post"},
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
    "/.well-known/jwks.json": {"get"},
    "/.well-known/openid-configuration": {"get"},
    "/oauth/introspect": {"post"},
}


def test_every_route_is_documented(client):
    spec = client.get("/openapi.json").get_json()
    documented = {path: set(ops) - {"parameters"} for path, ops in spec["paths"].items()}
    assert documented == EXPECTED


def test_protected_routes_name_the_authentication_header(client):
    spec = client.get("/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["Authentication"] == {"type": "apiKey", "in": "header", "name": "Authentication"}
    assert schemes["Bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert spec["paths"]["/wx/me"]["get"]["security"] == [{"Authentication": []}, {"Bearer": []}]
    assert "security" not in spec["paths"]["/wx/login"]["post"]
    assert "401" in spec["paths"]["/wx/notes"]["get"]["responses"]


def test_schemas_match_the_contract(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"error", "message", "details"}
    assert set(schemas["User"]["properties"]) == {
        "id", "openid", "unionid", "nickname", "avatar_url", "phone_number", "created_at", "last_login_at"
    }
    assert set(schemas["LoginResult"]["properties"]) == {
        "access_token", "refresh_token", "token_type", "expires_in", "is_new_user", "user"
    }
    assert schemas["NoteCreate"]["properties"]["title"]["maxLength"] == 200
    assert schemas["Login"]["required"] == ["code"]


def test_swagger_ui_is_served(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()


def test_only_the_files_the_page_loads_are_served(client):
    """Swagger UI's files for /docs, from the package: those three, no other file."""
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    for other in ("index.html", "swagger-ui.js.map", "../__init__.py"):
        assert client.get(f"/docs/assets/{other}").status_code == 404
