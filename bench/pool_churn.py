"""Issue 17: database connections opened per 10,000 requests at 64 clients, by PostgreSQL's
own count (``pg_stat_database.sessions``), after a warm-up.

``GET /wx/me`` without Redis: one pooled query per request, 64 at once, far more than a
worker's pool (``DATABASE_POOL_SIZE``). With SQLAlchemy's default overflow every request
past the pool opened a connection and closed it again; with a fixed pool they queue.

    python bench/pool_churn.py [--seconds 10]
"""

import argparse
import json
import time

import harness
import sqlalchemy as sa


def sessions_and_backends(engine, database):
    time.sleep(1.5)  # PostgreSQL publishes its counters at most once a second
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        row = connection.execute(
            sa.text("SELECT sessions, numbackends FROM pg_stat_database WHERE datname = :d"), {"d": database}
        ).one()
    return row.sessions, row.numbackends


def measure(seconds=10, connections=64):
    harness.reset_database()
    url = sa.make_url(harness.DATABASE_URL)
    # The counting connection goes to another database, so that it is not counted itself.
    engine = sa.create_engine(url.set(database="postgres"), poolclass=sa.pool.NullPool)
    with harness.service(REDIS_URL="") as (base, _master):
        token = harness.login_tokens(base, "churn")["access_token"]
        run = lambda length: harness.wrk(f"{base}/wx/me", script="token.lua", seconds=length,  # noqa: E731
                                         connections=connections, env={"TOKEN": token})
        run(3)  # warm-up: every worker's pool filled
        before, _ = sessions_and_backends(engine, url.database)
        result = run(seconds)
        after, backends = sessions_and_backends(engine, url.database)
    engine.dispose()
    requests_made = result["rps"] * seconds
    return {**result, "requests": round(requests_made), "connections opened": after - before,
            "per 10,000 requests": (after - before) / requests_made * 10_000, "backends": backends}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(measure(args.seconds), indent=2))
