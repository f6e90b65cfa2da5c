"""``flask`` commands of wxlogin: the simulator, operators' user switches, maintenance."""

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from werkzeug.serving import run_simple

from .accounts import phone, session_keys
from .accounts.audit import purge_old, recent_attempts
from .accounts.deletion import delete_account
from .extensions import db
from .models import MAX_ID, Identity, User, utcnow
from .security import keys
from .security.token_store import token_store
from .wechat.simulator import Simulator, create_simulator_app

users_cli = AppGroup("users", help="Switch users off and on, list their logins, delete them.")
tokens_cli = AppGroup("tokens", help="Token revocation upkeep.")
session_keys_cli = AppGroup("session-keys", help="Stored WeChat session keys (and phone numbers).")
# A plain group, registered as a flask.commands entry point (setup.cfg): it needs no app, so
# that a production host makes its first key before it can start.
keys_cli = click.Group("keys", help="Token signing keys (ES256).")


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int)
@click.option(
    "--latency-ms", default=0, show_default=True, type=int,
    help="Delay every answer, to play a distant WeChat (benchmarks).",
)
@with_appcontext
def simulator_command(host, port, latency_ms):
    """Serve the WeChat simulator on its own port (development and testing only).

    Point a wxlogin at it with WX_API_BASE=http://HOST:PORT. When WX_APPID/WX_SECRET (or
    WX_APPS) are set, the simulator checks them as WeChat would.
    """
    app = current_app
    if not (app.debug or app.testing):
        raise click.UsageError(
            "The WeChat simulator runs in development only: flask --app wxlogin --debug simulator"
        )
    apps = {} if app.config.get("WX_SIMULATOR_EMBEDDED") else app.config["WX_APPS"]
    simulator = Simulator(apps, timeout_sleep=app.config["WX_TIMEOUT"] + 1, latency=latency_ms / 1000)
    click.echo(f"WeChat simulator on http://{host}:{port} (WX_API_BASE=http://{host}:{port})")
    run_simple(host, port, create_simulator_app(simulator), threaded=True)


def _find_users(id_or_openid):
    """Users by id, or by the openid of one of their identities."""
    by_openid = sa.select(Identity.user_id).where(Identity.openid == id_or_openid)
    condition = User.id.in_(by_openid)
    if id_or_openid.isdigit() and int(id_or_openid) <= MAX_ID:
        condition = sa.or_(condition, User.id == int(id_or_openid))
    users = db.session.scalars(sa.select(User).where(condition)).all()
    if not users:
        raise click.ClickException(f"No user with id or openid {id_or_openid!r}.")
    return users


@users_cli.command("disable")
@click.argument("id_or_openid")
def disable_user(id_or_openid):
    """Refuse the user's logins and every token they hold, from the next request on.

    Their tokens stay dead after ``enable`` too (a stolen one may be why they were disabled).
    """
    for user in _find_users(id_or_openid):
        user.disabled_at = user.disabled_at or utcnow()
        user.token_generation = User.token_generation + 1  # in SQL: races no logout-all
        click.echo(f"disabled user {user.id}")
    _commit_and_tell_every_host()


@users_cli.command("enable")
@click.argument("id_or_openid")
def enable_user(id_or_openid):
    """Let a disabled user log in again (with a new login: their old tokens stay revoked)."""
    for user in _find_users(id_or_openid):
        user.disabled_at = None
        click.echo(f"enabled user {user.id}")
    _commit_and_tell_every_host()


@users_cli.command("delete")
@click.argument("id_or_openid")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_user(id_or_openid, yes):
    """Erase the user's account for good, as DELETE /wx/me does: profile, identities in every
    mini program, phone number, notes; every token refused. The audit trail keeps its rows,
    without the user."""
    users = _find_users(id_or_openid)
    if len(users) > 1:  # an id that is also someone's openid: never guess which to erase
        ids = ", ".join(str(user.id) for user in users)
        raise click.ClickException(f"{id_or_openid!r} names users {ids}: give the one id to delete.")
    (user,) = users
    if not yes:
        click.confirm(f"Delete user {user.id} ({_printable(user.nickname) or 'no nickname'}) and all their data?", abort=True)
    delete_account(user.id)
    click.echo(f"deleted user {user.id}")


def _commit_and_tell_every_host():
    """Commit; every host learns of it at once through Redis (the service's REDIS_URL), or,
    when Redis cannot be told, by asking the database (``redis_trust``)."""
    db.session.commit()


@users_cli.command("logins")
@click.argument("id_or_openid")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_logins(id_or_openid, limit):
    """The user's most recent login attempts, newest first (the audit trail); method "qr"
    is a web session handed over by QR code, with the browser's address."""
    users = _find_users(id_or_openid)
    for attempt in recent_attempts([user.id for user in users], limit):
        click.echo(
            f"{attempt.at.isoformat(timespec='seconds')}  user {attempt.user_id}  {attempt.appid}  "
            f"{attempt.method:<4} {attempt.outcome:<16} {attempt.client_ip or '-':<15} "
            f"{_printable(attempt.user_agent) or '-'}"
        )


def _printable(text):
    """Client-chosen text, made safe to print on an operator's terminal."""
    return "".join(ch for ch in text or "" if ch.isprintable())


@users_cli.command("purge-logins")
def purge_logins():
    """Forget login attempts older than AUDIT_RETENTION_DAYS (also done automatically)."""
    click.echo(f"purged {purge_old()} login attempts")


@tokens_cli.command("purge")
def purge_tokens():
    """Forget revocations whose tokens have all expired (also done automatically)."""
    count = token_store().purge()
    click.echo(f"purged {count} expired revocations")


@session_keys_cli.command("reencrypt")
def reencrypt_session_keys():
    """Re-encrypt stored session keys and phone numbers under the first (newest) key.

    Run after putting a new key first in SESSION_KEY_ENCRYPTION_KEYS, then drop the old one.
    """
    moved, unreadable = session_keys.reencrypt_all()
    click.echo(f"re-encrypted {moved} session keys; {unreadable} unreadable (their users log in again)")
    moved, unreadable = phone.reencrypt_all()
    click.echo(f"re-encrypted {moved} phone numbers; {unreadable} unreadable (asked for again)")


@keys_cli.command("generate")
def generate_key():
    """Print a new ES256 key pair: JWT_PRIVATE_KEY, one line, for the environment file.

    Single-quoted with its newlines written as \\n, as .env, systemd's EnvironmentFile and
    compose's env files all keep it. To rotate: move the current public key into
    JWT_PREVIOUS_PUBLIC_KEYS (tokens it signed verify until they expire), then set this one.
    """
    private, public = keys.generate()
    one_line = private.strip().replace("\n", "\\n")
    kid = keys.key_id(keys.load_private_key(private).public_key())
    click.echo(f"# kid {kid}; its public key (for JWT_PREVIOUS_PUBLIC_KEYS at the next rotation):")
    for line in public.strip().splitlines():
        click.echo(f"#   {line}")
    click.echo(f"JWT_PRIVATE_KEY='{one_line}'")


def init_app(app):
    for command in (simulator_command, users_cli, tokens_cli, session_keys_cli):
        app.cli.add_command(command)
