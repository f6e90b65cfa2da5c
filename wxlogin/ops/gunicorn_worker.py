"""gunicorn's gevent worker, with two bounds a load balancer in front needs.

- **A client that stops sending** holds its connection no longer than ``client_timeout``
  seconds (``GUNICORN_CLIENT_TIMEOUT``, 30): every read and write on the client's socket
  waits at most that long. gunicorn's gevent worker waits for ever, so a few hundred
  clients that stop in the middle of a body would take every slot of a worker.
- **SIGTERM** (a deploy, ``kill``, Kubernetes): requests in flight finish, and idle
  keep-alive connections are closed at once, as are waiting web login polls. gunicorn waits until every connection is
  gone, and a load balancer always holds some idle ones open: each stop would take the
  whole ``graceful_timeout``.

``gunicorn.conf.py`` selects it (``worker_class``).
"""

import sys

import gevent
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

CLIENT_TIMEOUT = 30.0


class BoundedGeventWorker(GeventWorker):
    client_timeout = CLIENT_TIMEOUT  # set from gunicorn.conf.py

    def init_process(self):
        self._idle = {}  # socket -> greenlet, of connections waiting for their next request
        super().init_process()

    def handle(self, listener, client, addr):
        # GeventWorker.handle makes the socket block for ever; this is the same, bounded.
        client.settimeout(self.client_timeout)
        self._idle[client] = gevent.getcurrent()
        try:
            AsyncWorker.handle(self, listener, client, addr)
        finally:
            self._idle.pop(client, None)

    def handle_request(self, listener_name, req, sock, addr):
        self._idle.pop(sock, None)
        handled = super().handle_request(listener_name, req, sock, addr)
        if not self.alive:
            # Stopping began during this request, after gunicorn decided to keep the
            # connection: end it now rather than wait keepalive seconds for another.
            raise StopIteration()
        self._idle[sock] = gevent.getcurrent()
        return handled

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)  # stop accepting; requests in flight go on
        gevent.spawn(self._close_idle)
        # Web login long polls answer now rather than hold the stop for up to 30 s (the
        # browser polls again, elsewhere). Looked up, not imported: the master has no app.
        wakeups = sys.modules.get("wxlogin.qr_login.wakeups")
        if wakeups is not None:
            gevent.spawn(wakeups.wake_everything)

    def _close_idle(self):
        """End connections that wait for a request as if their client had gone: gunicorn
        closes them quietly (NoMoreData). Nothing is cut mid-answer."""
        for greenlet in list(self._idle.values()):
            greenlet.kill(NoMoreData(b""), block=False)
