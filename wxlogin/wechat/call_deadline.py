"""One bound on a whole WeChat call: connecting, sending and reading every byte together."""

import contextlib
import sys


class CallTimeout(Exception):
    """The whole call took longer than the client's timeout."""


@contextlib.contextmanager
def whole_call_deadline(seconds):
    """End the call after ``seconds`` in all. requests' timeout bounds each wait for a
    byte, so a WeChat trickling its answer would hold a login for as long as it trickles.
    In gevent workers (the production default) a gevent Timeout bounds connecting, sending
    and reading together; elsewhere (gthread, the development server) each read is bounded.
    """
    if not _gevent_patched():
        yield
        return
    import gevent

    timer = gevent.Timeout(seconds, CallTimeout)
    timer.start()
    try:
        yield
    finally:
        timer.close()


def _gevent_patched():
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")
