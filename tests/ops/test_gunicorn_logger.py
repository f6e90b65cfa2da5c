"""wxlogin.ops.gunicorn_logger: gunicorn builds no access line the app does not ask for."""

import logging
from datetime import timedelta
from types import SimpleNamespace

from gunicorn import glogging
from gunicorn.config import Config

from wxlogin.ops.gunicorn_logger import Logger


def logger_with(built, **settings):
    cfg = Config()
    cfg.set("logconfig_dict", {"version": 1})  # as gunicorn.conf.py: gunicorn counts access as on
    for name, value in settings.items():
        cfg.set(name, value)
    logger = Logger.__new__(Logger)  # without setup(), which would configure this process's logging
    logger.cfg, logger.access_log = cfg, logging.getLogger("test.gunicorn.access")
    logger.atoms = lambda *_: built.append(1) or {}
    return logger


def access(logger):
    resp = SimpleNamespace(status="200 OK", sent=2, headers=[])
    req = SimpleNamespace(headers=[], method="GET", path="/", query="", version=(1, 1))
    logger.access(resp, req, {}, timedelta(milliseconds=1))


def test_no_access_line_is_built_without_an_access_log():
    built = []
    access(logger_with(built))
    assert built == []
    plain = glogging.Logger.__new__(glogging.Logger)
    plain.cfg = logger_with([]).cfg
    assert plain.access_log_enabled  # what gunicorn's own logger would do: build it


def test_an_access_log_asked_for_is_still_written():
    for settings in ({"accesslog": "-"}, {"syslog": True}):
        built = []
        access(logger_with(built, **settings))
        assert built == [1], settings
