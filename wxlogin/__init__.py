"""wxlogin: the login backend of a WeChat Mini Program.

``flask --app wxlogin run --debug`` serves it with nothing configured (SQLite in the
instance folder, the built-in WeChat simulator); ``gunicorn wsgi:app`` in production.
The code map is in the README.
"""


def __getattr__(name):
    # ``create_app`` is imported on first use, not with the package: the gunicorn master
    # imports ``wxlogin.ops.logs`` for its log configuration, and must not load the app.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_app"]
