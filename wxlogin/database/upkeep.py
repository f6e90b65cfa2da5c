"""Upkeep done in passing, without a scheduler: purging expired rows now and then."""

import time


class Every:
    """True at most once per ``seconds`` in this process: for upkeep done in passing
    (purging expired rows) without a scheduler. Other processes purge on their own turn;
    purges are idempotent."""

    def __init__(self, seconds):
        self.seconds = seconds
        self._last = float("-inf")

    def due(self):
        now = time.monotonic()
        if now - self._last < self.seconds:
            return False
        self._last = now
        return True
