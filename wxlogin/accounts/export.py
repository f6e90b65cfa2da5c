"""Everything the service holds about a user, as one document: their right to a copy of
their data (PIPL article 45). docs/API.md describes it field by field.

What is left out, and why: the WeChat ``session_key`` (WeChat's secret, which the user
never had), the revocations (token ids, not data about the person) and the shared WeChat
access tokens (the mini program's, not the user's).
"""

import sqlalchemy as sa

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..models import Identity, LoginAttempt, Note, QrLogin, User, utcnow


def export_account(user_id):
    """The document of ``GET /wx/me/export``, read in one transaction."""
    user = db.session.get(User, user_id, populate_existing=True)
    if user is None:  # deleted since the token was checked
        raise ApiError(messages.TOKEN_USER_GONE)
    document = {
        "exported_at": utcnow(),
        "profile": {
            "id": user.id, "unionid": user.unionid, "nickname": user.nickname,
            "avatar_url": user.avatar_url, "phone_number": user.phone_number,
            "login_count": user.login_count, "created_at": user.created_at,
            "last_login_at": user.last_login_at,
        },
        "identities": [
            {"appid": i.appid, "openid": i.openid, "unionid": user.unionid,
             "created_at": i.created_at, "last_login_at": i.last_login_at}
            for i in _rows(Identity, Identity.user_id == user_id, Identity.id)
        ],
        "notes": [
            {"id": n.id, "title": n.title, "content": n.content,
             "created_at": n.created_at, "updated_at": n.updated_at}
            for n in _rows(Note, Note.user_id == user_id, Note.id)
        ],
        "login_attempts": [
            {"at": a.at, "appid": a.appid, "method": a.method, "outcome": a.outcome,
             "client_ip": a.client_ip, "user_agent": a.user_agent}
            for a in _rows(LoginAttempt, LoginAttempt.user_id == user_id, LoginAttempt.id)
        ],
        "web_logins": [
            {"created_at": q.created_at, "appid": q.appid, "status": q.status,
             "requester_ip": q.requester_ip, "requester_user_agent": q.requester_agent,
             "scanned_at": q.scanned_at, "decided_at": q.decided_at}
            for q in _rows(QrLogin, QrLogin.user_id == user_id, QrLogin.id)
        ],
    }
    db.session.commit()
    return document


def _rows(model, condition, order):
    return db.session.scalars(sa.select(model).where(condition).order_by(order)).all()
