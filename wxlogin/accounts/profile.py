"""The user as a database row, and what a user may change about themselves."""

import sqlalchemy as sa
from flask_jwt_extended import current_user

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..models import Identity, User


def load_user(user_id, appid):
    """The user with their identity in mini program ``appid`` attached (None if unknown)."""
    row = db.session.execute(
        sa.select(User, Identity)
        .join(Identity, Identity.user_id == User.id)
        .where(User.id == user_id, Identity.appid == appid)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return None
    user, user.identity = row
    return user


def load_current_user():
    """The request's user as a database row, for the routes that change it (the token
    check gives them a read-only snapshot)."""
    user = load_user(current_user.id, current_user.appid)
    if user is None:
        raise ApiError(messages.TOKEN_USER_GONE)
    return user


def update_profile(user, changes):
    user.update_from(changes)
    db.session.commit()
    return user
