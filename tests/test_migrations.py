"""The committed migrations build exactly the schema the models describe, on this database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wxlogin.extensions import db


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
