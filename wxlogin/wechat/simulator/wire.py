"""The simulator on the wire: its answers as WeChat sends them (HTTP 200, JSON labelled
``text/plain``, errors as ``errcode``/``errmsg`` with a request id), served over HTTP (a
blueprint at ``/_simulator`` of the development app, or an app of its own: ``flask --app
wxlogin --debug simulator``, tests, benchmarks) or in-process (a requests transport adapter,
which the development app's WeChat client mounts: no socket, and no Host header decides
where the secret goes). It is refused in production.
"""

import io
import json
import secrets
import time
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Blueprint, Flask, Response, abort, current_app, request
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

NO_ANSWER = object()  # the scripted timeout: WeChat keeps the caller waiting

bp = Blueprint("simulator", __name__)


def error(errcode, errmsg):
    return {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(6)}"}


def encode(body):
    """Body text and content type as WeChat sends them: JSON labelled text/plain."""
    if isinstance(body, str):
        return body, 200, {"Content-Type": "text/html"}
    return json.dumps(body), 200, {"Content-Type": "text/plain"}


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


class SimulatorAdapter(HTTPAdapter):
    """A requests transport answering from a Simulator in this process (development app);
    requests' own adapter builds the responses."""

    def __init__(self, simulator):
        super().__init__()
        self.simulator = simulator

    def send(self, request, timeout=None, **kwargs):
        url = urlsplit(request.url)
        payload = json.loads(request.body) if request.body else None
        body = self.simulator.handle(url.path, dict(parse_qsl(url.query, keep_blank_values=True)), payload)
        if body is NO_ANSWER:
            read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
            time.sleep(read_timeout or 0)
            raise requests.ReadTimeout("the simulator played a timeout", request=request)
        text, status, headers = encode(body) if body is not None else ("not found", 404, {})
        raw = HTTPResponse(body=io.BytesIO(text.encode()), status=status, headers=headers, preload_content=False)
        response = self.build_response(request, raw)
        response.encoding = "utf-8"
        return response
