"""Fake WeChat servers for the fault suite, on 127.0.0.1 in threads of this process: one
that never answers, one that answers a byte at a time, one that answers slowly."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class _SocketServer:
    """A TCP server on 127.0.0.1 handing each accepted connection to ``handle`` in a thread."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closed = threading.Event()
        self.connections = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.handle(conn)
        except OSError:
            pass

    def handle(self, conn):
        raise NotImplementedError

    def close(self):
        self.closed.set()
        self.listener.close()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass


class SilentWeChat(_SocketServer):
    """Accepts, reads the request, and never answers."""

    def handle(self, conn):
        while not self.closed.is_set():
            if not conn.recv(4096):
                return


class TricklingWeChat(_SocketServer):
    """Answers a valid code2session reply, one byte every ``interval`` seconds: each read
    gets a byte well within any per-read timeout, the whole answer takes minutes."""

    def __init__(self, interval=0.5):
        self.interval = interval
        super().__init__()

    def handle(self, conn):
        conn.recv(65536)
        body = json.dumps({"openid": "o-trickle", "session_key": "c2Vzc2lvbmtleTEyMzQ1Ng=="}).encode()
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        for i in range(len(answer)):
            if self.closed.wait(self.interval):
                return
            conn.sendall(answer[i:i + 1])


class SlowWeChat:
    """A valid ``/sns/jscode2session`` answering after ``delay`` seconds; the openid is
    ``o-<name>`` for the code ``<name>:<anything>``. Counts calls in flight."""

    def __init__(self, delay=1.5):
        self.delay = delay
        self.in_flight = 0
        self.calls = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                code = query.get("js_code", [""])[0]
                with outer.lock:
                    outer.in_flight += 1
                    outer.calls += 1
                try:
                    time.sleep(outer.delay)
                    name = code.split(":", 1)[0] or "nobody"
                    body = json.dumps({"openid": f"o-{name}"[:64], "session_key": "c2Vzc2lvbmtleTEyMzQ1Ng=="}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a caller gone (a killed worker, a timed-out client) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
