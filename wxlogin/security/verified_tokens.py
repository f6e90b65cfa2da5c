"""Each distinct token verified once per process.

A Mini Program sends the same access token on every call for its whole lifetime. Checking
its HMAC, parsing its JSON and validating its claims again each time is repeated work
(about a third of a protected request): a token that verified once verifies again, with
the same keys, to the same claims. Only time changes the answer, so a remembered token is
still refused once expired (past ``exp`` and the leeway). Revocation and the user's state
are not cached here: they are checked on every request (``token_check``).
``overrides.CachingJWTManager`` consults this memory.
"""

import threading
import time


class VerifiedTokens:
    """Tokens that verified, each with the time until which it may be used."""

    SIZE = 10_000  # distinct tokens remembered per process (about 1 KB each)

    def __init__(self):
        self.entries = {}
        self.lock = threading.Lock()

    def get(self, token):
        remembered = self.entries.get(token)
        if remembered is not None and time.time() <= remembered[1]:
            return dict(remembered[0])  # a copy: callers may add to it
        return None

    def add(self, token, claims, usable_until):
        with self.lock:
            if len(self.entries) >= self.SIZE:
                self.entries.pop(next(iter(self.entries)))  # the oldest
            self.entries[token] = (dict(claims), usable_until)
