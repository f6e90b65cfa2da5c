"""Flask-Migrate, imported only when ``flask db`` or a migration first needs it.

Importing it brings Alembic, Mako, Pygments and every SQLAlchemy dialect Alembic knows:
~8 MB in each gunicorn worker, which never migrates. ``Migrate.init_app`` leaves stand-ins
for what Flask-Migrate's own would set: ``app.extensions["migrate"]``, and the ``db``
command group (click's lazily loaded subcommands pattern).
"""

import click


class Migrate:
    """Flask-Migrate's ``Migrate``, as far as ``init_app`` (see the module's docstring)."""

    def init_app(self, app, db, directory):
        app.extensions["migrate"] = _MigrateConfig(app, db, directory)
        app.cli.add_command(_DbGroup("db", help="Perform database migrations."))


def _load(app, db, directory):
    """The real Migrate bound to ``app``: it replaces both stand-ins."""
    from flask_migrate import Migrate as RealMigrate

    RealMigrate(app, db, directory=directory)
    return app.extensions["migrate"]


class _MigrateConfig:
    """Flask-Migrate's per-app config, made on first use (``upgrade()``, migrations/env.py)."""

    def __init__(self, app, db, directory):
        self._args = (app, db, directory)

    def __getattr__(self, name):  # only for what __init__ did not set
        real = self.__dict__.get("_real") or _load(*self._args)
        self._real = real
        return getattr(real, name)


class _DbGroup(click.Group):
    """Flask-Migrate's ``db`` command group, imported when a ``flask db`` command runs."""

    @staticmethod
    def _real():
        from flask_migrate.cli import db

        return db

    def make_context(self, info_name, args, parent=None, **extra):
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return self._real().list_commands(ctx)

    def get_command(self, ctx, cmd_name):
        return self._real().get_command(ctx, cmd_name)
