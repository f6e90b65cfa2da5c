"""Account blueprint: the user's rights over their data, a copy of it and its deletion."""

from flask_jwt_extended import current_user

from ..accounts.deletion import delete_account
from ..accounts.export import export_account
from ..security.ratelimit import check_export_limit
from .account_schemas import ExportSchema
from .auth import NO_STORE
from .blueprint import Blueprint
from .schemas import DeletedSchema

blp = Blueprint("account", __name__, url_prefix="/wx", description="The caller's account: export, deletion.")


@blp.get("/me/export")
@blp.token_required
@blp.response(200, ExportSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def export():
    """Everything the service holds about the caller: profile, every identity (never the
    session_key), phone number, notes, the login attempts still kept and web logins.
    At most 10 an hour per user."""
    check_export_limit(current_user.id)
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="wxlogin-export-{current_user.id}.json"'}
    return export_account(current_user.id), 200, headers


@blp.delete("/me")
@blp.token_required
@blp.response(200, DeletedSchema)
def delete():
    """Erase the account (profile, identities, session keys, phone number, notes) in one
    transaction. Every token of the user is refused from the next request on (401
    `token_revoked`); a later login of the same WeChat user makes a new account."""
    delete_account(current_user.id)
    return {"deleted": True}
