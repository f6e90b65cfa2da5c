"""The declarative base of every model (``models``), given to Flask-SQLAlchemy."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    def update_from(self, changes):
        """Set the given attributes; callers pass only what a schema validated."""
        for field, value in changes.items():
            setattr(self, field, value)
