"""wxlogin.ops.gunicorn_logger: gunicorn builds no access line the app does not ask for."""

import logging
from datetime import timedelta
from types import SimpleNamespace

from gunicorn import glogging
from gunicorn.config import Config

from wxlogin.ops.gunicorn_logger import Logger


def logger_with(accesslog, built):
    cfg = Config()
    cfg.set("accesslog", accesslog)
    cfg.set("logconfig_dict", {"version": 1})  # as gunicorn.conf.py: access counted as on
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
    access(logger_with(None, built))
    assert built == []
    assert glogging.Logger.access_log_enabled.fget(logger_with(None, [])) is True  # what it saves


def test_an_access_log_asked_for_is_still_written():
    built = []
    access(logger_with("-", built))
    assert built == [1]
