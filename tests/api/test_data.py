"""The data blueprint: /wx/findsome, /wx/me and /wx/notes, always the caller's own data."""

import pytest
import sqlalchemy as sa

from wxlogin.extensions import db
from wxlogin.models import Note, User


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/wx/findsome"),
        ("GET", "/wx/me"),
        ("PATCH", "/wx/me"),
        ("GET", "/wx/notes"),
        ("POST", "/wx/notes"),
        ("GET", "/wx/notes/1"),
        ("PATCH", "/wx/notes/1"),
        ("DELETE", "/wx/notes/1"),
    ],
)
def test_every_data_route_needs_a_token(client, method, path):
    response = client.open(path, method=method, json={})
    assert response.status_code == 401
    assert response.get_json()["error"] == "token_missing"


def test_findsome_returns_the_caller_and_their_latest_notes(client, auth):
    headers = auth("alice")
    for title in ("one", "two", "three"):
        assert client.post("/wx/notes", json={"title": title}, headers=headers).status_code == 201
    client.post("/wx/notes", json={"title": "bob's"}, headers=auth("bob"))
    body = client.get("/wx/findsome", headers=headers).get_json()
    assert body["user"]["openid"]
    assert [n["title"] for n in body["notes"]] == ["three", "two", "one"]


def test_findsome_stops_at_100_notes(client, app, auth, login):
    headers = auth("alice")
    user_id = client.get("/wx/me", headers=headers).get_json()["id"]
    with app.app_context():
        db.session.add_all(Note(user_id=user_id, title=f"n{i}") for i in range(105))
        db.session.commit()
    assert len(client.get("/wx/findsome", headers=headers).get_json()["notes"]) == 100


def test_me_shows_and_patches_the_profile(client, app, auth):
    headers = auth("alice")
    body = client.get("/wx/me", headers=headers).get_json()
    assert body["nickname"] is None and "session_key" not in body
    patch = {"nickname": "小明 🐼", "avatar_url": "https://example.com/a.png"}
    response = client.patch("/wx/me", json=patch, headers=headers)
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in patch} == patch
    with app.app_context():
        row = db.session.get(User, body["id"])
        assert (row.nickname, row.avatar_url) == (patch["nickname"], patch["avatar_url"])
    cleared = client.patch("/wx/me", json={"nickname": None}, headers=headers).get_json()
    assert cleared["nickname"] is None and cleared["avatar_url"] == patch["avatar_url"]


@pytest.mark.parametrize(
    "patch",
    [
        {"nickname": "x" * 65},
        {"nickname": ""},
        {"nickname": "tab\there"},
        {"avatar_url": "javascript:alert(1)"},
        {"avatar_url": "https://example.com/" + "a" * 1020},
        {"openid": "someone-else"},
        {"session_key": "x"},
    ],
)
def test_me_refuses_bad_patches(client, auth, patch):
    response = client.patch("/wx/me", json=patch, headers=auth())
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_request" and set(body["details"]) == set(patch)


def test_notes_crud(client, auth):
    headers = auth()
    created = client.post("/wx/notes", json={"title": "Hi", "content": "line 1\nline 2"}, headers=headers)
    assert created.status_code == 201
    note = created.get_json()
    assert set(note) == {"id", "title", "content", "created_at", "updated_at"}
    url = f"/wx/notes/{note['id']}"
    assert client.get(url, headers=headers).get_json() == note
    patched = client.patch(url, json={"content": "changed"}, headers=headers).get_json()
    assert (patched["title"], patched["content"]) == ("Hi", "changed")
    assert patched["updated_at"] > note["updated_at"]
    assert patched["created_at"] == note["created_at"]
    deleted = client.delete(url, headers=headers)
    assert (deleted.status_code, deleted.get_json()) == (200, {"deleted": True})
    assert client.get(url, headers=headers).status_code == 404


def test_content_defaults_to_empty(client, auth):
    note = client.post("/wx/notes", json={"title": "t"}, headers=auth()).get_json()
    assert note["content"] == ""


def test_someone_elses_note_is_exactly_like_a_missing_one(client, auth):
    alice, bob = auth("alice"), auth("bob")
    note_id = client.post("/wx/notes", json={"title": "private"}, headers=alice).get_json()["id"]
    for method in ("GET", "PATCH", "DELETE"):
        theirs = client.open(f"/wx/notes/{note_id}", method=method, json={"title": "x"}, headers=bob)
        missing = client.open(f"/wx/notes/{note_id + 1000}", method=method, json={"title": "x"}, headers=bob)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.get_json() == missing.get_json()
    assert client.get(f"/wx/notes/{note_id}", headers=alice).get_json()["title"] == "private"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("note_id", ["0", "2147483648", "99999999999999999999", "abc", "-1"])
def test_impossible_note_ids_are_404(client, auth, note_id, method):
    body = {"title": "t"} if method == "PATCH" else None
    response = client.open(f"/wx/notes/{note_id}", method=method, json=body, headers=auth())
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "ok", "content": "x" * 10001},
        {"title": 5},
        {"title": "nul\x00byte"},
        {"title": "ok", "content": "lone surrogate \ud800"},
        {"title": "ok", "extra": 1},
    ],
)
def test_bad_notes_are_refused(client, app, auth, body):
    response = client.post("/wx/notes", json=body, headers=auth())
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_request"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0


def test_limits_are_inclusive(client, auth):
    body = {"title": "t" * 200, "content": "c" * 10000}
    assert client.post("/wx/notes", json=body, headers=auth()).status_code == 201


def test_notes_are_paged_newest_first(client, app, auth):
    headers = auth("alice")
    for i in range(25):
        client.post("/wx/notes", json={"title": f"n{i}"}, headers=headers)
    client.post("/wx/notes", json={"title": "not alice's"}, headers=auth("bob"))
    first = client.get("/wx/notes", headers=headers).get_json()
    assert (first["page"], first["per_page"], first["total"]) == (1, 20, 25)
    assert [n["title"] for n in first["notes"]] == [f"n{i}" for i in range(24, 4, -1)]
    second = client.get("/wx/notes?page=2&per_page=20", headers=headers).get_json()
    assert [n["title"] for n in second["notes"]] == [f"n{i}" for i in range(4, -1, -1)]
    beyond = client.get("/wx/notes?page=9", headers=headers).get_json()
    assert beyond["notes"] == [] and beyond["total"] == 25


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=101", "page=x"])
def test_bad_paging_is_refused(client, auth, query):
    response = client.get(f"/wx/notes?{query}", headers=auth())
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_request"


def test_deleting_a_user_deletes_their_notes(client, app, auth):
    headers = auth()
    client.post("/wx/notes", json={"title": "t"}, headers=headers)
    with app.app_context():
        db.session.execute(sa.delete(User))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0


def test_a_mini_program_patches_with_post_and_an_override_header(client, auth):
    """wx.request cannot send PATCH: POST with X-HTTP-Method-Override: PATCH is one."""
    headers = {**auth(), "X-HTTP-Method-Override": "PATCH"}
    response = client.post("/wx/me", json={"nickname": "Ming"}, headers=headers)
    assert (response.status_code, response.get_json()["nickname"]) == (200, "Ming")
    # A GET is never overridden: /wx/notes has no PATCH (405), yet this lists the notes.
    assert client.get("/wx/notes", headers=headers).status_code == 200
    assert client.post("/wx/notes", json={"title": "t"}, headers={**headers, "X-HTTP-Method-Override": "PUT"}).status_code == 201
