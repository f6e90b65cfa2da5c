"""The library code wxlogin overrides or leans on (``wxlogin/overrides.py``) is the code
the overrides were written against: an upgrade that changes it fails here, not in
production. Then read the new source, check the override still holds, update the pin."""

import hashlib
import importlib
import inspect

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from wxlogin.overrides import PINS


def source_of(spec):
    module_name, _, qualified = spec.partition(":")
    target = pytest.importorskip(module_name)
    for name in qualified.split("."):
        target = getattr(target, name, None)
        assert target is not None, f"{spec} is gone: the override of it no longer applies"
    return inspect.getsource(target)


@pytest.mark.parametrize("spec", sorted(PINS))
def test_the_library_source_is_the_one_pinned(spec):
    digest = hashlib.sha256(source_of(spec).encode()).hexdigest()
    assert digest == PINS[spec], f"{spec} changed upstream: re-read it, then update its pin"


def test_every_private_override_is_pinned():
    """Each underscore method the overrides define overrides a pinned library method."""
    overrides = importlib.import_module("wxlogin.overrides")
    pinned = {spec.rpartition(".")[2] for spec in PINS}
    for cls in (overrides.CachingJWTManager, overrides.OwnErrorsApi, overrides.StrictJsonParser):
        private = {name for name in vars(cls) if name.startswith("_") and not name.startswith("__")}
        assert private <= pinned, f"{cls.__name__} overrides {private - pinned} without a pin"


def test_the_limiter_hooks_we_remove_are_the_ones_it_registers(app):
    """Flask-Limiter still adds these three hooks to every request (and we took them out
    again): if it registered others, removing these would remove nothing."""
    bare = Flask("bare")
    limiter = Limiter(get_remote_address, app=bare, storage_uri="memory://")
    assert limiter._check_request_limit in bare.before_request_funcs[None]
    assert [getattr(f, "func", None) for f in bare.after_request_funcs[None]] == [Limiter._Limiter__inject_headers]
    assert bare.teardown_request_funcs[None] == [limiter._Limiter__release_context]
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        names = [getattr(getattr(f, "func", f), "__name__", "") for f in hooks.get(None, [])]
        assert not {"_check_request_limit", "__inject_headers", "__release_context"} & set(names), names