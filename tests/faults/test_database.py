"""The database down (stopped: connections refused), crashed, or frozen (SIGSTOP: connections
accepted by the kernel, never answered) under load: 503 database_unavailable with
Retry-After within DATABASE_TIMEOUT + 1 s, never a 500 or a hang, and normal answers again
without a restart once the database is back. No note answered 201 is lost.

On the private PostgreSQL (``test_database_outage_...``) and on a private MariaDB
(``test_mariadb_outage_...``, skipped when MariaDB is not installed): the same faults, load
and checks."""

import time

import pytest

from .conftest import log_problems
from .load import DATABASE_TIMEOUT, Load, call
from .mariadb import PrivateMariaDB
from .report import Report

pytestmark = pytest.mark.faults

WARM, FAULT, AFTER = 4, 8, 8  # seconds of load before, during and after the fault


def _found_notes(database, ids):
    if isinstance(database, PrivateMariaDB):  # no arrays in MySQL: IN (%s, %s, ...)
        rows = database.query(f"SELECT id FROM notes WHERE id IN ({', '.join(['%s'] * len(ids))})", tuple(ids))
    else:
        rows = database.query("SELECT id FROM notes WHERE id = ANY(%s)", (ids,))
    return {row[0] for row in rows}


def data_problems(pg, load):
    """Notes answered 201 that the database (``pg``: PostgreSQL or MariaDB) does not have;
    openids with other than one identity; users without an identity (half-written)."""
    problems = {}
    ids = list(load.created)
    found = _found_notes(pg, ids) if ids else set()
    if missing := sorted(set(ids) - found):
        problems["notes answered 201 missing from the database"] = missing
    duplicated = pg.query("SELECT appid, openid, count(*) FROM identities GROUP BY appid, openid HAVING count(*) > 1")
    if duplicated:
        problems["duplicated identities"] = duplicated
    orphans = pg.query("SELECT u.id FROM users u LEFT JOIN identities i ON i.user_id = u.id WHERE i.id IS NULL")
    if orphans:
        problems["users without an identity"] = orphans
    return problems


@pytest.mark.parametrize("fault", ["stopped", "crashed", "frozen"])
def test_database_outage_answers_503_then_recovers(fault, pg, make_service):
    outage(fault, pg, make_service(workers=2), Report(f"database {fault}"))


@pytest.mark.parametrize("fault", ["stopped", "crashed", "frozen"])
def test_mariadb_outage_answers_503_then_recovers(fault, mariadb, make_service):
    outage(fault, mariadb, make_service(workers=2, DATABASE_URL=mariadb.url), Report(f"mariadb {fault}"))


def outage(fault, pg, service, report):
    """Load ``service``; stop, crash or freeze its database ``pg`` (PostgreSQL or MariaDB)
    for FAULT seconds, bring it back; check every answer, the data and the log."""
    with Load(service.url, report, seconds=WARM + FAULT + AFTER, prefix=f"db-{fault}-") as load:
        time.sleep(WARM)
        report.fault()
        {"stopped": pg.stop, "crashed": pg.kill, "frozen": pg.freeze}[fault]()
        time.sleep(FAULT / 2)
        health = report.add("healthz", call(service.url, "GET", "/healthz"))
        time.sleep(FAULT / 2)
        if fault == "frozen":
            pg.thaw()
        else:
            pg.start()
        report.ended()
        time.sleep(AFTER)
    fault_ended = report.fault_ended
    during = [(w, a) for w, a in report.answers if report.fault_started + 0.5 < a.started < fault_ended - 0.5]
    late_failures = [(w, a, a.body) for w, a in report.answers
                     if a.started > fault_ended + DATABASE_TIMEOUT + 1 and (a.status is None or a.status >= 500)]
    wrong_503 = [(w, a, a.body) for w, a in report.answers if a.status == 503 and a.slug != "database_unavailable"]
    report.lost = [f"note {n}" for n in data_problems(pg, load).get("notes answered 201 missing from the database", [])]
    report.notes.update(notes_created=len(load.created), answers_during_fault=len(during))
    report.finish()

    problems = {
        "no answer while the database was away": not during,
        "healthz during the fault (want 503 database_unavailable)": None if (health.status, health.slug) == (503, "database_unavailable") else (health, health.body),
        **report.common_problems(),
        "503s other than database_unavailable": wrong_503[:5],
        "no 503 while the database was away (fault not seen)": not any(a.status == 503 for _, a in during),
        f"recovery (first success after the fault) over {DATABASE_TIMEOUT + 1}s": None if report.recovery is not None and report.recovery <= DATABASE_TIMEOUT + 1 else report.recovery,
        f"failures more than {DATABASE_TIMEOUT + 1}s after the database came back": late_failures[:5],
        **data_problems(pg, load),
        "log lines with secrets or tracebacks": log_problems(service)[:5],
    }
    assert not {k: v for k, v in problems.items() if v}
