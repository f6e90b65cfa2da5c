"""The simulator over HTTP: a blueprint (``/_simulator`` of the development app) and an app
of its own (``flask --app wxlogin --debug simulator``, tests, benchmarks). It is refused in
production."""

import time

from flask import Blueprint, Flask, Response, abort, current_app, request

from .answers import NO_ANSWER, encode, error

bp = Blueprint("simulator", __name__)


@bp.route("/<path:path>", methods=["GET", "POST"])
def serve(path):
    simulator = current_app.extensions["wechat_simulator"]
    body = simulator.handle(f"/{path}", request.args, request.get_json(silent=True))
    if body is None:
        abort(404)
    if body is NO_ANSWER:
        time.sleep(simulator.timeout_sleep)
        body = error(-1, "system error (answered too late)")
    return Response(*encode(body))


def init_simulator(app, simulator, url_prefix=None):
    app.extensions["wechat_simulator"] = simulator
    app.register_blueprint(bp, url_prefix=url_prefix)


def create_simulator_app(simulator):
    """The simulator alone, for a process of its own (tests, benchmarks, a second terminal)."""
    app = Flask(__name__)
    init_simulator(app, simulator)
    return app
