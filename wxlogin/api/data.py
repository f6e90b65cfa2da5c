"""Data blueprint: the caller's own profile and notes. Every route needs an access token."""

from flask_jwt_extended import current_user, get_current_user

from ..accounts import notes
from ..accounts.profile import load_current_user, update_profile
from .blueprint import Blueprint
from .schemas import (
    DeletedSchema,
    FindSomeSchema,
    NoteCreateSchema,
    NotePageSchema,
    NotePatchSchema,
    NoteSchema,
    PageArgsSchema,
    UserPatchSchema,
    UserSchema,
)

blp = Blueprint("data", __name__, url_prefix="/wx", description="The caller's own data.")

# Any id reaches the route (an id the database could not hold is a 404 of ``notes``):
# werkzeug's router answers an out-of-range id on a converter with ``max`` as a 405.
NOTE_URL = "/notes/<int:note_id>"

# ``token_required`` comes first, right under the route: a request without a valid token is
# refused before its body or query is even looked at.


@blp.get("/findsome")
@blp.token_required
@blp.response(200, FindSomeSchema)
def findsome():
    """The caller and their latest 100 notes (the seed's query route)."""
    user = get_current_user()
    return {"user": user, "notes": notes.latest_notes(user.id)}


@blp.get("/me")
@blp.token_required
@blp.response(200, UserSchema)
def get_me():
    return get_current_user()  # the object itself: dumping through the proxy costs more


@blp.patch("/me")
@blp.token_required
@blp.arguments(UserPatchSchema, required=False)
@blp.response(200, UserSchema)
def patch_me(changes):
    return update_profile(load_current_user(), changes)


@blp.get("/notes")
@blp.token_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, NotePageSchema)
def list_notes(args):
    """The caller's notes, newest first."""
    return notes.page_of_notes(current_user.id, args["page"], args["per_page"])


@blp.post("/notes")
@blp.token_required
@blp.arguments(NoteCreateSchema)
@blp.response(201, NoteSchema)
def create_note(args):
    return notes.create_note(current_user.id, args["title"], args["content"])


@blp.get(NOTE_URL)
@blp.token_required
@blp.response(200, NoteSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_note(note_id):
    return notes.get_note(current_user.id, note_id)


@blp.patch(NOTE_URL)
@blp.token_required
@blp.arguments(NotePatchSchema, required=False)
@blp.response(200, NoteSchema)
@blp.alt_response(404, response="NOT_FOUND")
def patch_note(changes, note_id):
    return notes.update_note(notes.get_note(current_user.id, note_id), changes)


@blp.delete(NOTE_URL)
@blp.token_required
@blp.response(200, DeletedSchema)
@blp.alt_response(404, response="NOT_FOUND")
def delete_note(note_id):
    notes.delete_note(notes.get_note(current_user.id, note_id))
    return {"deleted": True}
