"""The simulator on the wire: its answers as WeChat sends them (HTTP 200, JSON labelled
``text/plain``, errors as ``errcode``/``errmsg`` with a request id, images as ``image/png``;
an unknown path or method is a JSON errcode too, never an HTML page), served over HTTP (a
blueprint at ``/_simulator`` of the development app, or an app of its own: ``flask --app
wxlogin --debug simulator``, tests, benchmarks, which answers both at ``/`` like WeChat and
under ``/_simulator``, so that the same URLs work in either mode) or in-process (a requests
transport adapter, which the development app's WeChat client mounts: no socket, and no
Host header decides where the secret goes). It is refused in production.
"""

import io
import json
import secrets
import time
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Blueprint, Flask, Response, current_app, request
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

NO_ANSWER = object()  # the scripted timeout: WeChat keeps the caller waiting

bp = Blueprint("simulator", __name__)
# Every method reaches the simulator, which answers a wrong one as WeChat does (43001/43002).
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PREFIX = "/_simulator"  # where the development app serves it; the standalone one too


def error(errcode, errmsg):
    return {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(6)}"}


def encode(body):
    """Body, status and headers as WeChat sends them: JSON labelled text/plain, an image
    (bytes) as image/png, other text (the scripted error page) as text/html."""
    if isinstance(body, bytes):
        return body, 200, {"Content-Type": "image/png"}
    if isinstance(body, str):
        return body, 200, {"Content-Type": "text/html"}
    return json.dumps(body), 200, {"Content-Type": "text/plain"}


@bp.route("/", defaults={"path": ""}, methods=METHODS)
@bp.route("/<path:path>", methods=METHODS)
def serve(path):
    simulator = current_app.extensions["wechat_simulator"]
    # The body as sent: WeChat reads it as JSON whatever the Content-Type says, or none.
    body = simulator.handle(request.method, f"/{path}", request.args, request.get_data())
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
    app.register_blueprint(bp, url_prefix=PREFIX, name="simulator_under_prefix")
    return app


class SimulatorAdapter(HTTPAdapter):
    """A requests transport answering from a Simulator in this process (development app);
    requests' own adapter builds the responses."""

    def __init__(self, simulator):
        super().__init__()
        self.simulator = simulator

    def send(self, request, timeout=None, **kwargs):
        url = urlsplit(request.url)
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        sent = request.body.encode() if isinstance(request.body, str) else request.body or b""
        body = self.simulator.handle(request.method, url.path, args, sent)
        if body is NO_ANSWER:
            read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
            time.sleep(read_timeout or 0)
            raise requests.ReadTimeout("the simulator played a timeout", request=request)
        content, status, headers = encode(body)
        content = content.encode() if isinstance(content, str) else content
        raw = HTTPResponse(body=io.BytesIO(content), status=status, headers=headers, preload_content=False)
        response = self.build_response(request, raw)
        response.encoding = "utf-8"
        return response
