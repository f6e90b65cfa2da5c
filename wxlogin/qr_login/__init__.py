"""Web login by scanning the mini program code (扫码登录), docs/API.md's section of that name.

A browser asks for a code (``codes``), and long-polls its state with its secret ticket
(``collect``); the mini program, opened by the code with its scene, scans, then confirms or
denies (``phone_side``); a poll that finds the code confirmed takes the tokens of a new login
session, once. A change made by any worker or host wakes the polls waiting on it
(``wakeups``). Every state lives in the database (``models.QrLogin``).

    pending --scan--> scanned --confirm--> confirmed --first poll--> used
                         \\--deny--> denied
    pending or scanned past its expiry: expired
"""

PENDING, SCANNED, CONFIRMED, DENIED, EXPIRED, USED = (
    "pending", "scanned", "confirmed", "denied", "expired", "used",
)
STATUSES = (PENDING, SCANNED, CONFIRMED, DENIED, EXPIRED, USED)
# Nothing can change any more: a poll answers these at once.
FINAL = frozenset({DENIED, EXPIRED, USED})
# The ``via`` claim of a web session's tokens: they cannot scan or confirm a code, so that a
# web session never makes another one.
QR = "qr"
