"""session_key at rest: encrypted, bound to its row, readable across a key change."""

import base64
import os

import sqlalchemy as sa

from wxlogin import create_app
from wxlogin.accounts.session_keys import session_key_of
from wxlogin.extensions import db
from wxlogin.models import Identity
from wxlogin.security import keys

from ..conftest import JWT_KEY, app_config, fresh_code


def new_key():
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def stored_user(app):
    with app.app_context():
        return db.session.scalars(sa.select(Identity)).one()


def test_the_session_key_is_stored_encrypted(app, login):
    login("alice")
    user = stored_user(app)
    assert user.session_key.startswith("v1:")
    with app.app_context():
        clear = session_key_of(user)
    assert len(base64.b64decode(clear)) == 16  # WeChat's session_key: 16 bytes, base64
    assert clear not in user.session_key


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(app, login):
    login("alice")
    login("bob")
    with app.app_context():
        alice, bob = db.session.scalars(sa.select(Identity).order_by(Identity.id)).all()
        bob.session_key = alice.session_key
        assert session_key_of(bob) is None
        assert session_key_of(alice) is not None


def test_a_tampered_ciphertext_does_not_decrypt(app, login):
    login("alice")
    with app.app_context():
        user = db.session.scalars(sa.select(Identity)).one()
        prefix, kid, blob = user.session_key.split(":")
        raw = bytearray(base64.b64decode(blob))
        raw[-1] ^= 1
        user.session_key = f"{prefix}:{kid}:{base64.b64encode(raw).decode()}"
        assert session_key_of(user) is None


def test_old_keys_still_read_and_reencrypt_moves_rows_to_the_new_key(app, database_url, simulator, tmp_path):
    """(``app`` only empties the database first.)"""
    old, new = new_key(), new_key()

    def app_with(*keys):
        config = app_config(database_url, simulator.url, SESSION_KEY_ENCRYPTION_KEYS=list(keys))
        return create_app(config, instance_path=str(tmp_path))

    before = app_with(old)
    assert before.test_client().post("/wx/login", json={"code": fresh_code("alice")}).status_code == 200
    with before.app_context():
        clear = session_key_of(db.session.scalars(sa.select(Identity)).one())

    rotated = app_with(new, old)
    with rotated.app_context():
        assert session_key_of(db.session.scalars(sa.select(Identity)).one()) == clear
    result = rotated.test_cli_runner().invoke(args=["session-keys", "reencrypt"])
    assert "re-encrypted 1" in result.output

    after = app_with(new)
    with after.app_context():
        assert session_key_of(db.session.scalars(sa.select(Identity)).one()) == clear


def test_moving_from_hs256_to_es256_keeps_the_stored_session_keys(app, database_url, simulator, tmp_path):
    """HS256 with keys derived from JWT_SECRET_KEY, then ES256 with SESSION_KEY_ENCRYPTION_KEYS
    (which production requires with JWT_PRIVATE_KEY), JWT_SECRET_KEY still set: the old rows
    still read, and reencrypt moves them to the explicit key."""
    hs256 = app_config(database_url, simulator.url, JWT_SECRET_KEY=JWT_KEY, SESSION_KEY_ENCRYPTION_KEYS=[])
    hs256.pop("JWT_PRIVATE_KEY", None)
    before = create_app(hs256, instance_path=str(tmp_path))
    assert before.test_client().post("/wx/login", json={"code": fresh_code("alice")}).status_code == 200
    with before.app_context():
        clear = session_key_of(db.session.scalars(sa.select(Identity)).one())
    es256 = create_app(app_config(database_url, simulator.url, JWT_SECRET_KEY=JWT_KEY, JWT_PRIVATE_KEY=keys.generate()[0],
                                  SESSION_KEY_ENCRYPTION_KEYS=[new_key()]), instance_path=str(tmp_path))
    with es256.app_context():
        assert session_key_of(db.session.scalars(sa.select(Identity)).one()) == clear
    assert "re-encrypted 1" in es256.test_cli_runner().invoke(args=["session-keys", "reencrypt"]).output
