"""Figure 3: login and ``/wx/me`` latency with 1,000,000 users against 1,000 users.

Two PostgreSQL databases are filled by SQL (users with an identity each, as the simulator
would name them), two copies of the service run side by side, and wrk measures each route
at a moderate load (latency, not saturation), interleaved. Without Redis, so that
``/wx/me`` reads the database every time: what is measured is the indexes. The query plans
are printed too: index scans, never a sequential scan.
"""

import argparse
import json
from contextlib import ExitStack

import harness
import sqlalchemy as sa

# The simulator's openid/unionid for "sim:user<i>": "o" + base64url(sha256(seed))[:27].
_STABLE_ID = "'o' || substr(translate(encode(sha256(convert_to({seed}, 'UTF8')), 'base64'), '+/', '-_'), 1, 27)"
SEED = f"""
INSERT INTO users (id, account_key, unionid, login_count, created_at, last_login_at, token_generation)
SELECT i, {_STABLE_ID.format(seed="'union:user' || i")}, {_STABLE_ID.format(seed="'union:user' || i")},
       1, now(), now(), 0
FROM generate_series(1, :count) AS i;
INSERT INTO identities (user_id, appid, openid, session_key, created_at, last_login_at)
SELECT i, CAST(:appid AS text), {_STABLE_ID.format(seed="CAST(:appid AS text) || ':' || 'user' || i")}, NULL, now(), now()
FROM generate_series(1, :count) AS i;
SELECT setval(pg_get_serial_sequence('users', 'id'), :count);
ANALYZE users; ANALYZE identities;
"""
PLANS = {
    "token check (no Redis)": "EXPLAIN SELECT u.id FROM users u JOIN identities i ON i.user_id = u.id "
                              "WHERE u.id = 500 AND i.appid = :appid",
    "login: identity by openid": "EXPLAIN SELECT user_id FROM identities WHERE appid = :appid AND openid = 'ox'",
    "login: user by unionid": "EXPLAIN SELECT id FROM users WHERE unionid = 'ox'",
}


def fill(url, count):
    harness.reset_database(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in filter(str.strip, SEED.split(";")):
            connection.execute(sa.text(statement), {"count": count, "appid": harness.APPID})
    with engine.connect() as connection:
        plans = {name: [row[0] for row in connection.execute(sa.text(sql), {"appid": harness.APPID})]
                 for name, sql in PLANS.items()}
    engine.dispose()
    return plans


def measure(small=1_000, large=1_000_000, rounds=3, seconds=8, connections=8):
    urls = {"small": harness.database_named("small"), "large": harness.database_named("large")}
    plans = fill(urls["small"], small)
    plans = fill(urls["large"], large)
    results = {}
    with ExitStack() as stack:
        services = {size: stack.enter_context(harness.service(DATABASE_URL=url, REDIS_URL=""))
                    for size, url in urls.items()}
        tokens = {size: harness.login_tokens(url, "user500")["access_token"]
                  for size, (url, _) in services.items()}
        runs = {}
        for size, (url, _) in services.items():
            runs[f"login {size}"] = lambda url=url: harness.wrk(
                f"{url}/wx/login", script="login.lua", connections=connections, seconds=seconds,
                env={"USERS": str(small)})
            runs[f"me {size}"] = lambda url=url, token=tokens[size]: harness.wrk(
                f"{url}/wx/me", script="token.lua", connections=connections, seconds=seconds,
                env={"TOKEN": token})
        results = harness.alternate(rounds, runs)
    for route in ("login", "me"):
        results[f"{route} ratio"] = results[f"{route} large"]["p50"] / results[f"{route} small"]["p50"]
    results["plans (1M users)"] = plans
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(measure(large=args.users, rounds=args.rounds, seconds=args.seconds), indent=2))
