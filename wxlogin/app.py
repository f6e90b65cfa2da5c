"""The application factory: ``create_app`` is the list of every concern's ``init_app``."""

from flask import Flask

from . import cli, config, errors, languages, web
from .api import cors, routes
from .database import engine, redis_client
from .ops import middleware, request_log
from .qr_login import wakeups
from .security import crypto, ratelimit, redaction, signing, token_check
from .wechat import client as wechat


def create_app(overrides=None, instance_path=None):
    """Build the app from the environment, then ``overrides`` (a mapping, e.g. from tests)."""
    app = Flask("wxlogin", instance_path=instance_path, instance_relative_config=True)
    # "//wx//me" is a 404 like any unknown path: merging slashes answers it with an HTTP
    # redirect built from the Host header, which error handlers never see.
    app.url_map.merge_slashes = False
    config.init_app(app, overrides)
    for init_app in (
        redaction.init_app,  # first: from here on no log record carries a secret
        engine.init_app,  # Flask-SQLAlchemy, migrations, each request's database budget
        redis_client.init_app,
        signing.init_app,  # flask-jwt-extended with our keys
        token_check.init_app,  # the token header, and the token store (database or Redis)
        crypto.init_app,
        ratelimit.init_app,
        wechat.init_app,  # the WeChat client (or the built-in simulator)
        wakeups.init_app,  # web login polls, woken by a change on any host
        routes.init_app,  # the blueprints and the OpenAPI document
        web.init_app,  # the browser's module for web login, and its demo page
        cors.init_app,  # product web pages on other origins (CORS_ORIGINS)
        languages.init_app,  # error messages in the request's language (Accept-Language)
        errors.init_app,
        request_log.init_app,
        cli.init_app,
        middleware.init_app,
    ):
        init_app(app)
    engine.upgrade_default_database(app)
    return app
