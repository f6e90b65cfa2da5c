"""The per-fault report of the fault suite: what one fault did to the service, and the
checks every fault shares."""

import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .load import LATENCY_BOUND

# The 5xx answers the contract documents; any other is a failure.
DOCUMENTED_5XX = {
    (503, "database_unavailable"), (503, "redis_unavailable"), (503, "upstream_unavailable"),
    (502, "upstream_error"), (504, "upstream_timeout"),
}


@dataclass
class Report:
    """What one fault did to the service: printed at once (visible with -s), collected for
    the end of the session, and written to $FAULTS_REPORT (JSON lines) when set."""

    name: str
    fault_started: float | None = None
    fault_ended: float | None = None
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    slowest_what: str = ""
    first_success_after_fault: float | None = None
    lost: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    answers: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    COLLECTED = []

    def add(self, what, answer):
        with self.lock:
            self.sent += 1
            key = f"{answer.status} {answer.slug}" if answer.status and answer.slug else str(answer.status or f"no answer: {answer.error}")
            self.statuses[key] += 1
            if answer.seconds > self.slowest:
                self.slowest, self.slowest_what = answer.seconds, f"{what} -> {answer!r}"
            self.answers.append((what, answer))
            if (self.fault_ended is not None and answer.started >= self.fault_ended
                    and answer.status is not None and answer.status < 400 and self.first_success_after_fault is None):
                self.first_success_after_fault = answer.started + answer.seconds - self.fault_ended
        return answer

    def fault(self):
        self.fault_started = time.monotonic()

    def ended(self):
        self.fault_ended = time.monotonic()

    @property
    def recovery(self):
        return self.first_success_after_fault

    def summary(self):
        return {
            "fault": self.name,
            "requests_sent": self.sent,
            "statuses": dict(self.statuses.most_common()),
            "slowest_s": round(self.slowest, 3),
            "slowest": self.slowest_what,
            "fault_s": round(self.fault_ended - self.fault_started, 2) if self.fault_started and self.fault_ended else None,
            "recovery_s": round(self.recovery, 3) if self.recovery is not None else None,
            "lost": self.lost[:50],
            "lost_count": len(self.lost),
            **self.notes,
        }

    def finish(self):
        summary = self.summary()
        Report.COLLECTED.append(summary)
        print(f"\n[fault report] {json.dumps(summary, default=str)}")
        target = os.environ.get("FAULTS_REPORT")
        if target:
            with open(target, "a") as f:
                f.write(json.dumps(summary, default=str) + "\n")
        return summary

    # The checks every fault shares.

    def undocumented_5xx(self):
        return [(w, a, a.body) for w, a in self.answers if a.status and a.status >= 500 and (a.status, a.slug) not in DOCUMENTED_5XX]

    def unanswered(self):
        return [(w, a) for w, a in self.answers if a.status is None]

    def too_slow(self, bound=LATENCY_BOUND):
        return [(w, a) for w, a in self.answers if a.seconds > bound]

    def common_problems(self, bound=LATENCY_BOUND):
        """The checks every fault shares, by name: each empty when all is well."""
        return {
            "requests never answered (hang or connection error)": self.unanswered()[:5],
            "5xx the contract does not document": self.undocumented_5xx()[:5],
            "503 without Retry-After": self.bad_503s()[:5],
            f"answers slower than {bound}s": self.too_slow(bound)[:5],
        }

    def bad_503s(self):
        """503s without a Retry-After header."""
        return [(w, a) for w, a in self.answers if a.status == 503 and "retry-after" not in a.headers]
