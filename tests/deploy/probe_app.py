"""``wsgi:app`` with one more route, ``GET /_probe``: what the service sees of a request
(scheme, client address, host) once it has come through the front proxy
(tests/deploy/test_nginx.py serves this with gunicorn behind deploy/nginx.conf)."""

from flask import jsonify, request

from wsgi import app


@app.get("/_probe")
def probe():
    # REMOTE_PORT is the proxy's own side of its connection to gunicorn (ProxyFix leaves it).
    return jsonify(scheme=request.scheme, remote_addr=request.remote_addr, host=request.host,
                   proxy_port=request.environ.get("REMOTE_PORT"))
