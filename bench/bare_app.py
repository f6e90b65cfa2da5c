"""The yardstick: a bare Flask JSON route, served by the same gunicorn settings as wxlogin."""

from flask import Flask

app = Flask(__name__)


@app.get("/bare")
def bare():
    return {"id": 1, "openid": "o" * 28, "nickname": None}
