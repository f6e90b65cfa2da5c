"""A user's notes: the data routes' example resource. Every query is scoped to the owner."""

import sqlalchemy as sa

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..models import MAX_ID, Note


def newest_first(user_id):
    return (
        sa.select(Note)
        .where(Note.user_id == user_id)
        .order_by(Note.created_at.desc(), Note.id.desc())
    )


def latest_notes(user_id, limit=100):
    return db.session.scalars(newest_first(user_id).limit(limit)).all()


def page_of_notes(user_id, page, per_page):
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(Note).where(Note.user_id == user_id)
    )
    notes = db.session.scalars(
        newest_first(user_id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return {"notes": notes, "page": page, "per_page": per_page, "total": total}


def get_note(user_id, note_id):
    """The user's note, or 404: another user's note is indistinguishable from a missing one."""
    if not 0 < note_id <= MAX_ID:  # no such row can exist, and PostgreSQL would refuse the id
        raise ApiError(messages.NOTE_NOT_FOUND)
    note = db.session.scalar(sa.select(Note).where(Note.id == note_id, Note.user_id == user_id))
    if note is None:
        raise ApiError(messages.NOTE_NOT_FOUND)
    return note


def create_note(user_id, title, content):
    note = Note(user_id=user_id, title=title, content=content)
    db.session.add(note)
    db.session.commit()
    return note


def update_note(note, changes):
    note.update_from(changes)
    db.session.commit()
    return note


def delete_note(note):
    db.session.delete(note)
    db.session.commit()
