"""wxlogin with one more route, ``GET /floor``: the same user JSON as ``/wx/me`` from a
constant, with no token. What a route costs in this app before any authentication (request
log, metrics, flask-smorest, the response schema): the ceiling for ``/wx/me``."""

from datetime import datetime, timezone

from wxlogin import create_app
from wxlogin.api.blueprint import Blueprint
from wxlogin.api.schemas import UserSchema
from wxlogin.extensions import api
from wxlogin.security.user_cache import UserSnapshot

NOW = datetime.now(timezone.utc)
USER = UserSnapshot(1, "wxbench000000001", "o" * 28, None, None, None, None, NOW, NOW, False, 0)

blp = Blueprint("floor", __name__)


@blp.get("/floor")
@blp.response(200, UserSchema)
def floor():
    return USER


app = create_app({"DEBUG": False})
api.register_blueprint(blp)
