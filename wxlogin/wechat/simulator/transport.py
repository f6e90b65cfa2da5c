"""A requests transport adapter answering from a Simulator in this process.

The development app's WeChat client mounts it for its simulator's base URL: no socket, and
no Host header decides where the secret goes.
"""

import io
import json
import time
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPResponse

from .answers import NO_ANSWER, encode


class SimulatorAdapter(BaseAdapter):
    """A requests transport answering from a Simulator in this process (development app)."""

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
        response = HTTPAdapter().build_response(request, raw)
        response.encoding = "utf-8"
        return response

    def close(self):
        pass
