"""How the simulator answers, as WeChat does: HTTP 200 with JSON labelled ``text/plain``,
errors as ``errcode``/``errmsg`` with a request id, and a scripted silence."""

import json
import secrets

NO_ANSWER = object()  # the scripted timeout: WeChat keeps the caller waiting


def error(errcode, errmsg):
    return {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(6)}"}


def encode(body):
    """Body text and content type as WeChat sends them: JSON labelled text/plain."""
    if isinstance(body, str):
        return body, 200, {"Content-Type": "text/html"}
    return json.dumps(body), 200, {"Content-Type": "text/plain"}
